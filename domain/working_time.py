"""Working time left to a deadline, as people read it: "Còn 3 ngày làm việc",
"Quá hạn 1 ngày 2 giờ làm việc", "Tạm dừng (chờ người nộp bổ sung hồ sơ) · còn 7 ngày
làm việc".

A countdown in calendar time overstates what is left over a weekend or a holiday; this
one counts the clock's own units over the working calendar: office minutes for working
days and hours, real minutes for calendar days. Pure: the instant of reading (`now`)
and the calendar are given; the API reads them at read time, never the workflow.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.calendar import MINUTES_PER_CALENDAR_DAY, CalendarRangeError, TimeUnit, WorkingCalendar
from domain.dossier import DossierView, Status

# Why a clock is paused: the open exclusion's reason (a step's id otherwise).
SUPPLEMENT = "supplement"
PAUSE_REASONS_VI = {
    SUPPLEMENT: "chờ người nộp bổ sung hồ sơ",
    "financial_obligation": "chờ thực hiện nghĩa vụ tài chính",
}


class TimeLeft(BaseModel):
    """Working time to (or past) a deadline at the moment of reading, in the clock's unit."""

    unit: TimeUnit = Field(description="the clock's own unit")
    due_at: datetime | None = Field(description="the deadline; null while the clock is paused")
    minutes: int = Field(
        description="time left in the unit's minutes (office minutes for working days and "
        "hours, real minutes for calendar days); negative past the deadline"
    )
    days: int = Field(description="whole days of |minutes| (working days, or days)")
    hours: int = Field(description="hours of |minutes| beyond `days`")
    overdue: bool
    paused: bool = False
    reason: str | None = Field(default=None, description="why the clock is paused, in Vietnamese")
    label: str = Field(description="the phrase people read, in Vietnamese")


def _split(unit: TimeUnit, minutes: int, day_minutes: int) -> tuple[int, int, int]:
    """|minutes| as (days, hours, minutes): working hours count no days."""
    m = abs(minutes)
    per_day = {
        TimeUnit.WORKING_DAYS: day_minutes,
        TimeUnit.CALENDAR_DAYS: MINUTES_PER_CALENDAR_DAY,
    }.get(unit)
    days = m // per_day if per_day else 0
    rest = m - days * (per_day or 0)
    return days, rest // 60, rest % 60


def phrase(unit: TimeUnit, minutes: int, day_minutes: int) -> str:
    """|minutes| in Vietnamese: "3 ngày 2 giờ làm việc", "5 giờ 10 phút làm việc",
    "2 ngày 4 giờ" (calendar days)."""
    days, hours, mins = _split(unit, minutes, day_minutes)
    parts = []
    if days:
        parts.append(f"{days} ngày")
    if hours:
        parts.append(f"{hours} giờ")
    if mins and not days:
        parts.append(f"{mins} phút")
    text = " ".join(parts) or "0 phút"
    return text if unit is TimeUnit.CALENDAR_DAYS else f"{text} làm việc"


def left_until(
    calendar: WorkingCalendar, now: datetime, unit: TimeUnit, due_at: datetime
) -> TimeLeft:
    """A running clock: the unit's time from `now` to `due_at` (or past it)."""
    overdue = now > due_at
    span = calendar.elapsed(due_at, now, unit) if overdue else calendar.elapsed(now, due_at, unit)
    minutes = -span if overdue else span
    days, hours, _ = _split(unit, minutes, calendar.day_minutes)
    if not overdue:
        label = f"Còn {phrase(unit, minutes, calendar.day_minutes)}"
    elif span == 0:
        label = "Đã hết hạn"  # past it, but no working time has gone by since (a weekend)
    else:
        label = f"Quá hạn {phrase(unit, minutes, calendar.day_minutes)}"
    return TimeLeft(
        unit=unit,
        due_at=calendar.local(due_at),  # in Vietnam time, whoever stored it how
        minutes=minutes,
        days=days,
        hours=hours,
        overdue=overdue,
        label=label,
    )


def left_while_paused(unit: TimeUnit, minutes: int, reason: str, day_minutes: int) -> TimeLeft:
    """A paused clock: what is left does not move until it runs again."""
    days, hours, _ = _split(unit, minutes, day_minutes)
    return TimeLeft(
        unit=unit,
        due_at=None,
        minutes=minutes,
        days=days,
        hours=hours,
        overdue=False,
        paused=True,
        reason=reason,
        label=f"Tạm dừng ({reason}) · còn {phrase(unit, minutes, day_minutes)}",
    )


def pause_reason_vi(code: str, step_name: str | None = None) -> str:
    """Why the clock stands still, in Vietnamese: a supplement, the financial obligation,
    or a step whose time is not counted (named)."""
    if code in PAUSE_REASONS_VI:
        return PAUSE_REASONS_VI[code]
    return f"không tính thời gian bước {step_name or code}"


def paused_clock(view: DossierView) -> tuple[str, int] | None:
    """Why the dossier's clock stands still and how much of it is left, or None while it
    runs (or has not started for another reason, or has stopped). A supplement asked at
    intake counts too: the clock has not started, and all of it is left."""
    if view.closed_at is not None or view.processed_at is not None:
        return None
    left = max(0, view.clock_budget_minutes - view.clock_consumed_minutes)
    if view.clock_paused:
        open_ = [x.reason for x in view.exclusions if x.end is None]
        return (open_[-1] if open_ else SUPPLEMENT), left
    if view.status is Status.SUPPLEMENT_REQUESTED and view.appointment_at is None:
        return SUPPLEMENT, left
    return None


def time_left(
    calendar: WorkingCalendar,
    now: datetime,
    unit: TimeUnit,
    due_at: datetime | None,
    *,
    paused: tuple[str, int] | None = None,
    finished: bool = False,
) -> TimeLeft | None:
    """The countdown of a dossier's clock at `now`: paused (`paused`: the reason, in
    Vietnamese, and the minutes left), running to `due_at`, or none (not started,
    `finished`, or a deadline outside the calendar's years)."""
    if finished:
        return None
    if paused is not None:
        return left_while_paused(unit, paused[1], paused[0], calendar.day_minutes)
    if due_at is None:
        return None
    try:
        return left_until(calendar, now, unit, due_at)
    except CalendarRangeError:
        return None
