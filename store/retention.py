"""Closed dossiers for the retention schedule (domain.retention): code, procedure,
result type and closing time only, never the applicant."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from domain.retention import VN, ClosedDossier, add_years
from store.models import DossierRow

# Every retention period is at least this long (domain.catalog.Retention: ge=1).
SHORTEST_PERIOD_YEARS = 1


def closed_before(engine: Engine, before: datetime) -> list[ClosedDossier]:
    """Dossiers closed before `before` (aware), oldest first."""
    stmt = (
        select(
            col(DossierRow.code),
            col(DossierRow.procedure_code),
            col(DossierRow.procedure_version),
            col(DossierRow.outcome),
            col(DossierRow.closed_at),
        )
        .where(col(DossierRow.closed_at).is_not(None), col(DossierRow.closed_at) < before)
        .order_by(col(DossierRow.closed_at), col(DossierRow.code))
    )
    with Session(engine) as session:
        rows = session.execute(stmt).all()
    return [
        ClosedDossier(
            code=code,
            procedure_code=procedure_code,
            procedure_version=version,
            result_type=outcome,
            closed_at=closed_at,
        )
        for code, procedure_code, version, outcome, closed_at in rows
        if closed_at is not None
    ]


def retention_candidates(engine: Engine, as_of: date) -> list[ClosedDossier]:
    """The closed dossiers whose retention may have ended by `as_of`: those closed (in
    Viet Nam) on or before `as_of` less the shortest period."""
    last_day = add_years(as_of, -SHORTEST_PERIOD_YEARS)
    before = datetime.combine(last_day + timedelta(days=1), time(0), VN)
    return closed_before(engine, before)
