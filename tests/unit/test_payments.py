"""Online payment's pure rules and the gateway adapter against the local gateway: what a
reported payment must match, which refund is due on which outcome, and that the adapter
believes only answers signed with the shared key (a query's "paid" settles a dossier)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.catalog import Role
from domain.dossier import Actor
from domain.fees import FeeLine
from domain.payments import (
    REFUND_OUTCOMES,
    GatewayPayment,
    PaymentStatus,
    PaymentTerms,
    confirmation_problem,
    payment_workflow_id,
    refund_due,
)
from infra.payment_gateway import GatewayError, PaymentGateway, sign, signed
from tests.payment_gateway_server import payment_gateway

SECRET = "unit-test-payment-secret"


def terms(amount: int = 200_000) -> PaymentTerms:
    return PaymentTerms(
        order_id="MC0001",
        dossier_code="000.00.01.H99-261207-0001",
        stage="intake",
        step_id="tiep_nhan",
        amount_vnd=amount,
        requested_by=Actor(id="citizen-1", role=Role.APPLICANT),
        expiry_seconds=900,
        reconcile_after_seconds=120,
        reconcile_every_seconds=120,
    )


def line(kind: str, amount: int) -> FeeLine:
    return FeeLine(name=kind, kind=kind, per="case", unit_vnd=amount, amount_vnd=amount)


def test_a_payment_settles_only_its_order_for_its_amount() -> None:
    paid = GatewayPayment(order_id="MC0001", transaction_id="GD1", amount_vnd=200_000)
    assert confirmation_problem(terms(), paid) is None
    assert confirmation_problem(terms(), paid.model_copy(update={"amount_vnd": 1})) == "amount"
    assert confirmation_problem(terms(), paid.model_copy(update={"order_id": "MC9"})) == "order"


def test_one_live_request_per_dossier_and_stage() -> None:
    code = "000.00.01.H99-261207-0001"
    assert payment_workflow_id(code, "intake") == payment_workflow_id(code, "intake")
    assert payment_workflow_id(code, "intake") != payment_workflow_id(code, "return")
    assert [s for s in PaymentStatus if s.live] == [PaymentStatus.OPENING, PaymentStatus.PENDING]
    assert PaymentStatus.EXPIRED.label_vi == "Hết hạn thanh toán"


@pytest.mark.parametrize(
    ("outcome", "kinds", "expected"),
    [
        ("not_received", ["le_phi", "phi"], 250_000),
        ("refused", ["le_phi", "phi"], 250_000),
        ("withdrawn", ["le_phi"], 200_000),  # a phí for an appraisal done is kept
        ("granted", ["le_phi", "phi"], 0),
        ("abandoned", ["le_phi", "phi"], 0),
        (None, ["le_phi", "phi"], 0),
    ],
)
def test_refund_due_on_the_outcomes_and_kinds_set(
    outcome: str | None, kinds: list[str], expected: int
) -> None:
    lines = [line("le_phi", 200_000), line("phi", 50_000)]
    assert refund_due(lines, outcome, list(REFUND_OUTCOMES), kinds) == expected


def test_signatures_are_compared_as_bytes() -> None:
    body = b'{"order_id": "MC1"}'
    assert signed(SECRET, body, sign(SECRET, body))
    assert signed(SECRET, body, sign(SECRET, body).upper())
    assert not signed(SECRET, body, sign("another key", body))
    assert not signed(SECRET, body, None)
    assert not signed(SECRET, body, "chữ ký")  # non-ASCII: no match, not an error


def test_the_adapter_opens_queries_and_refunds_at_the_local_gateway() -> None:
    expires = datetime.now(UTC) + timedelta(minutes=5)
    with payment_gateway(SECRET) as server:
        gateway = PaymentGateway(server.url, SECRET, timeout=5)
        order = gateway.create("MC0001", 200_000, "Phí", expires, "http://x/cb", "http://x/ui")
        assert order.payment_url == f"{server.url}/pay/MC0001"
        # Asked again (a retry after a lost answer): the same order, not a second one.
        assert gateway.create("MC0001", 200_000, "Phí", expires, "http://x/cb", "http://x/ui") == (
            order
        )
        assert len(server.orders) == 1 and server.creates == 2
        assert gateway.query("MC0001").state == "pending"
        server.pay("MC0001", "drop")
        paid = gateway.query("MC0001")
        assert (paid.state, paid.amount_vnd, paid.method) == ("paid", 200_000, "payment_platform")
        refund = gateway.refund("MC0001", "MC0001-R", 200_000, "Hồ sơ bị từ chối")
        again = gateway.refund("MC0001", "MC0001-R", 200_000, "Hồ sơ bị từ chối")
        assert refund == again and len(server.orders["MC0001"].refunds) == 1

        # An unknown order: the gateway refused the request itself.
        with pytest.raises(GatewayError) as unknown:
            gateway.query("MC-KHONG-CO")
        assert unknown.value.permanent

        # Another key: the gateway refuses the request (401) ...
        with pytest.raises(GatewayError) as refused:
            PaymentGateway(server.url, "not the key", timeout=5).query("MC0001")
        assert refused.value.permanent and server.refused == ["/payments/MC0001"]
        # ... and an answer signed with another key than ours is not believed.
        server.answer_secret = "a forger's key"
        with pytest.raises(GatewayError, match="not signed right") as forged:
            gateway.query("MC0001")
        assert not forged.value.permanent


def test_an_unreachable_gateway_is_worth_a_retry() -> None:
    with payment_gateway(SECRET) as server:
        url = server.url
    with pytest.raises(GatewayError) as down:
        PaymentGateway(url, SECRET, timeout=2).query("MC0001")
    assert not down.value.permanent
