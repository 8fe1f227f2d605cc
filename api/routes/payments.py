"""Online payment: the applicant (or the officer at the counter, showing the QR code)
asks to pay what the dossier owes now; the gateway's signed callback settles the order
(services/payments.py, workflows/payment.py).

The gateway signs the raw body with HMAC-SHA256 (header `X-Signature: <hex>`); an
unsigned or wrongly signed callback changes nothing. A callback names the order
(`order_id`) motcua opened; the older form naming the dossier (`dossier_code`, a
gateway that pays a financial obligation without an order) applies `pay` directly, and
the dossier's clock resumes where the time to pay is excluded."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.auth import CurrentPrincipal, Principal
from api.deps import AppContext, Context, record_user
from api.errors import ERROR_RESPONSES, STATUS_FOR_CODE, ApiError
from api.messages import T
from api.routes.dossiers._common import _visible_state
from api.schemas import ApiModel
from domain.catalog import Role
from domain.dossier import Action, ActionInput, Actor, DossierView
from domain.fees import METHODS_VI, vnd
from domain.payments import GatewayPayment, PaymentStatus
from infra.payment_gateway import sign as sign  # the callback's signature (tests sign with it)
from infra.payment_gateway import signed
from services.dossiers import ServiceError
from services.payments import GATEWAY, PaymentService, row_values
from store import repository
from store.models import PaymentRequestRow

router = APIRouter(prefix="/payments", tags=["payments"], responses=ERROR_RESPONSES)
# A dossier's payment requests: the applicant's, or the officer's at the counter.
dossier_router = APIRouter(
    prefix="/dossiers",
    tags=["payments"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(record_user)],
)


class PaymentConfirmation(ApiModel):
    model_config = ConfigDict(extra="forbid")

    dossier_code: str = Field(min_length=1, max_length=80)
    transaction_id: str = Field(min_length=1, max_length=100)
    receipt_number: str = Field(min_length=1, max_length=100)
    amount_vnd: int = Field(ge=0)
    paid_at: datetime
    method: str = Field(default="online", max_length=40)


class OrderCallback(ApiModel):
    """The gateway's word on an order motcua opened (services/payments.py)."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=64)
    transaction_id: str = Field(min_length=1, max_length=100)
    amount_vnd: int = Field(ge=0)
    paid_at: datetime | None = None
    state: Literal["paid", "failed"] = "paid"
    method: str = Field(default="payment_platform", max_length=40)


class PaymentAccepted(BaseModel):
    dossier_code: str
    status: str
    current_step: str | None
    order_id: str | None = Field(
        default=None, description="the order settled (an order's callback)"
    )
    payment_status: str | None = Field(
        default=None, description="the order's status after the callback: paid | refunded"
    )
    duplicate: bool = Field(
        default=False, description="the order was settled by this transaction before"
    )


def _names_an_order(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and "order_id" in data


def _service(ctx: AppContext) -> PaymentService:
    return PaymentService(ctx.service.client, ctx.engine, ctx.settings)


async def _order_callback(ctx: AppContext, body: bytes) -> PaymentAccepted:
    try:
        callback = OrderCallback.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    payment = GatewayPayment(**callback.model_dump())
    try:
        outcome = await _service(ctx).callback(payment)
    except ServiceError as exc:
        raise ApiError(
            STATUS_FOR_CODE.get(exc.code, 400), exc.code, exc.text or exc.message
        ) from None
    row = outcome.row
    state = outcome.state
    code = state.dossier_code if state else row.dossier_code if row else ""
    status = state.status.value if state else row.status if row else ""
    dossier = await asyncio.to_thread(_dossier_row, ctx, code)
    return PaymentAccepted(
        dossier_code=code,
        status=dossier[0] if dossier else "",
        current_step=dossier[1] if dossier else None,
        order_id=callback.order_id,
        payment_status=status,
        duplicate=outcome.duplicate,
    )


def _dossier_row(ctx: AppContext, code: str) -> tuple[str, str | None] | None:
    row = repository.get_dossier(ctx.engine, code)
    return (row.status, row.current_step_id) if row is not None else None


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
    if not signed(ctx.settings.payment_gateway_secret.get_secret_value(), body, signature):
        raise ApiError(401, "bad_signature", T("bad_signature_header"))
    if _names_an_order(body):
        return await _order_callback(ctx, body)
    try:
        confirmation = PaymentConfirmation.model_validate_json(body)
    except ValidationError as exc:
        # Answered like a body FastAPI parsed: each error in the caller's language.
        raise RequestValidationError(exc.errors()) from None
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
        raise ApiError(
            STATUS_FOR_CODE.get(exc.code, 400), exc.code, exc.text or exc.message
        ) from None
    return PaymentAccepted(
        dossier_code=view.code,
        status=view.status.value,
        current_step=view.current_step.step_id if view.current_step else None,
    )


# --------------------------------------------------------------------------- requests


class PaymentRequestOut(BaseModel):
    order_id: str
    dossier_code: str
    stage: str = Field(description="intake | payment | return: the fees of which moment")
    amount_vnd: int
    amount_text: str = Field(description="the amount as a Vietnamese reader writes it")
    status: str = Field(description="opening | pending | paid | expired | failed | refunded")
    status_label: str = Field(description="the status in Vietnamese")
    requested_at: datetime
    expires_at: datetime
    payment_url: str | None = Field(description="the gateway's payment page (while pending)")
    qr_content: str | None = Field(description="what the QR code holds (while pending)")
    qr_svg: str | None = Field(description="the QR code as an SVG data URI (while pending)")
    transaction_id: str | None
    method: str | None
    method_label: str | None
    paid_at: datetime | None
    settled_via: str | None = Field(description="callback | reconciliation")
    refund_amount_vnd: int | None
    refunded_at: datetime | None
    note: str


class PaymentRequestsOut(BaseModel):
    code: str
    fee_due_vnd: int | None = Field(
        description="what a payment now must come to (None: nothing is owed now)"
    )
    online_payment: bool = Field(description="an online payment gateway is configured")
    requests: list[PaymentRequestOut]


def _request_out(row: PaymentRequestRow) -> PaymentRequestOut:
    status = PaymentStatus(row.status)
    live = status is PaymentStatus.PENDING
    qr = (
        segno.make(row.qr_content, error="m").svg_data_uri(scale=4)
        if live and row.qr_content
        else None
    )
    return PaymentRequestOut(
        order_id=row.order_id,
        dossier_code=row.dossier_code,
        stage=row.stage,
        amount_vnd=row.amount_vnd,
        amount_text=vnd(row.amount_vnd),
        status=status.value,
        status_label=status.label_vi,
        requested_at=row.requested_at,
        expires_at=row.expires_at,
        payment_url=row.payment_url if live else None,
        qr_content=row.qr_content if live else None,
        qr_svg=qr,
        transaction_id=row.transaction_id,
        method=row.method,
        method_label=METHODS_VI.get(row.method or "", row.method),
        paid_at=row.paid_at,
        settled_via=row.settled_via,
        refund_amount_vnd=row.refund_amount_vnd,
        refunded_at=row.refunded_at,
        note=row.note,
    )


def _requester(principal: Principal, view: DossierView) -> Actor:
    """Who asks: the applicant of the dossier, else the caller in an officer role that
    may take its `pay` now (the service judges whether that is allowed)."""
    if principal.has(Role.APPLICANT) and view.applicant_account == principal.sub:
        return principal.actor_for(Role.APPLICANT)
    for a in view.allowed_actions:
        if a.action is Action.PAY and a.role is not Role.SYSTEM and principal.has(a.role):
            return principal.actor_for(a.role)
    return principal.actor_for(principal.roles[0]) if principal.roles else GATEWAY


async def _requests(ctx: AppContext, view: DossierView) -> PaymentRequestsOut:
    rows = await asyncio.to_thread(_service(ctx).requests_of, view.code)
    return PaymentRequestsOut(
        code=view.code,
        fee_due_vnd=None if view.closed_at else view.fee_due_vnd,
        online_payment=bool(ctx.settings.payment_gateway_url),
        requests=[_request_out(r) for r in rows],
    )


@dossier_router.get(
    "/{code}/payments",
    response_model=PaymentRequestsOut,
    summary="The dossier's online payment requests (newest first) and what is owed now",
)
async def list_payments(code: str, principal: CurrentPrincipal, ctx: Context) -> PaymentRequestsOut:
    view = await _visible_state(ctx, code, principal)
    return await _requests(ctx, view)


@dossier_router.post(
    "/{code}/payments",
    response_model=PaymentRequestOut,
    status_code=201,
    summary="Pay online what the dossier owes now: opens an order at the gateway (or "
    "returns the one still open) with its payment page and QR code",
)
async def request_payment(
    code: str, principal: CurrentPrincipal, ctx: Context
) -> PaymentRequestOut:
    view = await _visible_state(ctx, code, principal)
    actor = _requester(principal, view)
    try:
        state = await _service(ctx).request(view, actor)
    except ServiceError as exc:
        if exc.code == "forbidden":
            await ctx.service.record_refusal(
                code, Action.PAY, ActionInput(actor=actor), "forbidden", exc.message
            )
        raise ApiError(
            STATUS_FOR_CODE.get(exc.code, 400), exc.code, exc.text or exc.message
        ) from None
    # The workflow's state, not the row: the row is written a moment after the link.
    return _request_out(PaymentRequestRow(**row_values(state), updated_at=state.requested_at))
