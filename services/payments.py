"""Online payment: the citizen's (or intake officer's) request to pay what the dossier
owes now, the gateway's signed callback, the PaymentWorkflow's activities, and the
refunds of fees paid online for dossiers refused or withdrawn (domain/payments.py has
the rules, workflows/payment.py the order's life, infra/payment_gateway.py the wire).

The activities live here, not in activities/, because settling a payment is an action on
the dossier (its `pay` update, as the gateway), which needs the Temporal client; the
portal's pull (services/portal_intake.py) is the precedent.

Refunds are a loop in the centre's worker (like housekeeping), not a workflow: what
starts them is a dossier closing refused or withdrawn, which the read model shows; each
round refunds the paid orders of such dossiers not refunded yet. The gateway keeps one
refund per refund id (the order's), and the row is marked in a conditional update, so a
round that runs twice, or two workers at once, refund once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import (
    OPEN_PAYMENT,
    QUERY_PAYMENT,
    RECORD_PAYMENT,
    REFUND_PAYMENT,
    SETTLE_PAYMENT,
    OpenPaymentInput,
    RefundPaymentInput,
    SettlePaymentInput,
)
from domain.calendar import VIETNAM_TZ
from domain.catalog import Role, StepKind
from domain.dossier import Action, ActionInput, Actor, DossierView
from domain.fees import FeeLine, Stage, vnd
from domain.i18n import Catalogue, Text
from domain.payments import (
    GatewayOrder,
    GatewayPayment,
    PaymentState,
    PaymentStatus,
    PaymentTerms,
    Refund,
    Settlement,
    payment_workflow_id,
    refund_due,
)
from infra.payment_gateway import GatewayError, PaymentGateway
from infra.settings import Settings
from services.dossiers import ServiceError
from store import repository
from store.models import PaymentRequestRow
from store.schemas import OutboxMessage, RefusedAttempt
from workflows.dossier import DossierWorkflow
from workflows.payment import PaymentWorkflow

log = logging.getLogger(__name__)
TZ = ZoneInfo(VIETNAM_TZ)

GATEWAY = Actor(id="payment-gateway", name="Cổng thanh toán", role=Role.SYSTEM)
UPDATE_TIMEOUT = timedelta(seconds=20)
# A callback's answer waits for the payment to be recorded on the dossier (its e-receipt
# rendered and sealed): longer than an action's.
CONFIRM_TIMEOUT = timedelta(seconds=60)
# A request that finds the previous one ending (expired a moment ago) asks again.
JOIN_ATTEMPTS = 10
JOIN_PAUSE = 0.3
STAGE_OF_KIND: dict[StepKind, Stage] = {
    StepKind.INTAKE: "intake",
    StepKind.PAYMENT: "payment",
    StepKind.RETURN: "return",
}

T = Catalogue(
    {
        "off": (
            "Chưa cấu hình cổng thanh toán trực tuyến (MOTCUA_PAYMENT_GATEWAY_URL): hãy nộp "
            "phí, lệ phí tại quầy",
            "no online payment gateway is configured (MOTCUA_PAYMENT_GATEWAY_URL): pay the "
            "fees at the counter",
        ),
        "nothing_owed": (
            "Hồ sơ {code} hiện không có khoản phí, lệ phí nào cần thanh toán",
            "dossier {code} owes no fee now",
        ),
        "not_yours": (
            "Chỉ người nộp hồ sơ {code}, hoặc cán bộ tiếp nhận của cơ quan đang giữ hồ sơ, "
            "được yêu cầu thanh toán",
            "only the applicant of dossier {code}, or an intake officer of the agency "
            "holding it, may request its payment",
        ),
        "gateway_busy": (
            "Cổng thanh toán chưa trả lời; hãy thử lại sau ít phút (yêu cầu đang chờ vẫn được giữ)",
            "the payment gateway has not answered; try again in a few minutes (a request "
            "in progress is kept)",
        ),
        "open_failed": (
            "Không tạo được yêu cầu thanh toán tại cổng thanh toán: {note}",
            "the payment gateway could not open the payment: {note}",
        ),
        "unknown_order": (
            "Không có yêu cầu thanh toán {order}",
            "there is no payment request {order}",
        ),
        "expired": (
            "Yêu cầu thanh toán {order} đã {status_vi} lúc {at}; không ghi nhận khoản thanh "
            "toán này",
            "payment request {order} has ended ({status_vi}) at {at}; this payment is not recorded",
        ),
        "wrong_amount": (
            "Số tiền {amount} không đúng số tiền của yêu cầu thanh toán {order} ({expected})",
            "the amount {amount} is not the one of payment request {order} ({expected})",
        ),
        "other_transaction": (
            "Yêu cầu thanh toán {order} đã được thanh toán bằng giao dịch {taken}",
            "payment request {order} was paid by transaction {taken} already",
        ),
        "not_paid": (
            "Giao dịch của yêu cầu {order} chưa thành công ({state})",
            "the transaction of request {order} has not succeeded ({state})",
        ),
    },
    "payments",
)


def gateway_for(settings: Settings) -> PaymentGateway | None:
    if not settings.payment_gateway_url:
        return None
    return PaymentGateway(
        settings.payment_gateway_url,
        settings.payment_gateway_secret.get_secret_value(),
        settings.payment_gateway_timeout_seconds,
    )


def _local(at: datetime) -> str:
    return at.astimezone(TZ).strftime("%H:%M %d/%m/%Y")


def row_values(state: PaymentState) -> dict[str, Any]:
    """The read model's columns of a payment request as the workflow holds it."""
    c = state.confirmation
    return {
        "order_id": state.order_id,
        "dossier_code": state.dossier_code,
        "stage": state.stage,
        "step_id": state.step_id,
        "amount_vnd": state.amount_vnd,
        "lines": [line.model_dump() for line in state.lines],
        "status": state.status.value,
        "requested_by": state.requested_by,
        "requested_at": state.requested_at,
        "expires_at": state.expires_at,
        "payment_url": state.payment_url,
        "qr_content": state.qr_content,
        "transaction_id": c.transaction_id if c else None,
        "method": c.method if c else None,
        "settled_via": c.via if c else None,
        "paid_at": c.paid_at if c else None,
        "settled_at": state.settled_at,
        "refund_id": state.refund.refund_id if state.refund else None,
        "refund_amount_vnd": state.refund.amount_vnd if state.refund else None,
        "refunded_at": (state.refund.refunded_at or state.settled_at) if state.refund else None,
        "note": state.note,
    }


# --------------------------------------------------------------------------- activities


class PaymentActivities:
    """What the PaymentWorkflow does to the world: the gateway (open, query, refund),
    the dossier (`pay`), the read model (the request's row)."""

    def __init__(self, client: Client, engine: Engine, settings: Settings) -> None:
        self.client = client
        self.engine = engine
        self.settings = settings
        self.gateway = gateway_for(settings)

    def _gw(self) -> PaymentGateway:
        if self.gateway is None:
            raise ApplicationError(
                "MOTCUA_PAYMENT_GATEWAY_URL is not set", type="GatewayRefused", non_retryable=True
            )
        return self.gateway

    @staticmethod
    def _raise(exc: GatewayError) -> ApplicationError:
        return ApplicationError(
            str(exc),
            type="GatewayRefused" if exc.permanent else "GatewayUnavailable",
            non_retryable=exc.permanent,
        )

    @activity.defn(name=OPEN_PAYMENT)
    async def open_payment(self, inp: OpenPaymentInput) -> GatewayOrder:
        terms = inp.terms
        base = self.settings.public_base_url.rstrip("/")
        try:
            return await asyncio.to_thread(
                self._gw().create,
                terms.order_id,
                terms.amount_vnd,
                f"Phí, lệ phí hồ sơ {terms.dossier_code}",
                inp.expires_at,
                f"{base}/v1/payments/callback",
                f"{base}/ui/dossiers/{terms.dossier_code}",
            )
        except GatewayError as exc:
            raise self._raise(exc) from None

    @activity.defn(name=QUERY_PAYMENT)
    async def query_payment(self, order_id: str) -> GatewayPayment:
        try:
            return await asyncio.to_thread(self._gw().query, order_id)
        except GatewayError as exc:
            raise self._raise(exc) from None

    @activity.defn(name=REFUND_PAYMENT)
    async def refund_payment(self, inp: RefundPaymentInput) -> Refund:
        try:
            return await asyncio.to_thread(
                self._gw().refund, inp.order_id, inp.refund_id, inp.amount_vnd, inp.reason
            )
        except GatewayError as exc:
            raise self._raise(exc) from None

    @activity.defn(name=SETTLE_PAYMENT)
    async def settle_payment(self, inp: SettlePaymentInput) -> Settlement:
        """The dossier's `pay`, as the gateway, at the step the order was made for; its
        update id is the order's, so a retry of this activity gets the first outcome."""
        terms, paid = inp.terms, inp.confirmation
        cmd = ActionInput(
            actor=GATEWAY,
            comment=f"Giao dịch {paid.transaction_id}, yêu cầu thanh toán {terms.order_id}",
            data={
                "receipt_number": paid.transaction_id,
                "amount_vnd": paid.amount_vnd,
                "method": paid.method,
            },
            expected_step=terms.step_id,
            # Taken once even across the dossier's continue-as-new (update ids are
            # deduplicated within one run only).
            request_id=f"payment:{terms.order_id}",
        )
        handle = self.client.get_workflow_handle_for(DossierWorkflow.run, terms.dossier_code)
        try:
            view = await handle.execute_update(
                Action.PAY.value,
                cmd,
                id=f"payment:{terms.order_id}",
                result_type=DossierView,
                rpc_timeout=UPDATE_TIMEOUT,
            )
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if not (isinstance(cause, ApplicationError) and cause.type):
                raise
            if cause.type == "already_taken":
                return Settlement(recorded=True)  # this very payment, recorded before
            text = Text.from_json(cause.details[0]) if cause.details else None
            reason = str(text) if text is not None else cause.message
            await asyncio.to_thread(self._refused, terms, cmd, cause.type, reason)
            return Settlement(recorded=False, reason=reason)
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                reason = f"hồ sơ {terms.dossier_code} đã kết thúc"
                await asyncio.to_thread(self._refused, terms, cmd, "closed", reason)
                return Settlement(recorded=False, reason=reason)
            raise
        return Settlement(recorded=True, event_seq=view.event_seq)

    def _refused(self, terms: PaymentTerms, cmd: ActionInput, code: str, reason: str) -> None:
        """The auditors' record of a payment the dossier refused (it leaves no trace in
        the dossier's history); once per order."""
        repository.record_refused_attempt(
            self.engine,
            RefusedAttempt.from_actor(
                dossier_code=terms.dossier_code,
                action=Action.PAY.value,
                actor=cmd.actor,
                at=datetime.now(UTC),
                code=code,
                reason=reason,
                comment=cmd.comment,
                data=cmd.data,
                attempt_id=f"payment:{terms.order_id}",
            ),
        )

    @activity.defn(name=RECORD_PAYMENT)
    async def record_payment(self, state: PaymentState) -> None:
        await asyncio.to_thread(repository.record_payment, self.engine, row_values(state))


# --------------------------------------------------------------------------- the service


@dataclass(frozen=True)
class CallbackOutcome:
    state: PaymentState | None
    row: PaymentRequestRow | None
    duplicate: bool


class PaymentService:
    """The API's side: request a payment, take the gateway's callback, list requests."""

    def __init__(self, client: Client, engine: Engine, settings: Settings) -> None:
        self.client = client
        self.engine = engine
        self.settings = settings

    def requests_of(self, code: str) -> list[PaymentRequestRow]:
        return repository.payments_of(self.engine, code)

    @staticmethod
    def may_request(view: DossierView, actor: Actor) -> bool:
        """The applicant of the dossier, or an officer who may take its `pay` now (the
        intake or return officer of the step's agency: a QR shown at the counter)."""
        if actor.role is Role.APPLICANT:
            return view.applicant_account is not None and view.applicant_account == actor.id
        return any(
            a.action is Action.PAY and a.role is actor.role and a.agency == actor.agency
            for a in view.allowed_actions
        )

    async def request(self, view: DossierView, actor: Actor) -> PaymentState:
        """Open (or join) the payment of what the dossier owes now. Raises ServiceError."""
        code = view.code
        if not self.may_request(view, actor):
            raise ServiceError("forbidden", T("not_yours", code=code))
        if not self.settings.payment_gateway_url:
            # Not a fault of the server: this centre offers no online payment (409).
            raise ServiceError("not_offered", T("off"))
        step = view.current_step
        stage = STAGE_OF_KIND.get(step.kind) if step is not None else None
        gateway_may_pay = any(
            a.action is Action.PAY and a.role is Role.SYSTEM for a in view.allowed_actions
        )
        amount = view.fee_due_vnd
        if step is None or stage is None or not gateway_may_pay or not amount:
            raise ServiceError("wrong_step", T("nothing_owed", code=code))
        terms = PaymentTerms(
            order_id=f"MC{uuid.uuid4().hex[:18].upper()}",
            dossier_code=code,
            stage=stage,
            step_id=step.step_id,
            amount_vnd=amount,
            lines=[],
            procedure_name=view.procedure_name,
            requested_by=actor,
            expiry_seconds=self.settings.payment_expiry_minutes * 60,
            reconcile_after_seconds=self.settings.payment_reconcile_after_seconds,
            reconcile_every_seconds=self.settings.payment_reconcile_every_seconds,
        )
        start = WithStartWorkflowOperation(
            PaymentWorkflow.run,
            terms,
            id=payment_workflow_id(code, stage),
            task_queue=self.settings.centre_task_queue,
            # One live request per dossier and stage: a second joins the first; once it
            # has ended (expired, failed) a new one starts.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        for _ in range(JOIN_ATTEMPTS):
            try:
                state: PaymentState = await self.client.execute_update_with_start_workflow(
                    PaymentWorkflow.link,
                    start_workflow_operation=start,
                    rpc_timeout=UPDATE_TIMEOUT,
                )
            except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError):
                raise ServiceError("unavailable", T("gateway_busy")) from None
            if state.status is PaymentStatus.PENDING:
                return state
            if state.status is PaymentStatus.FAILED and state.order_id == terms.order_id:
                raise ServiceError("unavailable", T("open_failed", note=state.note or "—"))
            # The previous request is ending (expired, failed, paid a moment ago): once
            # its workflow has closed, the next attempt starts a new one.
            await asyncio.sleep(JOIN_PAUSE)
            start = WithStartWorkflowOperation(
                PaymentWorkflow.run,
                terms,
                id=payment_workflow_id(code, stage),
                task_queue=self.settings.centre_task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        raise ServiceError("unavailable", T("gateway_busy"))

    async def _note(
        self, payment: GatewayPayment, outcome: str, code: str = "", message: str = ""
    ) -> None:
        await asyncio.to_thread(
            repository.record_callback,
            self.engine,
            order_id=payment.order_id,
            transaction_id=payment.transaction_id,
            amount_vnd=payment.amount_vnd,
            outcome=outcome,
            code=code,
            message=message,
        )

    async def _refuse(self, payment: GatewayPayment, code: str, message: Text) -> ServiceError:
        """The callback refused, and recorded as such."""
        await self._note(payment, "refused", code, str(message))
        return ServiceError(code, message)

    async def _settled(
        self, payment: GatewayPayment, state: PaymentState | None, *, duplicate: bool
    ) -> CallbackOutcome:
        await self._note(payment, "duplicate" if duplicate else "settled")
        row = await asyncio.to_thread(repository.get_payment, self.engine, payment.order_id)
        return CallbackOutcome(state=state, row=row, duplicate=duplicate)

    async def callback(self, payment: GatewayPayment) -> CallbackOutcome:
        """The gateway's signed word that an order was paid: settles it once; refuses an
        unknown or expired order, a wrong amount, another transaction for a paid order.
        Every callback is recorded with what was answered. Raises ServiceError."""
        order = payment.order_id
        row = await asyncio.to_thread(repository.get_payment, self.engine, order)
        if row is None:
            raise await self._refuse(payment, "not_found", T("unknown_order", order=order))
        if payment.amount_vnd != row.amount_vnd:
            wrong = T(
                "wrong_amount",
                order=order,
                amount=vnd(payment.amount_vnd),
                expected=vnd(row.amount_vnd),
            )
            raise await self._refuse(payment, "invalid", wrong)
        if payment.state != "paid":
            raise await self._refuse(
                payment, "invalid", T("not_paid", order=order, state=payment.state)
            )
        final = await self._final_answer(row, payment)
        if final is not None:
            return final
        handle = self.client.get_workflow_handle_for(
            PaymentWorkflow.run, payment_workflow_id(row.dossier_code, row.stage)
        )
        try:
            state: PaymentState = await handle.execute_update(
                PaymentWorkflow.confirm,
                payment,
                rpc_timeout=CONFIRM_TIMEOUT,
            )
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            kind = cause.type if isinstance(cause, ApplicationError) else None
            if kind == "expired":
                raise await self._refuse(payment, "expired", self._expired(row)) from None
            if kind == "conflict" and isinstance(cause, ApplicationError):
                taken = T("other_transaction", order=order, taken=cause.message)
                raise await self._refuse(payment, "conflict", taken) from None
            not_paid = T("not_paid", order=order, state=str(cause))
            raise await self._refuse(payment, "invalid", not_paid) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            # Accepted perhaps, not answered in time: the gateway retries; nothing is
            # recorded twice (the workflow settles once).
            raise ServiceError("unavailable", T("gateway_busy")) from None
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise ServiceError("unavailable", T("gateway_busy")) from None
            # The order's workflow has ended since the row was read: answer from its row.
            row = await asyncio.to_thread(repository.get_payment, self.engine, order)
            assert row is not None
            final = await self._final_answer(row, payment)
            if final is not None:
                return final
            raise await self._refuse(payment, "expired", self._expired(row)) from None
        if state.order_id != order:
            # Another run (a newer request) under the dossier's and stage's id.
            raise await self._refuse(payment, "expired", self._expired(row))
        return await self._settled(payment, state, duplicate=False)

    @staticmethod
    def _expired(row: PaymentRequestRow) -> Text:
        status = PaymentStatus(row.status)
        return T(
            "expired",
            order=row.order_id,
            status_vi=status.label_vi.lower(),
            at=_local(row.expires_at),
        )

    async def _final_answer(
        self, row: PaymentRequestRow, payment: GatewayPayment
    ) -> CallbackOutcome | None:
        """The answer for an order whose row is final (None: it is still live)."""
        status = PaymentStatus(row.status)
        if status.live:
            return None
        if status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
            if row.transaction_id == payment.transaction_id:
                return await self._settled(payment, None, duplicate=True)
            taken = T("other_transaction", order=row.order_id, taken=row.transaction_id or "—")
            raise await self._refuse(payment, "conflict", taken)
        raise await self._refuse(payment, "expired", self._expired(row))


# --------------------------------------------------------------------------- refunds


@dataclass(frozen=True)
class Refunded:
    order_id: str
    amount_vnd: int


def refund_closed(engine: Engine, settings: Settings, now: datetime) -> list[Refunded]:
    """Refund, through the gateway, the orders paid online for dossiers that ended with
    an outcome of MOTCUA_PAYMENT_REFUND_ON (the fee kinds of MOTCUA_PAYMENT_REFUND_KINDS),
    and mark their e-receipts refunded. Blocking (a thread)."""
    gateway = gateway_for(settings)
    if gateway is None:
        return []
    done: list[Refunded] = []
    for row in repository.refunds_due(engine, settings.payment_refund_on):
        dossier = repository.get_dossier(engine, row.dossier_code)
        pay = next(
            (
                e
                for e in repository.list_events(engine, row.dossier_code)
                if e.kind == "pay"
                and e.role == Role.SYSTEM.value
                and (e.data or {}).get("receipt_number") == row.transaction_id
            ),
            None,
        )
        if dossier is None or pay is None:
            continue  # the read model is behind: the next round
        fees = (pay.data or {}).get("fees") or {}
        lines = [FeeLine.model_validate(x) for x in fees.get("lines") or []]
        amount = refund_due(
            lines, dossier.outcome, settings.payment_refund_on, settings.payment_refund_kinds
        )
        if amount <= 0:
            continue
        reason = (
            f"Hoàn trả phí, lệ phí: hồ sơ {row.dossier_code} "
            f"{'bị từ chối' if dossier.outcome != 'withdrawn' else 'được rút'}"
        )
        refund_id = f"{row.order_id}-R"
        try:
            refund = gateway.refund(row.order_id, refund_id, amount, reason)
        except GatewayError as exc:
            log.warning("refund of %s failed: %s (the next round tries again)", row.order_id, exc)
            continue
        if repository.mark_refunded(
            engine,
            row.order_id,
            refund_id=refund.refund_id,
            amount_vnd=amount,
            at=refund.refunded_at or now,
            note=reason,
            receipt_event_id=pay.id,
            by=GATEWAY.id,
        ):
            repository.add_outbox(engine, refund_notices(engine, row, amount, reason, now))
            done.append(Refunded(row.order_id, amount))
    return done


def refund_notices(
    engine: Engine, row: PaymentRequestRow, amount: int, reason: str, now: datetime
) -> list[OutboxMessage]:
    """The applicant is told of the refund wherever they were told of their dossier
    (its portal account, phone, e-mail: the addresses of the messages sent to them)."""
    told = {
        (m.channel, m.recipient)
        for m in repository.list_outbox(engine, row.dossier_code)
        if m.recipient_role == Role.APPLICANT.value
    }
    subject = "Đã hoàn trả phí, lệ phí thanh toán trực tuyến"
    body = (
        f"{reason}. Số tiền hoàn trả: {vnd(amount)} (mã thanh toán {row.order_id}, "
        f"giao dịch {row.transaction_id}). Mã hồ sơ {row.dossier_code}."
    )
    return [
        OutboxMessage(
            id=f"{row.order_id}:refund:{recipient}",
            dossier_code=row.dossier_code,
            event_id=f"{row.order_id}:refund",
            recipient_role=Role.APPLICANT,
            recipient=recipient,
            channel=channel,
            subject=subject,
            body=body,
            created_at=now,
        )
        for channel, recipient in sorted(told)
    ]


async def refund_forever(engine: Engine, settings: Settings, interval: float) -> None:
    """A refund round every `interval` seconds; errors logged, the next round retries."""
    while True:
        try:
            done = await asyncio.to_thread(refund_closed, engine, settings, datetime.now(UTC))
            for r in done:
                log.info("refunded %s: %d đồng", r.order_id, r.amount_vnd)
        except Exception:
            log.exception("payment refunds failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)
