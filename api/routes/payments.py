"""The payment gateway's callback: a financial obligation or fee is settled when the
gateway confirms it, and the dossier's clock resumes (the time to pay is excluded).

The gateway signs the raw body with HMAC-SHA256 (header `X-Signature: <hex>`); an
unsigned or wrongly signed callback changes nothing."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import Context
from api.errors import ERROR_RESPONSES, STATUS_FOR_CODE, ApiError
from api.schemas import ApiModel
from domain.catalog import Role
from domain.dossier import Action, ActionInput, Actor
from services.dossiers import ServiceError

router = APIRouter(prefix="/payments", tags=["payments"], responses=ERROR_RESPONSES)

GATEWAY = Actor(id="payment-gateway", name="Cổng thanh toán", role=Role.SYSTEM)


class PaymentConfirmation(ApiModel):
    model_config = ConfigDict(extra="forbid")

    dossier_code: str = Field(min_length=1, max_length=80)
    transaction_id: str = Field(min_length=1, max_length=100)
    receipt_number: str = Field(min_length=1, max_length=100)
    amount_vnd: int = Field(ge=0)
    paid_at: datetime
    method: str = Field(default="online", max_length=40)


class PaymentAccepted(BaseModel):
    dossier_code: str
    status: str
    current_step: str | None


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@router.post(
    "/callback",
    response_model=PaymentAccepted,
    summary="Payment gateway confirmation (HMAC-signed): settles the payment step",
)
async def payment_callback(
    request: Request,
    ctx: Context,
    signature: Annotated[str | None, Header(alias="X-Signature", max_length=200)] = None,
) -> PaymentAccepted:
    body = await request.body()
    expected = sign(ctx.settings.payment_gateway_secret.get_secret_value(), body)
    if signature is None or not hmac.compare_digest(expected, signature.lower()):
        raise ApiError(401, "bad_signature", "X-Signature does not match the body")
    try:
        confirmation = PaymentConfirmation.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(422, "invalid", f"{where}: {first['msg']}") from None
    cmd = ActionInput(
        actor=GATEWAY,
        comment=f"Giao dịch {confirmation.transaction_id}",
        data={
            "receipt_number": confirmation.receipt_number,
            "amount_vnd": confirmation.amount_vnd,
            "method": confirmation.method,
        },
    )
    try:
        view = await ctx.service.act(confirmation.dossier_code, Action.PAY, cmd)
    except ServiceError as exc:
        raise ApiError(STATUS_FOR_CODE.get(exc.code, 400), exc.code, exc.message) from None
    return PaymentAccepted(
        dossier_code=view.code,
        status=view.status.value,
        current_step=view.current_step.step_id if view.current_step else None,
    )
