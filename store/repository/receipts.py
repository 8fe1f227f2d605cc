"""E-receipts: a number from the collecting unit's series, taken in the transaction that
stores the receipt (so a rolled-back receipt gives its number back: no gaps), once per
payment (a retried activity finds the receipt it issued), and cancellation with a
replacement (never a deletion)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select, update
from sqlmodel import col
from sqlmodel import select as sm_select

from store.models import ReceiptRow, ReceiptSeriesRow
from store.repository._common import _insert, _read, _row, _table, _write

# Ký hiệu of the series [uncertain: the form and symbol of a fee e-receipt are the
# Ministry of Finance's (Decree 123/2020/NĐ-CP, Circular 78/2021/TT-BTC); set per unit].
SYMBOL = "BLĐT"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # the series' year is the collecting unit's


def receipt_id(agency_code: str, year: int, number: int) -> str:
    return f"{agency_code}:{year}:{number:07d}"


def _next_number(conn: Connection, agency_code: str, year: int) -> int:
    series = _table(ReceiptSeriesRow)
    stmt = (
        _insert(conn, ReceiptSeriesRow)
        .values(agency_code=agency_code, year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[series.c.agency_code, series.c.year],
            set_={"last_number": series.c.last_number + 1},
        )
        .returning(series.c.last_number)
    )
    return int(conn.execute(stmt).scalar_one())


def _issue(conn: Connection, source_key: str, values: Mapping[str, Any]) -> ReceiptRow:
    t = _table(ReceiptRow)
    found = conn.execute(select(t).where(t.c.source_key == source_key)).mappings().first()
    if found is not None:
        return _row(ReceiptRow, found)
    agency, year = str(values["agency_code"]), int(values["year"])
    number = _next_number(conn, agency, year)
    row = {
        **values,
        "id": receipt_id(agency, year, number),
        "number": number,
        "symbol": f"{SYMBOL}-{year}",
        "source_key": source_key,
        "status": "issued",
    }
    conn.execute(_insert(conn, ReceiptRow).values(**row))
    return _row(ReceiptRow, row)


def issue_receipt(engine: Engine, source_key: str, values: Mapping[str, Any]) -> ReceiptRow:
    """The receipt for `source_key` (a pay event's id): the one issued already, or a new
    one numbered next in the series of `values["agency_code"]` and `values["year"]`.
    `values` holds the other columns (dossier_code, event_id, amount_vnd, ...)."""
    return _write(engine, lambda conn: _issue(conn, source_key, values))


def attach_document(engine: Engine, rid: str, document_id: str, sha256: str) -> None:
    t = _table(ReceiptRow)

    def work(conn: Connection) -> None:
        conn.execute(update(t).where(t.c.id == rid).values(document_id=document_id, sha256=sha256))

    _write(engine, work)


class ReceiptNotCancellable(ValueError):
    pass


def cancel_and_replace(
    engine: Engine, rid: str, *, by: str, reason: str, at: datetime
) -> tuple[ReceiptRow, ReceiptRow]:
    """Mark the receipt cancelled with the reason and issue its replacement (the same
    payment, the next number of the series of the year it is replaced in), in one
    transaction. Raises KeyError (no such receipt) or ReceiptNotCancellable."""
    t = _table(ReceiptRow)

    def work(conn: Connection) -> tuple[ReceiptRow, ReceiptRow]:
        found = conn.execute(select(t).where(t.c.id == rid)).mappings().first()
        if found is None:
            raise KeyError(rid)
        old = _row(ReceiptRow, found)
        if old.status != "issued":
            raise ReceiptNotCancellable(rid)
        keep = {
            k: getattr(old, k)
            for k in (
                "agency_code",
                "dossier_code",
                "event_id",
                "amount_vnd",
                "method",
                "online",
                "payer_name",
                "lines",
            )
        }
        new = _issue(
            conn,
            f"{rid}:replacement",
            {**keep, "year": at.astimezone(TZ).year, "issued_at": at, "replaces": rid},
        )
        changed = conn.execute(
            update(t)
            .where(t.c.id == rid, t.c.status == "issued")
            .values(
                status="cancelled",
                cancelled_at=at,
                cancelled_by=by,
                cancel_reason=reason,
                replaced_by=new.id,
            )
        )
        if changed.rowcount != 1:
            raise ReceiptNotCancellable(rid)
        old.status, old.replaced_by, old.cancel_reason = "cancelled", new.id, reason
        old.cancelled_by, old.cancelled_at = by, at
        return old, new

    return _write(engine, work)


def receipts_of(engine: Engine, dossier_code: str) -> list[ReceiptRow]:
    return _read(
        engine,
        sm_select(ReceiptRow)
        .where(col(ReceiptRow.dossier_code) == dossier_code)
        .order_by(col(ReceiptRow.issued_at), col(ReceiptRow.id)),
    )


def get_receipt(engine: Engine, rid: str) -> ReceiptRow | None:
    rows = _read(engine, sm_select(ReceiptRow).where(col(ReceiptRow.id) == rid))
    return rows[0] if rows else None
