"""Countdowns in working time (domain.working_time): over a weekend and a public holiday
the time left stands still; past the deadline it counts the working time gone by; a
paused clock keeps what is left; each unit reads in its own words."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import TimeUnit
from domain.calendar_source import build_calendar
from domain.working_time import (
    PAUSE_REASONS_VI,
    SUPPLEMENT,
    pause_reason_vi,
    paused_clock,
    time_left,
)
from tests.unit.test_machine import INTAKE, SPECIALIST, Dossier, payment_procedure
from tests.unit.test_machine import at as day_at

CAL = build_calendar(2026, 2027)
VN = ZoneInfo("Asia/Ho_Chi_Minh")
DAYS = TimeUnit.WORKING_DAYS


def at(y: int, mo: int, d: int, h: int = 17, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=VN)


def left(now: datetime, due: datetime, unit: TimeUnit = DAYS) -> tuple[int, str]:
    t = time_left(CAL, now, unit, due)
    assert t is not None
    return t.minutes, t.label


def test_a_weekend_does_not_count() -> None:
    due = at(2026, 12, 15)  # Tuesday, close of office
    friday_close = at(2026, 12, 11)
    assert left(friday_close, due) == (2 * 480, "Còn 2 ngày làm việc")
    # Saturday noon and Monday's opening: the same two working days, not "3 days" / "1 day".
    assert left(at(2026, 12, 12, 12), due) == (2 * 480, "Còn 2 ngày làm việc")
    assert left(at(2026, 12, 14, 7, 30), due) == (2 * 480, "Còn 2 ngày làm việc")
    t = time_left(CAL, friday_close, DAYS, due)
    assert t is not None and (t.days, t.hours, t.overdue, t.paused) == (2, 0, False, False)


def test_a_public_holiday_does_not_count() -> None:
    due = at(2027, 1, 5)  # Tuesday; Friday 1/1/2027 is New Year's Day
    assert CAL.is_working_day(at(2027, 1, 1).date()) is False
    assert left(at(2026, 12, 31), due) == (2 * 480, "Còn 2 ngày làm việc")
    assert left(at(2027, 1, 1, 10), due) == (2 * 480, "Còn 2 ngày làm việc")
    # Tết 2027: Thursday 4/2 to Wednesday 10/2 off; Thursday 11/2 the first working day.
    assert left(at(2027, 2, 3), at(2027, 2, 11)) == (480, "Còn 1 ngày làm việc")


def test_part_of_a_day_in_hours_and_minutes() -> None:
    # Wednesday 10:00 to Friday's close: 10:00-11:30 and 13:00-17:00, then two days.
    minutes, label = left(at(2026, 12, 9, 10), at(2026, 12, 11))
    assert (minutes, label) == (2 * 480 + 330, "Còn 2 ngày 5 giờ làm việc")
    assert left(at(2026, 12, 11, 16, 15), at(2026, 12, 11)) == (45, "Còn 45 phút làm việc")


def test_past_the_deadline() -> None:
    due = at(2026, 12, 11)  # Friday's close
    assert left(at(2026, 12, 14), due) == (-480, "Quá hạn 1 ngày làm việc")
    t = time_left(CAL, at(2026, 12, 14), DAYS, due)
    assert t is not None and t.overdue and (t.days, t.hours) == (1, 0)
    # The weekend after it: past, but no working time has gone by.
    t = time_left(CAL, at(2026, 12, 12, 9), DAYS, due)
    assert t is not None and t.overdue and (t.minutes, t.label) == (0, "Đã hết hạn")


@pytest.mark.parametrize(
    ("unit", "now", "due", "label"),
    [
        (
            TimeUnit.WORKING_HOURS,
            at(2026, 12, 9, 10),
            at(2026, 12, 9, 15),
            "Còn 3 giờ 30 phút làm việc",
        ),
        (
            TimeUnit.WORKING_HOURS,
            at(2026, 12, 11, 16),
            at(2026, 12, 14, 9, 30),
            "Còn 3 giờ làm việc",
        ),
        (TimeUnit.CALENDAR_DAYS, at(2026, 12, 11), at(2026, 12, 15), "Còn 4 ngày"),
        (TimeUnit.CALENDAR_DAYS, at(2026, 12, 16), at(2026, 12, 15), "Quá hạn 1 ngày"),
    ],
)
def test_each_unit_in_its_own_words(
    unit: TimeUnit, now: datetime, due: datetime, label: str
) -> None:
    assert left(now, due, unit)[1] == label


def test_a_paused_clock_keeps_what_is_left() -> None:
    reason = pause_reason_vi(SUPPLEMENT)
    for now in (at(2026, 12, 9, 10), at(2027, 3, 1)):
        t = time_left(CAL, now, DAYS, None, paused=(reason, 6 * 480 + 120))
        assert t is not None and t.paused and not t.overdue and t.due_at is None
        assert (t.minutes, t.days, t.hours) == (6 * 480 + 120, 6, 2)
        assert t.label == "Tạm dừng (chờ người nộp bổ sung hồ sơ) · còn 6 ngày 2 giờ làm việc"
    assert pause_reason_vi("financial_obligation") == PAUSE_REASONS_VI["financial_obligation"]
    assert pause_reason_vi("niem_yet", "Niêm yết công khai") == (
        "không tính thời gian bước Niêm yết công khai"
    )


def test_no_countdown_before_the_clock_starts_or_once_finished() -> None:
    assert time_left(CAL, at(2026, 12, 9), DAYS, None) is None
    assert time_left(CAL, at(2026, 12, 9), DAYS, at(2026, 12, 11), finished=True) is None
    # A deadline beyond the calendar's years: no countdown rather than an error.
    assert time_left(CAL, at(2026, 12, 9), DAYS, at(2031, 1, 1)) is None


def test_why_the_clock_is_paused_comes_from_the_dossier() -> None:
    """`paused_clock`: the open exclusion's reason and the minutes left, or None."""
    # The financial obligation: two working days used before it.
    d = Dossier(payment_procedure()).received_and_handed_off(day_at(0, 10), day_at(0, 10, 10))
    assert paused_clock(d.m.view(day_at(1, 10))) is None  # running
    d.act("appraise", SPECIALIST, day_at(3, 7, 30))
    view = d.m.view(day_at(4, 10))
    assert paused_clock(view) == ("financial_obligation", 15 * 480 - 2 * 480)
    # A supplement asked at intake: the clock has not started, all of it is left.
    d = Dossier(submitted=day_at(0, 10))
    d.act("request_supplement", INTAKE, day_at(0, 10, 30), data={"missing": ["Bản vẽ"]})
    view = d.m.view(day_at(1, 10))
    assert paused_clock(view) == (SUPPLEMENT, view.clock_budget_minutes)
