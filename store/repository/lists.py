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

from sqlalchemy import ColumnElement, Connection, Engine, Table, and_, func, or_, select

from domain.calendar import VIETNAM_TZ
from store.models import DossierRow
from store.repository._common import _table
from store.schemas import DossierItem, DossierPage, DossierQuery

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
