"""Read-model writes and reads.

Every writer is idempotent so a retried Temporal activity never doubles a row:
rows with natural ids are inserted with ``ON CONFLICT DO NOTHING``, the dossier
summary is upserted only when it is not older than the stored one, and dossier
codes come from one atomic ``INSERT .. ON CONFLICT DO UPDATE .. RETURNING``.
Works on SQLite (>= 3.35) and PostgreSQL.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, col
from sqlmodel import select as sm_select

from domain.dossier import Event
from store.db import SQLITE_BEGIN_OPTION
from store.models import (
    DocumentRow,
    DossierRow,
    DossierSequenceRow,
    EventRow,
    HandoffInboxRow,
    OutboxRow,
    RefusedAttemptRow,
)
from store.schemas import (
    DocumentRecord,
    DossierSummary,
    HandoffReceipt,
    OutboxMessage,
    RefusedAttempt,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=SQLModel)

SQLITE_LOCK_RETRIES = 12

# --------------------------------------------------------------------------- helpers


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


def _insert(conn: Connection, model: type[SQLModel]) -> Any:
    """The dialect's INSERT (with on_conflict_do_nothing / on_conflict_do_update)."""
    name = conn.dialect.name
    if name == "postgresql":
        return pg_dialect.insert(_table(model))
    if name == "sqlite":
        return sqlite_dialect.insert(_table(model))
    raise NotImplementedError(f"upserts are not implemented for {name!r}")


def _is_sqlite_lock(exc: OperationalError) -> bool:
    msg = str(exc.orig or exc).lower()
    return (
        "database is locked" in msg
        or "database is busy" in msg
        or "database table is locked" in msg
    )


def _write(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in its own transaction (BEGIN IMMEDIATE on SQLite), retrying SQLite lock errors."""
    attempt = 0
    while True:
        try:
            with engine.connect() as conn:
                conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                with conn.begin():
                    return work(conn)
        except OperationalError as exc:
            attempt += 1
            if (
                engine.dialect.name != "sqlite"
                or not _is_sqlite_lock(exc)
                or attempt >= SQLITE_LOCK_RETRIES
            ):
                raise
            time.sleep(min(0.02 * 2**attempt, 1.0) * (0.5 + random.random()))


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _coerce(obj: BaseModel | Mapping[str, Any], schema: type[M]) -> M:
    """Validate a payload, a SQLModel row or a mapping into ``schema`` (applies defaults)."""
    if isinstance(obj, schema):
        return obj
    if isinstance(obj, BaseModel):
        obj = obj.model_dump()
    return schema.model_validate(dict(obj))


def _values(payload: BaseModel, model: type[SQLModel], **overrides: Any) -> dict[str, Any]:
    """Column values of ``model`` taken from ``payload`` (enums as plain strings, JSON made jsonable)."""
    columns = _table(model).c
    raw = {**payload.model_dump(), **overrides}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in columns:
            continue
        if key == "data":
            value = to_jsonable_python(value)
        out[key] = _plain(value)
    return out


def _row(model: type[R], mapping: Mapping[Any, Any]) -> R:
    return model.model_validate(dict(mapping))


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- dossier codes


def format_dossier_code(agency_code: str, day: date, seq: int) -> str:
    """``f"{agency_code}-{YYMMDD}-{seq:04d}"`` (more digits past 9999)."""
    return f"{agency_code}-{day:%y%m%d}-{seq:04d}"


def allocate_dossier_code(engine: Engine, agency_code: str, day: date) -> str:
    """Next dossier code of ``agency_code`` for ``day`` (the receiving centre's local date).

    One atomic upsert-returning statement in its own transaction: unique under
    concurrent callers and processes on both SQLite and PostgreSQL. Not
    idempotent by nature: every call consumes a number.
    """
    if not agency_code:
        raise ValueError("agency_code is required")
    day_key = f"{day:%y%m%d}"
    table = _table(DossierSequenceRow)

    def work(conn: Connection) -> int:
        stmt = _insert(conn, DossierSequenceRow).values(
            agency_code=agency_code, day=day_key, last_seq=1
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.agency_code, table.c.day],
            set_={"last_seq": table.c.last_seq + 1},
        ).returning(table.c.last_seq)
        return int(conn.execute(stmt).scalar_one())

    return format_dossier_code(agency_code, day, _write(engine, work))


# --------------------------------------------------------------------------- writers


def record_events(
    engine: Engine,
    events: Iterable[Event | Mapping[str, Any]],
    summary: DossierSummary | Mapping[str, Any] | None = None,
) -> None:
    """Append events (ignoring ids already stored) and upsert the dossier summary,
    in one transaction. The summary replaces the stored row only when its
    ``last_event_seq`` is >= the stored one, so a late retry never regresses it."""
    event_rows = [_values(_coerce(e, Event), EventRow) for e in events]
    dossier_values = None
    if summary is not None:
        s = _coerce(summary, DossierSummary)
        dossier_values = _values(s, DossierRow, updated_at=s.updated_at or _now())

    def work(conn: Connection) -> None:
        if event_rows:
            stmt = _insert(conn, EventRow).on_conflict_do_nothing(index_elements=["id"])
            conn.execute(stmt, event_rows)
        if dossier_values is not None:
            table = _table(DossierRow)
            ins = _insert(conn, DossierRow).values(**dossier_values)
            ins = ins.on_conflict_do_update(
                index_elements=["code"],
                set_={k: ins.excluded[k] for k in dossier_values if k != "code"},
                where=table.c.last_event_seq <= ins.excluded.last_event_seq,
            )
            conn.execute(ins)

    if event_rows or dossier_values is not None:
        _write(engine, work)


def _insert_ignoring_duplicates(
    engine: Engine, model: type[SQLModel], rows: list[dict[str, Any]]
) -> None:
    if not rows:
        return

    def work(conn: Connection) -> None:
        conn.execute(_insert(conn, model).on_conflict_do_nothing(index_elements=["id"]), rows)

    _write(engine, work)


def add_outbox(
    engine: Engine, rows: Iterable[OutboxMessage | OutboxRow | Mapping[str, Any]]
) -> None:
    """Queue notifications; ids already queued are ignored (``id`` defaults to ``event_id:recipient``)."""
    _insert_ignoring_duplicates(
        engine, OutboxRow, [_values(_coerce(r, OutboxMessage), OutboxRow) for r in rows]
    )


def add_documents(
    engine: Engine, rows: Iterable[DocumentRecord | DocumentRow | Mapping[str, Any]]
) -> None:
    """Store generated documents; ids already stored are ignored (first write wins)."""
    _insert_ignoring_duplicates(
        engine, DocumentRow, [_values(_coerce(r, DocumentRecord), DocumentRow) for r in rows]
    )


def mark_outbox_sent(engine: Engine, ids: Iterable[str], at: datetime | None = None) -> int:
    """Mark notifications delivered (those not marked yet); returns how many changed."""
    id_list = list(ids)
    if not id_list:
        return 0
    table = _table(OutboxRow)
    sent_at = at or _now()

    def work(conn: Connection) -> int:
        stmt = (
            table.update()
            .where(table.c.id.in_(id_list), table.c.sent_at.is_(None))
            .values(sent_at=sent_at)
        )
        return int(conn.execute(stmt).rowcount or 0)

    return _write(engine, work)


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


# --------------------------------------------------------------------------- readers


def _read(engine: Engine, stmt: Any) -> list[Any]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.exec(stmt).all())


def get_dossier(engine: Engine, code: str) -> DossierRow | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(DossierRow, code)


def list_events(engine: Engine, code: str) -> list[EventRow]:
    """The dossier's events ordered by seq."""
    return _read(
        engine, sm_select(EventRow).where(EventRow.dossier_code == code).order_by(col(EventRow.seq))
    )


def list_refused_attempts(engine: Engine, code: str) -> list[RefusedAttemptRow]:
    """Refused attempts on the dossier, oldest first (ties in recording order)."""
    return _read(
        engine,
        sm_select(RefusedAttemptRow)
        .where(RefusedAttemptRow.dossier_code == code)
        .order_by(col(RefusedAttemptRow.at), col(RefusedAttemptRow.id)),
    )


def list_outbox(engine: Engine, code: str) -> list[OutboxRow]:
    """The dossier's notifications, oldest first."""
    return _read(
        engine,
        sm_select(OutboxRow)
        .where(OutboxRow.dossier_code == code)
        .order_by(col(OutboxRow.created_at), col(OutboxRow.id)),
    )


def list_pending_outbox(engine: Engine, limit: int = 100) -> list[OutboxRow]:
    """Undelivered notifications of all dossiers, oldest first (for the sender)."""
    return _read(
        engine,
        sm_select(OutboxRow)
        .where(col(OutboxRow.sent_at).is_(None))
        .order_by(col(OutboxRow.created_at), col(OutboxRow.id))
        .limit(limit),
    )


def list_documents(engine: Engine, code: str) -> list[DocumentRow]:
    """The dossier's documents, oldest first."""
    return _read(
        engine,
        sm_select(DocumentRow)
        .where(DocumentRow.dossier_code == code)
        .order_by(col(DocumentRow.created_at), col(DocumentRow.id)),
    )
