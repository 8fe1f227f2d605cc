"""Refused workflow updates, recorded for the auditors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, select

from store.models import RefusedAttemptRow
from store.repository._common import (
    _coerce,
    _insert,
    _row,
    _rows_in_order,
    _table,
    _values,
    _write,
)
from store.schemas import RefusedAttempt


def record_refused_attempt(
    engine: Engine, attempt: RefusedAttempt | RefusedAttemptRow | Mapping[str, Any]
) -> RefusedAttemptRow:
    """Record a refused workflow update for the auditors.

    Idempotent when ``attempt_id`` is set (a retry returns the stored row);
    without it every call adds a row.
    """
    values = _values(_coerce(attempt, RefusedAttempt), RefusedAttemptRow)
    values.pop("id", None)
    table = _table(RefusedAttemptRow)

    def work(conn: Connection) -> RefusedAttemptRow:
        stmt = _insert(conn, RefusedAttemptRow).values(**values)
        if values.get("attempt_id") is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=["attempt_id"])
        inserted = conn.execute(stmt.returning(*table.c)).mappings().one_or_none()
        if inserted is None:
            inserted = (
                conn.execute(select(table).where(table.c.attempt_id == values["attempt_id"]))
                .mappings()
                .one()
            )
        return _row(RefusedAttemptRow, inserted)

    return _write(engine, work)


def list_refused_attempts(engine: Engine, code: str) -> list[RefusedAttemptRow]:
    """Refused attempts on the dossier, oldest first (ties in recording order)."""
    return _rows_in_order(engine, RefusedAttemptRow.dossier_code, code, RefusedAttemptRow.at)
