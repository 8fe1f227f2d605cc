"""`motcua deadline` and `motcua calendar`: the legal clock (working days, holidays)."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated

import typer

from domain.calendar import CalendarRangeError, Duration, TimeUnit
from domain.calendar_source import CalendarConfigError, build_calendar, load_overrides
from motcua.cli._common import _fail, _parse_instant, _settings, app

WEEKDAYS = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")


def _parse_cutoff(value: str | None) -> time | None:
    if value is None:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise _fail(f"--cutoff: '{value}' không phải giờ dạng 15:00") from None


@app.command()
def deadline(
    start: Annotated[
        str,
        typer.Option(
            "--from", help="thời điểm tiếp nhận, ISO 8601; không có múi giờ: giờ Việt Nam"
        ),
    ],
    days: Annotated[
        float | None, typer.Option(help="thời hạn giải quyết theo ngày làm việc")
    ] = None,
    hours: Annotated[
        float | None, typer.Option(help="thời hạn giải quyết theo giờ làm việc")
    ] = None,
    calendar_days: Annotated[
        float | None, typer.Option(help="thời hạn giải quyết theo ngày (kể cả ngày nghỉ)")
    ] = None,
    cutoff: Annotated[
        str | None,
        typer.Option(help="giờ chốt tiếp nhận, ví dụ 15:00 (mặc định: giờ hết làm việc)"),
    ] = None,
    explain: Annotated[bool, typer.Option(help="in thêm cách tính ngày hẹn")] = False,
) -> None:
    """Ngày hẹn trả kết quả của một hồ sơ tiếp nhận lúc --from."""
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
        raise _fail("cần đúng một trong --days, --hours, --calendar-days")
    value, unit = given[0]
    if value <= 0:
        raise _fail("thời hạn giải quyết phải lớn hơn 0")
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
            f"tiếp nhận lúc {calendar.local(received):%H:%M %d/%m/%Y}; tính là tiếp nhận ngày "
            f"{effective:%d/%m/%Y}; {duration.vi} tính từ "
            f"{calendar.counting_start(received, unit, limit):%H:%M %d/%m/%Y}"
        )
        day = calendar.local(received).date()
        while day <= appointment.date():
            name = calendar.day_name(day)
            if name:
                typer.echo(
                    f"  {day:%d/%m/%Y} {'làm việc' if calendar.is_working_day(day) else 'nghỉ'}: {name}"
                )
            day = date.fromordinal(day.toordinal() + 1)


@app.command("calendar")
def calendar_cmd(year: int) -> None:
    """Các ngày nghỉ và ngày làm bù của một năm (gói holidays và các điều chỉnh của tỉnh)."""
    settings = _settings()
    try:
        cal = build_calendar(year, year, load_overrides(settings.calendar_overrides))
    except CalendarConfigError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"# {cal.version}")
    for note in sorted((*cal.days_off, *cal.working_weekend_days), key=lambda n: n.day):
        kind = "làm bù" if note in cal.working_weekend_days else "nghỉ"
        typer.echo(f"{note.day:%d/%m/%Y} {WEEKDAYS[note.day.weekday()]:2} {kind:6} {note.name}")
