"""Publishing a month of the Decision 766 index (công khai định kỳ hàng tháng): the index,
the late list with the unit and officer responsible for each delay, and the CSV and JSON
the portal takes, frozen as published.

- A month is published once, after it has ended. The snapshot is stored as the exact JSON
  text that was published with its SHA-256: later recomputation (dossiers recorded late, a
  rule changed) never alters it, and reading it back checks the hash.
- A correction is the next revision with its reason; earlier revisions are kept and shown.
- What is published names the officials responsible for delays (the centres publish "danh
  sách cán bộ … để xảy ra chậm trễ") and never an applicant: a late entry carries the
  dossier code, the procedure, the dates and the responsible units and officers, nothing
  from the applicant (docs/personal-data.md).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import UTC, date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import Engine

from domain.calendar import VIETNAM_TZ
from domain.catalog import Catalog
from services.audit.timeline import DelayAttribution
from services.index import ServiceIndex, service_index, to_csv
from services.messages import T
from store.models import IndexPublicationRow
from store.publications import RevisionTaken, add_publication, publications

PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


class PublicationError(Exception):
    """A publication refused; `code` is the API's error code, the message Vietnamese."""

    code = "conflict"


class AlreadyPublished(PublicationError):
    code = "already_published"


class NotPublished(PublicationError):
    code = "not_published"


class MonthNotOver(PublicationError):
    code = "month_not_over"


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """A period YYYY-MM as [its first instant, the next month's), Viet Nam time; ValueError
    when it is not one."""
    m = PERIOD.match(period)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(T("publish_period", period=period))
    y, mo = int(m.group(1)), int(m.group(2))
    tz = ZoneInfo(VIETNAM_TZ)
    start = datetime.combine(date(y, mo, 1), time(0), tz)
    return start, datetime.combine(date(y + mo // 12, mo % 12 + 1, 1), time(0), tz)


class Responsible(BaseModel):
    """A unit and the official whose step consumed the time (or who asked again for a
    supplement)."""

    agency: str
    agency_name: str
    step_name: str
    officer_name: str | None  # None: no officer acted (an automatic handoff)
    late_by_working_minutes: int


class PublishedLate(BaseModel):
    dossier_code: str
    procedure_code: str
    procedure_name: str
    appointment_at: datetime | None
    finished_at: datetime | None
    overdue_by_working_minutes: int
    reason: Literal["overdue", "supplements"]
    responsible: list[Responsible]


class MonthSnapshot(BaseModel):
    """What is published for a month, as it was computed."""

    period: str
    computed_at: datetime
    index: ServiceIndex
    late: list[PublishedLate]
    index_csv: str = Field(description="the index as the portal's CSV")
    late_csv: str = Field(description="the late list as CSV")


class PublicationSummary(BaseModel):
    period: str
    revision: int
    published_at: datetime
    published_by_name: str
    reason: str = Field(description="why this revision corrects the previous ('' for the first)")
    sha256: str


class Publication(PublicationSummary):
    intact: bool = Field(description="the stored snapshot still has the hash it was published with")
    snapshot: MonthSnapshot


class PublishedMonth(BaseModel):
    """A published month: the revision asked for (the latest by default) and every
    revision, the first first."""

    current: Publication
    revisions: list[PublicationSummary]


def public_late(delay: DelayAttribution, catalog: Catalog) -> PublishedLate:
    """A late-list entry as published: the responsible units and officials by name, and
    nothing of the applicant."""

    def agency_name(code: str | None) -> str:
        a = catalog.agencies.get(code or "")
        return a.name if a is not None else (code or "")

    if delay.reason == "supplements":
        # From the second request on: Decision 766 counts the dossier late for those.
        responsible = [
            Responsible(
                agency=r.agency or "",
                agency_name=agency_name(r.agency),
                step_name=f"Yêu cầu bổ sung hồ sơ lần {n}",
                officer_name=r.officer_name,
                late_by_working_minutes=0,
            )
            for n, r in enumerate(delay.supplement_requests, start=1)
            if n > 1
        ]
    else:
        responsible = [
            Responsible(
                agency=s.agency,
                agency_name=agency_name(s.agency),
                step_name=s.step_name,
                officer_name=s.officer_name,
                late_by_working_minutes=s.late_by_working_minutes,
            )
            for s in delay.culprits
        ]
    versions = catalog.procedures.get(delay.procedure_code)
    return PublishedLate(
        dossier_code=delay.dossier_code,
        procedure_code=delay.procedure_code,
        procedure_name=versions[-1].name if versions else delay.procedure_code,
        appointment_at=delay.appointment_at,
        finished_at=delay.finished_at,
        overdue_by_working_minutes=delay.overdue_by_working_minutes,
        reason=delay.reason,
        responsible=responsible,
    )


LATE_CSV_COLUMNS = [
    "dossier_code",
    "procedure_code",
    "procedure_name",
    "appointment_at",
    "finished_at",
    "overdue_by_working_minutes",
    "reason",
    "agency",
    "agency_name",
    "step_name",
    "officer_name",
]


def late_csv(late: list[PublishedLate]) -> str:
    """One line per responsible unit and official of each late dossier."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(LATE_CSV_COLUMNS)
    for entry in late:
        head = [
            entry.dossier_code,
            entry.procedure_code,
            entry.procedure_name,
            entry.appointment_at.isoformat() if entry.appointment_at else "",
            entry.finished_at.isoformat() if entry.finished_at else "",
            entry.overdue_by_working_minutes,
            entry.reason,
        ]
        tails = [
            [r.agency, r.agency_name, r.step_name, r.officer_name or ""] for r in entry.responsible
        ]
        for tail in tails or [["", "", "", ""]]:
            writer.writerow(head + tail)
    return out.getvalue()


def snapshot_month(
    engine: Engine,
    catalog: Catalog,
    period: str,
    late: list[DelayAttribution],
    *,
    now: datetime | None = None,
) -> MonthSnapshot:
    """The month's index and its late list (`AuditService.late_in_period`, the same
    definition of late) as they would be published now."""
    start, end = month_bounds(period)
    index = service_index(engine, catalog, start, end, now=now)
    entries = [public_late(d, catalog) for d in late]
    return MonthSnapshot(
        period=period,
        computed_at=now or datetime.now(UTC),
        index=index,
        late=entries,
        index_csv=to_csv(index),
        late_csv=late_csv(entries),
    )


def _publication(row: IndexPublicationRow) -> Publication:
    digest = hashlib.sha256(row.snapshot.encode()).hexdigest()
    return Publication(
        period=row.period,
        revision=row.revision,
        published_at=row.published_at,
        published_by_name=row.published_by_name,
        reason=row.reason,
        sha256=row.sha256,
        intact=digest == row.sha256,
        snapshot=MonthSnapshot.model_validate_json(row.snapshot),
    )


def _summary(row: IndexPublicationRow) -> PublicationSummary:
    return PublicationSummary(
        period=row.period,
        revision=row.revision,
        published_at=row.published_at,
        published_by_name=row.published_by_name,
        reason=row.reason,
        sha256=row.sha256,
    )


def publish_month(
    engine: Engine,
    snapshot: MonthSnapshot,
    *,
    by: str,
    by_name: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Publication:
    """Freeze `snapshot` as the month's first publication, or (with a `reason`) as the
    correction that follows the latest revision. Refused: a month not yet over; a second
    first publication; a correction of a month never published."""
    at = now or datetime.now(UTC)
    period = snapshot.period
    _, end = month_bounds(period)
    if end > at:
        raise MonthNotOver(T("publish_month_not_over", period=period))
    reason = (reason or "").strip()
    existing = publications(engine, period)
    if existing and not reason:
        raise AlreadyPublished(T("publish_already", period=period, revision=existing[-1].revision))
    if reason and not existing:
        raise NotPublished(T("publish_nothing_to_correct", period=period))
    text = snapshot.model_dump_json()
    row = IndexPublicationRow(
        period=period,
        revision=existing[-1].revision + 1 if existing else 1,
        published_at=at,
        published_by=by,
        published_by_name=by_name,
        reason=reason,
        snapshot=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )
    try:
        stored = add_publication(engine, row)
    except RevisionTaken as exc:
        raise AlreadyPublished(T("publish_raced", period=period, revision=row.revision)) from exc
    return _publication(stored)


def published_month(engine: Engine, period: str, revision: int | None = None) -> PublishedMonth:
    """The month as published: the revision asked for (the latest by default) and the list
    of every revision. NotPublished when it never was (or has no such revision)."""
    month_bounds(period)
    rows = publications(engine, period)
    chosen = rows[-1] if rows and revision is None else None
    if revision is not None:
        chosen = next((r for r in rows if r.revision == revision), None)
    if chosen is None:
        what = f"lần {revision} của tháng {period}" if revision is not None else f"tháng {period}"
        raise NotPublished(T("publish_none", what=what))
    return PublishedMonth(current=_publication(chosen), revisions=[_summary(r) for r in rows])
