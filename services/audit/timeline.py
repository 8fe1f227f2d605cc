"""The dossier's story read back from its history: its state at any instant, planned
versus actual time per step (the control slip), and the steps that made it late.

Two sources in the history say the same thing in two ways:
- the events (each with its instant), which are the whole truth about *when*;
- the view recorded with each batch of events, which is the machine's own picture of
  the dossier right after the batch (holder, due times, appointment, clock).

A batch may hold events of several instants (an action taken while the previous batch
was still being recorded, or the submission and the first action in one workflow
task). For an instant inside such a batch no recorded view exists, so the view's fields
are rebuilt by folding the events with the machine's own clock rules (domain.clock) and
the dossier's frozen calendar. Wherever a recorded view exists it is used as is; the
tests check that the fold agrees with every recorded view of the golden histories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain import clock
from domain.calendar import Duration, TimeUnit, WorkingCalendar
from domain.catalog import Role, Step, StepKind
from domain.dossier import Action, DossierView, Event, Ledger, Status, StepView
from domain.machine import STEP_ACTIONS
from services.audit.history import DossierRecord, events_of
from services.messages import T

Verdict = Literal["early", "on_time", "late"]

# Events after which the current step run has ended (the machine's _finish_run follows
# them in the same call). An intake-stage supplement request also ends the intake run.
_FINISHING = frozenset(
    {
        "accept",
        "refuse",
        "appraise",
        "approve",
        "reject",
        "sign",
        "pay",
        "return",
        "withdraw",
        "stopped",
        "handoff_acknowledged",
        "deemed_consent",
        "supplement_expired",
    }
)
_RUN_ESCALATIONS = frozenset({"step_budget", "handoff_unacknowledged"})
_NOT_OFFICERS = frozenset({Role.SYSTEM, Role.APPLICANT})


class TimelineState(BaseModel):
    """The dossier as of one instant."""

    at: datetime
    status: Status
    status_label: str
    step_id: str | None
    step_name: str | None
    step_kind: StepKind | None
    holder_role: Role | None  # who must act now
    holder_agency: str | None
    # The named officer the step is assigned to (phân công), when it is.
    holder_officer_id: str | None = None
    holder_officer_name: str | None = None
    step_due_at: datetime | None  # the current step's budget runs out (None while paused)
    appointment_at: datetime | None  # None before receipt and while the clock is paused
    clock_paused: bool
    paused_since: datetime | None
    time_paused_minutes: int  # real minutes the statutory clock has spent paused
    supplement_requests: int
    escalations: int  # escalations so far (step budget, apology, overdue, ...)
    overdue: bool  # the dossier went past its appointment at or before `at`
    last_event_seq: int
    # "view": the view fields come from a view recorded at the last event before `at`;
    # "events": `at` falls inside a batch, so they were rebuilt from the events.
    source: Literal["view", "events"]


class StepRecord(BaseModel):
    """One pass through a step: planned against actual."""

    step_id: str
    step_name: str
    kind: StepKind
    agency: str
    role: Role  # the role that owns the step
    # Who ended it: the actor of the run's last event taken by an officer (neither the
    # system nor the applicant; an assignment or a claim aside); a run not ended yet and
    # assigned by name: its assignee; None when no officer acted (an automatic handoff).
    officer_id: str | None
    officer_name: str | None
    started_at: datetime
    planned_due_at: datetime | None  # the due time the run was judged against
    ended_at: datetime | None
    verdict: Verdict | None
    # Working minutes from planned_due_at to ended_at when late; for a run still open at
    # the end of the record and past its due time, up to the record's last instant.
    late_by_working_minutes: int
    escalated: bool


class SupplementRequestRecord(BaseModel):
    """Who asked the applicant for a supplement, when (the second and later requests make
    a dossier late under Decision 766)."""

    at: datetime
    officer_id: str
    officer_name: str
    agency: str | None
    step_id: str | None


class DelayAttribution(BaseModel):
    dossier_code: str
    procedure_code: str
    appointment_at: datetime | None  # the appointment as it finally stood
    overdue_at: datetime  # when it became late: the machine's overdue, or the 2nd request
    finished_at: datetime | None  # processed_at (result ready), None if never processed
    overdue_by_working_minutes: int
    culprits: list[StepRecord]  # the late step runs, the largest delay first
    # Why it is on the late list: past its appointment ("overdue"), or asked for a
    # supplement more than once ("supplements", Decision 766 counts it late however early).
    reason: Literal["overdue", "supplements"] = "overdue"
    supplement_requests: list[SupplementRequestRecord] = Field(default_factory=list)


# -- state at an instant ------------------------------------------------------------


def state_at(record: DossierRecord, at: datetime) -> TimelineState:
    """The dossier as of instant `at`, from the history alone.

    The events that had happened by `at` are those up to the last one stamped at or
    before it (in sequence order). When they end with a recorded batch, that batch's
    view gives the state; otherwise (`at` inside a batch) it is rebuilt from the events
    (`state_from_events`). Raises ValueError for an instant before submission."""
    upto = _happened(record, at)
    last = upto[-1].seq
    view = next((b.view for b in record.batches if b.view.event_seq == last), None)
    if view is not None:
        return _from_view(view, upto, at)
    return _fold(record, upto).state(at, upto)


def state_from_events(record: DossierRecord, at: datetime) -> TimelineState:
    """Like `state_at`, but always rebuilt from the events with the machine's clock rules,
    never read from a recorded view: where both exist they must agree, which is a check
    that the views in the history tell the same story as its events."""
    upto = _happened(record, at)
    return _fold(record, upto).state(at, upto)


def _happened(record: DossierRecord, at: datetime) -> list[Event]:
    if at.tzinfo is None:
        raise ValueError(T("naive_instant", at=at.isoformat()))
    submitted = record.input.submitted_at
    if at < submitted:
        raise ValueError(T("before_submission", code=record.input.code, submitted=submitted, at=at))
    events = events_of(record)
    stamped = [e.seq for e in events if e.at <= at]
    if not stamped:
        raise ValueError(T("no_event_before", code=record.input.code, at=at))
    last = max(stamped)
    return [e for e in events if e.seq <= last]


def _fold(record: DossierRecord, events: list[Event]) -> _Fold:
    fold = _Fold(record)
    for event in events:
        fold.apply(event)
    return fold


def timeline(record: DossierRecord) -> list[TimelineState]:
    """One state per recorded batch, in order: the dossier's story. Each state is dated
    at the last instant of its batch's events."""
    events = events_of(record)
    states = []
    for batch in record.batches:
        if not batch.events:
            continue
        seq = batch.view.event_seq
        upto = [e for e in events if e.seq <= seq]
        states.append(_from_view(batch.view, upto, max(e.at for e in batch.events)))
    return states


def _from_view(view: DossierView, upto: list[Event], at: datetime) -> TimelineState:
    step = view.current_step
    holder = view.holder
    return TimelineState(
        at=at,
        status=view.status,
        status_label=view.status_label,
        step_id=step.step_id if step else None,
        step_name=step.name if step else None,
        step_kind=step.kind if step else None,
        holder_role=holder.role if holder else None,
        holder_agency=holder.agency if holder else None,
        holder_officer_id=holder.officer_id if holder else None,
        holder_officer_name=(holder.officer_name or None) if holder and holder.officer_id else None,
        step_due_at=step.due_at if step else None,
        appointment_at=view.appointment_at,
        clock_paused=view.clock_paused,
        paused_since=view.paused_since,
        time_paused_minutes=view.time_paused_minutes,
        source="view",
        **_counts(upto),
    )


def _counts(upto: list[Event]) -> dict[str, Any]:
    return {
        "supplement_requests": sum(e.kind == Action.REQUEST_SUPPLEMENT.value for e in upto),
        "escalations": sum(e.kind in ("escalated", "overdue") for e in upto),
        "overdue": any(e.kind == "overdue" for e in upto),
        "last_event_seq": upto[-1].seq if upto else 0,
    }


# -- control slip and delay attribution ---------------------------------------------


def control_slip(record: DossierRecord) -> list[StepRecord]:
    """Planned against actual for every step run, in the order the runs started (a step
    visited twice, e.g. intake after a supplement, gives two records)."""
    events = events_of(record)
    fold = _fold(record, events)
    # The machine's own picture of each run: the last view showing it, by (index, start).
    seen: dict[tuple[int, datetime], StepView] = {}
    for batch in record.batches:
        for step in batch.view.steps:
            if step.started_at is not None:
                seen[(step.index, step.started_at)] = step
    cal = record.calendar
    closed = bool(record.batches) and record.batches[-1].view.closed_at is not None
    slip = []
    for run in fold.runs:
        sv = seen.get((run.index, run.started_at))
        if sv is not None and sv.ended_at is not None:
            ended: datetime | None = sv.ended_at
            due = sv.due_at
            verdict = _as_verdict(sv.verdict)
            escalated = sv.escalated or run.escalated
        else:
            ended, verdict, escalated = run.ended_at, run.verdict, run.escalated
            due = run.due_at_end if run.ended_at is not None else run.ledger.due_at
        late = 0
        if verdict == "late" and due is not None and ended is not None:
            late = cal.office_minutes_between(due, ended)
        elif ended is None and not closed and due is not None:
            late = cal.office_minutes_between(due, record.last_event_at)
        officer = _officer(events, run)
        officer_id = officer.actor_id if officer else None
        officer_name = officer.actor_name if officer else None
        if ended is None and run.assignee is not None:
            # Not ended yet, and held by name: the assignee is who must end it.
            officer_id, officer_name = run.assignee[0], run.assignee[1] or None
        slip.append(
            StepRecord(
                step_id=run.step.id,
                step_name=run.step.name,
                kind=run.step.kind,
                agency=run.agency,
                role=run.step.role,
                officer_id=officer_id,
                officer_name=officer_name,
                started_at=run.started_at,
                planned_due_at=due,
                ended_at=ended,
                verdict=verdict,
                late_by_working_minutes=late,
                escalated=escalated,
            )
        )
    return slip


def supplement_attribution(record: DossierRecord) -> DelayAttribution | None:
    """A dossier asked for a supplement more than once, on the late list for that
    (Decision 766): who asked, when; None when it was asked at most once."""
    if not record.batches:
        return None
    view = record.batches[-1].view
    asked = [e for e in events_of(record) if e.kind == "request_supplement"]
    if len(asked) < 2:
        return None
    return DelayAttribution(
        dossier_code=view.code,
        procedure_code=view.procedure_code,
        appointment_at=view.appointment_at,
        overdue_at=asked[1].at,
        finished_at=view.processed_at,
        overdue_by_working_minutes=0,
        culprits=[],
        reason="supplements",
        supplement_requests=[
            SupplementRequestRecord(
                at=e.at,
                officer_id=e.actor_id,
                officer_name=e.actor_name,
                agency=e.agency,
                step_id=e.step_id,
            )
            for e in asked
        ],
    )


def delay_attribution(record: DossierRecord) -> DelayAttribution | None:
    """Who made the dossier late, or None when it never went past its appointment (the
    machine's own notion: an `overdue` event). For a dossier still open, lateness is
    measured up to the last instant the history records."""
    if not record.batches:
        return None
    view = record.batches[-1].view
    overdue_events = [e for e in events_of(record) if e.kind == "overdue"]
    if view.overdue is None and not overdue_events:
        return None
    overdue_at = view.overdue.at if view.overdue else overdue_events[0].at
    # The appointment as it finally stood; while paused there is none, so the one missed
    # (the overdue timer fires at the appointment, so its instant stands in for it).
    appointment = view.appointment_at or (view.overdue.appointment if view.overdue else overdue_at)
    end = view.processed_at or view.closed_at or record.last_event_at
    late = [
        r
        for r in control_slip(record)
        if r.verdict == "late" or (r.ended_at is None and r.late_by_working_minutes > 0)
    ]
    late.sort(key=lambda r: r.late_by_working_minutes, reverse=True)
    return DelayAttribution(
        dossier_code=view.code,
        procedure_code=view.procedure_code,
        appointment_at=appointment,
        overdue_at=overdue_at,
        finished_at=view.processed_at,
        overdue_by_working_minutes=record.calendar.office_minutes_between(appointment, end),
        culprits=late,
    )


# Who holds a step is not who acted on it: a leader's assignment names no one who ended it.
_NOT_STEP_WORK = frozenset({Action.ASSIGN.value, Action.CLAIM.value})


def _officer(events: list[Event], run: _Run) -> Event | None:
    """The last event of the run taken by an officer (not the system, not the applicant),
    an assignment or a claim aside."""
    if run.end_seq is not None:
        last = run.end_seq
    elif run.next_seq is not None:
        last = run.next_seq - 1
    else:
        last = events[-1].seq if events else 0
    found = None
    for e in events:
        in_run = run.start_seq <= e.seq <= last and e.step_id == run.step.id
        if in_run and e.role not in _NOT_OFFICERS and e.kind not in _NOT_STEP_WORK:
            found = e
    return found


_VERDICTS: dict[str | None, Verdict] = {"early": "early", "on_time": "on_time", "late": "late"}


def _as_verdict(value: str | None) -> Verdict | None:
    return _VERDICTS.get(value)


def _verdict(cal: WorkingCalendar, due: datetime | None, ended: datetime) -> Verdict | None:
    """The machine's rule (DossierMachine._finish_run)."""
    if due is None:
        return None
    if ended > due:
        return "late"
    if cal.local(ended).date() == cal.local(due).date():
        return "on_time"
    return "early"


# -- rebuilding the view's fields from the events -----------------------------------


@dataclass
class _Run:
    index: int
    step: Step
    agency: str
    started_at: datetime
    start_seq: int
    ledger: Ledger
    ended_at: datetime | None = None
    end_seq: int | None = None
    next_seq: int | None = None  # seq of the next run's step_started
    due_at_end: datetime | None = None
    verdict: Verdict | None = None
    escalated: bool = False
    forwarded: bool = False
    assignee: tuple[str, str] | None = None  # (login id, name): assigned or claimed


@dataclass
class _Fold:
    """The machine's state, as far as the timeline needs it, rebuilt event by event with
    the machine's own clock functions."""

    record: DossierRecord
    status: Status = Status.SUBMITTED
    runs: list[_Run] = field(default_factory=list)
    closed: bool = False
    clock: Ledger | None = None
    issuing: bool = False
    supplement_stage: str | None = None

    @property
    def cal(self) -> WorkingCalendar:
        return self.record.calendar

    def current(self) -> _Run | None:
        return None if self.closed or not self.runs else self.runs[-1]

    def apply(self, e: Event) -> None:
        run = self.current()
        kind, data = e.kind, e.data
        if kind == "step_started":
            self._start(e, run)
        elif kind == Action.ACCEPT.value:
            self._accept(e)
        elif kind == Action.REQUEST_SUPPLEMENT.value:
            self.supplement_stage = str(data.get("stage", "")) or None
            if self.supplement_stage != StepKind.INTAKE.value and run is not None:
                if self.clock is not None:
                    clock.pause(self.cal, self.clock, e.at)
                clock.pause(self.cal, run.ledger, e.at)
            elif run is not None:
                self._finish(run, e)
        elif kind == Action.SUPPLEMENT.value:
            stage, self.supplement_stage = self.supplement_stage, None
            if stage != StepKind.INTAKE.value and run is not None:
                if self.clock is not None:
                    clock.resume(self.cal, self.clock, e.at, appointment=True)
                    if data.get("appointment_at"):
                        self.clock.due_at = _instant(data["appointment_at"])
                clock.resume(self.cal, run.ledger, e.at, appointment=False)
        elif kind == Action.REQUEST_EXTENSION.value:
            if self.clock is not None and self.clock.due_at is not None:
                new = _instant(data["new_appointment"])
                if new > self.clock.due_at:
                    clock.extend_to(self.cal, self.clock, new)
        elif kind == Action.FORWARD.value and run is not None:
            run.forwarded = True
        elif kind in (Action.ASSIGN.value, Action.CLAIM.value) and run is not None:
            run.assignee = (str(data["assignee_id"]), str(data.get("assignee_name") or ""))
        elif kind == "signing_started":
            self.issuing = True
        elif kind in ("signing_failed", "result_issued"):
            self.issuing = False
        elif (
            kind == "escalated"
            and run is not None
            and data.get("escalation") in _RUN_ESCALATIONS
            and e.step_id == run.step.id
        ):
            run.escalated = True
        if kind in _FINISHING and run is not None:
            self._finish(run, e)
        if e.status_after is not None:
            self.status = e.status_after
        if self.status.terminal and not self.closed:
            if run is not None:
                self._finish(run, e)
            if self.clock is not None:
                clock.stop(self.cal, self.clock, e.at)
            self.supplement_stage = None
            self.closed = True

    def _start(self, e: Event, previous: _Run | None) -> None:
        steps = self.record.input.procedure.steps
        index = next((i for i, s in enumerate(steps) if s.id == e.step_id), None)
        if index is None:
            raise ValueError(f"event {e.id}: step {e.step_id!r} is not in the procedure")
        if previous is not None:
            previous.next_seq = e.seq
            if previous.ended_at is None:
                self._finish(previous, e, seq=e.seq - 1)
        step = steps[index]
        ledger = clock.new_ledger(self.cal, step.budget, e.at, appointment=False)
        if e.data.get("due_at"):
            ledger.due_at = _instant(e.data["due_at"])
        agency = str(e.data.get("owner_agency") or self.record.input.step_agencies[index])
        self.runs.append(
            _Run(
                index=index,
                step=step,
                agency=agency,
                started_at=e.at,
                start_seq=e.seq,
                ledger=ledger,
            )
        )
        if step.pauses_clock and self.clock is not None:
            clock.pause(self.cal, self.clock, e.at)
        if step.kind is StepKind.RETURN and self.clock is not None:
            clock.stop(self.cal, self.clock, e.at)

    def _accept(self, e: Event) -> None:
        procedure = self.record.input.procedure
        received = _instant(e.data.get("received_at") or self.record.input.submitted_at)
        statutory = _duration(str(e.data.get("statutory_time") or procedure.statutory_time))
        start = self.cal.counting_start(received, statutory.unit, procedure.receipt_cutoff)
        self.clock = clock.new_ledger(self.cal, statutory, start, appointment=True)
        if e.data.get("appointment_at"):
            self.clock.due_at = _instant(e.data["appointment_at"])

    def _finish(self, run: _Run, e: Event, *, seq: int | None = None) -> None:
        if run.ended_at is not None:
            return
        run.ended_at = e.at
        run.end_seq = e.seq if seq is None else seq
        run.due_at_end = run.ledger.due_at
        run.verdict = _verdict(self.cal, run.ledger.due_at, e.at)
        run.ledger.consumed_minutes = clock.consumed_now(self.cal, run.ledger, e.at)
        run.ledger.running_since = None
        if run.step.pauses_clock and self.clock is not None and self.clock.paused_since:
            clock.resume(self.cal, self.clock, e.at, appointment=True)

    def _holder(self) -> tuple[Role, str | None] | None:
        """Who must act (DossierMachine.view: the first step action allowed, or the
        applicant while a supplement is awaited)."""
        run = self.current()
        if run is None:
            return None
        if self.status is Status.SUPPLEMENT_REQUESTED:
            return Role.APPLICANT, None
        if self.issuing:
            return None
        step = run.step
        for action in STEP_ACTIONS[step.kind]:
            if action is Action.FORWARD:
                if not (step.auto or run.forwarded):
                    return Role.INTAKE_OFFICER, self.record.input.centre_agency
                continue
            return step.role, run.agency
        return None

    def state(self, at: datetime, upto: list[Event]) -> TimelineState:
        run = self.current()
        holder = self._holder()
        c = self.clock
        named = run.assignee if run and holder and holder[0] is not Role.APPLICANT else None
        return TimelineState(
            at=at,
            status=self.status,
            status_label=self.status.label_vi,
            step_id=run.step.id if run else None,
            step_name=run.step.name if run else None,
            step_kind=run.step.kind if run else None,
            holder_role=holder[0] if holder else None,
            holder_agency=holder[1] if holder else None,
            holder_officer_id=named[0] if named else None,
            holder_officer_name=(named[1] or None) if named else None,
            step_due_at=run.ledger.due_at if run else None,
            appointment_at=c.due_at if c and c.due_at else None,
            clock_paused=bool(c and c.paused_since),
            paused_since=c.paused_since if c else None,
            time_paused_minutes=c.paused_minutes_total if c else 0,
            source="events",
            **_counts(upto),
        )


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _duration(text: str) -> Duration:
    """Parse `str(Duration)`: '15 working days', '0.5 working days', '8 working hours'."""
    value, *unit = text.split()
    return Duration(value=float(value), unit=TimeUnit("_".join(unit)))
