"""Working-day arithmetic in Asia/Ho_Chi_Minh over a frozen calendar snapshot.

Everything here is pure: the snapshot (days off, make-up working days, office
sessions) is data, so a dossier can carry the exact calendar it was received
under in its workflow input and replay never depends on today's `holidays`
package. `domain.calendar_source` builds snapshots from the package plus the
government-decision overrides file; workflow code must never import it.

Rules (Decree 118/2025, Decree 45/2020 and the linked-procedure decrees):
- the day of receipt is not counted;
- a dossier received on a day off, or at/after the procedure's receipt cut-off
  (default: close of office hours), counts as received on the next working day;
- a time in working days ends at the close of office hours on the N-th working
  day after receipt; a time in working hours counts office hours only;
- a time in calendar days ends at the close of office hours on the N-th day
  after receipt, moved to the next working day when that day is a day off
  (Civil Code 2015 Art. 148(5), [memory]).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from domain.vietnamese import duration

VIETNAM_TZ = "Asia/Ho_Chi_Minh"
MINUTES_PER_CALENDAR_DAY = 24 * 60


class CalendarRangeError(ValueError):
    """A computation stepped outside the dates the snapshot covers."""

    def __init__(self, day: date, valid_from: date, valid_to: date) -> None:
        super().__init__(
            f"{day.isoformat()} is outside the calendar snapshot "
            f"({valid_from.isoformat()}..{valid_to.isoformat()})"
        )
        self.day = day


class TimeUnit(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CALENDAR_DAYS = "calendar_days"


class Duration(BaseModel):
    """A statutory or step time: `15 working_days`, `8 working_hours`, `15 calendar_days`."""

    model_config = ConfigDict(frozen=True)

    value: float = Field(gt=0, description="amount in `unit`; fractions allowed (0.5 day)")
    unit: TimeUnit = TimeUnit.WORKING_DAYS

    def minutes(self, day_minutes: int) -> int:
        """Length in the unit's own minutes (office minutes, or real minutes for calendar days)."""
        if self.unit is TimeUnit.WORKING_DAYS:
            return round(self.value * day_minutes)
        if self.unit is TimeUnit.WORKING_HOURS:
            return round(self.value * 60)
        return round(self.value * MINUTES_PER_CALENDAR_DAY)

    def day_equivalent(self) -> float:
        """Size in working days, for checking step budgets against the statutory time:
        8 working hours make a day; a calendar week holds at most 5 working days."""
        if self.unit is TimeUnit.WORKING_HOURS:
            return self.value / 8
        if self.unit is TimeUnit.CALENDAR_DAYS:
            return self.value * 5 / 7
        return self.value

    def __str__(self) -> str:
        value = int(self.value) if self.value == int(self.value) else self.value
        return f"{value} {self.unit.value.replace('_', ' ')}"

    @property
    def vi(self) -> str:
        """In Vietnamese: "15 ngày làm việc", "0,5 giờ làm việc"."""
        return duration(str(self))


class OfficeSession(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> OfficeSession:
        if self.end <= self.start:
            raise ValueError(f"office session ends ({self.end}) before it starts ({self.start})")
        return self

    @property
    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


DEFAULT_SESSIONS = (
    OfficeSession(start=time(7, 30), end=time(11, 30)),
    OfficeSession(start=time(13, 0), end=time(17, 0)),
)


class DayNote(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: date
    name: str


class WorkingCalendar(BaseModel):
    """A frozen snapshot of the working calendar for a span of years."""

    model_config = ConfigDict(frozen=True)

    version: str = Field(description="where the data came from, e.g. 'holidays-0.109+overrides'")
    timezone: str = VIETNAM_TZ
    valid_from: date
    valid_to: date
    weekend: tuple[int, ...] = (5, 6)  # Saturday, Sunday (date.weekday())
    days_off: tuple[DayNote, ...] = ()  # days off that fall on a weekday
    working_weekend_days: tuple[DayNote, ...] = ()  # make-up working Saturdays
    sessions: tuple[OfficeSession, ...] = DEFAULT_SESSIONS

    _off: frozenset[date] = PrivateAttr(default=frozenset())
    _on: frozenset[date] = PrivateAttr(default=frozenset())
    _tz: ZoneInfo | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> WorkingCalendar:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        if not self.sessions:
            raise ValueError("at least one office session is required")
        for earlier, later in zip(self.sessions, self.sessions[1:], strict=False):
            if later.start < earlier.end:
                raise ValueError("office sessions overlap or are out of order")
        return self

    def model_post_init(self, __context: object) -> None:
        self._off = frozenset(n.day for n in self.days_off)
        self._on = frozenset(n.day for n in self.working_weekend_days)
        self._tz = ZoneInfo(self.timezone)

    # -- days ---------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        assert self._tz is not None
        return self._tz

    @property
    def day_minutes(self) -> int:
        """Office minutes in one working day (8 h by default: 1 working day = 8 working hours)."""
        return sum(s.minutes for s in self.sessions)

    @property
    def opening_time(self) -> time:
        return self.sessions[0].start

    @property
    def closing_time(self) -> time:
        return self.sessions[-1].end

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to

    def _require(self, day: date) -> None:
        if not self.covers(day):
            raise CalendarRangeError(day, self.valid_from, self.valid_to)

    def is_working_day(self, day: date) -> bool:
        self._require(day)
        if day in self._on:
            return True
        return day.weekday() not in self.weekend and day not in self._off

    def day_name(self, day: date) -> str | None:
        for note in (*self.days_off, *self.working_weekend_days):
            if note.day == day:
                return note.name
        return None

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def previous_working_day(self, day: date) -> date:
        day -= timedelta(days=1)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def working_day_on_or_after(self, day: date) -> date:
        return day if self.is_working_day(day) else self.next_working_day(day)

    def nth_working_day_after(self, day: date, n: int) -> date:
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    # -- instants -----------------------------------------------------------

    def local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ValueError(f"naive datetime {instant.isoformat()}: give a timezone")
        return instant.astimezone(self.tz)

    def at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.tz)

    def opening(self, day: date) -> datetime:
        return self.at(day, self.opening_time)

    def closing(self, day: date) -> datetime:
        return self.at(day, self.closing_time)

    def effective_receipt_day(self, received_at: datetime, cutoff: time | None = None) -> date:
        """The day a dossier counts as received: the next working day when it came
        on a day off or at/after the cut-off (default: close of office hours)."""
        local = self.local(received_at)
        limit = cutoff or self.closing_time
        if self.is_working_day(local.date()) and local.time() < limit:
            return local.date()
        return self.next_working_day(local.date())

    def clamp_forward(self, instant: datetime) -> datetime:
        """The first office instant at or after `instant` (itself when inside a session)."""
        local = self.local(instant)
        day = local.date()
        while True:
            if self.is_working_day(day):
                for session in self.sessions:
                    start, end = self.at(day, session.start), self.at(day, session.end)
                    if local < end:
                        return max(local, start)
            day += timedelta(days=1)
            local = self.at(day, time(0, 0))

    def counting_start(
        self, received_at: datetime, unit: TimeUnit, cutoff: time | None = None
    ) -> datetime:
        """Where the statutory clock starts for a dossier received at `received_at`."""
        day = self.effective_receipt_day(received_at, cutoff)
        if unit is TimeUnit.WORKING_DAYS:
            return self.opening(self.next_working_day(day))
        if unit is TimeUnit.CALENDAR_DAYS:
            return self.at(day + timedelta(days=1), time(0, 0))
        if day == self.local(received_at).date():
            return self.clamp_forward(received_at)
        return self.opening(day)

    def resume_point(self, instant: datetime, unit: TimeUnit) -> datetime:
        """Where a paused clock picks up again (waiting time is excluded to the minute).

        The clock counts whole minutes: the seconds of the moment it resumes are dropped,
        so a resumption a few milliseconds after a full minute cannot push the end of the
        remaining time past the close of office and into the next working day."""
        minute = self.local(instant).replace(second=0, microsecond=0)
        if unit is TimeUnit.CALENDAR_DAYS:
            return minute
        return self.clamp_forward(minute)

    # -- arithmetic ---------------------------------------------------------

    def add_office_minutes(self, start: datetime, minutes: int) -> datetime:
        """The instant at which `minutes` office minutes have elapsed after `start`.

        Landing exactly on a session boundary returns the session's end, so N full
        working days from an opening end at the close of the N-th day."""
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        current = self.clamp_forward(start)
        remaining = timedelta(minutes=minutes)  # exact: a start at 10:00:30 keeps its seconds
        while True:
            day = current.date()
            for session in self.sessions:
                end = self.at(day, session.end)
                if current >= end:
                    continue
                begin = max(current, self.at(day, session.start))
                available = end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                current = end
            current = self.opening(self.next_working_day(day))

    def office_minutes_between(self, start: datetime, end: datetime) -> int:
        """Office minutes in [start, end); 0 when end <= start."""
        start, end = self.local(start), self.local(end)
        if end <= start:
            return 0
        total = 0.0
        day = start.date()
        while day <= end.date():
            if self.is_working_day(day):
                for session in self.sessions:
                    lo = max(start, self.at(day, session.start))
                    hi = min(end, self.at(day, session.end))
                    if hi > lo:
                        total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return int(total // 60)

    def advance(self, start: datetime, minutes: int, unit: TimeUnit) -> datetime:
        """`start` plus `minutes` of the unit's time (office minutes, or real minutes)."""
        if unit is TimeUnit.CALENDAR_DAYS:
            return self.local(start) + timedelta(minutes=minutes)
        return self.add_office_minutes(start, minutes)

    def elapsed(self, start: datetime, end: datetime, unit: TimeUnit) -> int:
        """Minutes of the unit's time between two instants."""
        if unit is TimeUnit.CALENDAR_DAYS:
            return max(0, int((end - start).total_seconds() // 60))
        return self.office_minutes_between(start, end)

    def due(self, start: datetime, minutes: int, unit: TimeUnit) -> datetime:
        """The appointment for `minutes` of time counted from `start`.

        Working hours end at the exact instant; working days at the close of office
        hours of the day the time runs out; calendar days at the close of office
        hours of the last day, moved to the next working day when that is a day off.
        """
        end = self.advance(start, minutes, unit)
        if unit is TimeUnit.WORKING_HOURS:
            return end
        if unit is TimeUnit.WORKING_DAYS:
            return self.closing(end.date())
        last_day = (end - timedelta(microseconds=1)).date()
        return self.closing(self.working_day_on_or_after(last_day))

    def appointment(
        self,
        received_at: datetime,
        duration: Duration,
        cutoff: time | None = None,
    ) -> datetime:
        """The statutory appointment (ngày hẹn trả) for a complete dossier received at `received_at`."""
        start = self.counting_start(received_at, duration.unit, cutoff)
        return self.due(start, duration.minutes(self.day_minutes), duration.unit)

    def latest_extension_request(self, appointment: datetime) -> datetime:
        """The last moment the responsible agency may send the apology and extension
        request (Form 04): the close of office on the working day before the appointment day."""
        return self.closing(self.previous_working_day(self.local(appointment).date()))

    def merged(self, other: WorkingCalendar) -> WorkingCalendar:
        """This snapshot extended with another one covering later (or earlier) years.

        Dates this snapshot already covers keep their values: what a dossier saw stays."""
        if other.sessions != self.sessions or other.weekend != self.weekend:
            raise ValueError("cannot merge calendars with different office hours or weekends")
        keep = self.covers
        return WorkingCalendar(
            **{
                **dict(self),
                "version": f"{self.version}|{other.version}",
                "valid_from": min(self.valid_from, other.valid_from),
                "valid_to": max(self.valid_to, other.valid_to),
                "days_off": tuple(
                    sorted(
                        (*self.days_off, *(n for n in other.days_off if not keep(n.day))),
                        key=lambda n: n.day,
                    )
                ),
                "working_weekend_days": tuple(
                    sorted(
                        (
                            *self.working_weekend_days,
                            *(n for n in other.working_weekend_days if not keep(n.day)),
                        ),
                        key=lambda n: n.day,
                    )
                ),
            }
        )
