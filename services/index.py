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
- 5.2 PAKN timeliness: of the items filed (phản ánh, kiến nghị), those answered within
  their deadline, per answering agency;
- 5.4 satisfaction = 100 % − (overdue rate + rate of dossiers with a complaint, a PAKN
  item answered late or unanswered past its deadline, or a "dislike").
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from domain.calendar import DEFAULT_SESSIONS, VIETNAM_TZ, TimeUnit
from domain.catalog import Catalog
from store.index import FeedbackCounts, IndexCounts, feedback_counts, index_counts

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


class FeedbackFigures(FeedbackCounts):
    on_time_rate: float | None = Field(
        description="answered within the deadline ÷ items filed (index 5.2)"
    )


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
    feedback: list[FeedbackFigures] = Field(
        default_factory=list,
        description="PAKN items filed in the period, per answering agency (index 5.1-5.2)",
    )


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
    now: datetime | None = None,
) -> ServiceIndex:
    """The index of [start, end); unfinished dossiers judged at the earlier of `end` and
    `now` (the present, unless a test names it)."""
    # The versions in force when the period is judged (a version published for a later
    # day is not yet the procedure's: its fees or result must not change this month's).
    judged = min(end - timedelta(microseconds=1), now or datetime.now(UTC))
    day = judged.astimezone(ZoneInfo(VIETNAM_TZ)).date()
    procedures = {p.code: p for p in catalog.in_force(day)}
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
        now=now,
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
        feedback=[
            FeedbackFigures(**c.model_dump(), on_time_rate=_rate(c.answered_on_time, c.received))
            for c in feedback_counts(engine, start, end, agency=agency, now=now)
        ],
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
