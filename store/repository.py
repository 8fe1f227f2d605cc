"""Read-model writes and reads.

Every writer is idempotent so a retried Temporal activity never doubles a row:
rows with natural ids are inserted with ``ON CONFLICT DO NOTHING``, the dossier
summary is upserted only when it is not older than the stored one, and dossier
codes come from one atomic ``INSERT .. ON CONFLICT DO UPDATE .. RETURNING``.
Works on SQLite (>= 3.35) and PostgreSQL.

Lists page by keyset (``list_dossiers``): the cursor is an opaque url-safe
base64 of the last row's ``(submitted_at, code)``.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from enum import Enum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import ColumnElement, Connection, Engine, Table, and_, case, func, or_, select
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, col
from sqlmodel import select as sm_select

from domain.calendar import VIETNAM_TZ
from domain.catalog import Catalog
from domain.dossier import Event
from store.db import SQLITE_BEGIN_OPTION
from store.models import (
    ActionRequestRow,
    AgencyRow,
    AuditLogHeadRow,
    AuditLogRow,
    DocumentRow,
    DossierRow,
    DossierSequenceRow,
    EventRow,
    FeedbackRow,
    HandoffInboxRow,
    HistoryArchiveRow,
    IdempotencyKeyRow,
    OutboxRow,
    ProcedureRow,
    RatingRow,
    RefusedAttemptRow,
    UserSeenRow,
)
from store.schemas import (
    DocumentRecord,
    DossierItem,
    DossierPage,
    DossierQuery,
    DossierSummary,
    HandoffReceipt,
    IdempotencyClaim,
    IdempotencyState,
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


def list_pending_outbox(
    engine: Engine, limit: int = 100, *, channel: str | None = None
) -> list[OutboxRow]:
    """Undelivered notifications (of one channel, if given), oldest first (for the sender)."""
    stmt = sm_select(OutboxRow).where(col(OutboxRow.sent_at).is_(None))
    if channel is not None:
        stmt = stmt.where(OutboxRow.channel == channel)
    return _read(engine, stmt.order_by(col(OutboxRow.created_at), col(OutboxRow.id)).limit(limit))


def list_documents(
    engine: Engine, code: str, *, with_sub_dossiers: bool = False
) -> list[DocumentRow]:
    """The dossier's documents, oldest first; with its linked group's sub-dossiers'
    (codes `<code>.<n>`) when asked."""
    where: ColumnElement[bool] = col(DocumentRow.dossier_code) == code
    if with_sub_dossiers:
        where = or_(where, col(DocumentRow.dossier_code).startswith(f"{code}.", autoescape=True))
    return _read(
        engine,
        sm_select(DocumentRow)
        .where(where)
        .order_by(col(DocumentRow.created_at), col(DocumentRow.id)),
    )


def dossiers_holding(
    engine: Engine,
    sha256: str,
    *,
    account: str | None = None,
    limit: int = 1000,
) -> list[DossierRow]:
    """The dossiers that hold the file `sha256` (an upload, a form, a result): those of
    its document rows, and for a linked group's sub-dossier (`<code>.<n>`) its parent,
    whose readers read its documents too; narrowed to the dossiers submitted online by
    `account` when given. Who may reference a file by its hash (api/routes/dossiers.py)
    judges the rows."""
    codes: list[str] = _read(
        engine,
        sm_select(DocumentRow.dossier_code)
        .where(col(DocumentRow.sha256) == sha256)
        .distinct()
        .limit(limit),
    )
    candidates = set(codes)
    for code in codes:
        parent, _, n = code.rpartition(".")
        if parent and n.isdigit():
            candidates.add(parent)
    if not candidates:
        return []
    where: list[ColumnElement[bool]] = [col(DossierRow.code).in_(sorted(candidates))]
    if account is not None:
        where.append(col(DossierRow.applicant_account) == account)
    return _read(engine, sm_select(DossierRow).where(*where).limit(limit))


def received_by_agency(
    engine: Engine, agency: str, start: datetime, end: datetime
) -> list[DossierRow]:
    """Dossiers the agency received (as centre) or resolves, submitted in [start, end):
    the rows of its tracking book (Form 07), in order of submission."""
    return _read(
        engine,
        sm_select(DossierRow)
        .where(
            or_(
                col(DossierRow.centre_agency) == agency, col(DossierRow.competent_agency) == agency
            ),
            col(DossierRow.submitted_at) >= start,
            col(DossierRow.submitted_at) < end,
        )
        .order_by(col(DossierRow.submitted_at), col(DossierRow.code)),
    )


def get_document(engine: Engine, document_id: str) -> DocumentRow | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(DocumentRow, document_id)


def documents_with_hash(engine: Engine, sha256: str) -> list[DocumentRow]:
    """Documents whose stored file has this SHA-256 (a verifier asking "is this ours?")."""
    return _read(
        engine,
        sm_select(DocumentRow).where(DocumentRow.sha256 == sha256).order_by(col(DocumentRow.id)),
    )


# --------------------------------------------------------------------------- dossier lists

MAX_PAGE_SIZE = 500
_LIKE_ESCAPE = "\\"
_SQLITE_LOWER = "motcua_lower"


def _unicode_lower(value: Any) -> Any:
    return unicodedata.normalize("NFC", value).lower() if isinstance(value, str) else value


def _prepare_connection(conn: Connection) -> None:
    """SQLite's lower() folds ASCII only: give it a Unicode one for Vietnamese names."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        if raw is not None:
            raw.create_function(_SQLITE_LOWER, 1, _unicode_lower, deterministic=True)


def _like_pattern(text: str) -> str:
    """``%text%`` with the user's ``\\``, ``%`` and ``_`` matching themselves."""
    escaped = (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


def _contains_ci(dialect: str, column: Any, text: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        result: ColumnElement[bool] = column.ilike(_like_pattern(text), escape=_LIKE_ESCAPE)
        return result
    return getattr(func, _SQLITE_LOWER)(column).like(  # type: ignore[no-any-return]
        _like_pattern(_unicode_lower(text)), escape=_LIKE_ESCAPE
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, dt_time(), tzinfo=ZoneInfo(VIETNAM_TZ))


def _any_agency(table: Table, agency: str) -> ColumnElement[bool]:
    return or_(
        table.c.centre_agency == agency,
        table.c.competent_agency == agency,
        table.c.current_agency == agency,
    )


def _dossier_filters(dialect: str, q: DossierQuery) -> list[ColumnElement[bool]]:
    t = _table(DossierRow)
    where: list[ColumnElement[bool]] = []
    if q.status is not None:
        where.append(t.c.status == q.status.value)
    if q.procedure is not None:
        where.append(t.c.procedure_code == q.procedure)
    if q.agency is not None:
        where.append(_any_agency(t, q.agency))
    if q.overdue is not None:
        where.append(t.c.overdue == q.overdue)
    if q.received_from is not None:
        start = q.received_from
        if not isinstance(start, datetime):
            start = _day_start(start)
        where.append(t.c.received_at >= start)
    if q.received_to is not None:
        end = q.received_to
        if isinstance(end, datetime):
            where.append(t.c.received_at <= end)
        else:
            where.append(t.c.received_at < _day_start(end + timedelta(days=1)))
    if q.q and q.q_matches_names:
        where.append(
            or_(
                _contains_ci(dialect, t.c.code, q.q),
                _contains_ci(dialect, t.c.applicant_name, q.q),
            )
        )
    elif q.q:
        where.append(_contains_ci(dialect, t.c.code, q.q))
    if q.scope_agency is not None:
        where.append(_any_agency(t, q.scope_agency))
    if q.scope_account is not None:
        where.append(t.c.applicant_account == q.scope_account)
    return where


def encode_cursor(submitted_at: datetime, code: str) -> str:
    """The opaque cursor after the row ``(submitted_at, code)``."""
    raw = json.dumps([submitted_at.astimezone(UTC).isoformat(), code], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """``(submitted_at, code)`` of a cursor; ``ValueError("cursor: ...")`` when malformed."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        value = json.loads(raw.decode())
        if not (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], str)
            and isinstance(value[1], str)
        ):
            raise ValueError("not a [submitted_at, code] pair")
        at = datetime.fromisoformat(value[0])
        if at.tzinfo is None:
            raise ValueError("submitted_at has no offset")
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise ValueError(f"cursor: not a valid page cursor ({exc})") from None
    return at.astimezone(UTC), value[1]


def list_dossiers(
    engine: Engine, q: DossierQuery, *, limit: int = 50, cursor: str | None = None
) -> DossierPage:
    """Dossiers matching ``q``, newest first by ``(submitted_at, code)``, ``limit`` per page.

    Keyset pagination: pass the page's ``next_cursor`` to get the next one.
    Raises ``ValueError("cursor: ...")`` for a malformed cursor and
    ``ValueError("limit: ...")`` for a limit outside 1..MAX_PAGE_SIZE.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit: must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    t = _table(DossierRow)
    after = decode_cursor(cursor) if cursor is not None else None
    with engine.connect() as conn:
        _prepare_connection(conn)
        where = _dossier_filters(conn.dialect.name, q)
        if after is not None:
            at, code = after
            where.append(or_(t.c.submitted_at < at, and_(t.c.submitted_at == at, t.c.code < code)))
        stmt = (
            select(t)
            .where(*where)
            .order_by(t.c.submitted_at.desc(), t.c.code.desc())
            .limit(limit + 1)
        )
        rows = conn.execute(stmt).mappings().all()
    items = [DossierItem.model_validate(dict(r)) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last.submitted_at, last.code)
    return DossierPage(items=items, next_cursor=next_cursor)


def count_dossiers(engine: Engine, q: DossierQuery) -> int:
    """How many dossiers match ``q`` (all pages)."""
    t = _table(DossierRow)
    with engine.connect() as conn:
        _prepare_connection(conn)
        stmt = select(func.count()).select_from(t).where(*_dossier_filters(conn.dialect.name, q))
        return int(conn.execute(stmt).scalar_one())


def worklist(
    engine: Engine,
    agency: str,
    roles: Iterable[str],
    *,
    limit: int = 100,
) -> tuple[list[DossierItem], int]:
    """The open dossiers an officer of ``agency`` with ``roles`` must act on now, most
    urgent first (overdue, then by the step's due time, then by the appointment), and how
    many there are in all.

    A dossier is on the list when its current step belongs to ``agency`` and to one of
    ``roles``; a leader also sees the agency's escalated dossiers, and an intake officer
    the centre's handoffs waiting to be forwarded. Dossiers waiting for the applicant (a
    supplement, a payment) are on nobody's list until the applicant acts.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit: must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    t = _table(DossierRow)
    role_set = sorted(set(roles))
    mine = [and_(t.c.current_agency == agency, t.c.current_role.in_(role_set))]
    if "leader" in role_set:
        mine.append(and_(t.c.current_agency == agency, t.c.escalated.is_(True)))
    if "intake_officer" in role_set:
        mine.append(and_(t.c.centre_agency == agency, t.c.current_step_kind == "handoff"))
    where = [
        t.c.closed_at.is_(None),
        t.c.status.not_in(["supplement_requested", "financial_obligation"]),
        or_(*mine),
    ]
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
        rows = (
            conn.execute(
                select(t)
                .where(*where)
                .order_by(
                    t.c.overdue.desc(),
                    t.c.step_due_at.is_(None),
                    t.c.step_due_at.asc(),
                    t.c.appointment_at.is_(None),
                    t.c.appointment_at.asc(),
                    t.c.code.asc(),
                )
                .limit(limit)
            )
            .mappings()
            .all()
        )
    return [DossierItem.model_validate(dict(r)) for r in rows], total


# --------------------------------------------------------------------------- idempotency keys


def _claim(state: IdempotencyState, row: Mapping[Any, Any]) -> IdempotencyClaim:
    return IdempotencyClaim(
        state=state,
        key=row["key"],
        principal=row["principal"],
        dossier_code=row["dossier_code"],
        created_at=row["created_at"],
    )


def claim_idempotency_key(
    engine: Engine,
    key: str,
    principal: str,
    request_sha256: str,
    *,
    at: datetime | None = None,
    stale_after: timedelta | None = None,
) -> IdempotencyClaim:
    """Claim ``key`` for ``principal``'s request (race-safe: INSERT .. ON CONFLICT DO NOTHING).

    - ``NEW``: the key is now this caller's: create the dossier, then
      ``complete_idempotency_key`` (or ``release_idempotency_key`` on failure);
    - ``COMPLETED``: the same request was done before: ``dossier_code`` is its dossier;
    - ``IN_PROGRESS``: the same request is being handled (claimed, no code yet);
    - ``MISMATCH``: the key was used with a different ``request_sha256`` (409/422).

    With ``stale_after``, a claim left in progress for that long is taken over
    (returned as ``NEW``; exactly one of several concurrent callers wins it).
    """
    if not key or not principal:
        raise ValueError("key and principal are required")
    now = at or _now()
    t = _table(IdempotencyKeyRow)
    this = and_(t.c.key == key, t.c.principal == principal)

    def work(conn: Connection) -> IdempotencyClaim:
        values = {
            "key": key,
            "principal": principal,
            "request_sha256": request_sha256,
            "dossier_code": None,
            "created_at": now,
        }
        ins = (
            _insert(conn, IdempotencyKeyRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["key", "principal"])
            .returning(*t.c)
        )
        inserted = conn.execute(ins).mappings().one_or_none()
        if inserted is not None:
            return _claim(IdempotencyState.NEW, inserted)
        stored = conn.execute(select(t).where(this)).mappings().one()
        if stored["request_sha256"] != request_sha256:
            return _claim(IdempotencyState.MISMATCH, stored)
        if stored["dossier_code"] is not None:
            return _claim(IdempotencyState.COMPLETED, stored)
        if stale_after is not None and stored["created_at"] <= now - stale_after:
            taken = conn.execute(
                t.update()
                .where(
                    this,
                    t.c.dossier_code.is_(None),
                    t.c.created_at == stored["created_at"],
                )
                .values(created_at=now)
            ).rowcount
            if taken == 1:
                return _claim(IdempotencyState.NEW, {**stored, "created_at": now})
        return _claim(IdempotencyState.IN_PROGRESS, stored)

    return _write(engine, work)


def complete_idempotency_key(engine: Engine, key: str, principal: str, dossier_code: str) -> None:
    """Record the dossier created under a ``NEW`` claim (idempotent for the same code).

    Raises ``LookupError`` when the key was never claimed (or was released) and
    ``ValueError`` when it already names another dossier.
    """
    t = _table(IdempotencyKeyRow)
    this = and_(t.c.key == key, t.c.principal == principal)

    def work(conn: Connection) -> None:
        updated = conn.execute(
            t.update()
            .where(this, or_(t.c.dossier_code.is_(None), t.c.dossier_code == dossier_code))
            .values(dossier_code=dossier_code)
        ).rowcount
        if updated:
            return
        stored = conn.execute(select(t.c.dossier_code).where(this)).one_or_none()
        if stored is None:
            raise LookupError(f"idempotency key {key!r} of {principal!r} is not claimed")
        raise ValueError(
            f"idempotency key {key!r} of {principal!r} already names dossier {stored[0]}"
        )

    _write(engine, work)


def release_idempotency_key(engine: Engine, key: str, principal: str) -> bool:
    """Drop a claim still in progress (the dossier could not be created), so a retry
    can claim it again. Completed keys are kept. Returns whether a claim was dropped."""
    t = _table(IdempotencyKeyRow)

    def work(conn: Connection) -> bool:
        stmt = t.delete().where(
            t.c.key == key, t.c.principal == principal, t.c.dossier_code.is_(None)
        )
        return bool(conn.execute(stmt).rowcount)

    return _write(engine, work)


def purge_idempotency_keys(engine: Engine, before: datetime) -> int:
    """Forget keys claimed before ``before`` (retention); returns how many."""
    t = _table(IdempotencyKeyRow)

    def work(conn: Connection) -> int:
        return int(conn.execute(t.delete().where(t.c.created_at < before)).rowcount or 0)

    return _write(engine, work)


def get_idempotency_key(engine: Engine, key: str, principal: str) -> IdempotencyKeyRow | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(IdempotencyKeyRow, (key, principal))


# --------------------------------------------------------------------------- action requests


def claim_action_request(
    engine: Engine, dossier_code: str, principal: str, key: str, request_sha256: str
) -> tuple[bool, ActionRequestRow]:
    """Claim ``key`` for ``principal``'s action on ``dossier_code`` (race-safe: INSERT ..
    ON CONFLICT DO NOTHING). Returns (new, row): ``new`` when this call claimed it; else
    the stored row, whose ``request_sha256`` tells a retry from another request and whose
    ``status_code`` (None while the first request is under way) holds its answer."""
    if not key or not principal:
        raise ValueError("key and principal are required")
    t = _table(ActionRequestRow)
    values = {
        "dossier_code": dossier_code,
        "principal": principal,
        "key": key,
        "request_sha256": request_sha256,
        "status_code": None,
        "response": None,
        "created_at": _now(),
        "answered_at": None,
    }

    def work(conn: Connection) -> tuple[bool, ActionRequestRow]:
        ins = (
            _insert(conn, ActionRequestRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dossier_code", "principal", "key"])
            .returning(*t.c)
        )
        inserted = conn.execute(ins).mappings().one_or_none()
        if inserted is not None:
            return True, _row(ActionRequestRow, inserted)
        stored = (
            conn.execute(
                select(t).where(
                    t.c.dossier_code == dossier_code, t.c.principal == principal, t.c.key == key
                )
            )
            .mappings()
            .one()
        )
        return False, _row(ActionRequestRow, stored)

    return _write(engine, work)


def answer_action_request(
    engine: Engine,
    dossier_code: str,
    principal: str,
    key: str,
    status_code: int,
    response: dict[str, Any],
) -> ActionRequestRow | None:
    """Keep the answer of a claimed action request; the first answer kept wins (two
    concurrent retries got the same outcome from the workflow). Returns the stored row."""
    t = _table(ActionRequestRow)
    this = and_(t.c.dossier_code == dossier_code, t.c.principal == principal, t.c.key == key)
    body = to_jsonable_python(response)

    def work(conn: Connection) -> ActionRequestRow | None:
        conn.execute(
            t.update()
            .where(this, t.c.status_code.is_(None))
            .values(status_code=status_code, response=body, answered_at=_now())
        )
        stored = conn.execute(select(t).where(this)).mappings().one_or_none()
        return None if stored is None else _row(ActionRequestRow, stored)

    return _write(engine, work)


def purge_action_requests(engine: Engine, before: datetime) -> int:
    """Forget action keys claimed before ``before`` (retention); returns how many."""
    t = _table(ActionRequestRow)

    def work(conn: Connection) -> int:
        return int(conn.execute(t.delete().where(t.c.created_at < before)).rowcount or 0)

    return _write(engine, work)


# --------------------------------------------------------------------------- users seen


def touch_user(
    engine: Engine,
    sub: str,
    name: str,
    roles: Iterable[str],
    agency: str | None,
    at: datetime | None = None,
) -> UserSeenRow:
    """Record that user ``sub`` was seen at ``at`` (now by default) and return the row.

    ``first_seen`` keeps the earliest time, ``last_seen`` the latest; name,
    roles and agency come from the latest sighting (an older, late write does
    not overwrite them).
    """
    if not sub:
        raise ValueError("sub is required")
    seen = at or _now()
    role_list = list(dict.fromkeys(str(_plain(r)) for r in roles))
    t = _table(UserSeenRow)

    def work(conn: Connection) -> UserSeenRow:
        ins = _insert(conn, UserSeenRow).values(
            sub=sub, name=name, roles=role_list, agency=agency, first_seen=seen, last_seen=seen
        )
        new = ins.excluded
        newer = new.last_seen >= t.c.last_seen
        ins = ins.on_conflict_do_update(
            index_elements=["sub"],
            set_={
                "name": case((newer, new.name), else_=t.c.name),
                "roles": case((newer, new.roles), else_=t.c.roles),
                "agency": case((newer, new.agency), else_=t.c.agency),
                "last_seen": case((newer, new.last_seen), else_=t.c.last_seen),
                "first_seen": case(
                    (new.first_seen < t.c.first_seen, new.first_seen), else_=t.c.first_seen
                ),
            },
        ).returning(*t.c)
        return _row(UserSeenRow, conn.execute(ins).mappings().one())

    return _write(engine, work)


def get_user(engine: Engine, sub: str) -> UserSeenRow | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(UserSeenRow, sub)


# --------------------------------------------------------------------------- catalog


def sync_catalog(engine: Engine, catalog: Catalog) -> tuple[int, int]:
    """Upsert every agency and every procedure version of ``catalog`` (idempotent).

    Rows no longer in the catalog are kept: dossiers may still refer to them.
    Returns ``(agencies, procedure versions)`` written.
    """
    agencies = [
        {
            "code": a.code,
            "name": a.name,
            "kind": a.kind.value,
            "level": a.level,
            "parent": a.parent,
        }
        for a in catalog.agencies.values()
    ]
    procedures = [
        {
            "code": p.code,
            "version": p.version,
            "name": p.name,
            "field": p.field,
            "level": p.level,
            "competent_agency": p.competent_agency,
            "statutory_value": p.statutory_time.value,
            "statutory_unit": p.statutory_time.unit.value,
            "effective_from": p.effective_from,
            "effective_to": p.effective_to,
            "definition": p.model_dump(mode="json"),
        }
        for versions in catalog.procedures.values()
        for p in versions
    ]

    def upsert(conn: Connection, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        keys = [c.name for c in _table(model).primary_key.columns]
        ins = _insert(conn, model)
        ins = ins.on_conflict_do_update(
            index_elements=keys,
            set_={k: ins.excluded[k] for k in rows[0] if k not in keys},
        )
        conn.execute(ins, rows)

    def work(conn: Connection) -> None:
        upsert(conn, AgencyRow, agencies)
        upsert(conn, ProcedureRow, procedures)

    _write(engine, work)
    return len(agencies), len(procedures)


def list_agencies(engine: Engine) -> list[AgencyRow]:
    return _read(engine, sm_select(AgencyRow).order_by(col(AgencyRow.code)))


def list_procedures(engine: Engine) -> list[ProcedureRow]:
    """Every stored procedure version, by code then version."""
    return _read(
        engine,
        sm_select(ProcedureRow).order_by(col(ProcedureRow.code), col(ProcedureRow.version)),
    )


# --------------------------------------------------------------------------- audit


def archive_run(engine: Engine, row: HistoryArchiveRow) -> bool:
    """Record an archived history run; False if that run was archived already."""
    values = row.model_dump(exclude={"id"})
    table = _table(HistoryArchiveRow)

    def work(conn: Connection) -> bool:
        stmt = _insert(conn, HistoryArchiveRow).values(**values)
        stmt = stmt.on_conflict_do_nothing(index_elements=["workflow_id", "run_id"])
        # Whether a row came back, not the rowcount: PostgreSQL reports -1 (truthy) for
        # an INSERT .. ON CONFLICT DO NOTHING that inserted nothing.
        return conn.execute(stmt.returning(table.c.id)).first() is not None

    return _write(engine, work)


def archived_runs(engine: Engine, code: str) -> list[HistoryArchiveRow]:
    """A dossier's archived runs, first run first."""
    return _read(
        engine,
        sm_select(HistoryArchiveRow)
        .where(HistoryArchiveRow.workflow_id == code)
        .order_by(col(HistoryArchiveRow.started_at), col(HistoryArchiveRow.id)),
    )


def archived_run_ids(engine: Engine, run_ids: Iterable[str]) -> set[str]:
    ids = list(run_ids)
    if not ids:
        return set()
    rows = _read(
        engine,
        sm_select(HistoryArchiveRow.run_id).where(col(HistoryArchiveRow.run_id).in_(ids)),
    )
    return set(rows)


def log_audit_read(engine: Engine, row: AuditLogRow) -> AuditLogRow:
    """Append one auditor's read to the audit log, chained after the last row: the head
    is locked for the transaction (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
    write transaction, BEGIN IMMEDIATE, is the lock), so writers never fork the chain."""
    head = _table(AuditLogHeadRow)
    locked = select(head.c.seq, head.c.hash).where(head.c.id == 1)

    def work(conn: Connection) -> AuditLogRow:
        if conn.dialect.name == "postgresql":
            found = conn.execute(locked.with_for_update()).first()
        else:
            found = conn.execute(locked).first()
        if found is None:  # the migration writes the head; a database made otherwise
            conn.execute(
                _insert(conn, AuditLogHeadRow)
                .values(id=1, seq=0, hash="")
                .on_conflict_do_nothing(index_elements=["id"])
            )
            found = conn.execute(
                locked.with_for_update() if conn.dialect.name == "postgresql" else locked
            ).one()
        last_seq, last_hash = found
        # The detail as the database gives it back (JSON), so the hash is the one a
        # reader recomputes.
        chained = AuditLogRow.model_validate(
            row.model_dump(exclude={"id", "seq", "prev_hash", "hash"})
            | {"detail": json.loads(json.dumps(row.detail, default=str))}
            | {"seq": last_seq + 1, "prev_hash": last_hash}
        )
        chained.hash = chained.content_hash(last_hash)
        values = chained.model_dump(exclude={"id"})
        conn.execute(_insert(conn, AuditLogRow).values(**values))
        conn.execute(head.update().where(head.c.id == 1).values(seq=chained.seq, hash=chained.hash))
        return chained

    return _write(engine, work)


def audit_log_chain(engine: Engine) -> tuple[list[AuditLogRow], AuditLogHeadRow | None]:
    """Every audit log row in the order written (by id), and the chain's head: what
    `services.audit.integrity.verify_audit_log` checks, read in one snapshot (a row
    written meanwhile is in both or in neither)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind=conn, expire_on_commit=False) as s:
            rows = list(s.exec(sm_select(AuditLogRow).order_by(col(AuditLogRow.id))).all())
            return rows, s.get(AuditLogHeadRow, 1)


def audit_log(engine: Engine, *, dossier_code: str | None = None) -> list[AuditLogRow]:
    stmt = sm_select(AuditLogRow)
    if dossier_code is not None:
        stmt = stmt.where(AuditLogRow.dossier_code == dossier_code)
    return _read(engine, stmt.order_by(col(AuditLogRow.at), col(AuditLogRow.id)))


def dossier_codes(
    engine: Engine,
    *,
    procedure: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    overdue: bool | None = None,
) -> list[str]:
    """Codes of the dossiers of a procedure and/or submitted in a period (and overdue, if
    asked), oldest first."""
    stmt = sm_select(DossierRow.code)
    if overdue is not None:
        stmt = stmt.where(DossierRow.overdue == overdue)
    if procedure is not None:
        stmt = stmt.where(DossierRow.procedure_code == procedure)
    if since is not None:
        stmt = stmt.where(col(DossierRow.submitted_at) >= since)
    if until is not None:
        stmt = stmt.where(col(DossierRow.submitted_at) < until)
    return _read(engine, stmt.order_by(col(DossierRow.submitted_at), col(DossierRow.code)))


# --------------------------------------------------------------------------- ratings


def rate_dossier(engine: Engine, row: RatingRow) -> None:
    """The applicant's rating of a dossier; a later one replaces it."""
    values = row.model_dump()

    def work(conn: Connection) -> None:
        ins = _insert(conn, RatingRow).values(**values)
        keep = {k: ins.excluded[k] for k in values if k != "dossier_code"}
        conn.execute(ins.on_conflict_do_update(index_elements=["dossier_code"], set_=keep))

    _write(engine, work)


def add_feedback(engine: Engine, row: FeedbackRow) -> None:
    values = row.model_dump(exclude={"id"})
    _write(engine, lambda conn: conn.execute(_insert(conn, FeedbackRow).values(**values)))
