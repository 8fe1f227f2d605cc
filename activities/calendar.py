"""Extends a dossier's frozen calendar when it outlives its snapshot. The result
is recorded in the workflow history, so replays see exactly the same days."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity

from activities.contracts import EXTEND_CALENDAR, ExtendCalendarInput
from domain.calendar import WorkingCalendar
from domain.calendar_source import build_calendar, load_overrides


class CalendarActivities:
    def __init__(self, overrides_file: Path | None) -> None:
        self.overrides_file = overrides_file

    @activity.defn(name=EXTEND_CALENDAR)
    def extend_calendar(self, inp: ExtendCalendarInput) -> WorkingCalendar:
        return build_calendar(inp.first_year, inp.last_year, load_overrides(self.overrides_file))
