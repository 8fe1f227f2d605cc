"""`motcua deadline` and `motcua calendar`: the legal clock (working days, holidays)."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Optional

import typer

from domain.calendar import CalendarRangeError, Duration, TimeUnit
from domain.calendar_source import CalendarConfigError, build_calendar, load_overrides
from motcua.cli._common import _fail, _parse_instant, _settings, app


def _parse_cutoff(value: str | None) -> time | None:
    if value is None:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise _fail(f"--cutoff: '{value}' is not a time like 15:00") from None


@app.command()
def deadline(
    start: Annotated[
        str, typer.Option("--from", help="receipt time, ISO 8601; naive = Asia/Ho_Chi_Minh")
    ],
    days: Annotated[Optional[float], typer.Option(help="statutory time in working days")] = None,  # noqa: UP045
    hours: Annotated[Optional[float], typer.Option(help="statutory time in working hours")] = None,  # noqa: UP045
    calendar_days: Annotated[
        float | None, typer.Option(help="statutory time in calendar days")
    ] = None,
    cutoff: Annotated[
        str | None, typer.Option(help="receipt cut-off, e.g. 15:00 (default: close of office)")
    ] = None,
    explain: Annotated[bool, typer.Option(help="also print how the date was counted")] = False,
) -> None:
    """Print the appointment (ngày hẹn trả kết quả) for a dossier received at --from."""
    given = [
        (v, u)
        for v, u in (
            (days, TimeUnit.WORKING_DAYS),
            (hours, TimeUnit.WORKING_HOURS),
            (calendar_days, TimeUnit.CALENDAR_DAYS),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise _fail("give exactly one of --days, --hours, --calendar-days")
    value, unit = given[0]
    if value <= 0:
        raise _fail("the statutory time must be positive")
    received = _parse_instant(start)
    limit = _parse_cutoff(cutoff)
    settings = _settings()
    try:
        calendar = build_calendar(
            received.year - 1, received.year + 3, load_overrides(settings.calendar_overrides)
        )
        duration = Duration(value=value, unit=unit)
        appointment = calendar.appointment(received, duration, limit)
    except (CalendarConfigError, CalendarRangeError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(appointment.isoformat())
    if explain:
        effective = calendar.effective_receipt_day(received, limit)
        typer.echo(
            f"received {calendar.local(received).isoformat()}; counts as received on "
            f"{effective.isoformat()}; {duration} counted from "
            f"{calendar.counting_start(received, unit, limit).isoformat()}"
        )
        day = calendar.local(received).date()
        while day <= appointment.date():
            name = calendar.day_name(day)
            if name:
                typer.echo(
                    f"  {day.isoformat()} {'làm việc' if calendar.is_working_day(day) else 'nghỉ'}: {name}"
                )
            day = date.fromordinal(day.toordinal() + 1)


@app.command("calendar")
def calendar_cmd(year: int) -> None:
    """List the days off and make-up working days of a year (holidays package + overrides)."""
    settings = _settings()
    try:
        cal = build_calendar(year, year, load_overrides(settings.calendar_overrides))
    except CalendarConfigError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"# {cal.version}")
    for note in sorted((*cal.days_off, *cal.working_weekend_days), key=lambda n: n.day):
        kind = "working" if note in cal.working_weekend_days else "off"
        typer.echo(f"{note.day.isoformat()} {note.day:%a} {kind:7} {note.name}")
