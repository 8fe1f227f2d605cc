"""Properties of DossierMachine under random use (hypothesis stateful testing).

A dossier is driven by random officers and applicants -- right and wrong roles,
right and wrong agencies, good and bad data -- while time moves on by random
office and non-office amounts and the workflow's timer loop (`on_time`) runs at
random moments and exactly at `next_wake()`. After every step the machine must
keep the rules every auditor relies on: a wrong role or a wrong agency is always
refused (with "forbidden" when someone else may take the action now), refusals change
nothing, a dossier is never extended more often than its procedure allows, statuses and
event numbers stay sound, the statutory clock never counts time that did not
pass, and the timer loop neither oversleeps nor wakes up for nothing.

The procedures below avoid the shapes of the known bugs pinned by strict xfails
in test_machine.py (a non-payment step that pauses the clock, a manual handoff
forwarded by the centre), so a failure here is always news.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from typing import Any

import hypothesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain import clock
from domain.calendar import TimeUnit, WorkingCalendar
from domain.catalog import Procedure, Role
from domain.dossier import Action, ActionInput, Actor, AllowedAction, DossierState, Event
from domain.machine import DossierMachine, Refusal
from tests.factories import (
    AGENCY,
    APPLICANT,
    CENTRE,
    OTHER_AGENCY,
    doc,
    dossier_input,
    local,
    procedure,
    step,
    synthetic_calendar,
)

A = date(2030, 1, 7)  # a Monday
CAL = synthetic_calendar(A, days_off=[9, 10, 11, 30], working_weekend=[19])
CODE = "H99.01-300107-0777"


PROCEDURES: dict[str, Procedure] = {
    # The factory's construction permit: 15 working days, automatic handoff.
    "working_days": procedure(),
    # 8 working hours with a 15:00 receipt cut-off, hour budgets.
    "working_hours": procedure(
        statutory_time={"value": 8, "unit": "working_hours"},
        receipt_cutoff="15:00",
        supplement_wait={"value": 16, "unit": "working_hours"},
        steps=[
            step("intake", "intake", "intake_officer", 1, "working_hours", agency="centre"),
            step("handoff", "handoff", "system", 1, "working_hours"),
            step("appraisal", "appraisal", "specialist", 3, "working_hours"),
            step("approval", "approval", "leader", 1, "working_hours"),
            step("signature", "signature", "signer", 1, "working_hours"),
            step("return", "return", "return_officer", 1, "working_hours", agency="centre"),
        ],
    ),
    # Calendar days, a department appraising, the applicant paying off the clock.
    "calendar_days": procedure(
        statutory_time={"value": 12, "unit": "calendar_days"},
        supplement_wait={"value": 5, "unit": "working_days"},
        steps=[
            step("intake", "intake", "intake_officer", 0.5, agency="centre"),
            step("handoff", "handoff", "system", 0.5, agency=OTHER_AGENCY),
            step("appraisal", "appraisal", "specialist", 3, agency=OTHER_AGENCY),
            step("consultation", "consultation", "leader", 1),
            step("payment", "payment", "applicant", 1, agency="centre", pauses_clock=True),
            step("approval", "approval", "leader", 1),
            step("signature", "signature", "leader", 1),
            step("return", "return", "return_officer", 0.5, agency="centre"),
        ],
    ),
    # A short procedure with a manual handoff and a fee collected at the counter.
    "manual_handoff": procedure(
        statutory_time={"value": 3, "unit": "working_days"},
        receipt_cutoff="15:00",
        max_extensions=2,
        steps=[
            step("intake", "intake", "intake_officer", 0.25, agency="centre"),
            step("handoff", "handoff", "intake_officer", 0.25, auto=False),
            step("appraisal", "appraisal", "specialist", 1),
            step("payment", "payment", "intake_officer", 0.5, agency="centre", pauses_clock=True),
            step("approval", "approval", "leader", 0.5),
            step("return", "return", "return_officer", 0.5, agency="centre"),
        ],
    ),
}

STRANGER = Actor(id="citizen-999", name="Người khác", role=Role.APPLICANT)
ACTORS: list[Actor] = [APPLICANT, STRANGER] + [
    Actor(id=f"{role.value}@{agency}", name=role.value, role=role, agency=agency)
    for role in Role
    for agency in (CENTRE, AGENCY, OTHER_AGENCY, None)
]
PROGRESS = {
    Action.ACCEPT,
    Action.FORWARD,
    Action.APPRAISE,
    Action.APPROVE,
    Action.SIGN,
    Action.PAY,
    Action.RETURN,
    Action.SUPPLEMENT,
}
ENDINGS = {Action.WITHDRAW, Action.REFUSE, Action.REJECT}
REFUSAL_CODES = {"forbidden", "wrong_step", "invalid", "closed"}
DOCUMENT = doc("bo-sung.pdf", "supplement").model_dump()


def valid_data(action: Action, extra_days: int = 1, now: datetime | None = None) -> dict[str, Any]:
    if action is Action.SCHEDULE_INSPECTION and now is not None:
        return {"at": CAL.clamp_forward(now + timedelta(minutes=1)).isoformat()}
    return {
        Action.REQUEST_SUPPLEMENT: {"missing": ["Bản sao giấy tờ"]},
        Action.SUPPLEMENT: {"documents": [DOCUMENT]},
        Action.APPRAISE: {"opinion": "Đủ điều kiện", "recommendation": "grant"},
        Action.RETURN: {"channel": "counter"},
        Action.REQUEST_EXTENSION: {"extra_days": extra_days},
    }.get(action, {})


def actor_for(role: Role, agency: str | None, officer_id: str | None = None) -> Actor:
    if role is Role.APPLICANT:
        return APPLICANT
    ident = officer_id or f"{role.value}@{agency}"
    return Actor(id=ident, name=role.value, role=role, agency=agency)


def offered_data(
    m: DossierMachine, a: AllowedAction, extra_days: int = 1, now: datetime | None = None
) -> dict[str, Any]:
    """Valid data for an offered action; an assignment goes to an officer of the step's
    role and agency other than the one holding it."""
    run = m.run()
    if a.action is Action.ASSIGN and run is not None:
        held = run.assignment.officer_id if run.assignment else None
        ident = f"{run.role.value}@{run.agency}"
        ident = ident if held != ident else f"{ident}#2"
        return {
            "assignee": {
                "id": ident,
                "name": "Cán bộ",
                "roles": [run.role.value],
                "agency": run.agency,
            }
        }
    return valid_data(a.action, extra_days, now=now)


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 40),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.lists(st.text(max_size=6), max_size=3),
    st.just([DOCUMENT]),
    st.just([{"kind": "x", "filename": "y", "sha256": "no"}]),
    st.just("grant"),
    st.just("refuse"),
    st.just("post"),
    st.dates(A - timedelta(days=30), date(2040, 12, 31)).map(date.isoformat),
)
data_st = st.one_of(
    st.sampled_from(Action).map(valid_data),
    st.dictionaries(
        st.sampled_from(
            [
                "missing",
                "documents",
                "opinion",
                "recommendation",
                "channel",
                "new_appointment",
                "extra_days",
                "receipt_number",
            ]
        ),
        junk,
        max_size=3,
    ),
)
comment_st = st.sampled_from(["", "   ", "Lý do: hồ sơ chưa đủ điều kiện"])


def _moved(now: datetime, how: str, n: int) -> datetime:
    """A later instant: a few seconds, minutes or hours on, or a notable moment ahead."""
    lt = CAL.local(now)
    if how == "seconds":
        return now + timedelta(seconds=n)
    if how == "minutes":
        return now + timedelta(minutes=n)
    if how == "hours":
        return now + timedelta(hours=n)
    if how == "days":
        return now + timedelta(days=n % 6 + 1)
    targets = {
        "opening": time(7, 30),
        "lunch": time(11, 30),
        "cutoff": time(15, 0),
        "before_closing": time(16, 59),
        "closing": time(17, 0),
        "evening": time(20, 0),
    }
    target = CAL.at(lt.date(), targets[how])
    while target <= now:
        target += timedelta(days=1)
    return target


MOVES = st.tuples(
    st.sampled_from(
        [
            "seconds",
            "minutes",
            "hours",
            "days",
            "opening",
            "lunch",
            "cutoff",
            "before_closing",
            "closing",
            "evening",
        ]
    ),
    st.integers(1, 59),
)


def _in_office(cal: WorkingCalendar, t: datetime) -> bool:
    lt = cal.local(t)
    if not cal.is_working_day(lt.date()):
        return False
    return any(s.start <= lt.time() <= s.end for s in cal.sessions)


class DossierRules(RuleBasedStateMachine):
    """One dossier under random use; `now` only moves forward, as workflow.now() does."""

    kind = "working_days"

    @initialize(start_day=st.integers(0, 13), start_minute=st.integers(6 * 60, 19 * 60))
    def open_dossier(self, start_day: int, start_minute: int) -> None:
        kind = self.kind
        submitted = local(A + timedelta(days=start_day), 0) + timedelta(minutes=start_minute)
        self.m = DossierMachine(dossier_input(CODE, submitted, CAL, PROCEDURES[kind]))
        self.m.start(submitted)
        self.now = submitted
        self.log: list[Event] = []
        self.closed_state: dict[str, Any] | None = None

    # -- what happens to a dossier -----------------------------------------------------

    @rule(move=MOVES)
    def time_passes(self, move: tuple[str, int]) -> None:
        self.now = _moved(self.now, *move)

    @rule(
        action=st.sampled_from(Action),
        actor=st.sampled_from(ACTORS),
        comment=comment_st,
        data=data_st,
    )
    def anyone_tries_anything(
        self, action: Action, actor: Actor, comment: str, data: dict[str, Any]
    ) -> None:
        self._attempt(action, ActionInput(actor=actor, comment=comment, data=data))

    @rule(pick=st.integers(0, 50), extra_days=st.integers(1, 4))
    def the_right_person_acts(self, pick: int, extra_days: int) -> None:
        """Any action offered now, by the role and agency it is offered to, with valid data.
        Ending the dossier (withdraw, refuse, reject) is left to `the_dossier_ends_early`."""
        offered = [a for a in self.m.allowed_actions(self.now) if a.action not in ENDINGS]
        if offered:
            self._take(offered[pick % len(offered)], extra_days)

    @rule(pick=st.integers(0, 50), chance=st.integers(0, 3))
    def the_dossier_ends_early(self, pick: int, chance: int) -> None:
        offered = [a for a in self.m.allowed_actions(self.now) if a.action in ENDINGS]
        if offered and chance == 0:
            self._take(offered[pick % len(offered)])

    @rule(days=st.integers(1, 30))
    def nobody_acts_for_a_while(self, days: int) -> None:
        """The timer loop alone runs the dossier for some days, waking at each next_wake()."""
        until = self.now + timedelta(days=days)
        while (wake := self.m.next_wake()) is not None and wake <= until:
            self.now = max(self.now, wake)
            self._tick(self.now)
        self.now = until

    @rule(move=MOVES, pick=st.integers(0, 50))
    def the_dossier_moves_on(self, move: tuple[str, int], pick: int) -> None:
        """Some time later, the handoff is acknowledged or the holder takes the step forward."""
        self.now = _moved(self.now, *move)
        if self.m.pending_handoff() is not None:
            self.m.handoff_acknowledged({"received_by": "agency-worker"}, self.now)
            return
        forward = [a for a in self.m.allowed_actions(self.now) if a.action in PROGRESS]
        if forward:
            self._take(forward[pick % len(forward)])

    @rule(
        agency=st.sampled_from([None, CENTRE, AGENCY, OTHER_AGENCY]), extra_days=st.integers(1, 4)
    )
    def a_leader_asks_for_more_time(self, agency: str | None, extra_days: int) -> None:
        """A leader asks for a new appointment (Form 04), again and again, the right
        agency's or not: never more often than the procedure allows."""
        self._attempt(
            Action.REQUEST_EXTENSION,
            ActionInput(
                actor=actor_for(Role.LEADER, agency),
                comment="Cần thêm thời gian thẩm định",
                data=valid_data(Action.REQUEST_EXTENSION, extra_days),
            ),
        )

    @rule()
    def timer_loop_wakes_now(self) -> None:
        self._tick(self.now)

    @rule()
    def timer_loop_sleeps_until_next_wake(self) -> None:
        wake = self.m.next_wake()
        if wake is None:
            return
        if wake > self.now:
            # Waking any earlier is a no-op: nothing is due before next_wake().
            just_before = wake - timedelta(seconds=1)
            if just_before >= self.now:
                before = self.m.s.model_dump()
                self.m.on_time(just_before)
                assert self.m.s.model_dump() == before, f"on_time({just_before}) before {wake}"
                assert not self.m.has_new_events
            self.now = wake
            fired_before = self.m.s.event_seq
            self._tick(wake)
            # ...and waking at next_wake() is never for nothing.
            assert self.m.s.event_seq > fired_before, f"woke at {wake} and nothing fired"
        else:
            self._tick(self.now)

    @rule()
    def continue_as_new(self) -> None:
        """The workflow carries the state (through JSON) into a fresh run."""
        self._record()
        carried = DossierState.model_validate(self.m.s.model_dump(mode="json"))
        fresh = DossierMachine(self.m.inp.model_copy(update={"carried_state": carried}))
        fresh.start(self.now)
        assert not fresh.has_new_events
        assert fresh.view(self.now) == self.m.view(self.now)
        assert fresh.next_wake() == self.m.next_wake()
        assert fresh.allowed_actions(self.now) == self.m.allowed_actions(self.now)
        self.m = fresh

    # -- helpers -------------------------------------------------------------------------

    def _offered_to(self, action: Action, actor: Actor) -> tuple[bool, bool]:
        """Whether `action` is offered to anyone now, and whether to `actor`: its role,
        and its agency (an applicant: the dossier's own account), as listed by
        `allowed_actions` -- not by the machine's own authorisation, which this checks."""
        options = [a for a in self.m.allowed_actions(self.now) if a.action is action]
        mine = any(
            a.role is actor.role
            and (
                actor.id == self.m.inp.applicant.account
                if a.role is Role.APPLICANT
                else a.agency == actor.agency
            )
            for a in options
        )
        return bool(options), mine

    def _attempt(self, action: Action, cmd: ActionInput) -> None:
        before = self.m.s.model_dump()
        pending = self.m.has_new_events
        offered, to_this_actor = self._offered_to(action, cmd.actor)
        try:
            self.m.apply(action, cmd, self.now)
        except Refusal as r:
            assert r.code in REFUSAL_CODES
            assert r.message
            assert self.m.s.model_dump() == before, f"refused {action} changed the state"
            assert self.m.has_new_events == pending
            if offered and not to_this_actor:  # the wrong role or agency: said so
                assert r.code == "forbidden", f"{cmd.actor.id} refused {action} as {r.code}"
            return
        # Anything other than a Refusal propagates and fails the test.
        assert to_this_actor, (
            f"{cmd.actor.id} ({cmd.actor.role.value} of {cmd.actor.agency}) took "
            f"{action.value}, offered only to {self.m.allowed_actions(self.now)}"
            if offered
            else f"{cmd.actor.id} took {action.value}, which nobody may take now"
        )

    def _take(self, a: AllowedAction, extra_days: int = 1) -> None:
        cmd = ActionInput(
            actor=actor_for(a.role, a.agency, a.officer_id),
            comment="Lý do chính đáng",
            data=offered_data(self.m, a, extra_days, now=self.now),
        )
        self.m.apply(a.action, cmd, self.now)  # offered, by its role and agency, valid data

    def _tick(self, now: datetime) -> None:
        self.m.on_time(now)
        wake = self.m.next_wake()
        # Everything due at or before `now` has fired: the next wake is strictly later.
        assert wake is None or wake > now, f"after on_time({now}) next_wake is {wake}"

    def _record(self) -> None:
        events = self.m.drain()
        for e in events:  # coverage, shown by --hypothesis-show-statistics
            hypothesis.event(
                f"{self.kind}: {e.kind}"
                + (f" ({e.data['escalation']})" if "escalation" in e.data else "")
            )
        self.log.extend(events)

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def events_are_numbered_without_gaps(self) -> None:
        self._record()
        s = self.m.s
        assert [e.seq for e in self.log] == list(range(1, len(self.log) + 1))
        assert s.event_seq == len(self.log)
        for e in self.log[-8:]:
            assert e.id == f"{CODE}:{e.seq}" and e.dossier_code == CODE
            assert e.actor_id and e.at <= self.now
            assert e.status_after is not None and e.status_before is not None
            assert e.kind == "submitted" or e.step_id is not None
            if e.role is Role.SYSTEM:  # the engine itself, or the payment gateway's callback
                assert e.actor_id == "system" or e.kind == "pay"
        for a, b in itertools.pairwise(self.log):
            assert a.at <= b.at
            assert b.status_before == a.status_after

    @invariant()
    def extensions_never_exceed_the_procedures_limit(self) -> None:
        s, limit = self.m.s, self.m.procedure.max_extensions
        assert len(s.extensions) <= limit, f"{len(s.extensions)} extensions, limit {limit}"
        if len(s.extensions) >= limit:
            offered = self.m.allowed_actions(self.now)
            assert all(a.action is not Action.REQUEST_EXTENSION for a in offered)

    @invariant()
    def status_is_national_and_terminal_is_final(self) -> None:
        s = self.m.s
        assert 1 <= s.status.national_code <= 10
        view = self.m.view(self.now)
        assert (view.status, view.status_code, view.event_seq) == (
            s.status,
            s.status.national_code,
            s.event_seq,
        )
        assert self.m.closed == s.status.terminal
        if self.closed_state is not None:
            assert s.model_dump() == self.closed_state, "a closed dossier changed"
            assert self.m.allowed_actions(self.now) == []
        elif self.m.closed:
            self.closed_state = s.model_dump()
            assert s.outcome is not None

    @invariant()
    def at_most_the_current_step_is_open(self) -> None:
        runs = self.m.s.runs
        assert all(r.ended_at is not None for r in runs[:-1])
        assert runs and runs[0].step_id == self.m.procedure.steps[0].id
        if not self.m.closed:
            assert runs[-1].index == self.m.s.step_index

    @invariant()
    def every_listed_action_is_accepted_for_its_role_and_agency(self) -> None:
        before = self.m.s.model_dump()
        for a in self.m.allowed_actions(self.now):
            cmd = ActionInput(
                actor=actor_for(a.role, a.agency, a.officer_id),
                comment="Lý do chính đáng",
                data=offered_data(self.m, a, now=self.now),
            )
            self.m.check(a.action, cmd, self.now)
        assert self.m.s.model_dump() == before, "check() has side effects"

    @invariant()
    def appointments_follow_the_unit(self) -> None:
        c = self.m.s.clock
        if c is None or c.due_at is None:
            return
        due = CAL.local(c.due_at)
        # Working hours: an exact office instant (a new appointment is a closing time, but a
        # later pause moves it by the minutes waited).
        if c.unit is TimeUnit.WORKING_HOURS:
            assert _in_office(CAL, due), f"working-hours appointment {due} outside office hours"
        else:
            # Working days, calendar days, or a new appointment: the close of a working day.
            assert due.time() == CAL.closing_time, f"appointment {due} is not at closing"
            assert CAL.is_working_day(due.date()), f"appointment {due} on a day off"

    @invariant()
    def the_clock_never_counts_time_that_did_not_pass(self) -> None:
        s, c = self.m.s, self.m.s.clock
        if c is None:
            return
        assert s.received_at is not None and c.started_at is not None
        assert c.started_at >= s.received_at
        assert c.paused_since is None or c.running_since is None
        consumed = clock.consumed_now(CAL, c, self.now)
        elapsed = CAL.elapsed(c.started_at, self.now, c.unit) if self.now > c.started_at else 0
        assert consumed <= elapsed, f"consumed {consumed} > {elapsed} elapsed since {c.started_at}"
        # Pauses and extensions only ever move the appointment later.
        if c.due_at is not None:
            p = self.m.procedure
            statutory = CAL.appointment(s.received_at, p.statutory_time, p.receipt_cutoff)
            assert c.due_at >= statutory, f"appointment {c.due_at} before the statutory {statutory}"

    @invariant()
    def the_timer_loop_never_oversleeps(self) -> None:
        s, wake = self.m.s, self.m.next_wake()
        if self.m.closed:
            assert wake is None
            return
        due: list[datetime] = []
        if s.supplement_due_at is not None:
            due.append(s.supplement_due_at)
        run = self.m.run()
        if (
            run is not None
            and run.ended_at is None
            and run.ledger.due_at is not None
            and run.escalated_at is None
            and run.role is not Role.APPLICANT
        ):
            due.append(run.ledger.due_at)  # a step running on an officer's desk
        c = s.clock
        if c is not None and c.due_at is not None and s.processed_at is None and s.overdue is None:
            due.append(c.due_at)  # the appointment, not yet marked overdue
        if due:
            assert wake is not None and wake <= min(due), f"sleeps to {wake} past {min(due)}"


def _test_case(kind: str, examples: int) -> type:
    rules = type(f"DossierRules_{kind}", (DossierRules,), {"kind": kind})
    case = rules.TestCase
    case.settings = settings(
        max_examples=examples,
        stateful_step_count=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    return case


# About 150 random dossiers in all, shared between the four kinds of procedure.
TestWorkingDaysDossier = _test_case("working_days", 40)
TestWorkingHoursDossier = _test_case("working_hours", 40)
TestCalendarDaysDossierWithPayment = _test_case("calendar_days", 40)
TestManualHandoffDossier = _test_case("manual_handoff", 30)
