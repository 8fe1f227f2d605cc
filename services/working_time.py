"""Countdowns read at read time: the working time left to a dossier's appointment and to
its current step's due time, counted by the working calendar in Asia/Ho_Chi_Minh at the
moment of the request (domain.working_time does the counting).

From the live view (`for_view`: the dossier page) or from the read model's row
(`for_row`: tracking, lists, the worklist); both answer `time_left` and
`step_time_left`, the view also `supplement_time_left` (the applicant's time to supplement)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.calendar import TimeUnit, WorkingCalendar
from domain.catalog import Catalog
from domain.dossier import DossierView
from domain.working_time import TimeLeft, pause_reason_vi, paused_clock, time_left
from infra.settings import Settings
from services.dossiers import TZ, calendar_snapshot


class ClockRow(Protocol):
    """What a read model row (or a listed item) says of a dossier's clock."""

    @property
    def procedure_code(self) -> str: ...

    @property
    def procedure_version(self) -> int: ...

    @property
    def current_step_id(self) -> str | None: ...

    @property
    def step_due_at(self) -> datetime | None: ...

    @property
    def appointment_at(self) -> datetime | None: ...

    @property
    def processed_at(self) -> datetime | None: ...

    @property
    def closed_at(self) -> datetime | None: ...

    @property
    def clock_unit(self) -> str | None: ...

    @property
    def clock_paused_reason(self) -> str | None: ...

    @property
    def clock_left_minutes(self) -> int | None: ...


def reading_calendar(settings: Settings, now: datetime) -> WorkingCalendar:
    """The working calendar of the year of `now` (and the years around it)."""
    return calendar_snapshot(settings, now.astimezone(TZ).year)


class Countdowns:
    """The countdowns of one request: one instant, one calendar, for every dossier read."""

    def __init__(self, settings: Settings, catalog: Catalog, now: datetime) -> None:
        self.catalog, self.now = catalog, now
        self.calendar = reading_calendar(settings, now)

    def of_view(self, view: DossierView) -> dict[str, TimeLeft | None]:
        return for_view(view, self.catalog, self.calendar, self.now)

    def of_row(self, row: ClockRow) -> dict[str, TimeLeft | None]:
        return for_row(row, self.catalog, self.calendar, self.now)


def step_unit(catalog: Catalog, code: str, version: int, step_id: str) -> TimeUnit:
    """The unit of a step's budget in the procedure version the dossier runs (working
    days when the catalog no longer holds that version or step)."""
    step = catalog.step_in(code, version, step_id)
    return step.budget.unit if step else TimeUnit.WORKING_DAYS


def _step_left(
    catalog: Catalog,
    calendar: WorkingCalendar,
    now: datetime,
    where: tuple[str, int, str | None],
    due_at: datetime | None,
    finished: bool,
) -> TimeLeft | None:
    code, version, step_id = where
    if step_id is None:
        return None
    unit = step_unit(catalog, code, version, step_id)
    return time_left(calendar, now, unit, due_at, finished=finished)


def _supplement_unit(catalog: Catalog, code: str, version: int) -> TimeUnit:
    p = catalog.procedure_version(code, version)
    return p.supplement_wait.unit if p else TimeUnit.WORKING_DAYS


def _reason(catalog: Catalog, code: str, version: int, reason: str) -> str:
    return pause_reason_vi(reason, catalog.step_name(code, version, reason))


def for_view(
    view: DossierView, catalog: Catalog, calendar: WorkingCalendar, now: datetime
) -> dict[str, TimeLeft | None]:
    """`time_left`, `step_time_left` and `supplement_time_left` of the live view."""
    finished = view.closed_at is not None or view.processed_at is not None
    where = (view.procedure_code, view.procedure_version)
    paused = paused_clock(view)
    step = view.current_step
    return {
        "time_left": time_left(
            calendar,
            now,
            view.clock_unit,
            view.appointment_at,
            paused=(_reason(catalog, *where, paused[0]), paused[1]) if paused else None,
            finished=finished,
        ),
        "step_time_left": _step_left(
            catalog,
            calendar,
            now,
            (*where, step.step_id if step else None),
            step.due_at if step else None,
            view.closed_at is not None,
        ),
        "supplement_time_left": time_left(
            calendar, now, _supplement_unit(catalog, *where), view.supplement_due_at
        ),
    }


def for_row(
    row: ClockRow, catalog: Catalog, calendar: WorkingCalendar, now: datetime
) -> dict[str, TimeLeft | None]:
    """`time_left` and `step_time_left` of a read model row."""
    finished = row.closed_at is not None or row.processed_at is not None
    where = (row.procedure_code, row.procedure_version)
    paused = None
    if row.clock_paused_reason is not None and row.clock_left_minutes is not None:
        paused = (_reason(catalog, *where, row.clock_paused_reason), row.clock_left_minutes)
    unit = TimeUnit(row.clock_unit) if row.clock_unit else TimeUnit.WORKING_DAYS
    return {
        "time_left": time_left(
            calendar, now, unit, row.appointment_at, paused=paused, finished=finished
        ),
        "step_time_left": _step_left(
            catalog,
            calendar,
            now,
            (*where, row.current_step_id),
            row.step_due_at,
            row.closed_at is not None,
        ),
    }
