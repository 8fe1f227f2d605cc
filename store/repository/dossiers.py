"""The dossier and its events: codes, the event log with its summary, reads by code or period."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, or_
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from domain.dossier import Event
from store.index import kept_days, update_facts
from store.models import DossierRow, DossierSequenceRow, EventRow
from store.repository._common import _coerce, _insert, _now, _read, _table, _values, _write
from store.schemas import DossierSummary


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

    # The index facts of a payment, and of rows recorded before the dossier's own.
    codes = {e["dossier_code"] for e in event_rows}
    if dossier_values is not None:
        codes.add(dossier_values["code"])

    def work(conn: Connection) -> None:
        with kept_days(conn, codes):  # the daily facts follow the row's change
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
            update_facts(conn, codes)

    if event_rows or dossier_values is not None:
        _write(engine, work)


def get_dossier(engine: Engine, code: str) -> DossierRow | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(DossierRow, code)


def list_events(engine: Engine, code: str) -> list[EventRow]:
    """The dossier's events ordered by seq."""
    return _read(
        engine, sm_select(EventRow).where(EventRow.dossier_code == code).order_by(col(EventRow.seq))
    )


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
