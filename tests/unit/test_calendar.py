"""Working-day arithmetic (domain.calendar) over real and synthetic snapshots.

Expected dates are worked out by hand from the rules in domain/calendar.py and
the government's holiday notices (DOMAIN.md §1.11); the comments show the count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import (
    CalendarRangeError,
    DayNote,
    Duration,
    OfficeSession,
    TimeUnit,
    WorkingCalendar,
)
from domain.calendar_source import (
    CalendarConfigError,
    CalendarOverrides,
    build_calendar,
    load_overrides,
)
from infra.settings import REPO_ROOT

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = build_calendar(2024, 2027)
PROPS = settings(max_examples=200, deadline=None)


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN)


def wd(n: float) -> Duration:
    return Duration(value=n, unit=TimeUnit.WORKING_DAYS)


def wh(n: float) -> Duration:
    return Duration(value=n, unit=TimeUnit.WORKING_HOURS)


def cd(n: float) -> Duration:
    return Duration(value=n, unit=TimeUnit.CALENDAR_DAYS)


def with_overrides(**kwargs: object) -> WorkingCalendar:
    return build_calendar(2025, 2025, CalendarOverrides.model_validate(kwargs))


# -- the snapshot itself ------------------------------------------------------


def test_snapshot_covers_whole_years_and_names_its_source() -> None:
    assert CAL.valid_from == date(2024, 1, 1)
    assert CAL.valid_to == date(2027, 12, 31)
    assert CAL.version.startswith("holidays-")
    assert CAL.day_minutes == 8 * 60
    assert CAL.opening_time == time(7, 30)
    assert CAL.closing_time == time(17, 0)


def test_snapshot_round_trips_through_json() -> None:
    # The snapshot travels in workflow input: it must survive serialisation.
    again = WorkingCalendar.model_validate_json(CAL.model_dump_json())
    assert again == CAL
    assert not again.is_working_day(date(2026, 2, 17))
    assert again.is_working_day(date(2026, 8, 22))


@pytest.mark.parametrize(
    "day",
    [date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19), date(2026, 2, 20)],
)
def test_tet_2026_is_off(day: date) -> None:
    # Thông báo 9441/TB-BNV: Mon 16/02 – Fri 20/02/2026.
    assert not CAL.is_working_day(day)


def test_days_around_tet_2026_are_working() -> None:
    assert CAL.is_working_day(date(2026, 2, 13))  # Friday before
    assert CAL.is_working_day(date(2026, 2, 23))  # Monday after


def test_appointment_across_tet_2026() -> None:
    # Received Thu 12/02; counting from Fri 13/02 (1), Tết 16–20, Mon 23 (2), Tue 24 (3).
    assert CAL.appointment(vn(2026, 2, 12, 9), wd(3)) == vn(2026, 2, 24, 17)


def test_15_working_days_across_tet_2025() -> None:
    # Received Mon 20/01/2025 10:00. Counting: 21, 22, 23, 24/01 (4); Tết 27–31/01 off;
    # 03–07/02 (9); 10–14/02 (14); Mon 17/02 (15).
    assert CAL.appointment(vn(2025, 1, 20, 10), wd(15)) == vn(2025, 2, 17, 17)


def test_reunification_day_2024_with_make_up_saturday() -> None:
    # 29/04/2024 (Mon) swapped for Sat 04/05/2024; 30/04 and 01/05 off.
    for day in (date(2024, 4, 29), date(2024, 4, 30), date(2024, 5, 1)):
        assert not CAL.is_working_day(day)
    assert CAL.is_working_day(date(2024, 5, 4))
    assert CAL.day_name(date(2024, 5, 4)) is not None
    # Received Fri 26/04: Thu 02/05 (1), Fri 03/05 (2), Sat 04/05 (3).
    assert CAL.appointment(vn(2024, 4, 26, 10), wd(3)) == vn(2024, 5, 4, 17)


def test_reunification_day_2025_with_make_up_saturday() -> None:
    # Sat 26/04/2025 worked in exchange for Fri 02/05/2025.
    assert CAL.is_working_day(date(2025, 4, 26))
    for day in (date(2025, 4, 30), date(2025, 5, 1), date(2025, 5, 2)):
        assert not CAL.is_working_day(day)
    # Received Thu 24/04: Fri 25 (1), Sat 26 (2), Mon 28 (3).
    assert CAL.appointment(vn(2025, 4, 24, 10), wd(3)) == vn(2025, 4, 28, 17)
    # ... Tue 29 (4); 30/04–02/05 off; 03–04 weekend; Mon 05/05 (5).
    assert CAL.appointment(vn(2025, 4, 24, 10), wd(5)) == vn(2025, 5, 5, 17)


def test_national_day_2026_swap() -> None:
    # Mon 31/08/2026 off in exchange for Sat 22/08/2026; 01–02/09 off.
    assert not CAL.is_working_day(date(2026, 8, 31))
    assert CAL.is_working_day(date(2026, 8, 22))
    assert not CAL.is_working_day(date(2026, 9, 1))
    assert not CAL.is_working_day(date(2026, 9, 2))
    assert CAL.is_working_day(date(2026, 9, 3))
    # Received Fri 21/08: the make-up Saturday 22/08 is day 1.
    assert CAL.appointment(vn(2026, 8, 21, 10), wd(1)) == vn(2026, 8, 22, 17)
    # Received Fri 28/08: 29–30 weekend, 31/08–02/09 off, Thu 03/09 is day 1.
    assert CAL.appointment(vn(2026, 8, 28, 10), wd(1)) == vn(2026, 9, 3, 17)


# -- receipt ------------------------------------------------------------------


def test_receipt_day_is_not_counted() -> None:
    # Received at opening on Mon 10/03/2025: 1 working day ends Tue 11/03, not Monday.
    assert CAL.appointment(vn(2025, 3, 10, 7, 30), wd(1)) == vn(2025, 3, 11, 17)


@pytest.mark.parametrize("clock", [time(17, 0), time(17, 30), time(23, 59)])
def test_received_at_or_after_close_counts_from_next_working_day(clock: time) -> None:
    received = datetime.combine(date(2025, 3, 10), clock, tzinfo=VN)  # Monday
    assert CAL.effective_receipt_day(received) == date(2025, 3, 11)
    # Receipt day Tue 11/03 not counted: Wed 12/03 (1).
    assert CAL.appointment(received, wd(1)) == vn(2025, 3, 12, 17)


def test_received_just_before_close_counts_today() -> None:
    assert CAL.effective_receipt_day(vn(2025, 3, 10, 16, 59)) == date(2025, 3, 10)
    assert CAL.appointment(vn(2025, 3, 10, 16, 59), wd(1)) == vn(2025, 3, 11, 17)


def test_received_on_a_day_off_counts_from_next_working_day() -> None:
    # Saturday 08/03/2025 -> received Monday 10/03; day 1 is Tuesday 11/03.
    assert CAL.effective_receipt_day(vn(2025, 3, 8, 10)) == date(2025, 3, 10)
    assert CAL.appointment(vn(2025, 3, 8, 10), wd(1)) == vn(2025, 3, 11, 17)
    # During Tết 2025 (Wed 29/01): received Mon 03/02; day 1 is Tue 04/02.
    assert CAL.appointment(vn(2025, 1, 29, 10), wd(1)) == vn(2025, 2, 4, 17)


def test_receipt_cutoff_for_same_day_procedures() -> None:
    # Civil-status extract: 8 working hours, 15:00 cut-off.
    cutoff = time(15, 0)
    # 14:00 Mon: Mon 14:00–17:00 (180) + Tue 07:30–11:30 (240) + 13:00–14:00 (60) = 480.
    assert CAL.appointment(vn(2025, 3, 10, 14), wh(8), cutoff) == vn(2025, 3, 11, 14)
    # 15:30 Mon is after the cut-off: received Tue, counting from 07:30, 8 h -> Tue 17:00.
    assert CAL.effective_receipt_day(vn(2025, 3, 10, 15, 30), cutoff) == date(2025, 3, 11)
    assert CAL.appointment(vn(2025, 3, 10, 15, 30), wh(8), cutoff) == vn(2025, 3, 11, 17)
    # Exactly 15:00 is "at" the cut-off.
    assert CAL.effective_receipt_day(vn(2025, 3, 10, 15), cutoff) == date(2025, 3, 11)


def test_receipt_in_utc_is_read_in_vietnam_time() -> None:
    # 03:00 UTC is 10:00 in Hanoi; 10:30 UTC is 17:30 (after close).
    assert CAL.effective_receipt_day(datetime(2025, 3, 10, 3, tzinfo=UTC)) == date(2025, 3, 10)
    assert CAL.effective_receipt_day(datetime(2025, 3, 10, 10, 30, tzinfo=UTC)) == date(2025, 3, 11)
    assert CAL.appointment(datetime(2025, 3, 10, 3, tzinfo=UTC), wd(1)) == vn(2025, 3, 11, 17)


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.appointment(datetime(2025, 3, 10, 10), wd(1))


# -- working hours --------------------------------------------------------------


def test_eight_working_hours_from_friday_morning_end_monday_morning() -> None:
    # Fri 14/03/2025 10:00: 10:00–11:30 (90) + 13:00–17:00 (240) = 330; Mon 07:30 + 150 = 10:00.
    assert CAL.appointment(vn(2025, 3, 14, 10), wh(8)) == vn(2025, 3, 17, 10)


def test_lunch_break_is_not_office_time() -> None:
    assert CAL.add_office_minutes(vn(2025, 3, 10, 11), 60) == vn(2025, 3, 10, 13, 30)
    assert CAL.office_minutes_between(vn(2025, 3, 10, 11), vn(2025, 3, 10, 13, 30)) == 60
    assert CAL.office_minutes_between(vn(2025, 3, 10, 11, 30), vn(2025, 3, 10, 13)) == 0


def test_working_hours_received_before_opening_start_at_opening() -> None:
    # 06:00 Mon: clock starts 07:30; 2 h -> 09:30.
    assert CAL.appointment(vn(2025, 3, 10, 6), wh(2)) == vn(2025, 3, 10, 9, 30)
    # During lunch: clock starts 13:00; 2 h -> 15:00.
    assert CAL.appointment(vn(2025, 3, 10, 12), wh(2)) == vn(2025, 3, 10, 15)


def test_full_working_days_from_an_opening_end_at_a_close() -> None:
    # Boundary rule: landing exactly on a session end returns that end.
    assert CAL.add_office_minutes(vn(2025, 3, 10, 7, 30), 240) == vn(2025, 3, 10, 11, 30)
    assert CAL.add_office_minutes(vn(2025, 3, 10, 7, 30), 480) == vn(2025, 3, 10, 17)
    assert CAL.add_office_minutes(vn(2025, 3, 10, 7, 30), 481) == vn(2025, 3, 11, 7, 31)


def test_half_working_day() -> None:
    # 0.5 working day from Mon: runs out Tue 11:30; the appointment is Tue's close.
    assert CAL.appointment(vn(2025, 3, 10, 10), wd(0.5)) == vn(2025, 3, 11, 17)


def test_office_time_keeps_the_seconds_of_its_start() -> None:
    # 10:00:30 -> 11:30 is 89.5 min; the other 10.5 min run from 13:00 -> 13:10:30.
    start = datetime(2025, 3, 10, 10, 0, 30, tzinfo=VN)
    end = CAL.add_office_minutes(start, 100)
    assert end == datetime(2025, 3, 10, 13, 10, 30, tzinfo=VN)
    # Across a night and a weekend too: Fri 16:59:45 + 1 min -> Mon 07:30:45.
    start = datetime(2025, 3, 14, 16, 59, 45, tzinfo=VN)
    assert CAL.add_office_minutes(start, 1) == datetime(2025, 3, 17, 7, 30, 45, tzinfo=VN)


def test_negative_minutes_rejected() -> None:
    with pytest.raises(ValueError):
        CAL.add_office_minutes(vn(2025, 3, 10, 10), -1)


# -- calendar days --------------------------------------------------------------


def test_calendar_days_count_every_day() -> None:
    # Received Mon 10/03/2025; 15 days -> Tue 25/03.
    assert CAL.appointment(vn(2025, 3, 10, 10), cd(15)) == vn(2025, 3, 25, 17)


def test_calendar_days_landing_on_a_weekend_move_to_next_working_day() -> None:
    # Received Fri 07/03/2025; +15 = Sat 22/03 -> Mon 24/03.
    assert CAL.appointment(vn(2025, 3, 7, 10), cd(15)) == vn(2025, 3, 24, 17)


def test_calendar_days_landing_on_a_holiday_move_to_next_working_day() -> None:
    # Received Wed 16/04/2025; +15 = Thu 01/05 (off); 02/05 off; 03–04 weekend -> Mon 05/05.
    assert CAL.appointment(vn(2025, 4, 16, 10), cd(15)) == vn(2025, 5, 5, 17)


def test_calendar_days_received_on_a_day_off() -> None:
    # Received Sat 08/03/2025 -> counts as Mon 10/03; +15 = Tue 25/03.
    assert CAL.appointment(vn(2025, 3, 8, 10), cd(15)) == vn(2025, 3, 25, 17)


# -- range, extension, merge ----------------------------------------------------


def test_outside_the_snapshot_raises() -> None:
    with pytest.raises(CalendarRangeError) as err:
        CAL.is_working_day(date(2023, 12, 31))
    assert err.value.day == date(2023, 12, 31)
    assert "2023-12-31" in str(err.value)
    # 15 working days from 20/12/2027 run into 2028.
    with pytest.raises(CalendarRangeError):
        CAL.appointment(vn(2027, 12, 20, 10), wd(15))
    with pytest.raises(CalendarRangeError):
        CAL.appointment(vn(2028, 1, 3, 10), wd(1))


def test_range_error_is_a_value_error() -> None:
    assert issubclass(CalendarRangeError, ValueError)


def test_latest_extension_request() -> None:
    # Appointment Mon 17/02/2025: the request must go by close on Fri 14/02.
    assert CAL.latest_extension_request(vn(2025, 2, 17, 17)) == vn(2025, 2, 14, 17)
    # Appointment Mon 03/02/2025: Tết 27–31/01 and the weekend are skipped -> Fri 24/01.
    assert CAL.latest_extension_request(vn(2025, 2, 3, 17)) == vn(2025, 1, 24, 17)
    # Appointment Mon 24/08/2026: the make-up Saturday 22/08 is the working day before.
    assert CAL.latest_extension_request(vn(2026, 8, 24, 17)) == vn(2026, 8, 22, 17)


def test_merged_keeps_existing_days_and_adds_new_years() -> None:
    old = build_calendar(
        2025,
        2025,
        CalendarOverrides(
            days_off=[DayNote(day=date(2025, 6, 2), name="Nghỉ theo quyết định cũ")],
            source="old",
        ),
    )
    new = build_calendar(
        2025,
        2026,
        CalendarOverrides(
            days_off=[DayNote(day=date(2025, 6, 3), name="Nghỉ theo quyết định mới")],
            source="new",
        ),
    )
    merged = old.merged(new)
    assert merged.valid_from == date(2025, 1, 1)
    assert merged.valid_to == date(2026, 12, 31)
    assert merged.version == f"{old.version}|{new.version}"
    # 2025 is what the old snapshot said, whatever the new one says.
    assert not merged.is_working_day(date(2025, 6, 2))
    assert merged.is_working_day(date(2025, 6, 3))
    assert merged.is_working_day(date(2025, 4, 26))  # make-up Saturday kept
    # 2026 comes from the new snapshot.
    assert not merged.is_working_day(date(2026, 2, 17))
    assert merged.is_working_day(date(2026, 8, 22))
    # Received 29/12/2025: 30, 31/12 (2); 01/01/2026 off; Fri 02/01 (3).
    assert merged.appointment(vn(2025, 12, 29, 10), wd(3)) == vn(2026, 1, 2, 17)


def test_merged_refuses_different_office_hours() -> None:
    other = build_calendar(
        2026,
        2026,
        CalendarOverrides(sessions=[OfficeSession(start=time(8), end=time(16))]),
    )
    with pytest.raises(ValueError, match="office hours"):
        CAL.merged(other)


# -- overrides ------------------------------------------------------------------


def test_override_day_off_changes_the_appointment() -> None:
    base = build_calendar(2025, 2025)
    assert base.appointment(vn(2025, 3, 10, 10), wd(1)) == vn(2025, 3, 11, 17)
    cal = with_overrides(days_off=[{"day": "2025-03-11", "name": "Nghỉ đột xuất"}])
    assert not cal.is_working_day(date(2025, 3, 11))
    assert cal.day_name(date(2025, 3, 11)) == "Nghỉ đột xuất"
    assert cal.appointment(vn(2025, 3, 10, 10), wd(1)) == vn(2025, 3, 12, 17)


def test_override_working_saturday_changes_the_appointment() -> None:
    base = build_calendar(2025, 2025)
    assert base.appointment(vn(2025, 3, 14, 10), wd(1)) == vn(2025, 3, 17, 17)
    cal = with_overrides(working_days=[{"day": "2025-03-15", "name": "Làm việc bù"}])
    assert cal.is_working_day(date(2025, 3, 15))
    assert cal.appointment(vn(2025, 3, 14, 10), wd(1)) == vn(2025, 3, 15, 17)


def test_override_not_days_off_removes_a_package_holiday() -> None:
    base = build_calendar(2025, 2025)
    # Fri 29/08/2025: 01–02/09 off -> Wed 03/09.
    assert base.appointment(vn(2025, 8, 29, 10), wd(1)) == vn(2025, 9, 3, 17)
    cal = with_overrides(not_days_off=["2025-09-01"])
    assert cal.is_working_day(date(2025, 9, 1))
    assert cal.appointment(vn(2025, 8, 29, 10), wd(1)) == vn(2025, 9, 1, 17)


def test_override_day_off_cancels_a_make_up_saturday() -> None:
    cal = with_overrides(days_off=[{"day": "2025-04-26", "name": "Huỷ làm bù"}])
    assert not cal.is_working_day(date(2025, 4, 26))


def test_override_version_is_recorded() -> None:
    cal = build_calendar(2025, 2025, CalendarOverrides(source="qd-123"))
    assert cal.version.endswith("+qd-123")


def test_shipped_overrides_file_loads() -> None:
    path = REPO_ROOT / "procedures" / "calendar" / "overrides.yaml"
    assert path.exists()
    overrides = load_overrides(path)
    assert overrides.source == "overrides-2026-11"
    cal = build_calendar(2026, 2026, overrides)
    assert cal.version.endswith("+overrides-2026-11")


def test_shipped_overrides_example_is_valid_when_uncommented(tmp_path: Path) -> None:
    text = (REPO_ROOT / "procedures" / "calendar" / "overrides.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line == "# days_off:")
    end = next(i for i, line in enumerate(lines) if i > start and not line.startswith("#"))
    example = "\n".join(line.removeprefix("# ") for line in lines[start:end])
    path = tmp_path / "overrides.yaml"
    path.write_text(example + "\nsource: example\n", encoding="utf-8")
    overrides = load_overrides(path)
    assert [n.day for n in overrides.days_off] == [date(2026, 8, 31)]
    assert [n.day for n in overrides.working_days] == [date(2026, 8, 22)]
    assert overrides.not_days_off == [date(2026, 11, 24)]
    cal = build_calendar(2026, 2026, overrides)
    assert cal.is_working_day(date(2026, 11, 24))
    assert cal.day_minutes == 480


def test_missing_overrides_file_means_no_overrides(tmp_path: Path) -> None:
    assert load_overrides(None) == CalendarOverrides()
    assert load_overrides(tmp_path / "absent.yaml") == CalendarOverrides()


@pytest.mark.parametrize(
    "text",
    [
        "days_off: [{day: 2025-13-40, name: x}]\n",
        "days_off: {not: a list}\n",
        "days_off: [\n",
    ],
)
def test_invalid_overrides_file_is_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarConfigError, match=r"overrides\.yaml"):
        load_overrides(path)


def test_build_calendar_rejects_reversed_years() -> None:
    with pytest.raises(CalendarConfigError):
        build_calendar(2026, 2025)


# -- synthetic snapshot ---------------------------------------------------------

SYNTHETIC = WorkingCalendar(
    version="synthetic",
    valid_from=date(2030, 1, 1),
    valid_to=date(2030, 12, 31),
    days_off=(DayNote(day=date(2030, 3, 6), name="Nghỉ"),),  # a Wednesday
    working_weekend_days=(DayNote(day=date(2030, 3, 9), name="Làm bù"),),  # a Saturday
    sessions=(
        OfficeSession(start=time(8), end=time(12)),
        OfficeSession(start=time(13, 30), end=time(17, 30)),
    ),
)


def test_synthetic_calendar_uses_its_own_office_hours() -> None:
    assert SYNTHETIC.day_minutes == 480
    # Received Mon 04/03/2030: Tue 05 (1), Wed 06 off, Thu 07 (2), Fri 08 (3), Sat 09 (4).
    assert SYNTHETIC.appointment(datetime(2030, 3, 4, 9, tzinfo=VN), wd(4)) == datetime(
        2030, 3, 9, 17, 30, tzinfo=VN
    )
    # 17:15 is before this office's close: still received Monday.
    assert SYNTHETIC.effective_receipt_day(datetime(2030, 3, 4, 17, 15, tzinfo=VN)) == date(
        2030, 3, 4
    )
    # Lunch is 12:00–13:30 here: 11:00 + 2 h -> 14:30.
    assert SYNTHETIC.add_office_minutes(datetime(2030, 3, 4, 11, tzinfo=VN), 120) == datetime(
        2030, 3, 4, 14, 30, tzinfo=VN
    )


def test_calendar_model_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(version="x", valid_from=date(2030, 2, 1), valid_to=date(2030, 1, 1))
    with pytest.raises(ValueError):
        WorkingCalendar(
            version="x", valid_from=date(2030, 1, 1), valid_to=date(2030, 2, 1), sessions=()
        )
    with pytest.raises(ValueError):
        OfficeSession(start=time(12), end=time(8))
    with pytest.raises(ValueError):
        WorkingCalendar(
            version="x",
            valid_from=date(2030, 1, 1),
            valid_to=date(2030, 2, 1),
            sessions=(
                OfficeSession(start=time(8), end=time(12)),
                OfficeSession(start=time(11), end=time(16)),
            ),
        )


def test_duration_sizes() -> None:
    assert wd(1.5).minutes(480) == 720
    assert wh(2).minutes(480) == 120
    assert cd(1).minutes(480) == 1440
    assert wh(8).day_equivalent() == 1
    assert cd(14).day_equivalent() == 10  # a calendar week holds at most 5 working days
    assert str(wd(15)) == "15 working days"
    assert str(wd(0.5)) == "0.5 working days"
    with pytest.raises(ValueError):
        Duration(value=0)


# -- properties -----------------------------------------------------------------
#
# An independent model of the real snapshot: the sets of weekday days off and
# make-up Saturdays, read from the snapshot's data fields (not its methods).

OFF = {n.day for n in CAL.days_off}
ON = {n.day for n in CAL.working_weekend_days}


def model_is_working(day: date) -> bool:
    return day in ON or (day.weekday() < 5 and day not in OFF)


def model_nth_working_day_after(day: date, n: int) -> date:
    while n > 0:
        day += timedelta(days=1)
        if model_is_working(day):
            n -= 1
    return day


def model_receipt_day(received: datetime, cutoff: time | None = None) -> date:
    local = received.astimezone(VN)
    if model_is_working(local.date()) and local.time() < (cutoff or time(17, 0)):
        return local.date()
    return model_nth_working_day_after(local.date(), 1)


WORKING_DAY_LIST = sorted(
    d
    for d in (
        date(2024, 1, 1) + timedelta(days=i)
        for i in range((date(2027, 9, 30) - date(2024, 1, 1)).days)
    )
    if model_is_working(d)
)

receipts = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2027, 9, 30),
    timezones=st.sampled_from([VN, UTC]),
)
cutoffs = st.none() | st.sampled_from([time(11, 0), time(15, 0), time(16, 30)])
units = st.sampled_from(list(TimeUnit))


@st.composite
def office_instants(draw: st.DrawFn) -> datetime:
    """A minute-resolution instant inside office hours on a working day."""
    day = draw(st.sampled_from(WORKING_DAY_LIST))
    offset = draw(st.integers(min_value=0, max_value=479))
    if offset < 240:
        clock = datetime.combine(day, time(7, 30), tzinfo=VN) + timedelta(minutes=offset)
    else:
        clock = datetime.combine(day, time(13, 0), tzinfo=VN) + timedelta(minutes=offset - 240)
    return clock


def is_office_instant(instant: datetime) -> bool:
    local = instant.astimezone(VN)
    if not model_is_working(local.date()):
        return False
    t = local.time()
    return time(7, 30) <= t < time(11, 30) or time(13, 0) <= t < time(17, 0)


@PROPS
@given(received=receipts, n=st.integers(min_value=1, max_value=40), cutoff=cutoffs)
def test_working_day_appointment_is_a_working_day_at_close(
    received: datetime, n: int, cutoff: time | None
) -> None:
    due = CAL.appointment(received, wd(n), cutoff)
    assert due.utcoffset() == timedelta(hours=7)
    assert due.time() == time(17, 0)
    assert model_is_working(due.date())


@PROPS
@given(received=receipts, n=st.integers(min_value=1, max_value=40), cutoff=cutoffs)
def test_working_day_appointment_matches_the_day_count(
    received: datetime, n: int, cutoff: time | None
) -> None:
    expected = model_nth_working_day_after(model_receipt_day(received, cutoff), n)
    assert CAL.appointment(received, wd(n), cutoff) == datetime.combine(
        expected, time(17), tzinfo=VN
    )


@PROPS
@given(received=receipts, n=st.integers(min_value=1, max_value=40), cutoff=cutoffs)
def test_one_more_working_day_is_one_working_day_later(
    received: datetime, n: int, cutoff: time | None
) -> None:
    a = CAL.appointment(received, wd(n), cutoff)
    b = CAL.appointment(received, wd(n + 1), cutoff)
    assert b > a
    assert b.date() == model_nth_working_day_after(a.date(), 1)


@PROPS
@given(received=receipts, n=st.integers(min_value=1, max_value=30), unit=units, cutoff=cutoffs)
def test_longer_time_is_never_earlier(
    received: datetime, n: int, unit: TimeUnit, cutoff: time | None
) -> None:
    a = CAL.appointment(received, Duration(value=n, unit=unit), cutoff)
    b = CAL.appointment(received, Duration(value=n + 1, unit=unit), cutoff)
    assert b >= a
    assert b > received and a > received


@PROPS
@given(
    first=receipts,
    gap=st.integers(min_value=0, max_value=5 * 24 * 60),
    n=st.integers(min_value=1, max_value=30),
    unit=units,
)
def test_later_receipt_is_never_due_earlier(
    first: datetime, gap: int, n: int, unit: TimeUnit
) -> None:
    later = first + timedelta(minutes=gap)
    duration = Duration(value=n, unit=unit)
    assert CAL.appointment(later, duration) >= CAL.appointment(first, duration)


@PROPS
@given(start=office_instants(), minutes=st.integers(min_value=0, max_value=10 * 480))
def test_office_minutes_round_trip(start: datetime, minutes: int) -> None:
    end = CAL.add_office_minutes(start, minutes)
    assert end >= start
    assert CAL.office_minutes_between(start, end) == minutes


@PROPS
@given(start=office_instants(), minutes=st.integers(min_value=1, max_value=10 * 480))
def test_added_office_time_ends_inside_or_at_the_end_of_a_session(
    start: datetime, minutes: int
) -> None:
    end = CAL.add_office_minutes(start, minutes)
    assert model_is_working(end.date())
    t = end.time()
    assert time(7, 30) < t <= time(11, 30) or time(13, 0) < t <= time(17, 0)


@PROPS
@given(instant=receipts)
def test_clamp_forward_is_idempotent(instant: datetime) -> None:
    once = CAL.clamp_forward(instant)
    assert CAL.clamp_forward(once) == once
    assert once >= instant
    assert is_office_instant(once)
    # Nothing of office time is skipped.
    assert CAL.office_minutes_between(instant, once) == 0


@PROPS
@given(instant=office_instants())
def test_clamp_forward_keeps_office_instants(instant: datetime) -> None:
    assert CAL.clamp_forward(instant) == instant


@PROPS
@given(received=receipts, unit=units, cutoff=cutoffs)
def test_counting_start_is_never_before_receipt(
    received: datetime, unit: TimeUnit, cutoff: time | None
) -> None:
    start = CAL.counting_start(received, unit, cutoff)
    assert start >= received
    if unit is TimeUnit.WORKING_DAYS:
        # The receipt day is never counted.
        assert start.date() > received.astimezone(VN).date()
        assert start.time() == time(7, 30)
        assert model_is_working(start.date())


@PROPS
@given(received=receipts, n=st.integers(min_value=1, max_value=40))
def test_calendar_days_appointment_is_on_or_after_the_nth_day(received: datetime, n: int) -> None:
    due = CAL.appointment(received, cd(n))
    assert due.time() == time(17, 0)
    assert model_is_working(due.date())
    last_day = model_receipt_day(received) + timedelta(days=n)
    assert due.date() >= last_day
    # The first working day on or after the last day: no working day in between.
    day = due.date() - timedelta(days=1)
    while day >= last_day:
        assert not model_is_working(day)
        day -= timedelta(days=1)


@PROPS
@given(
    received=receipts,
    n=st.integers(min_value=1, max_value=40),
)
def test_extension_request_deadline_is_before_the_appointment(received: datetime, n: int) -> None:
    due = CAL.appointment(received, wd(n))
    latest = CAL.latest_extension_request(due)
    assert latest < due
    assert latest.time() == time(17, 0)
    assert model_is_working(latest.date())
    assert model_nth_working_day_after(latest.date(), 1) == due.date()
