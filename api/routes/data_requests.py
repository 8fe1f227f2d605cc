"""Personal-data requests (Law 91/2025/QH15 with Decree 356/2025/ND-CP): a citizen signed
in with their own applicant account asks to see, correct or restrict the personal data the
centre holds about that account; each request is a DataRequestWorkflow on the centre's
queue, answered within the statutory time or escalated (workflows/data_request.py).

Who: the data subject is always the caller's own account (the body names no one), so a
stranger cannot ask about another's data; a request is shown to its own applicant and to
the centre's leaders and auditors; only the applicant downloads the export; a leader of
the centre decides a correction or a restriction."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import Field
from temporalio.client import WorkflowUpdateFailedError

from activities.contracts import DataRequestDecision, DataRequestInput
from api.auth import CurrentPrincipal, Principal
from api.deps import Context, record_user
from api.errors import ERROR_RESPONSES, ApiError
from api.messages import T
from api.schemas import ApiModel
from domain.catalog import Role
from domain.data_requests import RequestKind, RequestStatus, summary_vi
from store import repository
from store.models import PersonalDataRequestRow
from workflows.data_request import DataRequestWorkflow

router = APIRouter(
    prefix="/data-requests",
    tags=["personal data"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(record_user)],
)


class Corrections(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    id_number: str | None = Field(default=None, pattern=r"^(\d{9}|\d{12})$")
    phone: str | None = Field(default=None, pattern=r"^\+?\d{8,15}$")
    email: str | None = Field(default=None, pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]+$")
    address: str | None = Field(default=None, min_length=1, max_length=500)


class DataRequestIn(ApiModel):
    kind: Literal["access", "correct", "restrict"]
    corrections: Corrections | None = None
    reason: str = Field(default="", max_length=2000)


class DecisionIn(ApiModel):
    apply: bool = Field(description="true: correct or restrict as asked; false: refuse")
    reason: str = Field(default="", max_length=2000)


class DataRequestOut(ApiModel):
    id: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    received_at: datetime | None = None
    due_at: datetime | None = None
    escalated: bool = False
    answered_at: datetime | None = None
    answer: str = ""
    has_export: bool = False
    account: str = Field(description="the data subject: the applicant account that asked")
    corrections: dict[str, str] = Field(
        default_factory=dict, description="a correction's asked values, by field"
    )
    reason: str = ""


def _out(row: PersonalDataRequestRow) -> DataRequestOut:
    return DataRequestOut(
        id=row.id,
        kind=row.kind,
        kind_label=RequestKind(row.kind).label_vi,
        status=row.status,
        status_label=RequestStatus(row.status).label_vi,
        received_at=row.received_at,
        due_at=row.due_at,
        escalated=row.escalated_at is not None,
        answered_at=row.answered_at,
        answer=row.answer,
        has_export=row.export_key is not None,
        account=row.account,
        corrections={str(k): str(v) for k, v in (row.details.get("corrections") or {}).items()},
        reason=str(row.details.get("reason") or ""),
    )


def _handler(principal: Principal, centre: str) -> bool:
    """A leader of the centre (decides), or an auditor (reads)."""
    return principal.has(Role.AUDITOR) or (
        principal.has(Role.LEADER) and principal.agency == centre
    )


async def _visible(ctx: Context, request_id: str, principal: Principal) -> PersonalDataRequestRow:
    row = await asyncio.to_thread(repository.get_data_request, ctx.engine, request_id)
    own = row is not None and principal.has(Role.APPLICANT) and row.account == principal.sub
    if row is None or not (own or _handler(principal, ctx.settings.centre_agency)):
        raise ApiError(404, "not_found", T("data_request_not_found", id=request_id))
    return row


@router.post(
    "",
    response_model=DataRequestOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="A citizen asks to see, correct or restrict their own personal data",
)
async def make_request(
    body: DataRequestIn, principal: CurrentPrincipal, ctx: Context
) -> DataRequestOut:
    if not principal.has(Role.APPLICANT):
        raise ApiError(403, "forbidden", T("data_request_applicant"))
    corrections = body.corrections.model_dump(exclude_none=True) if body.corrections else {}
    if body.kind == "correct" and not corrections:
        raise ApiError(422, "invalid", T("data_request_corrections"))
    request_id = f"pdr-{uuid.uuid4().hex}"
    await ctx.service.client.start_workflow(
        DataRequestWorkflow.run,
        DataRequestInput(
            request_id=request_id,
            account=principal.sub,
            kind=body.kind,
            corrections=corrections if body.kind == "correct" else {},
            reason=body.reason,
        ),
        id=request_id,
        task_queue=ctx.settings.centre_task_queue,
        static_summary=f"personal-data request: {body.kind}",
    )
    # The workflow records it at once (its first activity): answer with its time.
    for _ in range(100):
        row = await asyncio.to_thread(repository.get_data_request, ctx.engine, request_id)
        if row is not None:
            return _out(row)
        await asyncio.sleep(0.1)
    kind = RequestKind(body.kind)
    received = RequestStatus.RECEIVED
    return DataRequestOut(
        id=request_id,
        kind=kind,
        kind_label=kind.label_vi,
        status=received,
        status_label=received.label_vi,
        account=principal.sub,
        corrections=corrections if body.kind == "correct" else {},
        reason=body.reason,
    )


@router.get(
    "",
    response_model=list[DataRequestOut],
    summary="Personal-data requests: an applicant's own; every one for the centre's leaders "
    "and auditors (the earliest due first)",
)
async def list_requests(
    principal: CurrentPrincipal,
    ctx: Context,
    open_only: Annotated[bool, Query(alias="open", description="only those not answered")] = False,
) -> list[DataRequestOut]:
    if _handler(principal, ctx.settings.centre_agency):
        account = None
    elif principal.has(Role.APPLICANT):
        account = principal.sub
    else:
        raise ApiError(403, "forbidden", T("data_request_applicant"))
    rows = await asyncio.to_thread(
        repository.list_data_requests, ctx.engine, account=account, open_only=open_only
    )
    return [_out(r) for r in rows]


@router.get("/{request_id}", response_model=DataRequestOut, summary="One personal-data request")
async def get_request(request_id: str, principal: CurrentPrincipal, ctx: Context) -> DataRequestOut:
    return _out(await _visible(ctx, request_id, principal))


@router.get(
    "/{request_id}/export",
    responses={200: {"content": {"application/json": {}, "text/plain": {}}}},
    summary="The answer to an access request: what the centre holds about the applicant, as "
    "JSON or as a Vietnamese text (format=text); the applicant's own only",
)
async def export(
    request_id: str,
    principal: CurrentPrincipal,
    ctx: Context,
    format: Annotated[Literal["json", "text"], Query()] = "json",
) -> Response:
    row = await asyncio.to_thread(repository.get_data_request, ctx.engine, request_id)
    if row is None or not principal.has(Role.APPLICANT) or row.account != principal.sub:
        raise ApiError(404, "not_found", T("data_request_not_found", id=request_id))
    if row.export_key is None:
        raise ApiError(409, "wrong_step", T("data_request_no_export", id=request_id))
    content = await asyncio.to_thread(ctx.documents.get, row.export_key)
    name = f"du-lieu-ca-nhan-{row.id}"
    if format == "text":
        data: dict[str, Any] = json.loads(content)
        return Response(
            summary_vi(data).encode(),
            media_type="text/plain; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.txt"'},
        )
    return Response(
        content,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
    )


@router.post(
    "/{request_id}/decision",
    response_model=DataRequestOut,
    summary="A leader of the centre decides a correction or restriction request",
)
async def decide(
    request_id: str, body: DecisionIn, principal: CurrentPrincipal, ctx: Context
) -> DataRequestOut:
    centre = ctx.settings.centre_agency
    row = await _visible(ctx, request_id, principal)
    if not (principal.has(Role.LEADER) and principal.agency == centre):
        raise ApiError(403, "forbidden", T("data_request_handlers", centre=centre))
    if row.kind == RequestKind.ACCESS:
        raise ApiError(409, "wrong_step", T("data_request_no_decision", id=request_id))
    if row.status != RequestStatus.RECEIVED:
        raise ApiError(409, "wrong_step", T("data_request_closed", id=request_id))
    handle = ctx.service.client.get_workflow_handle(request_id)
    try:
        await handle.execute_update(
            DataRequestWorkflow.decide,
            DataRequestDecision(
                apply=body.apply, reason=body.reason, by=principal.sub, by_name=principal.name
            ),
        )
    except WorkflowUpdateFailedError as exc:
        raise ApiError(409, "wrong_step", T("data_request_closed", id=request_id)) from exc
    return _out(await _visible(ctx, request_id, principal))
