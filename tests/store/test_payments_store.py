"""The read model of online payment, on SQLite and PostgreSQL: an order's row upserted as
its workflow records it (a refunded order stays refunded), the refunds due (paid orders
of dossiers closed with a refund outcome), a refund marked once with its receipt kept
and marked, and the gateway's callbacks as received."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from store import repository
from store.models import DossierRow

AT = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
CENTRE = "000.00.01.H99"


def dossier(code: str, outcome: str | None) -> DossierRow:
    return DossierRow(
        code=code,
        procedure_code="3.000333",
        procedure_version=1,
        procedure_name="x",
        status="not_received" if outcome else "received",
        status_code=3 if outcome else 2,
        channel="online",
        centre_agency=CENTRE,
        competent_agency=CENTRE,
        submitted_at=AT,
        applicant_name="Nguyễn Văn An",
        applicant_id_number="001090000123",
        updated_at=AT,
        closed_at=AT + timedelta(hours=1) if outcome else None,
        outcome=outcome,
    )


def order(order_id: str, code: str, status: str, **kw: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "dossier_code": code,
        "stage": "intake",
        "step_id": "tiep_nhan",
        "amount_vnd": 200_000,
        "lines": [],
        "status": status,
        "requested_by": "citizen-1",
        "requested_at": AT,
        "expires_at": AT + timedelta(minutes=15),
        "note": "",
        **kw,
    }


def test_orders_refunds_and_callbacks(engine: Engine) -> None:
    with Session(engine) as session:
        session.add_all([dossier("D-REFUSED", "not_received"), dossier("D-OPEN", None)])
        session.commit()
    repository.record_payment(engine, order("MC1", "D-REFUSED", "pending"))
    repository.record_payment(
        engine, order("MC1", "D-REFUSED", "paid", transaction_id="GD1", settled_at=AT)
    )
    repository.record_payment(engine, order("MC2", "D-OPEN", "paid", transaction_id="GD2"))
    earlier = {"requested_at": AT - timedelta(hours=1), "expires_at": AT}
    repository.record_payment(engine, order("MC3", "D-REFUSED", "expired", **earlier))
    row = repository.get_payment(engine, "MC1")
    assert row is not None and (row.status, row.transaction_id) == ("paid", "GD1")
    assert row.requested_at == AT
    # Newest first: the expired one was asked for earlier.
    assert [r.order_id for r in repository.payments_of(engine, "D-REFUSED")] == ["MC1", "MC3"]

    # Only the paid order of the closed, refused dossier is due; not the open one's.
    assert [r.order_id for r in repository.refunds_due(engine, ["not_received"])] == ["MC1"]
    assert repository.refunds_due(engine, ["withdrawn"]) == []
    assert repository.refunds_due(engine, []) == []

    receipt = repository.issue_receipt(
        engine,
        "D-REFUSED:3",
        {
            "agency_code": CENTRE,
            "year": 2026,
            "dossier_code": "D-REFUSED",
            "event_id": "D-REFUSED:3",
            "amount_vnd": 200_000,
            "method": "payment_platform",
            "online": True,
            "issued_at": AT,
        },
    )
    done = {
        "refund_id": "MC1-R",
        "amount_vnd": 200_000,
        "at": AT + timedelta(hours=2),
        "note": "Hoàn trả phí, lệ phí: hồ sơ bị từ chối",
        "receipt_event_id": "D-REFUSED:3",
        "by": "payment-gateway",
    }
    assert repository.mark_refunded(engine, "MC1", **done) is True
    assert repository.mark_refunded(engine, "MC1", **done) is False  # once
    refunded = repository.get_payment(engine, "MC1")
    assert refunded is not None
    assert (refunded.status, refunded.refund_amount_vnd) == ("refunded", 200_000)
    assert repository.refunds_due(engine, ["not_received"]) == []
    # The receipt is kept, marked refunded with the reason; never deleted.
    [kept] = repository.receipts_of(engine, "D-REFUSED")
    assert (kept.id, kept.status, kept.cancel_reason) == (receipt.id, "refunded", done["note"])
    # A late record of the workflow's does not undo the refund.
    repository.record_payment(engine, order("MC1", "D-REFUSED", "paid", transaction_id="GD1"))
    again = repository.get_payment(engine, "MC1")
    assert again is not None and again.status == "refunded"

    repository.record_callback(
        engine, order_id="MC1", transaction_id="GD1", amount_vnd=200_000, outcome="settled"
    )
    repository.record_callback(
        engine,
        order_id="MC1",
        transaction_id="GD9",
        amount_vnd=200_000,
        outcome="refused",
        code="conflict",
        message="Yêu cầu thanh toán MC1 đã được thanh toán bằng giao dịch GD1",
    )
    calls = repository.callbacks_of(engine, "MC1")
    assert [(c.outcome, c.code, c.transaction_id) for c in calls] == [
        ("settled", "", "GD1"),
        ("refused", "conflict", "GD9"),
    ]
