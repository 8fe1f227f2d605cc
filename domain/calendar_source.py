"""Builds WorkingCalendar snapshots from the `holidays` package plus an overrides file.

Never import this from workflow code: holiday data changes between package
releases, and a replayed workflow must see the calendar it was started with.
Activities and the submission service call this; the result travels in the
workflow input (and in activity results, which history records).
"""

from __future__ import annotations

import importlib.metadata
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import holidays
import yaml
from pydantic import BaseModel, Field, ValidationError

from domain.calendar import DEFAULT_SESSIONS, DayNote, OfficeSession, WorkingCalendar


class CalendarOverrides(BaseModel):
    """Government decisions the `holidays` package lacks, and local office hours.

    `days_off`: extra days off (or a swap announced late); `working_days`: make-up
    working days (usually Saturdays); `not_days_off`: package holidays that the
    government did not grant (e.g. a rule-based estimate that turned out wrong).
    """

    days_off: list[DayNote] = Field(default_factory=list)
    working_days: list[DayNote] = Field(default_factory=list)
    not_days_off: list[date] = Field(default_factory=list)
    sessions: list[OfficeSession] | None = None
    source: str = "overrides"


class CalendarConfigError(ValueError):
    pass


def load_overrides(path: Path | None) -> CalendarOverrides:
    if path is None or not path.exists():
        return CalendarOverrides()
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return CalendarOverrides.model_validate(raw)
    except (yaml.YAMLError, ValidationError, ValueError) as exc:  # ValueError: PyYAML on bad dates
        raise CalendarConfigError(f"{path}: {exc}") from exc


def build_calendar(
    first_year: int,
    last_year: int,
    overrides: CalendarOverrides | None = None,
) -> WorkingCalendar:
    """A snapshot for whole years [first_year, last_year] in Asia/Ho_Chi_Minh.

    Working days come from `holidays`' own `is_working_day`, which knows the
    make-up Saturdays (`weekend_workdays`); a weekday/holiday test alone would not.
    """
    if last_year < first_year:
        raise CalendarConfigError("last_year is before first_year")
    overrides = overrides or CalendarOverrides()
    vn = holidays.country_holidays("VN", years=range(first_year, last_year + 1), language="vi")
    weekend = (5, 6)
    off: dict[date, str] = {}
    on: dict[date, str] = {}
    day = date(first_year, 1, 1)
    end = date(last_year, 12, 31)
    while day <= end:
        working = vn.is_working_day(day)
        if day.weekday() in weekend and working:
            on[day] = "Ngày làm việc bù"
        elif day.weekday() not in weekend and not working:
            off[day] = str(vn.get(day) or "Ngày nghỉ")
        day += timedelta(days=1)
    for note in overrides.days_off:
        on.pop(note.day, None)
        if note.day.weekday() not in weekend:
            off[note.day] = note.name
    for not_off in overrides.not_days_off:
        off.pop(not_off, None)
    for note in overrides.working_days:
        off.pop(note.day, None)
        if note.day.weekday() in weekend:
            on[note.day] = note.name
    version = f"holidays-{importlib.metadata.version('holidays')}+{overrides.source}"
    return WorkingCalendar(
        version=version,
        valid_from=date(first_year, 1, 1),
        valid_to=end,
        weekend=weekend,
        days_off=tuple(DayNote(day=d, name=n) for d, n in sorted(off.items())),
        working_weekend_days=tuple(DayNote(day=d, name=n) for d, n in sorted(on.items())),
        sessions=tuple(overrides.sessions) if overrides.sessions else DEFAULT_SESSIONS,
    )
