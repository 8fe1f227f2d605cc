"""Records retention: when the archive's keeping period of a closed dossier ends.

The period is the procedure's for the dossier's result type (`Procedure.retention`,
procedures/*.yaml), else the configured default (MOTCUA_RETENTION_DEFAULT_YEARS); it is
counted from the day the dossier closed, in Viet Nam. [uncertain] Archival practice
may count from the end of the year the file was closed; the periods themselves are
[uncertain] too (see docs/personal-data.md, "Retention").

Nothing here deletes anything: it says which dossiers are past their period, for the
archives officer to decide (appraisal and destruction follow the archives law).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.calendar import VIETNAM_TZ
from domain.catalog import PERMANENT, Catalog, Procedure, RetentionPeriod

VN = ZoneInfo(VIETNAM_TZ)


def add_years(day: date, years: int) -> date:
    """`day` plus whole years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class ClosedDossier:
    """What retention needs of a closed dossier (no personal data)."""

    code: str
    procedure_code: str
    procedure_version: int
    result_type: str | None  # the outcome: granted, refused, withdrawn, ...
    closed_at: datetime  # aware


@dataclass(frozen=True)
class RetentionDue:
    code: str
    procedure_code: str
    procedure_version: int
    result_type: str | None
    closed_on: date  # in Viet Nam
    retention_years: int
    retention_end: date
    from_catalog: bool  # False: the default period (the catalog names none)


def procedure_version(catalog: Catalog, code: str, version: int) -> Procedure | None:
    """The catalog's definition of the version a dossier ran; the latest version of the
    code when that one is no longer in the catalog; None for an unknown code."""
    versions = catalog.procedures.get(code) or []
    for p in versions:
        if p.version == version:
            return p
    return versions[-1] if versions else None


def period_of(
    catalog: Catalog, dossier: ClosedDossier, default_years: int
) -> tuple[RetentionPeriod, bool]:
    """The dossier's retention period, and whether the catalog named it."""
    procedure = procedure_version(catalog, dossier.procedure_code, dossier.procedure_version)
    named = procedure.retention.period(dossier.result_type) if procedure else None
    if named is None:
        return default_years, False
    return named, True


def retention_due(
    catalog: Catalog, dossier: ClosedDossier, default_years: int
) -> RetentionDue | None:
    """When the dossier's retention ends (None: kept permanently)."""
    period, from_catalog = period_of(catalog, dossier, default_years)
    if period == PERMANENT:
        return None
    assert isinstance(period, int)
    closed_on = dossier.closed_at.astimezone(VN).date()
    return RetentionDue(
        code=dossier.code,
        procedure_code=dossier.procedure_code,
        procedure_version=dossier.procedure_version,
        result_type=dossier.result_type,
        closed_on=closed_on,
        retention_years=period,
        retention_end=add_years(closed_on, period),
        from_catalog=from_catalog,
    )


def past_retention(
    catalog: Catalog, dossiers: list[ClosedDossier], default_years: int, as_of: date
) -> list[RetentionDue]:
    """The dossiers whose retention has ended on or before `as_of`, the longest past first
    (then by code)."""
    due = [d for d in (retention_due(catalog, x, default_years) for x in dossiers) if d]
    past = [d for d in due if d.retention_end <= as_of]
    return sorted(past, key=lambda d: (d.retention_end, d.code))
