"""One online payment request as a durable workflow: an order opened at the gateway,
waited on until the citizen pays, settled on the dossier exactly once, or expired.

- The order is opened by an activity (the gateway answers with its page and QR code);
  the `link` update (sent with the start: update-with-start) returns them to the
  citizen as soon as they exist.
- The gateway's signed callback arrives as the `confirm` update; its validator refuses a
  wrong amount, another transaction for an order already confirmed, or an order that has
  expired, before anything is written to history. A second identical callback joins the
  first: the workflow is single-threaded, so the callback, its duplicates and the
  reconciliation query cannot settle it twice.
- With no callback, the gateway is asked (the reconciliation query) a while after the
  order opened, then at intervals, and once more at the expiry: a dropped callback is
  settled by the query, a payment never made expires (a new request may then start:
  the workflow id is the dossier's and stage's, domain/payments.py).
- Settling is the dossier's `pay` action, as the gateway (an activity; its update id is
  the order's, so a retried activity never pays twice). Should the dossier no longer owe
  it (paid at the counter meanwhile, moved on, closed), the money goes back: a refund.

Time here is wall-clock minutes (an order's life at the gateway), not the statutory
clock: a payment request does not pause or move the dossier's deadlines. Where the law
excludes the time to pay (a payment step), the dossier's own step does that."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from activities.contracts import (
    OPEN_PAYMENT,
    PAYMENT_NON_RETRYABLE,
    QUERY_PAYMENT,
    RECORD_PAYMENT,
    REFUND_PAYMENT,
    SETTLE_PAYMENT,
    OpenPaymentInput,
    RefundPaymentInput,
    SettlePaymentInput,
)
from domain.payments import (
    SETTLED_BY_CALLBACK,
    SETTLED_BY_QUERY,
    Confirmation,
    GatewayOrder,
    GatewayPayment,
    PaymentState,
    PaymentStatus,
    PaymentTerms,
    Refund,
    Settlement,
    confirmation_problem,
)

# Opening an order: the citizen is waiting on the page; a gateway that does not answer
# within a few tries fails the request (the citizen may ask again).
OPEN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=4,
    non_retryable_error_types=PAYMENT_NON_RETRYABLE,
)
# A reconciliation query that fails is simply asked again at the next round.
QUERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)
# The money was taken: recording it on the dossier, or giving it back, is retried until
# it is done (a database or a Temporal outage must not lose a payment).
MONEY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=PAYMENT_NON_RETRYABLE,
)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2,
    maximum_interval=timedelta(minutes=1),
)
CALL_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="PaymentWorkflow")
class PaymentWorkflow:
    @workflow.init
    def __init__(self, terms: PaymentTerms) -> None:
        self.terms = terms
        now = workflow.now()
        self.state = PaymentState(
            order_id=terms.order_id,
            dossier_code=terms.dossier_code,
            stage=terms.stage,
            step_id=terms.step_id,
            amount_vnd=terms.amount_vnd,
            lines=terms.lines,
            status=PaymentStatus.OPENING,
            requested_by=terms.requested_by.id,
            requested_at=now,
            expires_at=now + timedelta(seconds=terms.expiry_seconds),
        )
        self.confirmation: Confirmation | None = None
        self.done = False  # a final status is recorded: updates may answer

    @workflow.run
    async def run(self, terms: PaymentTerms) -> PaymentState:
        try:
            order = await workflow.execute_activity(
                OPEN_PAYMENT,
                OpenPaymentInput(terms=terms, expires_at=self.state.expires_at),
                result_type=GatewayOrder,
                start_to_close_timeout=CALL_TIMEOUT,
                retry_policy=OPEN_RETRY,
                summary="open the order at the gateway",
            )
        except ActivityError as exc:
            self.state.status = PaymentStatus.FAILED
            self.state.note = str(exc.cause or exc)[:500]
            return await self._finish()
        self.state.payment_url = order.payment_url
        self.state.qr_content = order.qr_content
        self.state.status = PaymentStatus.PENDING
        await self._record()

        await self._wait_for_payment()
        if self.confirmation is None:
            self.state.status = PaymentStatus.EXPIRED
            return await self._finish()
        await self._settle(self.confirmation)
        return await self._finish()

    async def _wait_for_payment(self) -> None:
        """Until a confirmation (callback or query) or the expiry; the gateway is asked
        at each reconciliation round and once more at the expiry."""
        expires_at = self.state.expires_at
        next_query = self.state.requested_at + timedelta(seconds=self.terms.reconcile_after_seconds)
        while not self._confirmed():
            wake = min(next_query, expires_at)
            left = wake - workflow.now()
            if left > timedelta(0):
                with suppress(TimeoutError):
                    await workflow.wait_condition(
                        self._confirmed,
                        timeout=left,
                        timeout_summary="the next reconciliation query, or the expiry",
                    )
            if self._confirmed():
                return
            await self._reconcile()
            if workflow.now() >= expires_at:
                return
            next_query = workflow.now() + timedelta(seconds=self.terms.reconcile_every_seconds)

    def _confirmed(self) -> bool:
        return self.confirmation is not None

    async def _reconcile(self) -> None:
        try:
            payment = await workflow.execute_activity(
                QUERY_PAYMENT,
                self.terms.order_id,
                result_type=GatewayPayment,
                start_to_close_timeout=CALL_TIMEOUT,
                retry_policy=QUERY_RETRY,
                summary="ask the gateway how the order stands",
            )
        except ActivityError:
            workflow.logger.warning("reconciliation query of %s failed", self.terms.order_id)
            return
        if (
            payment.state == "paid"
            and self.confirmation is None  # a callback during the query came first
            and confirmation_problem(self.terms, payment) is None
        ):
            self.confirmation = Confirmation(
                transaction_id=payment.transaction_id,
                amount_vnd=payment.amount_vnd,
                paid_at=payment.paid_at,
                method=payment.method,
                via=SETTLED_BY_QUERY,
            )

    async def _settle(self, confirmation: Confirmation) -> None:
        self.state.confirmation = confirmation
        settlement = await workflow.execute_activity(
            SETTLE_PAYMENT,
            SettlePaymentInput(terms=self.terms, confirmation=confirmation),
            result_type=Settlement,
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=MONEY_RETRY,
            summary="record the payment on the dossier",
        )
        self.state.settled_at = workflow.now()
        if settlement.recorded:
            self.state.status = PaymentStatus.PAID
            return
        # Paid, but the dossier does not owe it (any more): the money goes back.
        self.state.status = PaymentStatus.PAID
        self.state.note = settlement.reason[:500]
        await self._record()
        try:
            refund = await workflow.execute_activity(
                REFUND_PAYMENT,
                RefundPaymentInput(
                    order_id=self.terms.order_id,
                    refund_id=f"{self.terms.order_id}-R",
                    amount_vnd=confirmation.amount_vnd,
                    reason=f"Hồ sơ {self.terms.dossier_code} không ghi nhận khoản thanh toán: "
                    f"{settlement.reason}"[:500],
                ),
                result_type=Refund,
                start_to_close_timeout=CALL_TIMEOUT,
                retry_policy=MONEY_RETRY,
                summary="refund a payment the dossier did not take",
            )
        except ActivityError as exc:
            # The gateway refused the refund itself: the accountant settles it by hand.
            self.state.note = f"{settlement.reason} — hoàn tiền không thực hiện được: {exc.cause}"[
                :500
            ]
            return
        self.state.refund = refund
        self.state.status = PaymentStatus.REFUNDED

    async def _finish(self) -> PaymentState:
        await self._record()
        self.done = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    async def _record(self) -> None:
        await workflow.execute_activity(
            RECORD_PAYMENT,
            self.state,
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary=f"record {self.state.status.value}",
        )

    @workflow.update
    async def link(self) -> PaymentState:
        """The order's page and QR code, once the gateway has opened it (or why not)."""
        await workflow.wait_condition(lambda: self.state.status is not PaymentStatus.OPENING)
        return self.state

    @workflow.update
    async def confirm(self, payment: GatewayPayment) -> PaymentState:
        """The gateway's signed callback: the payment settles the order (once); the
        update answers when it is recorded on the dossier (or refunded)."""
        if self.confirmation is None:
            self.confirmation = Confirmation(
                transaction_id=payment.transaction_id,
                amount_vnd=payment.amount_vnd,
                paid_at=payment.paid_at,
                method=payment.method,
                via=SETTLED_BY_CALLBACK,
            )
        await workflow.wait_condition(lambda: self.done)
        return self.state

    @confirm.validator
    def _may_confirm(self, payment: GatewayPayment) -> None:
        # Validators run before the update is written to history: a refused callback
        # leaves no trace here (the API records it, payment_callbacks).
        problem = confirmation_problem(self.terms, payment)
        if problem == "order":
            # An order of an earlier run under this id (the dossier's and stage's): it
            # has ended, this run is a newer request.
            raise ApplicationError(payment.order_id, type="expired")
        if problem == "amount":
            raise ApplicationError(
                f"{payment.amount_vnd} != {self.terms.amount_vnd}", type="invalid"
            )
        if problem is not None or payment.state != "paid":
            raise ApplicationError(f"order {payment.order_id}: {payment.state}", type="invalid")
        if self.state.status in (PaymentStatus.EXPIRED, PaymentStatus.FAILED):
            raise ApplicationError(self.state.status.value, type="expired")
        taken = self.confirmation
        if taken is not None and taken.transaction_id != payment.transaction_id:
            raise ApplicationError(taken.transaction_id, type="conflict")

    @workflow.query
    def current(self) -> PaymentState:
        return self.state
