"""Countdowns in working time over HTTP: the dossier's view, public tracking, the
worklist and the dossier list give the working time left to the appointment (and to the
step's due time), counted by the working calendar at the moment of the request: it
stands still over a weekend and a public holiday, counts working time once overdue, and
while the clock is paused says why and what is left instead of a blank date.

The API here is the session's (its Temporal, workers and read model) served in-process
with a clock the test sets (`AppContext.clock`): the instants of reading are chosen
around the dossier's real appointment, so the test holds whatever day it runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.app import create_app
from domain.calendar import DEFAULT_SESSIONS, WorkingCalendar
from services.working_time import reading_calendar
from tests.api.support import (
    AUDITOR,
    INTAKE,
    SPECIALIST,
    Api,
    Person,
    act,
    submit,
    wait_for_step,
)

Read = Callable[[datetime], Any]


class ClockedApi:
    """The API with its reading clock set by the test."""

    def __init__(self, api: Api, http: httpx.AsyncClient, app: Any) -> None:
        self.api, self.http, self.app = api, http, app

    def at(self, instant: datetime) -> None:
        self.app.state.ctx.clock = lambda: instant

    async def view(self, code: str, instant: datetime) -> dict[str, Any]:
        self.at(instant)
        r = await self.http.get(f"/v1/dossiers/{code}", headers=self.api.headers(*AUDITOR))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def tracking(self, code: str, person: Person, instant: datetime) -> dict[str, Any]:
        self.at(instant)
        r = await self.http.get(f"/v1/track/{code}", params={"id_number": person.id_number})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def listed(self, code: str, person: Person, instant: datetime) -> dict[str, Any]:
        self.at(instant)
        r = await self.http.get(
            "/v1/dossiers", params={"q": person.name}, headers=self.api.headers(*AUDITOR)
        )
        assert r.status_code == 200, r.text
        [item] = [i for i in r.json()["items"] if i["code"] == code]
        return dict(item)


@pytest.fixture
async def clocked(api: Api) -> AsyncIterator[ClockedApi]:
    app = create_app(api.settings, client=api.client, engine=api.engine, catalog=api.catalog)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://motcua.test", timeout=30
        ) as http:
            yield ClockedApi(api, http, app)


def _working_days(cal: WorkingCalendar, after: date, until: date) -> int:
    """Working days in (after, until], one by one."""
    n, day = 0, after
    while day < until:
        day += timedelta(days=1)
        n += cal.is_working_day(day)
    return n


def _gap_before(cal: WorkingCalendar, due: date, *, holiday: bool) -> tuple[date, date, date]:
    """A working day W, a day off D after it and the next working day N, with N on or
    before `due`: across a weekend (`holiday` False) or a public holiday on a weekday."""
    if holiday:
        for note in reversed(cal.days_off):
            off = note.day
            if off < due and cal.covers(off - timedelta(days=10)):
                before, after = cal.previous_working_day(off), cal.next_working_day(off)
                if after <= due:
                    return before, off, after
        raise AssertionError("no public holiday in the calendar before the appointment")
    day = due
    while True:
        day -= timedelta(days=1)
        if cal.is_working_day(day) and day.weekday() == 4:  # a Friday
            saturday = day + timedelta(days=1)
            after = cal.next_working_day(day)
            if not cal.is_working_day(saturday) and after <= due:
                return day, saturday, after


async def _accepted(clocked: ClockedApi, person: Person) -> tuple[str, dict[str, Any]]:
    api, http = clocked.api, clocked.http
    code = await submit(api, http, person)
    r = await act(api, http, code, INTAKE, "accept", comment="Hồ sơ đầy đủ")
    assert r.status_code == 200, r.text
    view = await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    return code, view


@pytest.mark.parametrize("holiday", [False, True], ids=["weekend", "public-holiday"])
async def test_the_time_left_stands_still_over_days_off(clocked: ClockedApi, holiday: bool) -> None:
    person = clocked.api.person("wt")
    code, view = await _accepted(clocked, person)
    due = datetime.fromisoformat(view["appointment_at"])
    cal = reading_calendar(clocked.api.settings, due)
    working, off, next_ = _gap_before(cal, cal.local(due).date(), holiday=holiday)
    days = _working_days(cal, working, cal.local(due).date())
    expected = {"minutes": days * 480, "days": days, "hours": 0, "overdue": False}
    label = f"Còn {days} ngày làm việc"
    instants = [cal.closing(working), cal.at(off, time(12)), cal.opening(next_)]
    for instant in instants:
        left = (await clocked.view(code, instant))["time_left"]
        assert {k: left[k] for k in expected} == expected, (instant, left)
        assert left["label"] == label and left["unit"] == "working_days", left
        assert left["paused"] is False and left["reason"] is None
        assert datetime.fromisoformat(left["due_at"]) == due
        # Tracking and the list count it from the read model's row alike.
        assert (await clocked.tracking(code, person, instant))["time_left"] == left
        assert (await clocked.listed(code, person, instant))["time_left"] == left
    # A calendar countdown would have lost whole days across the gap.
    assert instants[-1] - instants[0] >= timedelta(days=1, hours=14)
    # The step has its own countdown, in its budget's unit (6.5 working days).
    step = (await clocked.view(code, instants[0]))["step_time_left"]
    step_due = datetime.fromisoformat(view["current_step"]["due_at"])
    assert step["unit"] == "working_days" and datetime.fromisoformat(step["due_at"]) == step_due
    # The specialist's worklist gives both.
    clocked.at(instants[0])
    r = await clocked.http.get(
        "/v1/worklist", params={"limit": 200}, headers=clocked.api.headers(*SPECIALIST)
    )
    assert r.status_code == 200, r.text
    mine = [i for i in r.json()["items"] if i["code"] == code]
    if r.json()["total"] <= len(r.json()["items"]):
        assert mine, "the dossier is on the specialist's worklist"
    for item in mine:
        assert item["time_left"] == (await clocked.view(code, instants[0]))["time_left"]
        assert item["step_time_left"] == step


async def test_overdue_counts_working_time(clocked: ClockedApi) -> None:
    person = clocked.api.person("wt")
    code, view = await _accepted(clocked, person)
    due = datetime.fromisoformat(view["appointment_at"])
    cal = reading_calendar(clocked.api.settings, due)
    day_after = cal.closing(cal.next_working_day(cal.local(due).date()))
    for left in (
        (await clocked.view(code, day_after))["time_left"],
        (await clocked.tracking(code, person, day_after))["time_left"],
    ):
        assert left["overdue"] is True and left["minutes"] == -480, left
        assert left["label"] == "Quá hạn 1 ngày làm việc"
    # Past it, at a moment no working time has gone by since (its evening): not a blank.
    evening = cal.at(cal.local(due).date(), time(21))
    left = (await clocked.view(code, evening))["time_left"]
    assert left["overdue"] is True and left["label"] == "Đã hết hạn"


async def test_a_paused_clock_says_why_and_what_is_left(clocked: ClockedApi) -> None:
    api, http = clocked.api, clocked.http
    person = api.person("wt")
    code, _ = await _accepted(clocked, person)
    r = await act(
        api, http, code, SPECIALIST, "request_supplement", data={"missing": ["Bản sao CCCD"]}
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["clock_paused"] is True and answer["appointment_at"] is None
    left_minutes = answer["clock_budget_minutes"] - answer["clock_consumed_minutes"]
    reason = "chờ người nộp bổ sung hồ sơ"
    now = datetime.fromisoformat(answer["paused_since"])
    for instant in (now, now + timedelta(days=3), now + timedelta(days=40)):
        view = await clocked.view(code, instant)
        tracking = await clocked.tracking(code, person, instant)
        assert tracking["appointment_at"] is None  # no date while paused ...
        for left in (view["time_left"], tracking["time_left"]):  # ... but why, and what is left
            assert left["paused"] is True and left["overdue"] is False, left
            assert left["minutes"] == left_minutes and left["due_at"] is None
            assert left["reason"] == reason
            assert left["label"].startswith(f"Tạm dừng ({reason}) · còn ")
            assert left["label"].endswith(" làm việc")
        assert view["step_time_left"] is None  # the step's budget is paused too
    # The applicant's own time to supplement: 15 working days, counted from the next
    # working day; a request made after office hours counts as made the next working day,
    # so seen from that evening one more working day lies ahead (16 whole days).
    supplement = (await clocked.view(code, now))["supplement_time_left"]
    assert supplement["unit"] == "working_days" and supplement["paused"] is False
    local = now.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    # Outside office hours: before the day's first session or after its last, or a weekend
    # (the suite runs at any hour: CI once ran it at 00:10 in Viet Nam).
    after_hours = (
        local.weekday() >= 5
        or local.time() >= DEFAULT_SESSIONS[-1].end
        or local.time() < DEFAULT_SESSIONS[0].start
    )
    days = 16 if after_hours else 15
    assert supplement["label"].startswith(f"Còn {days} ngày") and supplement["days"] == days
