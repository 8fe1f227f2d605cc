"""An agency's receipts of handed-off steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, select

from store.models import HandoffInboxRow
from store.repository._common import _coerce, _insert, _row, _table, _values, _write
from store.schemas import HandoffReceipt


def record_handoff(
    engine: Engine, row: HandoffReceipt | HandoffInboxRow | Mapping[str, Any]
) -> HandoffInboxRow:
    """Record an agency's receipt of a handed-off step; on retry returns the row stored first."""
    values = _values(_coerce(row, HandoffReceipt), HandoffInboxRow)
    table = _table(HandoffInboxRow)

    def work(conn: Connection) -> HandoffInboxRow:
        conn.execute(
            _insert(conn, HandoffInboxRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        stored = conn.execute(select(table).where(table.c.id == values["id"])).mappings().one()
        return _row(HandoffInboxRow, stored)

    return _write(engine, work)
