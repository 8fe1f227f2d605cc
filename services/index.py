"""The Decision 766/QĐ-TTg service index (DOMAIN.md §1.9), from the read model's counts
(store/index.py): per deciding agency and procedure, and in total, for one period.

- 2.1 on-time rate = dossiers resolved or being resolved on time ÷ dossiers received or
  processed in the period (end of processing ≤ appointment; supplement time excluded, as
  the statutory clock pauses; more than one supplement request counts as overdue;
  unfinished dossiers measured at the period's end);
- 2.2 average resolution time, in the procedure's unit (the clock's time, pauses excluded);
- 3.3 online submission rate (only with an electronic result where the result is a
  document); 3.6 online payment rate (of the dossiers of fee-bearing procedures);
- 4.1 electronic-result rate, 4.2 digitisation rate, 4.3 reuse rate;
- 5.4 satisfaction = 100 % − (overdue rate + rate of dossiers with a complaint or a
  "dislike").
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from domain.calendar import DEFAULT_SESSIONS, TimeUnit
from domain.catalog import Catalog
from store.index import IndexCounts, index_counts

DAY_MINUTES = sum(s.minutes for s in DEFAULT_SESSIONS)


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


class IndexRow(BaseModel):
    agency: str
    procedure_code: str | None  # None: the agency's (or the whole) total
    procedure_name: str
    counts: IndexCounts
    on_time_rate: float | None
    overdue_rate: float | None
    average_resolution: float | None
    resolution_unit: str | None
    online_submission_rate: float | None
    online_payment_rate: float | None
    electronic_result_rate: float | None
    digitisation_rate: float | None
    reuse_rate: float | None
    satisfaction: float | None


class ServiceIndex(BaseModel):
    period_start: datetime
    period_end: datetime
    rows: list[IndexRow] = Field(description="per deciding agency and procedure")
    agencies: list[IndexRow] = Field(
        default_factory=list,
        description="per deciding agency, all its procedures (average time only when they "
        "share one unit)",
    )
    procedures: list[IndexRow] = Field(
        default_factory=list, description="per procedure, all agencies deciding it"
    )
    total: IndexRow


def _unit_minutes(unit: TimeUnit) -> int:
    return {TimeUnit.WORKING_DAYS: DAY_MINUTES, TimeUnit.WORKING_HOURS: 60}.get(unit, 24 * 60)


def figures(c: IndexCounts, unit: TimeUnit | None) -> IndexRow:
    overdue = c.received - c.on_time
    overdue_rate = _rate(overdue, c.received)
    unhappy_rate = _rate(c.complained_or_disliked, c.received)
    average = None
    if unit is not None and c.resolution_minutes_count:
        average = round(
            c.resolution_minutes_total / c.resolution_minutes_count / _unit_minutes(unit), 2
        )
    return IndexRow(
        agency=c.agency,
        procedure_code=c.procedure_code or None,
        procedure_name=c.procedure_name,
        counts=c,
        on_time_rate=_rate(c.on_time, c.received),
        overdue_rate=overdue_rate,
        average_resolution=average,
        resolution_unit=unit.value if unit is not None and average is not None else None,
        online_submission_rate=_rate(c.online, c.received),
        online_payment_rate=_rate(c.paid_online, c.fee_bearing),
        electronic_result_rate=_rate(c.e_result, c.result_required),
        digitisation_rate=_rate(c.digitised, c.received),
        reuse_rate=_rate(c.reused, c.received),
        satisfaction=(
            round(100 - (overdue_rate or 0) - (unhappy_rate or 0), 2) if c.received else None
        ),
    )


def _sum(
    rows: list[IndexCounts],
    agency: str,
    procedure_code: str = "",
    procedure_name: str = "Tổng cộng",
) -> IndexCounts:
    numbers = {
        f: sum(getattr(r, f) for r in rows)
        for f in IndexCounts.model_fields
        if f not in ("agency", "procedure_code", "procedure_name")
    }
    return IndexCounts(
        agency=agency, procedure_code=procedure_code, procedure_name=procedure_name, **numbers
    )


def _one_unit(units: set[TimeUnit | None]) -> TimeUnit | None:
    """The unit an average over several procedures is in, when they share one."""
    return units.pop() if len(units) == 1 else None


def service_index(
    engine: Engine,
    catalog: Catalog,
    start: datetime,
    end: datetime,
    *,
    agency: str | None = None,
    procedure: str | None = None,
) -> ServiceIndex:
    procedures = {code: catalog.procedure(code) for code in catalog.procedures}
    document = [c for c, p in procedures.items() if p.issuing_step() is not None]
    fees = [c for c, p in procedures.items() if any(f.amount_vnd > 0 for f in p.fees)]
    counts = index_counts(
        engine,
        start,
        end,
        document_procedures=document,
        fee_procedures=fees,
        agency=agency,
        procedure=procedure,
    )
    rows = [
        figures(
            c,
            procedures[c.procedure_code].statutory_time.unit
            if c.procedure_code in procedures
            else None,
        )
        for c in counts
    ]

    def unit(c: IndexCounts) -> TimeUnit | None:
        p = procedures.get(c.procedure_code)
        return p.statutory_time.unit if p is not None else None

    by_agency: dict[str, list[IndexCounts]] = {}
    by_procedure: dict[str, list[IndexCounts]] = {}
    for c in counts:
        by_agency.setdefault(c.agency, []).append(c)
        by_procedure.setdefault(c.procedure_code, []).append(c)
    return ServiceIndex(
        period_start=start,
        period_end=end,
        rows=rows,
        agencies=[
            figures(_sum(group, a), _one_unit({unit(c) for c in group}))
            for a, group in sorted(by_agency.items())
        ],
        procedures=[
            figures(
                _sum(group, "*", code, group[0].procedure_name),
                _one_unit({unit(c) for c in group}),
            )
            for code, group in sorted(by_procedure.items())
        ],
        total=figures(_sum(counts, agency or "*"), None),
    )


CSV_COLUMNS = [
    "agency",
    "procedure_code",
    "procedure_name",
    "received",
    "on_time",
    "on_time_rate",
    "average_resolution",
    "resolution_unit",
    "online_submission_rate",
    "online_payment_rate",
    "electronic_result_rate",
    "digitisation_rate",
    "reuse_rate",
    "satisfaction",
]


def to_csv(index: ServiceIndex) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in [*index.rows, index.total]:
        values = row.model_dump()
        values.update(received=row.counts.received, on_time=row.counts.on_time)
        writer.writerow(["" if values[k] is None else values[k] for k in CSV_COLUMNS])
    return out.getvalue()
