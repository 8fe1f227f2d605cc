"""E-receipts (biên lai điện tử) of a dossier's fees: listed for whoever may read the
dossier (their PDFs are with its documents), cancelled and replaced by the collecting
unit's officer with a reason (the cancelled one is kept)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.auth import CurrentPrincipal
from api.deps import Context, record_user
from api.errors import ERROR_RESPONSES, STATUS_FOR_CODE, ApiError
from api.routes.dossiers.record import readable_record
from api.schemas import ApiModel
from services.dossiers import ServiceError
from services.receipts import CANCELLERS, ReceiptService
from store.models import ReceiptRow

router = APIRouter(
    tags=["receipts"], responses=ERROR_RESPONSES, dependencies=[Depends(record_user)]
)


class ReceiptOut(BaseModel):
    id: str
    agency_code: str = Field(description="the collecting unit, whose series numbers it")
    year: int
    number: int
    symbol: str
    dossier_code: str
    amount_vnd: int
    method: str
    online: bool
    lines: list[dict[str, Any]]
    issued_at: datetime
    status: str = Field(description="issued | cancelled | refunded (paid online, given back)")
    document_id: str | None = Field(description="its PDF among the dossier's documents")
    replaces: str | None
    replaced_by: str | None
    cancelled_at: datetime | None
    cancelled_by: str | None
    cancel_reason: str | None


class ReceiptsOut(BaseModel):
    code: str
    receipts: list[ReceiptOut]


class CancelIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class Cancelled(BaseModel):
    cancelled: ReceiptOut
    replacement: ReceiptOut


def _out(row: ReceiptRow) -> ReceiptOut:
    fields = set(ReceiptOut.model_fields)
    return ReceiptOut.model_validate(
        {k: v for k, v in row.model_dump().items() if k in fields} | {"lines": row.lines or []}
    )


def _service(ctx: Context) -> ReceiptService:
    return ReceiptService(ctx.engine, ctx.catalog, ctx.settings)


@router.get(
    "/dossiers/{code}/receipts",
    response_model=ReceiptsOut,
    summary="The dossier's e-receipts, cancelled ones included",
)
async def list_receipts(code: str, principal: CurrentPrincipal, ctx: Context) -> ReceiptsOut:
    if not await readable_record(ctx, code, principal):
        return ReceiptsOut(code=code, receipts=[])
    rows = await asyncio.to_thread(_service(ctx).of, code)
    return ReceiptsOut(code=code, receipts=[_out(r) for r in rows])


@router.post(
    "/dossiers/{code}/receipts/{receipt_id}/cancel",
    response_model=Cancelled,
    summary="Cancel an e-receipt with a reason: it is kept, marked cancelled, and replaced "
    "by a new one (the next number of the collecting unit's series)",
)
async def cancel_receipt(
    code: str, receipt_id: str, body: CancelIn, principal: CurrentPrincipal, ctx: Context
) -> Cancelled:
    await readable_record(ctx, code, principal)
    # The caller in the first role of theirs that may cancel (the service judges it).
    role = next((r for r in CANCELLERS if principal.has(r)), principal.roles[0])
    actor = principal.actor_for(role)
    try:
        old, new = await asyncio.to_thread(
            _service(ctx).cancel, code, receipt_id, actor, body.reason, ctx.clock()
        )
    except ServiceError as exc:
        raise ApiError(
            STATUS_FOR_CODE.get(exc.code, 400), exc.code, exc.text or exc.message
        ) from None
    return Cancelled(cancelled=_out(old), replacement=_out(new))
