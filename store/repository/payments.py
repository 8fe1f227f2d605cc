"""Online payment requests as their PaymentWorkflow records them (one row per order,
upserted whole: the workflow is the truth, the row its latest picture), the gateway's
callbacks as received, and the refunds due on refused or withdrawn dossiers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlmodel import col
from sqlmodel import select as sm_select

from store.models import DossierRow, PaymentCallbackRow, PaymentRequestRow, ReceiptRow
from store.repository._common import _insert, _now, _read, _table, _write


def record_payment(engine: Engine, values: dict[str, Any]) -> None:
    """Upsert the order's row (`values`: its columns, order_id included). A row already
    refunded stays refunded: the refund is the last word on an order."""
    t = _table(PaymentRequestRow)
    row = {k: v for k, v in values.items() if k in t.c}
    row["updated_at"] = _now()

    def work(conn: Connection) -> None:
        found = conn.execute(
            select(t.c.status).where(t.c.order_id == row["order_id"])
        ).scalar_one_or_none()
        if found is None:
            conn.execute(_insert(conn, PaymentRequestRow).values(**row).on_conflict_do_nothing())
            return
        if found == "refunded" and row.get("status") != "refunded":
            return
        conn.execute(update(t).where(t.c.order_id == row["order_id"]).values(**row))

    _write(engine, work)


def get_payment(engine: Engine, order_id: str) -> PaymentRequestRow | None:
    found = _read(
        engine, sm_select(PaymentRequestRow).where(PaymentRequestRow.order_id == order_id)
    )
    return found[0] if found else None


def payments_of(engine: Engine, dossier_code: str) -> list[PaymentRequestRow]:
    """The dossier's payment requests, newest first."""
    return _read(
        engine,
        sm_select(PaymentRequestRow)
        .where(PaymentRequestRow.dossier_code == dossier_code)
        .order_by(col(PaymentRequestRow.requested_at).desc()),
    )


def record_callback(
    engine: Engine,
    *,
    order_id: str,
    transaction_id: str,
    amount_vnd: int,
    outcome: str,
    code: str = "",
    message: str = "",
    at: datetime | None = None,
) -> None:
    def work(conn: Connection) -> None:
        conn.execute(
            _insert(conn, PaymentCallbackRow).values(
                received_at=at or _now(),
                order_id=order_id[:200],
                transaction_id=transaction_id[:200],
                amount_vnd=amount_vnd,
                outcome=outcome,
                code=code,
                message=message[:2000],
            )
        )

    _write(engine, work)


def callbacks_of(engine: Engine, order_id: str) -> list[PaymentCallbackRow]:
    return _read(
        engine,
        sm_select(PaymentCallbackRow)
        .where(PaymentCallbackRow.order_id == order_id)
        .order_by(col(PaymentCallbackRow.id)),
    )


def refunds_due(engine: Engine, outcomes: Sequence[str]) -> list[PaymentRequestRow]:
    """Orders paid (and recorded) whose dossier has closed with one of `outcomes`, not
    refunded yet."""
    if not outcomes:
        return []
    return _read(
        engine,
        sm_select(PaymentRequestRow)
        .join(DossierRow, col(DossierRow.code) == col(PaymentRequestRow.dossier_code))
        .where(
            col(PaymentRequestRow.status) == "paid",
            col(PaymentRequestRow.refunded_at).is_(None),
            col(DossierRow.closed_at).is_not(None),
            col(DossierRow.outcome).in_(list(outcomes)),
        )
        .order_by(col(PaymentRequestRow.settled_at)),
    )


def mark_refunded(
    engine: Engine,
    order_id: str,
    *,
    refund_id: str,
    amount_vnd: int,
    at: datetime,
    note: str,
    receipt_event_id: str | None,
    by: str,
) -> bool:
    """The order refunded, and the e-receipt of its payment (the pay event's) marked
    refunded with the reason, in one transaction: kept, never deleted, not replaced (no
    money is held any more). False when the order was refunded already."""
    t = _table(PaymentRequestRow)
    r = _table(ReceiptRow)

    def work(conn: Connection) -> bool:
        changed = conn.execute(
            update(t)
            .where(t.c.order_id == order_id, t.c.refunded_at.is_(None))
            .values(
                status="refunded",
                refund_id=refund_id,
                refund_amount_vnd=amount_vnd,
                refunded_at=at,
                note=note,
                updated_at=_now(),
            )
        )
        if changed.rowcount != 1:
            return False
        if receipt_event_id is not None:
            conn.execute(
                update(r)
                .where(r.c.event_id == receipt_event_id, r.c.status == "issued")
                .values(status="refunded", cancelled_at=at, cancelled_by=by, cancel_reason=note)
            )
        return True

    return _write(engine, work)
