"""Dossier lists: filters, keyset pages with opaque cursors, counts and the officer's worklist."""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Engine, Table, and_, func, or_, select, text

from domain.calendar import VIETNAM_TZ
from store.models import WORKLIST_WHERE, DossierRow
from store.repository._common import _table
from store.schemas import (
    DossierItem,
    DossierPage,
    DossierQuery,
    WorklistQuery,
    id_number_in,
)

MAX_PAGE_SIZE = 500
# The dossiers on someone's worklist (open, not waiting for the applicant), in the words of
# the partial index that serves it (store.models.WORKLIST_WHERE), literals and not bound
# parameters: PostgreSQL matches the index by this condition's text.
ON_A_WORKLIST: ColumnElement[bool] = text(WORKLIST_WHERE)  # type: ignore[assignment]
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


def _search(dialect: str, t: Table, text: str, *, personal: bool) -> ColumnElement[bool]:
    """A search text: a substring of the dossier code; for a caller who may read the
    applicant's personal data, also of the applicant's name, or their ID number exactly
    (the read model holds it as given at submission: 9 or 12 digits)."""
    matches = [_contains_ci(dialect, t.c.code, text)]
    if personal:
        matches.append(_contains_ci(dialect, t.c.applicant_name, text))
        id_number = id_number_in(text)
        if id_number is not None:
            matches.append(t.c.applicant_id_number == id_number)
    return or_(*matches)


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
    if q.q:
        where.append(_search(dialect, t, q.q, personal=q.q_matches_names))
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
    offset: int = 0,
    query: WorklistQuery | None = None,
) -> tuple[list[DossierItem], int]:
    """The open dossiers an officer of ``agency`` with ``roles`` must act on now, narrowed
    and ordered by ``query`` (most urgent first by default: overdue, then by the step's
    due time, then by the appointment), ``limit`` from ``offset``, and how many match in
    all.

    A dossier is on the list when its current step belongs to ``agency`` and to one of
    ``roles``; a leader also sees the agency's escalated dossiers, and an intake officer
    the centre's handoffs waiting to be forwarded. Dossiers waiting for the applicant (a
    supplement, a payment) are on nobody's list until the applicant acts. With
    ``query.unit``, every open dossier whose current step is at ``agency``, whatever its
    role (a leader's view of the unit).
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit: must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset: must be 0 or more, got {offset}")
    q = query or WorklistQuery()
    t = _table(DossierRow)
    role_set = sorted(set(roles))
    # The agency's own steps: of these roles, escalated ones for a leader, or all (unit).
    own = [t.c.current_role.in_(role_set)]
    if q.unit:
        own = []
    elif "leader" in role_set:
        own.append(t.c.escalated.is_(True))
    mine = [and_(t.c.current_agency == agency, or_(*own)) if own else t.c.current_agency == agency]
    if "intake_officer" in role_set:
        mine.append(and_(t.c.centre_agency == agency, t.c.current_step_kind == "handoff"))
    where: list[ColumnElement[bool]] = [ON_A_WORKLIST, or_(*mine)]
    with engine.connect() as conn:
        _prepare_connection(conn)
        where += _worklist_filters(conn.dialect.name, t, q)
        total = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
        order = _worklist_order(t, q.sort)
        # The page's codes first (from ix_dossiers_worklist alone on PostgreSQL: the
        # order's columns are in it), then only their rows.
        page = select(t.c.code).where(*where).order_by(*order).offset(offset).limit(limit)
        codes = [r[0] for r in conn.execute(page)]
        found = {
            r["code"]: r
            for r in conn.execute(select(t).where(t.c.code.in_(codes))).mappings().all()
        }
    return [DossierItem.model_validate(dict(found[c])) for c in codes if c in found], total


def _worklist_filters(dialect: str, t: Table, q: WorklistQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if q.procedure is not None:
        where.append(t.c.procedure_code == q.procedure)
    if q.status is not None:
        where.append(t.c.status == q.status.value)
    now = q.now or datetime.now(UTC)
    if q.overdue:
        where.append(or_(t.c.overdue.is_(True), t.c.step_due_at < now))
    if q.due_today:
        today = now.astimezone(ZoneInfo(VIETNAM_TZ)).date()
        end = _day_start(today + timedelta(days=1))  # what is past is `overdue`
        where.append(
            or_(
                and_(t.c.step_due_at >= now, t.c.step_due_at < end),
                and_(t.c.appointment_at >= now, t.c.appointment_at < end),
            )
        )
    if q.assignee is not None:
        where.append(t.c.assignee_id == q.assignee)
    if q.unassigned:
        where.append(t.c.assignee_id.is_(None))
    if q.q:
        where.append(_search(dialect, t, q.q, personal=q.q_matches_personal))
    return where


def _worklist_order(t: Table, sort: str) -> list[Any]:
    """ORDER BY for a worklist sort; a missing time sorts last either way (SQLite and
    PostgreSQL put NULL at opposite ends), the code breaks ties."""
    if sort == "urgency":
        return [
            t.c.overdue.desc(),
            t.c.step_due_at.is_(None),
            t.c.step_due_at.asc(),
            t.c.appointment_at.is_(None),
            t.c.appointment_at.asc(),
            t.c.code.asc(),
        ]
    descending = sort.startswith("-")
    column = {
        "due": t.c.step_due_at,
        "appointment": t.c.appointment_at,
        "received": t.c.received_at,
        "code": t.c.code,
    }[sort.lstrip("-")]
    order = [column.is_(None), column.desc() if descending else column.asc()]
    if column is not t.c.code:
        order.append(t.c.code.desc() if descending else t.c.code.asc())
    return order
