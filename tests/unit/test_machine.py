"""The dossier's rules (domain.machine.DossierMachine) as scenarios, without Temporal.

Every test passes `now` explicitly, the way the workflow passes workflow.now(), so
each scenario reads like a dossier's timeline at the counter and in the agency.
Expected dates are worked out by hand from the law (DOMAIN.md §1.2-1.6) over a
synthetic calendar:

    A      = Monday 7 January 2030 (the anchor); A+n is n days later
    Tết    = Wednesday A+9 to Friday A+11 are days off (plus every weekend)
    office = 07:30-11:30 and 13:00-17:00, i.e. 480 office minutes a working day

Working days from A, for reference (weekends and Tết skipped):
    A+1 A+2 A+3 A+4 | A+7 A+8 | A+14 A+15 A+16 A+17 A+18 | A+21 ... A+25 | A+28 ...
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from domain import clock
from domain.catalog import Procedure, Role
from domain.dossier import Action, ActionInput, Actor, DossierState, Event, Status
from domain.machine import DossierMachine, Refusal
from tests.factories import (
    AGENCY,
    APPLICANT,
    CENTRE,
    OTHER_AGENCY,
    doc,
    dossier_input,
    local,
    officer,
    procedure,
    step,
    synthetic_calendar,
)

A = date(2030, 1, 7)
assert A.weekday() == 0, "the anchor is a Monday"
TET = [9, 10, 11]
CAL = synthetic_calendar(A, TET)

INTAKE = officer("intake_officer", CENTRE)
SPECIALIST = officer("specialist", AGENCY)
LEADER = officer("leader", AGENCY)
SIGNER = officer("signer", AGENCY)
RETURNER = officer("return_officer", CENTRE)
CENTRE_LEADER = officer("leader", CENTRE, "leader-centre")
STRANGER = Actor(id="citizen-999", name="Người khác", role=Role.APPLICANT)


def day(n: int) -> date:
    return A + timedelta(days=n)


def at(n: int, hh: int, mm: int = 0) -> datetime:
    """Local time on day A+n."""
    return local(day(n), hh, mm)


def closing(n: int) -> datetime:
    return at(n, 17)


# -- procedure builders ------------------------------------------------------------


def days_procedure(value: float, steps: list[dict[str, Any]] | None = None, **kw: Any) -> Procedure:
    """A short working-days procedure: intake, handoff, appraisal, approval, return."""
    steps = steps or [
        step("intake", "intake", "intake_officer", value / 10, agency="centre"),
        step("handoff", "handoff", "system", value / 10),
        step("appraisal", "appraisal", "specialist", value / 2),
        step("approval", "approval", "leader", value / 10),
        step("return", "return", "return_officer", value / 10, agency="centre"),
    ]
    return procedure(statutory_time={"value": value, "unit": "working_days"}, steps=steps, **kw)


def hours_procedure(value: float = 8, **kw: Any) -> Procedure:
    """8 working hours, received at/after 15:00 counts from the next working day."""
    h = value / 8
    return procedure(
        statutory_time={"value": value, "unit": "working_hours"},
        receipt_cutoff="15:00",
        steps=[
            step("intake", "intake", "intake_officer", h, "working_hours", agency="centre"),
            step("handoff", "handoff", "system", h, "working_hours"),
            step("appraisal", "appraisal", "specialist", 3 * h, "working_hours"),
            step("approval", "approval", "leader", h, "working_hours"),
            step("signature", "signature", "signer", h, "working_hours"),
            step("return", "return", "return_officer", h, "working_hours", agency="centre"),
        ],
        **kw,
    )


def calendar_days_procedure(value: int) -> Procedure:
    return procedure(
        statutory_time={"value": value, "unit": "calendar_days"},
        steps=[
            step("intake", "intake", "intake_officer", 0.5, agency="centre"),
            step("handoff", "handoff", "system", 0.5),
            step("appraisal", "appraisal", "specialist", 3),
            step("approval", "approval", "leader", 1),
            step("return", "return", "return_officer", 0.5, agency="centre"),
        ],
    )


def payment_procedure(payer: str = "applicant") -> Procedure:
    """15 working days; the financial obligation (payment) is excluded from the clock."""
    return procedure(
        steps=[
            step("intake", "intake", "intake_officer", 0.5, agency="centre"),
            step("handoff", "handoff", "system", 0.5),
            step("appraisal", "appraisal", "specialist", 6),
            step("payment", "payment", payer, 2, agency="centre", pauses_clock=True),
            step("approval", "approval", "leader", 2),
            step("signature", "signature", "signer", 1),
            step("return", "return", "return_officer", 0.5, agency="centre"),
        ],
    )


# -- a dossier on the desk -----------------------------------------------------------

# Data that makes each action valid; tests override it where the data matters.
VALID_DATA: dict[Action, dict[str, Any]] = {
    Action.REQUEST_SUPPLEMENT: {"missing": ["Bản vẽ thiết kế"]},
    Action.SUPPLEMENT: {"documents": [doc("ban-ve.pdf", "drawing").model_dump()]},
    Action.APPRAISE: {"opinion": "Đủ điều kiện cấp phép"},
    Action.REQUEST_EXTENSION: {"extra_days": 3},
}
NEEDS_REASON = {Action.REFUSE, Action.REJECT, Action.WITHDRAW, Action.REQUEST_EXTENSION}


class Dossier:
    """One dossier driven through the machine, with its whole event log kept."""

    def __init__(
        self,
        proc: Procedure | None = None,
        submitted: datetime | None = None,
        code: str = "H99.01-300107-0001",
    ) -> None:
        submitted = submitted or at(0, 10)
        self.m = DossierMachine(dossier_input(code, submitted, CAL, proc))
        self.m.start(submitted)
        self.events: list[Event] = list(self.m.drain())

    @property
    def s(self) -> DossierState:
        return self.m.s

    @property
    def appointment(self) -> datetime | None:
        c = self.m.s.clock
        return c.due_at if c else None

    def cmd(
        self, action: Action, actor: Actor, comment: str | None, data: dict[str, Any] | None
    ) -> ActionInput:
        if comment is None:
            comment = "Lý do: hồ sơ không đủ điều kiện" if action in NEEDS_REASON else ""
        return ActionInput(
            actor=actor, comment=comment, data=VALID_DATA.get(action, {}) if data is None else data
        )

    def act(
        self,
        action: str,
        actor: Actor,
        now: datetime,
        *,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> list[Event]:
        self.m.apply(Action(action), self.cmd(Action(action), actor, comment, data), now)
        return self._drain()

    def refused(
        self,
        action: str,
        actor: Actor,
        now: datetime,
        *,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Refusal:
        before = self.m.s.model_dump()
        with pytest.raises(Refusal) as info:
            self.m.apply(Action(action), self.cmd(Action(action), actor, comment, data), now)
        assert self.m.s.model_dump() == before, "a refused action must change nothing"
        assert not self.m.has_new_events
        return info.value

    def ack(self, now: datetime) -> list[Event]:
        """The receiving agency's worker acknowledges the handoff."""
        self.m.handoff_acknowledged({"received_by": "agency-worker"}, now)
        return self._drain()

    def tick(self, now: datetime) -> list[Event]:
        """The workflow wakes up at `now` and fires whatever timer rule is due."""
        self.m.on_time(now)
        return self._drain()

    def _drain(self) -> list[Event]:
        new = self.m.drain()
        self.events.extend(new)
        return new

    def kinds(self, events: list[Event] | None = None) -> list[str]:
        return [e.kind for e in (self.events if events is None else events)]

    def escalations(self, kind: str | None = None) -> list[Any]:
        return [e for e in self.s.escalations if kind is None or e.kind == kind]

    def received_and_handed_off(self, accepted: datetime, acked: datetime) -> Dossier:
        self.act("accept", INTAKE, accepted)
        self.ack(acked)
        return self

    def allowed(self, now: datetime) -> set[tuple[str, str, str | None]]:
        return {(a.action.value, a.role.value, a.agency) for a in self.m.allowed_actions(now)}


def forms(events: list[Event]) -> list[tuple[str, str]]:
    return [(e.kind, e.data["form"]) for e in events if "form" in e.data]


# -- receipt and the appointment (Form 01) --------------------------------------------


@pytest.mark.parametrize(
    ("submitted", "receipt_day", "appointment"),
    [
        # Monday 10:00: the receipt day is not counted; 15 working days from Tuesday,
        # skipping Tết, end on Thursday A+24.
        (at(0, 10), 0, closing(24)),
        # Monday 16:59 is still inside office hours.
        (at(0, 16, 59), 0, closing(24)),
        # Monday 17:05, after closing: received Tuesday, counted from Wednesday.
        (at(0, 17, 5), 1, closing(25)),
        # Saturday: received Monday A+7, counted from Tuesday A+8.
        (at(5, 9), 7, closing(31)),
        # Submitted online on the first day of Tết: received Monday A+14 after the holiday.
        (at(9, 10), 14, closing(35)),
    ],
    ids=["office-hours", "just-before-closing", "after-closing", "saturday", "tet"],
)
def test_receipt_after_closing_or_on_a_day_off_shifts_the_appointment(
    submitted: datetime, receipt_day: int, appointment: datetime
) -> None:
    d = Dossier(submitted=submitted)
    accepted = d.act("accept", INTAKE, max(submitted, at(receipt_day, 8)))

    assert d.appointment == appointment
    receipt = next(e for e in accepted if e.kind == "accept")
    assert receipt.data["form"] == "01"
    assert receipt.data["effective_receipt_day"] == day(receipt_day).isoformat()
    assert receipt.data["appointment_at"] == appointment.isoformat()
    assert receipt.data["received_at"] == submitted.isoformat()
    assert d.m.view(at(receipt_day, 9)).appointment_at == appointment


def test_late_acceptance_does_not_move_the_appointment_of_an_online_dossier() -> None:
    # The clock counts from the dossier's arrival, not from when the officer got to it.
    d = Dossier(submitted=at(0, 10))
    d.act("accept", INTAKE, at(2, 15))
    assert d.s.received_at == at(0, 10)
    assert d.appointment == closing(24)


@pytest.mark.parametrize(
    ("submitted", "appointment"),
    [
        (at(0, 14), at(1, 14)),  # 3 h on Monday, 5 h on Tuesday
        (at(0, 14, 59), at(1, 14, 59)),  # one minute before the cut-off still counts today
        (at(0, 15), closing(1)),  # at the cut-off: from Tuesday's opening, 8 h
        (at(0, 16, 30), closing(1)),
        (at(4, 16), closing(7)),  # Friday after the cut-off: Monday
        (at(8, 14), at(14, 14)),  # Tuesday 14:00 before Tết: 3 h, then 5 h after Tết
        (at(5, 9), closing(7)),  # Saturday: Monday, 8 h
        (at(0, 7), closing(0)),  # before opening: the whole of Monday
    ],
    ids=["14:00", "14:59", "cutoff", "16:30", "friday-late", "before-tet", "saturday", "early"],
)
def test_working_hours_procedure_with_a_15h_cutoff(
    submitted: datetime, appointment: datetime
) -> None:
    d = Dossier(hours_procedure(), submitted=submitted)
    d.act("accept", INTAKE, submitted)
    assert d.appointment == appointment
    assert d.m.view(submitted).clock_budget_minutes == 8 * 60


def test_working_hours_step_budgets_are_exact_instants() -> None:
    d = Dossier(hours_procedure(), submitted=at(0, 14))
    d.act("accept", INTAKE, at(0, 14, 10))
    started = d.ack(at(0, 14, 20))
    appraisal = next(e for e in started if e.kind == "step_started")
    # 3 working hours from 14:20: 160 minutes on Monday, 20 on Tuesday morning.
    assert appraisal.step_id == "appraisal"
    assert appraisal.data["due_at"] == at(1, 7, 50).isoformat()
    assert appraisal.data["budget"] == "3 working hours"
    assert d.tick(at(1, 7, 49)) == []
    escalated = d.tick(at(1, 7, 50))
    assert d.kinds(escalated) == ["escalated"]
    assert escalated[0].data["escalation"] == "step_budget"
    # The dossier itself is due at 14:00 on Tuesday, to the minute.
    assert d.tick(at(1, 13, 59)) == []
    assert d.kinds(d.tick(at(1, 14))) == ["overdue"]


@pytest.mark.parametrize(
    ("days", "appointment"),
    [
        (8, closing(8)),  # Tuesday A+8: a working day, kept
        (10, closing(14)),  # Thursday A+10 is Tết: moved to Monday A+14
        (12, closing(14)),  # Saturday A+12: moved to Monday A+14
        (15, closing(15)),  # calendar days run through Tết and weekends alike
    ],
)
def test_calendar_days_procedure_landing_on_a_day_off_moves_to_the_next_working_day(
    days: int, appointment: datetime
) -> None:
    d = Dossier(calendar_days_procedure(days), submitted=at(0, 10))
    d.act("accept", INTAKE, at(0, 10, 5))
    assert d.appointment == appointment


# -- the financial obligation is excluded from the clock --------------------------------


def test_payment_step_that_pauses_the_clock_moves_the_appointment_by_the_time_spent_paying() -> (
    None
):
    d = Dossier(payment_procedure()).received_and_handed_off(at(0, 10), at(0, 10, 10))
    assert d.appointment == closing(24)

    # Appraisal done at Thursday's opening: the applicant is asked to pay.
    entered = d.act("appraise", SPECIALIST, at(3, 7, 30))
    assert entered[-1].kind == "step_started" and entered[-1].step_id == "payment"
    assert d.s.status is Status.FINANCIAL_OBLIGATION
    view = d.m.view(at(4, 10))
    assert view.clock_paused and view.appointment_at is None
    assert view.clock_consumed_minutes == 2 * 480  # Tuesday and Wednesday
    assert [x.reason for x in view.exclusions] == ["financial_obligation"]
    # Waiting for the applicant to pay: no officer is chased and no appointment runs.
    assert d.m.next_wake() is None

    # Paid at Tuesday A+8's opening: Thursday, Friday and Monday were excluded, so
    # the appointment moves three working days, from A+24 to A+29.
    d.act("pay", APPLICANT, at(8, 7, 30), data={"receipt_number": "BL-001", "amount_vnd": 75000})
    view = d.m.view(at(8, 8))
    assert view.appointment_at == closing(29)
    assert not view.clock_paused
    assert view.exclusions[0].start == at(3, 7, 30) and view.exclusions[0].end == at(8, 7, 30)
    assert view.time_paused_minutes == 5 * 24 * 60
    assert d.s.status is Status.IN_PROGRESS and d.m.step().id == "approval"


def test_payment_by_the_applicant_is_never_escalated_but_an_officer_collecting_it_is() -> None:
    by_applicant = Dossier(payment_procedure()).received_and_handed_off(at(0, 10), at(0, 10, 10))
    by_applicant.act("appraise", SPECIALIST, at(3, 7, 30))
    assert by_applicant.tick(at(60, 10)) == []

    by_counter = Dossier(payment_procedure("intake_officer")).received_and_handed_off(
        at(0, 10), at(0, 10, 10)
    )
    by_counter.act("appraise", SPECIALIST, at(3, 7, 30))
    # 2 working days from Thursday's opening: the close of Friday.
    assert by_counter.m.next_wake() == closing(4)
    assert by_counter.kinds(by_counter.tick(closing(4))) == ["escalated"]
    assert by_counter.escalations("step_budget")[0].agency == CENTRE


def test_expert_assessment_step_that_pauses_the_clock_resumes_it_when_done() -> None:
    p = procedure(
        steps=[
            step("intake", "intake", "intake_officer", 0.5, agency="centre"),
            step("handoff", "handoff", "system", 0.5),
            step("appraisal", "appraisal", "specialist", 6),
            step("expert", "consultation", "specialist", 2, pauses_clock=True),
            step("approval", "approval", "leader", 2),
            step("return", "return", "return_officer", 0.5, agency="centre"),
        ]
    )
    d = Dossier(p).received_and_handed_off(at(0, 10), at(0, 10, 10))
    d.act("appraise", SPECIALIST, at(3, 7, 30))
    assert d.m.step().id == "expert" and d.s.clock.due_at is None
    d.act("appraise", SPECIALIST, at(8, 7, 30), data={"opinion": "Kết quả giám định đạt"})
    assert d.m.step().id == "approval"
    # Thursday, Friday and Monday excluded, as for a payment.
    assert d.appointment == closing(29)
    assert d.s.exclusions[-1].end == at(8, 7, 30)


# -- supplements ------------------------------------------------------------------------


def test_supplement_at_intake_restarts_the_clock_from_zero() -> None:
    d = Dossier(submitted=at(0, 10))
    requested = d.act(
        "request_supplement",
        INTAKE,
        at(0, 10, 30),
        data={"missing": ["Bản vẽ", "Giấy chứng nhận QSDĐ"]},
    )
    assert forms(requested) == [("request_supplement", "02")]
    assert requested[0].data["missing"] == ["Bản vẽ", "Giấy chứng nhận QSDĐ"]
    assert d.s.status is Status.SUPPLEMENT_REQUESTED and d.s.clock is None

    back = d.act("supplement", APPLICANT, at(8, 10))
    assert d.kinds(back) == ["supplement", "step_started"]
    assert d.s.status is Status.SUBMITTED and d.m.step().id == "intake"
    d.act("accept", INTAKE, at(8, 11))
    # The complete dossier arrived Tuesday A+8: counting starts after Tết, on Monday
    # A+14, with the full 15 working days (not the 15 from the first submission).
    assert d.s.received_at == at(8, 10)
    assert d.appointment == closing(32)


def test_supplement_during_appraisal_pauses_the_clock_and_excludes_the_waiting_time() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    requested = d.act("request_supplement", SPECIALIST, at(2, 7, 30))
    assert forms(requested) == [("request_supplement", "02")]
    assert requested[0].data["stage"] == "appraisal"
    waiting = d.m.view(at(7, 10))
    assert waiting.clock_paused and waiting.appointment_at is None
    assert waiting.clock_consumed_minutes == 480  # only Tuesday counted
    assert waiting.holder is not None and waiting.holder.action is Action.SUPPLEMENT

    back = d.act("supplement", INTAKE, at(8, 7, 30))  # handed in at the counter
    assert d.kinds(back) == ["supplement"]
    # Wednesday to Monday (4 working days) excluded: A+24 becomes A+30.
    assert back[0].data["appointment_at"] == closing(30).isoformat()
    assert d.appointment == closing(30)
    assert d.s.status is Status.IN_PROGRESS
    assert [(x.reason, x.start, x.end) for x in d.s.exclusions] == [
        ("supplement", at(2, 7, 30), at(8, 7, 30))
    ]
    # The appraisal's own budget is extended by the wait too (8 days from Monday 10:10
    # would end Tuesday A+15 10:10; 4 working days later is Monday A+21 10:10).
    assert d.m.run().ledger.due_at == at(21, 10, 10)


def test_supplement_not_delivered_in_time_at_intake_means_not_received() -> None:
    d = Dossier(submitted=at(0, 10))
    d.act("request_supplement", INTAKE, at(0, 10, 30))
    # 15 working days from Tuesday: the close of Thursday A+24.
    assert d.s.supplement_due_at == closing(24)
    assert "supplement_expired" not in d.kinds(d.tick(at(24, 16, 59)))
    assert not d.m.closed
    expired = d.tick(closing(24))
    assert d.kinds(expired) == ["supplement_expired"]
    assert forms(expired) == [("supplement_expired", "03")]
    assert d.s.status is Status.NOT_RECEIVED and d.s.outcome == "abandoned"
    assert d.m.closed and d.m.next_wake() is None
    assert d.refused("supplement", APPLICANT, at(25, 8)).code == "closed"


def test_supplement_not_delivered_in_time_during_appraisal_stops_the_dossier() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    d.act("request_supplement", SPECIALIST, at(1, 10))
    # Requested Tuesday A+1: 15 working days from Wednesday end Friday A+25.
    assert d.s.supplement_due_at == closing(25)
    assert d.m.next_wake() == closing(25)  # no step budget or appointment while paused
    assert d.tick(at(25, 16, 59)) == []
    expired = d.tick(closing(25))
    assert forms(expired) == [("supplement_expired", "05")]
    assert d.s.status is Status.STOPPED and d.m.closed


def test_the_supplement_is_the_applicants_or_the_counters_and_needs_documents() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    assert (
        d.refused("request_supplement", SPECIALIST, at(1, 9), data={"missing": []}).code
        == "invalid"
    )
    assert (
        d.refused("request_supplement", SPECIALIST, at(1, 9), data={"missing": "x"}).code
        == "invalid"
    )
    d.act("request_supplement", SPECIALIST, at(1, 10))
    assert d.refused("supplement", STRANGER, at(1, 11)).code == "forbidden"
    assert d.refused("supplement", SPECIALIST, at(1, 11)).code == "forbidden"
    assert d.refused("supplement", APPLICANT, at(1, 11), data={"documents": []}).code == "invalid"
    assert (
        d.refused(
            "supplement",
            APPLICANT,
            at(1, 11),
            data={"documents": [{"kind": "x", "filename": "a.pdf", "sha256": "nothex"}]},
        ).code
        == "invalid"
    )
    # While the applicant is asked, the specialist cannot go on.
    assert d.refused("appraise", SPECIALIST, at(1, 11)).code == "wrong_step"
    d.act("supplement", APPLICANT, at(1, 14))
    assert d.s.documents[-1].filename == "ban-ve.pdf"


def test_supplement_on_the_receipt_day_does_not_make_the_receipt_day_count() -> None:
    # Regression: a pause and resume before the clock started used to restart it at the
    # resume instant, counting the receipt day and bringing the appointment forward.
    # Received Monday 15:30, after the 15:00 cut-off: 8 working hours from Tuesday's
    # opening, due Tuesday 17:00.
    d = Dossier(hours_procedure(), submitted=at(0, 15, 30))
    d.received_and_handed_off(at(0, 15, 35), at(0, 15, 40))
    assert d.appointment == closing(1)
    d.act("request_supplement", SPECIALIST, at(0, 15, 45))
    d.act("supplement", APPLICANT, at(0, 16))
    # The clock had not started: it still starts on Tuesday, and nothing is used on Monday.
    assert d.appointment == closing(1)
    assert clock.consumed_now(CAL, d.s.clock, closing(0)) == 0


def test_supplement_on_the_receipt_day_keeps_a_fractional_day_appointment() -> None:
    # 1.5 working days from Tuesday's opening: the close of Wednesday A+2. Counting
    # Monday afternoon would have brought it forward to Tuesday.
    d = Dossier(days_procedure(1.5)).received_and_handed_off(at(0, 10), at(0, 10, 10))
    assert d.appointment == closing(2)
    d.act("request_supplement", SPECIALIST, at(0, 10, 30))
    d.act("supplement", INTAKE, at(0, 11))
    assert d.appointment == closing(2)


# -- step budgets and escalation ----------------------------------------------------------


def test_step_budget_escalation_fires_once_per_step_run() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    # Appraisal: 8 working days from Monday 10:10 end Tuesday A+15 at 10:10.
    assert d.m.run().ledger.due_at == at(15, 10, 10)
    assert d.tick(at(15, 10, 9)) == []
    fired = d.tick(at(15, 10, 10))
    assert d.kinds(fired) == ["escalated"]
    assert fired[0].data == {"escalation": "step_budget", "to_role": "leader", "to_agency": AGENCY}
    assert fired[0].step_id == "appraisal" and fired[0].role is Role.SYSTEM
    assert d.tick(at(15, 14)) == [] and d.tick(at(16, 9)) == []
    assert len(d.escalations("step_budget")) == 1
    assert d.m.view(at(16, 9)).current_step.escalated

    # The approval step has its own budget (2 days) and its own escalation.
    d.act("appraise", SPECIALIST, at(16, 10))
    assert d.m.run().ledger.due_at == at(18, 10)
    assert d.kinds(d.tick(at(18, 10))) == ["escalated"]
    assert [e.step_id for e in d.escalations("step_budget")] == ["appraisal", "approval"]


def test_handoff_not_acknowledged_within_its_budget_is_escalated() -> None:
    d = Dossier()
    d.act("accept", INTAKE, at(0, 10, 5))
    assert d.m.pending_handoff() is not None
    # Half a working day from 10:05: 85 minutes before lunch, 155 after, so 15:35.
    assert d.m.next_wake() == at(0, 15, 35)
    fired = d.tick(at(0, 15, 35))
    assert fired[0].data["escalation"] == "handoff_unacknowledged"
    assert fired[0].data["to_agency"] == AGENCY
    d.ack(at(0, 16))
    assert d.m.step().id == "appraisal"
    assert d.s.runs[1].verdict == "late"


def test_no_escalation_of_the_intake_officer_while_the_applicant_supplements() -> None:
    d = Dossier(submitted=at(0, 10))
    d.act("request_supplement", INTAKE, at(0, 10, 30))
    assert d.m.next_wake() == d.s.supplement_due_at
    assert d.tick(at(0, 16)) == []


# -- apology and new appointment (Form 04) -----------------------------------------------


def test_apology_warning_fires_at_the_opening_of_the_working_day_before_the_appointment() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    d.act("appraise", SPECIALIST, at(3, 10))
    assert d.appointment == closing(24)
    d.tick(at(23, 7, 29))  # the approval budget has long run out by now
    assert d.escalations("apology_due") == []
    warned = d.tick(at(23, 7, 30))
    assert d.kinds(warned) == ["escalated"]
    assert warned[0].data == {"escalation": "apology_due", "to_role": "leader", "to_agency": AGENCY}
    assert (
        closing(23).strftime("%H:%M %d/%m/%Y") in warned[0].comment
    )  # the last moment for Form 04
    assert d.tick(at(23, 15)) == []  # once only
    # The extension can still be asked for until Wednesday's close, not after.
    assert ("request_extension", "leader", AGENCY) in d.allowed(closing(23))
    assert ("request_extension", "leader", AGENCY) not in d.allowed(at(24, 7, 30))


def test_apology_warning_skips_tet_back_to_the_last_working_day_before() -> None:
    # 7 working days from Tuesday A+1: A+1..A+4, A+7, A+8, A+14 (Monday after Tết).
    d = Dossier(days_procedure(7)).received_and_handed_off(at(0, 10), at(0, 10, 10))
    assert d.appointment == closing(14)
    # The working day before Monday A+14 is Tuesday A+8.
    d.tick(at(8, 7, 29))
    assert d.escalations("apology_due") == []
    d.tick(at(8, 7, 30))
    assert [e.at for e in d.escalations("apology_due")] == [at(8, 7, 30)]


@pytest.mark.parametrize(
    ("proc", "submitted", "appointment"),
    [
        (hours_procedure(4), at(0, 8), at(0, 13, 30)),  # resolved within the day
        (days_procedure(1), at(0, 10), closing(1)),  # Form 04 would be due before the count starts
    ],
    ids=["4-working-hours", "1-working-day"],
)
def test_no_apology_warning_for_same_day_procedures(
    proc: Procedure, submitted: datetime, appointment: datetime
) -> None:
    d = Dossier(proc, submitted=submitted)
    d.act("accept", INTAKE, submitted)
    assert d.appointment == appointment
    moment = submitted
    while d.m.next_wake() is not None:
        moment = d.m.next_wake()
        d.tick(moment)
    assert d.escalations("apology_due") == []
    assert d.s.overdue is not None and d.s.overdue.appointment == appointment


def test_two_working_day_procedure_warns_on_the_first_counted_day() -> None:
    d = Dossier(days_procedure(2)).received_and_handed_off(at(0, 10), at(0, 10, 10))
    assert d.appointment == closing(2)
    d.tick(at(1, 7, 30))
    assert [e.at for e in d.escalations("apology_due")] == [at(1, 7, 30)]


def test_apology_warning_goes_to_a_leader_who_may_send_form_04() -> None:
    p = procedure(
        steps=[
            step("intake", "intake", "intake_officer", 0.5, agency="centre"),
            step("handoff", "handoff", "system", 0.5),
            step("appraisal", "appraisal", "specialist", 6),
            step("fee", "payment", "intake_officer", 2, agency="centre"),  # the clock keeps running
            step("approval", "approval", "leader", 2),
            step("return", "return", "return_officer", 0.5, agency="centre"),
        ]
    )
    d = Dossier(p).received_and_handed_off(at(0, 10), at(0, 10, 10))
    d.act("appraise", SPECIALIST, at(3, 7, 30))
    assert d.m.step().id == "fee" and d.appointment == closing(24)
    d.tick(at(23, 7, 30))
    (warning,) = d.escalations("apology_due")
    may_extend = {
        a.agency for a in d.m.allowed_actions(at(23, 8)) if a.action is Action.REQUEST_EXTENSION
    }
    assert warning.agency in may_extend  # actual: CENTRE, while only AGENCY may extend


def test_apology_and_new_appointment_at_most_once() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    events = d.act(
        "request_extension",
        LEADER,
        at(22, 9),
        comment="Cần xác minh thêm hiện trạng công trình",
        data={"extra_days": 3},
    )
    assert forms(events) == [("request_extension", "04")]
    (extension,) = [e for e in events if e.kind == "request_extension"]
    assert extension.data["previous_appointment"] == closing(24).isoformat()
    # Three working days after Thursday A+24: Friday, Monday, Tuesday A+29.
    assert d.appointment == closing(29)
    view = d.m.view(at(22, 10))
    assert view.original_appointment_at == closing(24) and view.appointment_at == closing(29)
    assert view.extensions[0].by == LEADER.id and view.extensions[0].agency == AGENCY
    # No warning any more: the one new appointment has been used.
    d.tick(at(28, 7, 30))
    assert d.escalations("apology_due") == []

    again = d.refused("request_extension", LEADER, at(23, 9), comment="Lần nữa")
    assert again.code == "wrong_step"
    assert "chỉ được hẹn lại một lần" in again.message


def test_new_appointment_rules() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    # Only the responsible agency's leader, with a reason, a working day, and later.
    assert d.refused("request_extension", CENTRE_LEADER, at(20, 9)).code == "forbidden"
    assert d.refused("request_extension", SPECIALIST, at(20, 9)).code == "forbidden"
    assert d.refused("request_extension", LEADER, at(20, 9), comment="  ").code == "invalid"
    for bad in (
        {},
        {"extra_days": 0},
        {"extra_days": True},
        {"new_appointment": "tomorrow"},
        {"new_appointment": day(26).isoformat()},  # a Saturday
        {"new_appointment": day(23).isoformat()},  # earlier than A+24
        {"new_appointment": "2099-01-01"},
    ):  # beyond the calendar snapshot
        assert d.refused("request_extension", LEADER, at(20, 9), data=bad).code == "invalid", bad
    d.act("request_extension", LEADER, at(20, 9), data={"new_appointment": day(28).isoformat()})
    assert d.appointment == closing(28)


def test_new_appointment_too_late_is_refused_with_the_deadline() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    late = d.refused("request_extension", LEADER, at(24, 7, 30))
    assert late.code == "wrong_step"
    # In Vietnamese, the deadline as a person writes it (17:00 dd/mm/yyyy); in English, ISO.
    assert "Mẫu 04" in late.message
    assert closing(23).strftime("%H:%M %d/%m/%Y") in late.message
    assert late.text is not None
    english = late.text.render("en")
    assert "Form 04" in english and closing(23).isoformat() in english


# -- overdue -------------------------------------------------------------------------------


def test_overdue_records_the_step_the_agency_and_the_late_steps() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    d.act("appraise", SPECIALIST, at(16, 10))  # due Tuesday A+15 10:10: late
    assert d.s.runs[-2].verdict == "late"
    d.tick(at(24, 16, 59))
    assert d.s.overdue is None
    fired = d.tick(closing(24))
    assert d.kinds(fired) == ["overdue"]
    assert fired[0].data == {"escalation": "overdue", "to_role": "leader", "to_agency": AGENCY}
    overdue = d.s.overdue
    assert overdue is not None
    assert (overdue.at, overdue.appointment) == (closing(24), closing(24))
    assert (overdue.step_id, overdue.agency) == ("approval", AGENCY)
    # Appraisal finished late; approval (2 days from A+16 10:00) is running past its budget.
    assert overdue.late_steps == ["appraisal", "approval"]
    assert d.tick(at(30, 10)) == []  # overdue once
    assert d.m.view(at(30, 10)).overdue == overdue

    # Being overdue never blocks the result: the dossier still goes to the applicant.
    d.act("approve", LEADER, at(30, 10))
    d.act("sign", SIGNER, at(30, 11))
    d.act("return", RETURNER, at(31, 9), data={"channel": "counter"})
    assert d.s.status is Status.RETURNED and d.s.outcome == "granted"


@pytest.mark.parametrize(
    ("finished", "verdict"),
    [
        (at(14, 16), "early"),  # the day before the due day
        (at(15, 9), "on_time"),  # on the due day, before 10:10
        (at(15, 10, 10), "on_time"),  # exactly at the budget's end
        (at(15, 10, 11), "late"),
        (at(21, 9), "late"),
    ],
)
def test_step_verdict_early_on_time_late(finished: datetime, verdict: str) -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    d.act("appraise", SPECIALIST, finished)
    appraisal = d.s.runs[2]
    assert appraisal.step_id == "appraisal" and appraisal.verdict == verdict
    assert d.m.view(finished).steps[2].verdict == verdict


# -- who may act ------------------------------------------------------------------------------


def test_allowed_actions_name_the_role_and_agency_at_each_step() -> None:
    d = Dossier(submitted=at(0, 10))
    withdraw = {("withdraw", "applicant", None), ("withdraw", "intake_officer", CENTRE)}
    extend = {("request_extension", "leader", AGENCY)}

    def held(role: str, agency: str) -> set[tuple[str, str, str | None]]:
        """A leader of the step's agency assigns it; an officer of its role claims it."""
        return {("assign", "leader", agency), ("claim", role, agency)}

    assert d.allowed(at(0, 10)) == {
        ("accept", "intake_officer", CENTRE),
        ("request_supplement", "intake_officer", CENTRE),
        ("refuse", "intake_officer", CENTRE),
    } | withdraw | held("intake_officer", CENTRE)  # no appointment yet, so nothing to extend

    d.act("accept", INTAKE, at(0, 10, 5))
    assert d.allowed(at(0, 10, 6)) == withdraw | extend  # the handoff is automatic
    assert d.m.view(at(0, 10, 6)).holder is None

    d.ack(at(0, 10, 10))
    assert d.allowed(at(1, 9)) == {
        ("appraise", "specialist", AGENCY),
        ("schedule_inspection", "specialist", AGENCY),
        ("request_supplement", "specialist", AGENCY),
        ("refuse", "specialist", AGENCY),
    } | withdraw | extend | held("specialist", AGENCY)
    holder = d.m.view(at(1, 9)).holder
    assert holder is not None and (holder.role, holder.agency) == (Role.SPECIALIST, AGENCY)

    d.act("request_supplement", SPECIALIST, at(1, 10))
    assert (
        d.allowed(at(1, 11))
        == {
            ("supplement", "applicant", None),
            ("supplement", "intake_officer", CENTRE),
        }
        | withdraw
    )  # paused: no appointment to extend

    d.act("supplement", APPLICANT, at(2, 9))
    d.act("appraise", SPECIALIST, at(3, 9))
    assert d.allowed(at(3, 10)) == {
        ("approve", "leader", AGENCY),
        ("reject", "leader", AGENCY),
    } | withdraw | extend | held("leader", AGENCY)

    d.act("approve", LEADER, at(4, 9))
    # decided: no withdrawal
    assert d.allowed(at(4, 10)) == {("sign", "signer", AGENCY)} | extend | held("signer", AGENCY)

    d.act("sign", SIGNER, at(4, 11))
    assert d.allowed(at(4, 12)) == {("return", "return_officer", CENTRE)} | held(
        "return_officer", CENTRE
    )  # processed

    d.act("return", RETURNER, at(7, 9))
    assert d.allowed(at(7, 10)) == set()
    assert d.m.view(at(7, 10)).allowed_actions == []


def test_extension_is_offered_to_the_agency_holding_the_dossier_too() -> None:
    p = procedure(
        steps=[
            step("intake", "intake", "intake_officer", 0.5, agency="centre"),
            step("handoff", "handoff", "system", 0.5, agency=OTHER_AGENCY),
            step("appraisal", "appraisal", "specialist", 8, agency=OTHER_AGENCY),
            step("approval", "approval", "leader", 2),
            step("return", "return", "return_officer", 0.5, agency="centre"),
        ]
    )
    d = Dossier(p).received_and_handed_off(at(0, 10), at(0, 10, 10))
    assert {a for a in d.allowed(at(1, 9)) if a[0] == "request_extension"} == {
        ("request_extension", "leader", AGENCY),
        ("request_extension", "leader", OTHER_AGENCY),
    }
    assert ("appraise", "specialist", OTHER_AGENCY) in d.allowed(at(1, 9))
    assert d.refused("appraise", SPECIALIST, at(1, 9)).code == "forbidden"  # wrong agency
    d.act("request_extension", officer("leader", OTHER_AGENCY), at(1, 9))
    assert d.s.extensions[0].agency == OTHER_AGENCY


def test_manual_handoff_is_forwarded_by_the_centre() -> None:
    p = procedure(
        steps=[
            step("intake", "intake", "intake_officer", 0.5, agency="centre"),
            step("handoff", "handoff", "intake_officer", 0.5, auto=False),
            step("appraisal", "appraisal", "specialist", 8),
            step("approval", "approval", "leader", 2),
            step("return", "return", "return_officer", 0.5, agency="centre"),
        ]
    )
    d = Dossier(p)
    d.act("accept", INTAKE, at(0, 10, 5))
    assert d.m.pending_handoff() is None  # waits for 'forward'
    assert not d.m.view(at(0, 10, 5)).handoff_pending  # an officer holds it, not the engine
    d.act("forward", INTAKE, at(0, 10, 10))
    assert d.m.pending_handoff() is not None
    assert d.m.view(at(0, 10, 10)).handoff_pending  # what the API waits for


def test_refusals_say_why() -> None:
    d = Dossier()
    # Wrong role, or the right role at the wrong agency: forbidden.
    assert d.refused("accept", SPECIALIST, at(0, 10)).code == "forbidden"
    assert d.refused("accept", officer("intake_officer", AGENCY), at(0, 10)).code == "forbidden"
    # Someone else's dossier: forbidden even for an applicant.
    assert d.refused("withdraw", STRANGER, at(0, 10)).code == "forbidden"
    # Not this step's action: wrong_step.
    assert d.refused("approve", LEADER, at(0, 10)).code == "wrong_step"
    assert d.refused("supplement", APPLICANT, at(0, 10)).code == "wrong_step"
    # A decision without reasons: invalid.
    assert d.refused("refuse", INTAKE, at(0, 10), comment="").code == "invalid"
    d.act("accept", INTAKE, at(0, 10, 5))
    d.ack(at(0, 10, 10))
    assert d.refused("appraise", SPECIALIST, at(1, 9), data={}).code == "invalid"
    assert (
        d.refused(
            "appraise", SPECIALIST, at(1, 9), data={"opinion": "ok", "recommendation": "maybe"}
        ).code
        == "invalid"
    )
    d.act("withdraw", APPLICANT, at(1, 10), comment="Không còn nhu cầu")
    closed = d.refused("appraise", SPECIALIST, at(1, 11))
    assert closed.code in ("closed", "wrong_step") and "đã kết thúc" in closed.message
    assert closed.text is not None and "is closed" in closed.text.render("en")


# -- outcomes, forms and the event log ------------------------------------------------------


def test_withdrawal_before_the_decision_stops_the_dossier_with_form_05() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    events = d.act("withdraw", APPLICANT, at(3, 9), comment="Không còn nhu cầu xây dựng")
    assert d.kinds(events) == ["withdraw", "stopped"]
    assert [e.status_after for e in events] == [Status.WITHDRAWAL_REQUESTED, Status.STOPPED]
    assert events[1].data == {"form": "05", "reason": "Không còn nhu cầu xây dựng"}
    assert d.s.outcome == "withdrawn" and d.m.closed and d.m.next_wake() is None
    assert d.s.runs[-1].outcome == "withdrawn"


def test_no_withdrawal_after_the_decision() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    d.act("appraise", SPECIALIST, at(3, 9))
    d.act("approve", LEADER, at(4, 9))
    refusal = d.refused("withdraw", APPLICANT, at(4, 10))
    assert refusal.code == "wrong_step" and "đã có quyết định" in refusal.message


def test_result_ready_after_the_appointment_is_overdue_even_if_the_timer_had_not_fired() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    d.act("appraise", SPECIALIST, at(3, 9))
    d.act("approve", LEADER, at(4, 9))
    d.act("sign", SIGNER, at(25, 9))  # the appointment was A+24 17:00
    assert d.s.processed_at == at(25, 9)
    assert d.s.overdue is not None  # actual: None, and next_wake() no longer looks at the clock


def test_supplement_after_its_deadline_is_refused_even_if_the_timer_had_not_fired() -> None:
    d = Dossier(submitted=at(0, 10))
    d.act("request_supplement", INTAKE, at(0, 10, 30))
    assert d.s.supplement_due_at == closing(24)
    assert d.refused("supplement", APPLICANT, at(30, 9)).code in ("closed", "wrong_step")


def test_a_closed_dossier_has_no_open_exclusion() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    d.act("request_supplement", SPECIALIST, at(1, 10))
    d.act("withdraw", APPLICANT, at(2, 9), comment="Không bổ sung được")
    assert d.m.closed and not d.m.view(at(2, 10)).clock_paused
    assert all(x.end is not None for x in d.s.exclusions)


def test_refusal_after_appraisal_goes_straight_to_the_return_step() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    events = d.act("refuse", SPECIALIST, at(3, 9), comment="Không phù hợp quy hoạch")
    assert d.kinds(events) == ["refuse", "step_started"]
    assert events[-1].step_id == "return" and d.s.status is Status.PROCESSED
    assert d.s.processed_at == at(3, 9) and d.s.decided_at == at(3, 9)
    assert d.s.clock.running_since is None and d.m.next_wake() == d.m.run().ledger.due_at
    d.act("return", RETURNER, at(4, 9))
    assert d.s.status is Status.RETURNED and d.s.outcome == "refused"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("accepted", [("accept", "01")]),
        ("refused_at_intake", [("refuse", "03")]),
        ("supplement_at_intake", [("request_supplement", "02"), ("accept", "01")]),
        ("expired_at_intake", [("request_supplement", "02"), ("supplement_expired", "03")]),
        (
            "expired_in_appraisal",
            [("accept", "01"), ("request_supplement", "02"), ("supplement_expired", "05")],
        ),
        ("extended", [("accept", "01"), ("request_extension", "04")]),
        ("withdrawn", [("accept", "01"), ("stopped", "05")]),
    ],
)
def test_forms_are_requested_on_the_right_events(
    path: str, expected: list[tuple[str, str]]
) -> None:
    d = Dossier(submitted=at(0, 10))
    if path == "refused_at_intake":
        d.act("refuse", INTAKE, at(0, 10, 5), comment="Không thuộc thẩm quyền")
        assert d.s.status is Status.NOT_RECEIVED and d.s.outcome == "not_received"
    elif path in ("supplement_at_intake", "expired_at_intake"):
        d.act("request_supplement", INTAKE, at(0, 10, 5))
        if path == "supplement_at_intake":
            d.act("supplement", APPLICANT, at(1, 9))
            d.act("accept", INTAKE, at(1, 10))
        else:
            d.tick(closing(24))
    else:
        d.received_and_handed_off(at(0, 10, 5), at(0, 10, 10))
        if path == "expired_in_appraisal":
            d.act("request_supplement", SPECIALIST, at(1, 9))
            d.tick(closing(25))
        elif path == "extended":
            d.act("request_extension", LEADER, at(2, 9))
        elif path == "withdrawn":
            d.act("withdraw", INTAKE, at(2, 9), comment="Công dân xin rút tại quầy")
    assert forms(d.events) == expected


def test_every_event_says_who_when_where_and_comes_in_order() -> None:
    d = Dossier(submitted=at(0, 10), code="H99.01-300107-0042")
    d.act("request_supplement", INTAKE, at(0, 10, 30))
    d.act("supplement", APPLICANT, at(1, 9))
    d.act("accept", INTAKE, at(1, 9, 30))
    d.ack(at(1, 9, 35))
    d.act("request_supplement", SPECIALIST, at(2, 9))
    d.act("supplement", INTAKE, at(3, 9))
    d.act("request_extension", LEADER, at(3, 10))
    d.act("appraise", SPECIALIST, at(4, 9), data={"opinion": "Đạt", "recommendation": "grant"})
    d.tick(at(7, 9))
    d.act("approve", LEADER, at(7, 10))
    d.act("sign", SIGNER, at(7, 11), data={"document": "GP-01.pdf", "sha256": "ab" * 32})
    d.act("return", RETURNER, at(8, 9), data={"channel": "post", "received_by": "Nguyễn Văn An"})
    events = d.events

    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.id for e in events] == [f"H99.01-300107-0042:{e.seq}" for e in events]
    assert d.s.event_seq == len(events) == d.m.view(at(8, 10)).event_seq
    assert all(e.dossier_code == "H99.01-300107-0042" for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)
    for before, after in itertools.pairwise(events):
        assert after.status_before == before.status_after, (before.kind, after.kind)
    humans = {
        INTAKE.id: INTAKE,
        APPLICANT.id: APPLICANT,
        SPECIALIST.id: SPECIALIST,
        LEADER.id: LEADER,
        SIGNER.id: SIGNER,
        RETURNER.id: RETURNER,
    }
    for e in events:
        assert e.actor_id and e.role and e.at.tzinfo is not None
        if e.actor_id == "system":
            assert e.role is Role.SYSTEM
        else:
            actor = humans[e.actor_id]
            assert (e.role, e.agency, e.actor_name) == (actor.role, actor.agency, actor.name)
        # The submission precedes every step; everything after it happens at a step.
        if e.kind != "submitted":
            assert e.step_id is not None and e.step_kind is not None, e.kind
    assert events[0].kind == "submitted" and events[0].data["channel"] == "online"
    assert [(e.kind, e.step_id) for e in events if e.role is not Role.SYSTEM] == [
        ("submitted", None),
        ("request_supplement", "intake"),
        ("supplement", "intake"),
        ("accept", "intake"),
        ("request_supplement", "appraisal"),
        ("supplement", "appraisal"),
        ("request_extension", "appraisal"),
        ("appraise", "appraisal"),
        ("approve", "approval"),
        ("sign", "signature"),
        ("return", "return"),
    ]
    assert events[-1].status_after is Status.RETURNED and events[-1].data["channel"] == "post"
    assert d.s.status.national_code == 10


def test_same_inputs_give_the_same_events() -> None:
    def run() -> list[dict[str, Any]]:
        d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
        d.act("request_supplement", SPECIALIST, at(1, 9))
        d.act("supplement", APPLICANT, at(2, 9))
        d.tick(at(30, 9))
        return [e.model_dump() for e in d.events]

    assert run() == run()


def test_a_machine_rebuilt_from_carried_state_continues_identically() -> None:
    # Continue-as-new carries the state through the JSON payload converter.
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    d.act("request_supplement", SPECIALIST, at(1, 9))
    carried = d.m.s.model_dump(mode="json")
    inp = d.m.inp.model_copy(update={"carried_state": type(d.m.s).model_validate(carried)})
    again = DossierMachine(inp)
    again.start(at(1, 10))  # a no-op for a carried state
    assert not again.has_new_events
    assert again.view(at(1, 10)) == d.m.view(at(1, 10))
    assert again.next_wake() == d.m.next_wake()
    cmd = ActionInput(actor=APPLICANT, data=VALID_DATA[Action.SUPPLEMENT])
    again.apply(Action.SUPPLEMENT, cmd, at(2, 9))
    d.m.apply(Action.SUPPLEMENT, cmd, at(2, 9))
    assert [e.model_dump() for e in again.drain()] == [e.model_dump() for e in d.m.drain()]
    assert again.s.model_dump(mode="json") == d.m.s.model_dump(mode="json")


def test_an_action_for_a_step_the_dossier_has_left_is_refused_naming_where_it_is() -> None:
    d = Dossier(submitted=at(0, 10)).received_and_handed_off(at(0, 10, 5), at(0, 10, 10))
    step = d.m.view(at(1, 9)).current_step
    assert step is not None
    here = step.step_id
    saw_intake = ActionInput(
        actor=SPECIALIST,
        data=VALID_DATA[Action.APPRAISE],
        expected_step=d.m.procedure.steps[0].id,
    )
    before = d.s.model_dump()
    with pytest.raises(Refusal) as refused:
        d.m.apply(Action.APPRAISE, saw_intake, at(1, 9))
    assert refused.value.code == "wrong_step" and here in refused.value.message
    assert d.s.model_dump() == before and not d.m.has_new_events
    # At the step it saw: taken (and the step after is not the same step).
    d.m.apply(
        Action.APPRAISE,
        ActionInput(actor=SPECIALIST, data=VALID_DATA[Action.APPRAISE], expected_step=here),
        at(1, 9, 5),
    )
    again = ActionInput(actor=SPECIALIST, data=VALID_DATA[Action.APPRAISE], expected_step=here)
    with pytest.raises(Refusal) as refused:
        d.m.check(Action.APPRAISE, again, at(1, 9, 10))
    assert refused.value.code == "wrong_step"
    assert f"không còn ở bước '{here}'" in refused.value.message


def test_a_request_taken_once_is_not_taken_again_even_after_continue_as_new() -> None:
    d = Dossier(submitted=at(0, 10))
    d.m.apply(Action.ACCEPT, ActionInput(actor=INTAKE, request_id="act-1"), at(0, 10, 5))
    assert d.s.requests_taken == ["act-1"]
    # The next run of the workflow starts from the carried state.
    carried = DossierMachine(
        d.m.inp.model_copy(update={"carried_state": d.s.model_copy(deep=True)}), d.m.calendar
    )
    for machine in (d.m, carried):
        with pytest.raises(Refusal) as refused:
            machine.check(Action.WITHDRAW, _withdraw("act-1"), at(0, 11))
        assert refused.value.code == "already_taken"
        machine.check(Action.WITHDRAW, _withdraw("act-2"), at(0, 11))  # another request
        machine.check(Action.WITHDRAW, _withdraw(None), at(0, 11))  # none named


def _withdraw(request_id: str | None) -> ActionInput:
    return ActionInput(actor=INTAKE, comment="Người nộp xin rút", request_id=request_id)
