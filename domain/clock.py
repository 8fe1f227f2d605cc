"""The statutory clock as a small ledger, and the operations the law puts on it.

One `Ledger` runs for the dossier (the appointment) and one for each step (its
budget). The law's four clock operations map onto three functions here:
- start: the clock starts (or restarts from zero after an intake-stage supplement);
- pause/resume: a supplement during appraisal, or an excluded period such as the
  financial obligation, stops the clock; waiting time is excluded to the minute;
- extend: the responsible agency sets a new appointment once (Form 04).
All are pure: the calendar is the frozen snapshot from the workflow input.
"""

from __future__ import annotations

from datetime import datetime

from domain.calendar import Duration, WorkingCalendar
from domain.dossier import Ledger


def new_ledger(
    calendar: WorkingCalendar,
    duration: Duration,
    start: datetime,
    *,
    appointment: bool,
) -> Ledger:
    """A running ledger from `start` (already the counting start for the dossier clock).

    `appointment` rounds the due time the way the law states appointments (close
    of office hours for day units); a step budget is due at the exact instant."""
    ledger = Ledger(
        unit=duration.unit,
        budget_minutes=duration.minutes(calendar.day_minutes),
        started_at=start,
        running_since=start,
    )
    ledger.due_at = _due(calendar, ledger, start, appointment=appointment)
    return ledger


def remaining_minutes(ledger: Ledger) -> int:
    return max(0, ledger.budget_minutes + ledger.extra_minutes - ledger.consumed_minutes)


def consumed_now(calendar: WorkingCalendar, ledger: Ledger, now: datetime) -> int:
    """Minutes used so far, including the running segment."""
    if ledger.running_since is None:
        return ledger.consumed_minutes
    return ledger.consumed_minutes + calendar.elapsed(ledger.running_since, now, ledger.unit)


def pause(calendar: WorkingCalendar, ledger: Ledger, now: datetime) -> None:
    if ledger.running_since is None:
        return
    ledger.consumed_minutes = consumed_now(calendar, ledger, now)
    ledger.resume_not_before = ledger.running_since if now < ledger.running_since else None
    ledger.running_since = None
    ledger.paused_since = now
    ledger.due_at = None


def stop(calendar: WorkingCalendar, ledger: Ledger, now: datetime) -> None:
    """The end of processing: keep what was consumed and the appointment as it stood."""
    if ledger.running_since is not None:
        ledger.consumed_minutes = consumed_now(calendar, ledger, now)
        ledger.running_since = None
    ledger.paused_since = None


def resume(calendar: WorkingCalendar, ledger: Ledger, now: datetime, *, appointment: bool) -> None:
    if ledger.paused_since is None:
        return
    ledger.paused_minutes_total += max(0, int((now - ledger.paused_since).total_seconds() // 60))
    ledger.paused_since = None
    start = calendar.resume_point(now, ledger.unit)
    if ledger.resume_not_before is not None:
        start = max(start, ledger.resume_not_before)
        ledger.resume_not_before = None
    ledger.running_since = start
    ledger.due_at = _due(calendar, ledger, start, appointment=appointment)


def extend_to(calendar: WorkingCalendar, ledger: Ledger, new_due: datetime) -> None:
    """Move a running ledger's due time later; the extra time is kept across later pauses."""
    if ledger.due_at is None or new_due <= ledger.due_at:
        raise ValueError("a new appointment must be later than the current one")
    ledger.extra_minutes += calendar.elapsed(ledger.due_at, new_due, ledger.unit)
    ledger.due_at = new_due


def _due(
    calendar: WorkingCalendar, ledger: Ledger, start: datetime, *, appointment: bool
) -> datetime:
    minutes = remaining_minutes(ledger)
    if appointment:
        return calendar.due(start, minutes, ledger.unit)
    return calendar.advance(start, minutes, ledger.unit)
