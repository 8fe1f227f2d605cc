"""Online payment of a dossier's fees through a gateway, modelled on the national Payment
Platform's flow (Nền tảng thanh toán trực tuyến của Cổng Dịch vụ công quốc gia): motcua
asks for a payment of what the engine says is owed now (an order), the gateway answers
with a payment page and the content of a QR code; the citizen pays there; the gateway
tells motcua with a signed callback, and motcua asks it (the reconciliation query) when
no callback came. An order never confirmed expires; one paid for a dossier that no
longer owes it, or whose dossier is later refused or withdrawn where the rule says so,
is refunded through the gateway.

The rules here are pure: the statuses and their Vietnamese, the order's terms (the
workflow's input), what a confirmation must match, and when a refund is due.
[uncertain] The platform's own field names and codes are not public in the corpus we
read: the adapter (infra/payment_gateway.py) speaks our own JSON, shaped like its flow."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.dossier import Actor
from domain.fees import FeeLine, Stage


class PaymentStatus(StrEnum):
    OPENING = "opening"  # asking the gateway for the payment page
    PENDING = "pending"  # the citizen may pay
    PAID = "paid"  # confirmed and recorded on the dossier (its e-receipt issued)
    EXPIRED = "expired"  # never confirmed before its expiry: a new request may be made
    FAILED = "failed"  # the gateway could not open it: a new request may be made
    REFUNDED = "refunded"  # the money went back to the payer

    @property
    def label_vi(self) -> str:
        return STATUS_VI[self]

    @property
    def live(self) -> bool:
        return self in (PaymentStatus.OPENING, PaymentStatus.PENDING)


STATUS_VI = {
    PaymentStatus.OPENING: "Đang tạo yêu cầu thanh toán",
    PaymentStatus.PENDING: "Đang chờ thanh toán",
    PaymentStatus.PAID: "Đã thanh toán",
    PaymentStatus.EXPIRED: "Hết hạn thanh toán",
    PaymentStatus.FAILED: "Không tạo được yêu cầu thanh toán",
    PaymentStatus.REFUNDED: "Đã hoàn tiền",
}

# How a payment came to be known: the gateway's signed callback, or motcua's query.
SETTLED_BY_CALLBACK = "callback"
SETTLED_BY_QUERY = "reconciliation"


def payment_workflow_id(dossier_code: str, stage: str) -> str:
    """One live payment request per dossier and stage: the workflow id says so (a request
    while one runs joins it; once it has ended, a new one may start)."""
    return f"payment:{dossier_code}:{stage}"


class PaymentTerms(BaseModel):
    """A payment request: the PaymentWorkflow's input. The amount and lines are the
    engine's (`fees_owed`), never the client's."""

    order_id: str = Field(min_length=1, max_length=64)
    dossier_code: str
    stage: Stage
    step_id: str
    amount_vnd: int = Field(gt=0)
    lines: list[FeeLine] = Field(default_factory=list)
    procedure_name: str = ""
    requested_by: Actor
    expiry_seconds: float = Field(gt=0)
    # The first reconciliation query this long after the order opened, then every
    # `reconcile_every_seconds`, and once more at the expiry.
    reconcile_after_seconds: float = Field(gt=0)
    reconcile_every_seconds: float = Field(gt=0)


class GatewayOrder(BaseModel):
    """The gateway's answer to an order: where the citizen pays."""

    payment_url: str
    qr_content: str
    gateway_ref: str = ""


class GatewayPayment(BaseModel):
    """A payment as the gateway reports it: by its callback, or answering a query.
    `state`: pending | paid | failed | expired (the gateway's view)."""

    order_id: str
    state: str = "paid"
    transaction_id: str = ""
    amount_vnd: int = 0
    paid_at: datetime | None = None
    method: str = "payment_platform"


class Confirmation(BaseModel):
    """A payment the workflow takes as made: its transaction and how it became known."""

    transaction_id: str
    amount_vnd: int
    paid_at: datetime | None = None
    method: str
    via: str  # SETTLED_BY_CALLBACK | SETTLED_BY_QUERY


class Settlement(BaseModel):
    """What the dossier made of a confirmed payment: recorded (`pay`), or refused
    (the dossier no longer owes it: paid at the counter meanwhile, moved on, closed)."""

    recorded: bool
    reason: str = ""
    event_seq: int | None = None


class Refund(BaseModel):
    refund_id: str
    amount_vnd: int
    reason: str
    refunded_at: datetime | None = None
    state: str = "refunded"


class PaymentState(BaseModel):
    """A payment request as the workflow holds it (its query; the read model's row)."""

    order_id: str
    dossier_code: str
    stage: Stage
    step_id: str
    amount_vnd: int
    lines: list[FeeLine] = Field(default_factory=list)
    status: PaymentStatus
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    payment_url: str | None = None
    qr_content: str | None = None
    confirmation: Confirmation | None = None
    settled_at: datetime | None = None
    refund: Refund | None = None
    note: str = ""  # why it failed, or was refunded

    @property
    def status_label(self) -> str:
        return self.status.label_vi


def confirmation_problem(terms: PaymentTerms, payment: GatewayPayment) -> str | None:
    """Why a reported payment cannot settle this order (None: it can)."""
    if payment.order_id != terms.order_id:
        return "order"
    if payment.amount_vnd != terms.amount_vnd:
        return "amount"
    return None


# Refunds on refusal or withdrawal, where due. [uncertain] The Law on Fees and Charges
# (97/2015/QH13) and the fee circulars of each sector say what is collected, and most
# say nothing of refunds; practice in the provinces we read is that lệ phí (the charge
# for issuing a paper) is refunded when the paper is not issued, and phí for a service
# already performed (an appraisal) is not. So the default refunds every line paid online
# when the dossier ends not received (refused at intake), refused, or withdrawn (the
# dossier's outcome); MOTCUA_PAYMENT_REFUND_ON and MOTCUA_PAYMENT_REFUND_KINDS narrow it.
REFUND_OUTCOMES = ("not_received", "refused", "withdrawn")


def refund_due(
    lines: list[FeeLine], outcome: str | None, refund_on: list[str], refund_kinds: list[str]
) -> int:
    """The amount to refund of a paid order whose dossier ended with `outcome`."""
    if outcome not in refund_on:
        return 0
    return sum(line.amount_vnd for line in lines if line.kind in refund_kinds)
