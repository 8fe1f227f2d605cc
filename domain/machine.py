"""The dossier's rules as a pure state machine.

The workflow (workflows/dossier.py) is a thin durable shell around this class:
update validators call `check`, update handlers call `apply`, the main loop
sleeps until `next_wake` and then calls `on_time`, and events drained with
`drain` are recorded by activities. Nothing here does I/O or reads a clock:
`now` is always passed in (workflow.now() in the workflow), and the calendar is
the frozen snapshot in the dossier's input, so the same inputs always give the
same decisions, which is what Temporal replay and the auditors need.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain import clock
from domain.calendar import Duration, TimeUnit, WorkingCalendar
from domain.catalog import Role, Step, StepKind
from domain.dossier import (
    SYSTEM_ACTOR,
    Action,
    ActionInput,
    Actor,
    AllowedAction,
    ChildRun,
    DocumentRef,
    DossierInput,
    DossierState,
    DossierView,
    Escalation,
    EscalationKind,
    Event,
    Exclusion,
    Extension,
    Inspection,
    Issuing,
    Overdue,
    ResultDocument,
    ResultRequest,
    Status,
    StepRun,
    StepView,
    find_nul,
)

# How many of the last requests taken a dossier remembers (`DossierState.requests_taken`):
# retries come within minutes, and a dossier takes a few dozen actions in its life.
REQUESTS_KEPT = 100


class Refusal(Exception):
    """An action refused with a reason. `code` tells the API which HTTP status fits:
    forbidden (403), wrong_step / closed (409), invalid (422)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# What each step kind lets its owner do. Withdrawal, supplement and extension are
# handled separately: they belong to the applicant or the responsible leader.
STEP_ACTIONS: dict[StepKind, tuple[Action, ...]] = {
    StepKind.INTAKE: (Action.ACCEPT, Action.REQUEST_SUPPLEMENT, Action.REFUSE),
    StepKind.HANDOFF: (Action.FORWARD,),
    StepKind.APPRAISAL: (
        Action.APPRAISE,
        Action.SCHEDULE_INSPECTION,
        Action.REQUEST_SUPPLEMENT,
        Action.REFUSE,
    ),
    StepKind.CONSULTATION: (Action.APPRAISE, Action.REQUEST_SUPPLEMENT),
    StepKind.APPROVAL: (Action.APPROVE, Action.REJECT),
    StepKind.SIGNATURE: (Action.SIGN,),
    StepKind.PAYMENT: (Action.PAY,),
    StepKind.LINKED: (),
    StepKind.RETURN: (Action.RETURN,),
}

# Status while a step of this kind is current (before any decision).
STATUS_FOR_KIND: dict[StepKind, Status] = {
    StepKind.INTAKE: Status.SUBMITTED,
    StepKind.HANDOFF: Status.RECEIVED,
    StepKind.APPRAISAL: Status.IN_PROGRESS,
    StepKind.CONSULTATION: Status.IN_PROGRESS,
    StepKind.APPROVAL: Status.IN_PROGRESS,
    StepKind.SIGNATURE: Status.IN_PROGRESS,
    StepKind.PAYMENT: Status.FINANCIAL_OBLIGATION,
    StepKind.LINKED: Status.IN_PROGRESS,
    StepKind.RETURN: Status.PROCESSED,
}

RETURN_CHANNELS = ("counter", "post", "online")
_documents = TypeAdapter(list[DocumentRef])


class DossierMachine:
    def __init__(self, inp: DossierInput, calendar: WorkingCalendar | None = None) -> None:
        self.inp = inp
        self.procedure = inp.procedure
        self.calendar = calendar or inp.calendar
        self.s: DossierState = inp.carried_state or DossierState(documents=list(inp.documents))
        self._new_events: list[Event] = []
        # Results are rendered, signed and sealed by activities (the workflow turns this
        # on behind a patch; histories from before it replay with plain sign events).
        self.signs_results = False
        if self.s.arrival_at is None:
            self.s.arrival_at = inp.submitted_at

    # -- lifecycle -----------------------------------------------------------------

    def start(self, now: datetime) -> None:
        """Open the intake step. Called once, at the very start of the first run."""
        if self.s.runs:
            return
        self._emit(
            "submitted",
            self.inp.submitted_by,
            self.inp.submitted_at,
            status_after=Status.SUBMITTED,
            data={
                "channel": self.inp.channel.value,
                "documents": [d.model_dump() for d in self.inp.documents],
            },
        )
        self._enter_step(0, self.inp.submitted_at)

    @property
    def closed(self) -> bool:
        return self.s.closed_at is not None

    def drain(self) -> list[Event]:
        events, self._new_events = self._new_events, []
        return events

    @property
    def has_new_events(self) -> bool:
        return bool(self._new_events)

    # -- current step --------------------------------------------------------------

    def step(self, index: int | None = None) -> Step:
        return self.procedure.steps[self.s.step_index if index is None else index]

    def run(self) -> StepRun | None:
        if self.closed or not self.s.runs:
            return None
        return self.s.runs[-1]

    def step_agency(self, index: int | None = None) -> str:
        return self.inp.step_agencies[self.s.step_index if index is None else index]

    def pending_handoff(self) -> StepRun | None:
        """The handoff the workflow must send now, if any (auto, or after `forward`)."""
        run = self.run()
        if run is None or run.kind is not StepKind.HANDOFF or run.ended_at is not None:
            return None
        if self.s.status in (Status.SUPPLEMENT_REQUESTED,):
            return None
        if self.step().auto or run.outcome == "forwarded":
            return run
        return None

    # -- authorisation -------------------------------------------------------------

    def allowed_actions(self, now: datetime) -> list[AllowedAction]:
        """Every action that may be taken now, with the role and agency that may take it
        (as things stand once any due timer has fired)."""
        return self._settled(now)._allowed_now(now)

    def _settled(self, now: datetime) -> DossierMachine:
        """This machine, or a copy with its due timers fired: reading never changes state."""
        wake = self.next_wake()
        if wake is None or wake > now:
            return self
        twin = self.copy()
        twin.on_time(now)
        return twin

    def _allowed_now(self, now: datetime) -> list[AllowedAction]:
        if self.closed:
            return []
        allowed: list[AllowedAction] = []
        run = self.run()
        waiting_for_applicant = self.s.status is Status.SUPPLEMENT_REQUESTED
        # While the result is being signed nobody acts on the step (withdrawal and the
        # leader's extension stay open: they do not depend on the step).
        if run is not None and not waiting_for_applicant and self.s.issuing is None:
            step = self.step()
            for action in STEP_ACTIONS[step.kind]:
                if action is Action.FORWARD:
                    # The sending centre forwards a manual handoff; the receiver acknowledges.
                    if not (step.auto or run.outcome == "forwarded"):
                        allowed.append(
                            AllowedAction(
                                action=action,
                                role=Role.INTAKE_OFFICER,
                                agency=self.inp.centre_agency,
                                step_id=step.id,
                            )
                        )
                    continue
                allowed.append(
                    AllowedAction(
                        action=action, role=step.role, agency=self.step_agency(), step_id=step.id
                    )
                )
                if action is Action.PAY:
                    # The payment gateway's confirmation (a signed callback) also settles it.
                    allowed.append(
                        AllowedAction(action=action, role=Role.SYSTEM, agency=None, step_id=step.id)
                    )
        if waiting_for_applicant:
            allowed.append(
                AllowedAction(action=Action.SUPPLEMENT, role=Role.APPLICANT, agency=None)
            )
            allowed.append(
                AllowedAction(
                    action=Action.SUPPLEMENT,
                    role=Role.INTAKE_OFFICER,
                    agency=self.inp.centre_agency,
                )
            )
        if self.s.decided_at is None:
            allowed.append(AllowedAction(action=Action.WITHDRAW, role=Role.APPLICANT, agency=None))
            allowed.append(
                AllowedAction(
                    action=Action.WITHDRAW, role=Role.INTAKE_OFFICER, agency=self.inp.centre_agency
                )
            )
        if self._extension_open(now):
            for agency in self._extension_agencies():
                allowed.append(
                    AllowedAction(action=Action.REQUEST_EXTENSION, role=Role.LEADER, agency=agency)
                )
        return allowed

    def _extension_agencies(self) -> list[str]:
        agencies = [self.inp.competent_agency]
        run = self.run()
        if run is not None and run.agency not in agencies and run.agency != self.inp.centre_agency:
            agencies.append(run.agency)
        return agencies

    def _extension_open(self, now: datetime) -> bool:
        c = self.s.clock
        if c is None or c.due_at is None or self.s.processed_at is not None:
            return False
        if len(self.s.extensions) >= self.procedure.max_extensions:
            return False
        return now <= self.calendar.latest_extension_request(c.due_at)

    def _authorise(self, action: Action, actor: Actor, now: datetime) -> None:
        options = [a for a in self._allowed_now(now) if a.action is action]
        if not options:
            code = "closed" if self.closed else "wrong_step"
            raise Refusal(code, self._why_not_now(action, now))
        for option in options:
            if option.role is not actor.role:
                continue
            if option.role is Role.APPLICANT:
                account = self.inp.applicant.account
                if account is not None and account == actor.id:
                    return
                continue
            if option.agency == actor.agency:
                return
        who = " or ".join(
            f"{o.role.value}"
            + (f" of {o.agency}" if o.agency else " (the dossier's own applicant)")
            for o in options
        )
        raise Refusal(
            "forbidden",
            f"'{action.value}' on {self.inp.code} must be taken by {who}; "
            f"{actor.id} is {actor.role.value}" + (f" of {actor.agency}" if actor.agency else ""),
        )

    def _why_not_now(self, action: Action, now: datetime) -> str:
        where = self._where()
        if self.closed:
            return f"dossier {self.inp.code} is closed ({self.s.status.value}); '{action.value}' is no longer possible"
        if action is Action.SUPPLEMENT:
            return f"no supplement was requested; the dossier is {where}"
        if action is Action.WITHDRAW:
            return f"the decision has been made; a withdrawal is no longer possible ({where})"
        if action is Action.REQUEST_EXTENSION:
            c = self.s.clock
            if c is None:
                return "the dossier has not been received yet, so it has no appointment to extend"
            if self.s.processed_at is not None:
                return "the dossier has been processed; no extension is needed"
            if len(self.s.extensions) >= self.procedure.max_extensions:
                return "the appointment may be set anew only once, and it already was"
            if c.due_at is None:
                return "the clock is paused while the applicant supplements; there is no appointment to extend"
            latest = self.calendar.latest_extension_request(c.due_at)
            return (
                f"the apology and extension request (Form 04) had to be sent by "
                f"{latest.isoformat()}, one working day before the appointment {c.due_at.isoformat()}"
            )
        if self.s.status is Status.SUPPLEMENT_REQUESTED:
            return f"the dossier is waiting for the applicant's supplement ({where})"
        if self.s.issuing is not None:
            i = self.s.issuing
            return (
                f"the result is being signed ('{i.action.value}' by {i.actor.id} since "
                f"{i.started_at.isoformat()}); wait for the signature ({where})"
            )
        return f"'{action.value}' is not possible now: the dossier is {where}"

    def _where(self) -> str:
        run = self.run()
        if run is None:
            return f"closed as {self.s.status.value}"
        step = self.step()
        return (
            f"at step '{step.id}' ({step.kind.value}, held by {step.role.value} of "
            f"{self.step_agency()}), status {self.s.status.value}"
        )

    # -- actions -------------------------------------------------------------------

    def check(self, action: Action, cmd: ActionInput, now: datetime) -> None:
        """Raise Refusal when `action` may not be taken now by `cmd.actor`. No side effects.

        Timers that are due are taken into account (a supplement after its deadline is
        refused even if the workflow has not woken up yet), on a copy: validators must
        not change state."""
        machine = self._settled(now)
        machine._not_taken_yet(cmd.request_id)
        machine._expect_step(cmd.expected_step)
        machine._authorise(action, cmd.actor, now)
        machine._validate_data(action, cmd, now)

    def _not_taken_yet(self, request_id: str | None) -> None:
        if request_id is not None and request_id in self.s.requests_taken:
            raise Refusal(
                "already_taken",
                f"Yêu cầu này (cùng Idempotency-Key) đã được thực hiện trên hồ sơ "
                f"{self.inp.code}; thao tác không được thực hiện lần nữa",
            )

    def _expect_step(self, expected: str | None) -> None:
        """The caller acts on the step it saw (`ActionInput.expected_step`): refused when
        the dossier has moved on (or closed), naming where it is now."""
        if expected is None:
            return
        run = self.run()
        if run is None:
            raise Refusal(
                "closed",
                f"Hồ sơ {self.inp.code} không còn ở bước '{expected}': hồ sơ đã kết thúc "
                f"({self.s.status.value})",
            )
        step = self.step()
        if step.id != expected:
            raise Refusal(
                "wrong_step",
                f"Hồ sơ {self.inp.code} không còn ở bước '{expected}': hồ sơ đang ở bước "
                f"'{step.id}' ({step.name}), do {step.role.value} của {self.step_agency()} "
                "xử lý",
            )

    def apply(self, action: Action, cmd: ActionInput, now: datetime) -> None:
        """Take the action: due timers fire first, so the record shows what happened
        in the order it happened (overdue before a late signature)."""
        self.check(action, cmd, now)
        self.on_time(now)
        handler = getattr(self, f"_do_{action.value}")
        handler(cmd, now)
        if cmd.request_id is not None:
            kept = self.s.requests_taken[-(REQUESTS_KEPT - 1) :]
            self.s.requests_taken = [*kept, cmd.request_id]

    # -- the signed result ---------------------------------------------------------

    def issues_result(self, action: Action) -> bool:
        """Whether taking `action` now issues the result, so the workflow must render,
        sign and seal it before the action completes."""
        if not self.signs_results or self.closed or self.run() is None:
            return False
        index = self.procedure.issuing_step()
        if index is None or index != self.s.step_index:
            return False
        kind = self.step().kind
        if kind is StepKind.SIGNATURE:
            return action is Action.SIGN
        return kind is StepKind.APPROVAL and action in (Action.APPROVE, Action.REJECT)

    def begin_issuing(self, action: Action, cmd: ActionInput, now: datetime) -> ResultRequest:
        """The signer acted: hold the step while the activities sign the result."""
        self.check(action, cmd, now)
        self.on_time(now)
        granted = {Action.APPROVE: True, Action.REJECT: False}.get(
            action, self.s.outcome == "granted"
        )
        decision = cmd.comment if action in (Action.APPROVE, Action.REJECT) else ""
        decision = decision or self.s.decision_note
        spec = self.procedure.result_spec
        p = self.procedure
        title = (
            spec.title
            if granted
            else f"QUYẾT ĐỊNH về việc từ chối giải quyết hồ sơ {p.name[:1].lower()}{p.name[1:]}"
        )
        self.s.issuing = Issuing(action=action, actor=cmd.actor, started_at=now)
        self._emit(
            "signing_started",
            cmd.actor,
            now,
            comment=cmd.comment,
            data={"action": action.value, "granted": granted},
        )
        return ResultRequest(
            action=action,
            number=f"{self.inp.code}/{spec.number_suffix if granted else 'QĐ-TC'}",
            kind_title=title,
            granted=granted,
            decision_text=decision,
            reasons="" if granted else decision,
            signer=cmd.actor,
            signer_title=spec.signer_title,
            signing_agency=self.step_agency(),
            seal_agency=self.inp.centre_agency,
            legal_basis=list(p.legal_basis),
            requested_at=now,
        )

    def issuing_failed(self, message: str, now: datetime) -> None:
        """The signing activities gave up: the step is the signer's again."""
        issuing = self.s.issuing
        if issuing is None:
            return
        self.s.issuing = None
        self.s.signing_failures += 1
        self._emit(
            "signing_failed",
            issuing.actor,
            now,
            comment=message,
            data={"action": issuing.action.value, "failures": self.s.signing_failures},
        )

    def finish_issuing(
        self, action: Action, cmd: ActionInput, document: ResultDocument, now: datetime
    ) -> None:
        """The result is signed and sealed: record its hash, then take the action."""
        self.s.issuing = None
        self.check(action, cmd, now)
        self.s.result = document
        self._emit(
            "result_issued",
            cmd.actor,
            now,
            data={"document": document.model_dump(mode="json")},
        )
        signed = cmd.model_copy(
            update={
                "data": {
                    **{k: v for k, v in cmd.data.items() if k not in ("document", "sha256")},
                    "document": document.document_id,
                    "sha256": document.sha256,
                }
            }
        )
        self.apply(action, signed, now)

    def copy(self) -> DossierMachine:
        twin = DossierMachine(
            self.inp.model_copy(update={"carried_state": self.s.model_copy(deep=True)}),
            self.calendar,
        )
        twin.s.event_seq = self.s.event_seq
        twin.signs_results = self.signs_results
        return twin

    def _validate_data(self, action: Action, cmd: ActionInput, now: datetime) -> None:
        nul = find_nul({"comment": cmd.comment, "data": cmd.data})
        if nul:
            raise Refusal("invalid", f"{nul}: text may not contain NUL characters")
        needs_reason = (Action.REFUSE, Action.REJECT, Action.REQUEST_EXTENSION, Action.WITHDRAW)
        if action in needs_reason and not cmd.comment.strip():
            raise Refusal("invalid", f"'{action.value}' needs a reason in 'comment'")
        if action is Action.REQUEST_SUPPLEMENT:
            missing = cmd.data.get("missing")
            if (
                not isinstance(missing, list)
                or not missing
                or not all(isinstance(m, str) and m.strip() for m in missing)
            ):
                raise Refusal(
                    "invalid",
                    "data.missing must list every missing or incorrect "
                    "document at once (a non-empty list of strings; Form 02)",
                )
        if action is Action.SUPPLEMENT:
            self._documents(cmd)
        if action is Action.APPRAISE:
            opinion = cmd.data.get("opinion", cmd.comment)
            if not isinstance(opinion, str) or not opinion.strip():
                raise Refusal(
                    "invalid", "'appraise' needs the appraisal opinion in data.opinion or comment"
                )
            rec = cmd.data.get("recommendation", "grant")
            if rec not in ("grant", "refuse"):
                raise Refusal("invalid", "data.recommendation must be 'grant' or 'refuse'")
        if action is Action.RETURN:
            channel = cmd.data.get("channel", "counter")
            if channel not in RETURN_CHANNELS:
                raise Refusal(
                    "invalid", f"data.channel must be one of {', '.join(RETURN_CHANNELS)}"
                )
            if self.signs_results:
                self._return_record(cmd)
        if action is Action.REQUEST_EXTENSION:
            self._new_appointment(cmd, now)
        if action is Action.SCHEDULE_INSPECTION:
            self._inspection_time(cmd, now)

    def _documents(self, cmd: ActionInput) -> list[DocumentRef]:
        try:
            docs = _documents.validate_python(cmd.data.get("documents"))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise Refusal("invalid", f"data.documents.{where}: {first['msg']}") from None
        if not docs:
            raise Refusal("invalid", "data.documents must list the supplemented documents")
        return docs

    def _new_appointment(self, cmd: ActionInput, now: datetime) -> datetime:
        c = self.s.clock
        assert c is not None and c.due_at is not None
        cal = self.calendar
        raw = cmd.data.get("new_appointment")
        extra = cmd.data.get("extra_days")
        try:
            if raw is not None:
                day = date.fromisoformat(str(raw)[:10])
                if not cal.is_working_day(day):
                    raise Refusal(
                        "invalid", f"data.new_appointment {day.isoformat()} is not a working day"
                    )
                new = cal.closing(day)
            elif isinstance(extra, int) and not isinstance(extra, bool) and extra > 0:
                new = cal.closing(cal.nth_working_day_after(cal.local(c.due_at).date(), extra))
            else:
                raise Refusal(
                    "invalid",
                    "give data.new_appointment (YYYY-MM-DD) or data.extra_days "
                    "(a positive number of working days)",
                )
        except ValueError as exc:
            if isinstance(exc, Refusal):
                raise
            raise Refusal("invalid", f"data.new_appointment: {exc}") from None
        if new <= c.due_at:
            raise Refusal(
                "invalid",
                f"the new appointment {new.isoformat()} must be after the "
                f"current one {c.due_at.isoformat()}",
            )
        cap = self.procedure.max_extension
        if cap is not None:
            limit = cal.due(c.due_at, cap.minutes(cal.day_minutes), cap.unit)
            if new > limit:
                raise Refusal(
                    "invalid",
                    f"the new appointment may add at most {cap} "
                    f"(until {limit.isoformat()}); {new.isoformat()} is later",
                )
        return new

    # The handlers below run only after check() passed.

    def _statutory_time(self, verification: bool) -> Duration:
        """The time that applies to this dossier: the verification time when the intake
        officer says verification is needed, plus the remote-area extra when it applies."""
        p = self.procedure
        base = p.verification_time if verification and p.verification_time else p.statutory_time
        extra = p.remote_area_extra if self.inp.remote_area else None
        if extra is None:
            return base
        if extra.unit is not base.unit:
            minutes = base.minutes(self.calendar.day_minutes) + extra.minutes(
                self.calendar.day_minutes
            )
            if base.unit is TimeUnit.WORKING_DAYS:
                return Duration(value=minutes / self.calendar.day_minutes, unit=base.unit)
            return Duration(value=minutes / 60, unit=TimeUnit.WORKING_HOURS)
        return Duration(value=base.value + extra.value, unit=base.unit)

    def _do_accept(self, cmd: ActionInput, now: datetime) -> None:
        p, cal = self.procedure, self.calendar
        # Intake-stage supplements restart the clock from the complete dossier's arrival.
        received = self.s.arrival_at or self.inp.submitted_at
        statutory = self._statutory_time(bool(cmd.data.get("verification")))
        start = cal.counting_start(received, statutory.unit, p.receipt_cutoff)
        self.s.clock = clock.new_ledger(cal, statutory, start, appointment=True)
        self.s.received_at = received
        self._emit(
            Action.ACCEPT.value,
            cmd.actor,
            now,
            comment=cmd.comment,
            status_after=Status.RECEIVED,
            data={
                "received_at": received.isoformat(),
                "effective_receipt_day": cal.effective_receipt_day(
                    received, p.receipt_cutoff
                ).isoformat(),
                "appointment_at": self._iso(self.s.clock.due_at),
                "statutory_time": str(statutory),
                "remote_area": self.inp.remote_area,
                "form": "01",
            },
        )
        self._finish_run(now, "accepted", cmd.actor)
        self._advance(now)

    def _do_request_supplement(self, cmd: ActionInput, now: datetime) -> None:
        step = self.step()
        run = self.run()
        assert run is not None
        cal = self.calendar
        wait = self.procedure.supplement_wait
        self.s.supplement_requests += 1
        self.s.supplement_requested_at = now
        self.s.supplement_stage = step.kind
        start = cal.counting_start(now, wait.unit)
        self.s.supplement_due_at = cal.due(start, wait.minutes(cal.day_minutes), wait.unit)
        if step.kind is StepKind.INTAKE:
            # The clock has not started: it will start from zero on the complete dossier.
            self._finish_run(now, "supplement_requested", cmd.actor)
        else:
            # During appraisal the clock pauses; time already used still counts.
            if self.s.clock is not None:
                clock.pause(cal, self.s.clock, now)
            clock.pause(cal, run.ledger, now)
            self.s.exclusions.append(Exclusion(start=now, reason="supplement"))
        self._emit(
            Action.REQUEST_SUPPLEMENT.value,
            cmd.actor,
            now,
            comment=cmd.comment,
            status_after=Status.SUPPLEMENT_REQUESTED,
            data={
                "missing": cmd.data["missing"],
                "stage": step.kind.value,
                "request_number": self.s.supplement_requests,
                "supplement_due_at": self._iso(self.s.supplement_due_at),
                "form": "02",
            },
        )

    def _do_supplement(self, cmd: ActionInput, now: datetime) -> None:
        docs = self._documents(cmd)
        self.s.documents.extend(docs)
        stage = self.s.supplement_stage
        self.s.supplement_due_at = None
        self.s.supplement_stage = None
        data: dict[str, Any] = {"documents": [d.model_dump() for d in docs]}
        if stage is StepKind.INTAKE:
            self.s.arrival_at = now
            self._emit(
                Action.SUPPLEMENT.value,
                cmd.actor,
                now,
                comment=cmd.comment,
                status_after=Status.SUBMITTED,
                data=data,
            )
            self._enter_step(self.s.step_index, now)
            return
        run = self.run()
        assert run is not None
        cal = self.calendar
        if self.s.exclusions and self.s.exclusions[-1].end is None:
            self.s.exclusions[-1].end = now
        if self.s.clock is not None:
            clock.resume(cal, self.s.clock, now, appointment=True)
            data["appointment_at"] = self._iso(self.s.clock.due_at)
        clock.resume(cal, run.ledger, now, appointment=False)
        self._emit(
            Action.SUPPLEMENT.value,
            cmd.actor,
            now,
            comment=cmd.comment,
            status_after=STATUS_FOR_KIND[run.kind],
            data=data,
        )

    def _do_refuse(self, cmd: ActionInput, now: datetime) -> None:
        if self.step().kind is StepKind.INTAKE:
            self._emit(
                Action.REFUSE.value,
                cmd.actor,
                now,
                comment=cmd.comment,
                status_after=Status.NOT_RECEIVED,
                data={"form": "03"},
            )
            self._finish_run(now, "refused", cmd.actor)
            self._close(now, Status.NOT_RECEIVED, "not_received")
            return
        self._decide(cmd, now, granted=False, kind=Action.REFUSE.value)

    def _inspection_time(self, cmd: ActionInput, now: datetime) -> datetime:
        raw = cmd.data.get("at")
        try:
            at = datetime.fromisoformat(str(raw))
        except ValueError:
            raise Refusal(
                "invalid", "data.at must be the inspection's date and time (ISO 8601)"
            ) from None
        cal = self.calendar
        if at.tzinfo is None:
            at = at.replace(tzinfo=cal.tz)
        if at <= now:
            raise Refusal("invalid", f"data.at {at.isoformat()} is not in the future")
        if cal.clamp_forward(at) != cal.local(at):
            raise Refusal(
                "invalid", f"data.at {at.isoformat()} is outside office hours on a working day"
            )
        # An inspection later than the appraisal's budget is allowed: the step will then
        # run late and escalate, which is the honest record of it.
        return at

    def _do_schedule_inspection(self, cmd: ActionInput, now: datetime) -> None:
        at = self._inspection_time(cmd, now)
        run = self.run()
        assert run is not None
        place = str(cmd.data.get("place", ""))[:500]
        self.s.inspections.append(
            Inspection(
                at=at,
                place=place,
                scheduled_at=now,
                by=cmd.actor.id,
                agency=cmd.actor.agency,
                step_id=run.step_id,
            )
        )
        self._emit(
            Action.SCHEDULE_INSPECTION.value,
            cmd.actor,
            now,
            comment=cmd.comment,
            data={"inspection_at": at.isoformat(), "place": place},
        )

    def _do_forward(self, cmd: ActionInput, now: datetime) -> None:
        run = self.run()
        assert run is not None
        run.outcome = "forwarded"
        run.actor_id = cmd.actor.id
        self._emit(
            Action.FORWARD.value,
            cmd.actor,
            now,
            comment=cmd.comment,
            data={"to_agency": self.step_agency()},
        )

    def _do_appraise(self, cmd: ActionInput, now: datetime) -> None:
        opinion = cmd.data.get("opinion") or cmd.comment
        rec = cmd.data.get("recommendation", "grant")
        self._emit(
            Action.APPRAISE.value,
            cmd.actor,
            now,
            comment=cmd.comment,
            data={"opinion": opinion, "recommendation": rec},
        )
        self._finish_run(now, f"appraised:{rec}", cmd.actor)
        self._advance(now)

    def _do_approve(self, cmd: ActionInput, now: datetime) -> None:
        self._decide(cmd, now, granted=True, kind=Action.APPROVE.value)

    def _do_reject(self, cmd: ActionInput, now: datetime) -> None:
        self._decide(cmd, now, granted=False, kind=Action.REJECT.value)

    def _do_sign(self, cmd: ActionInput, now: datetime) -> None:
        self._emit(
            Action.SIGN.value,
            cmd.actor,
            now,
            comment=cmd.comment,
            data={k: v for k, v in cmd.data.items() if k in ("document", "sha256", "certificate")},
        )
        self._finish_run(now, "signed", cmd.actor)
        self._advance(now)

    def _do_pay(self, cmd: ActionInput, now: datetime) -> None:
        self._emit(
            Action.PAY.value,
            cmd.actor,
            now,
            comment=cmd.comment,
            data={
                k: v for k, v in cmd.data.items() if k in ("receipt_number", "amount_vnd", "method")
            },
        )
        self._finish_run(now, "paid", cmd.actor)
        self._advance(now)

    def _return_record(self, cmd: ActionInput) -> dict[str, Any]:
        """Who received the result and how (at the counter, by post, online), checked:
        someone other than the applicant shows an authorisation, a posted result has the
        postal item number, an online return needs the signed electronic result."""
        d = cmd.data
        applicant = self.inp.applicant
        channel = d.get("channel", "counter")

        def text(key: str, default: str = "") -> str:
            value = d.get(key, default)
            if not isinstance(value, str) or len(value) > 500:
                raise Refusal("invalid", f"data.{key} must be text (at most 500 characters)")
            return value.strip()

        record: dict[str, Any] = {"channel": channel}
        if channel == "counter":
            received_by = text("received_by", applicant.name) or applicant.name
            record["received_by"] = received_by
            if received_by.casefold() != applicant.name.casefold():
                authorization = text("authorization")
                if not authorization:
                    raise Refusal(
                        "invalid",
                        # Not the applicant's name: the refusal reaches the caller, the
                        # refused attempts and, as a failure, the history (plaintext).
                        f"{received_by} is not the applicant named on the dossier: give "
                        "data.authorization, the power of attorney (giấy ủy quyền) shown",
                    )
                record["authorization"] = authorization
        elif channel == "post":
            tracking = text("tracking_number")
            address = text("address", applicant.address) or applicant.address
            if not tracking:
                raise Refusal(
                    "invalid", "data.tracking_number: the postal item number of the sending"
                )
            if not address:
                raise Refusal(
                    "invalid", "data.address: the applicant gave none; give the postal address"
                )
            record.update(
                tracking_number=tracking,
                address=address,
                received_by=text("received_by", applicant.name) or applicant.name,
            )
        else:
            if self.s.result is None and self.procedure.issuing_step() is not None:
                raise Refusal(
                    "invalid",
                    "an online return hands over the signed electronic result, and this "
                    "dossier has none; return it at the counter or by post",
                )
            record["received_by"] = applicant.account or applicant.name
        if self.s.result is not None:
            record["document"] = self.s.result.document_id
            record["sha256"] = self.s.result.sha256
        return record

    def _do_return(self, cmd: ActionInput, now: datetime) -> None:
        data = (
            self._return_record(cmd)
            if self.signs_results
            else {
                "channel": cmd.data.get("channel", "counter"),
                "received_by": cmd.data.get("received_by", self.inp.applicant.name),
            }
        )
        self._emit(
            Action.RETURN.value,
            cmd.actor,
            now,
            comment=cmd.comment,
            status_after=Status.RETURNED,
            data=data,
        )
        self._finish_run(now, "returned", cmd.actor)
        self._close(now, Status.RETURNED, self.s.outcome or "granted")

    def _do_withdraw(self, cmd: ActionInput, now: datetime) -> None:
        self._emit(
            Action.WITHDRAW.value,
            cmd.actor,
            now,
            comment=cmd.comment,
            status_after=Status.WITHDRAWAL_REQUESTED,
        )
        self._emit(
            "stopped",
            SYSTEM_ACTOR,
            now,
            comment="Thông báo dừng giải quyết hồ sơ",
            status_after=Status.STOPPED,
            data={"form": "05", "reason": cmd.comment},
        )
        self._finish_run(now, "withdrawn", cmd.actor)
        self._close(now, Status.STOPPED, "withdrawn")

    def _do_request_extension(self, cmd: ActionInput, now: datetime) -> None:
        c = self.s.clock
        assert c is not None and c.due_at is not None
        new = self._new_appointment(cmd, now)
        previous = c.due_at
        clock.extend_to(self.calendar, c, new)
        self.s.extensions.append(
            Extension(
                at=now,
                by=cmd.actor.id,
                agency=cmd.actor.agency,
                reason=cmd.comment,
                previous_appointment=previous,
                new_appointment=new,
            )
        )
        self._emit(
            Action.REQUEST_EXTENSION.value,
            cmd.actor,
            now,
            comment=cmd.comment,
            data={
                "previous_appointment": previous.isoformat(),
                "new_appointment": new.isoformat(),
                "form": "04",
            },
        )

    # -- decisions and steps -------------------------------------------------------

    def _decide(self, cmd: ActionInput, now: datetime, *, granted: bool, kind: str) -> None:
        self.s.decided_at = now
        self.s.outcome = "granted" if granted else "refused"
        self.s.decision_note = cmd.comment
        self._emit(
            kind,
            cmd.actor,
            now,
            comment=cmd.comment,
            data={"outcome": self.s.outcome, "processed_at": now.isoformat()},
        )
        self._finish_run(now, self.s.outcome, cmd.actor)
        signature = self._signature_step_after(self.s.step_index)
        if granted:
            self._advance(now)
        elif self.signs_results and signature is not None:
            # The refusal decision is the result: the signer signs it, then it is returned.
            self._enter_step(signature, now)
        else:
            # A refusal is itself the result: go straight to the return step.
            self._enter_step(len(self.procedure.steps) - 1, now)

    def _signature_step_after(self, index: int) -> int | None:
        issuing = self.procedure.issuing_step()
        if issuing is None or issuing <= index:
            return None
        return issuing if self.procedure.steps[issuing].kind is StepKind.SIGNATURE else None

    def _advance(self, now: datetime) -> None:
        nxt = self.s.step_index + 1
        if nxt >= len(self.procedure.steps):
            return
        self._enter_step(nxt, now)

    def _enter_step(self, index: int, now: datetime) -> None:
        step = self.step(index)
        self.s.step_index = index
        agency = self.step_agency(index)
        ledger = clock.new_ledger(self.calendar, step.budget, now, appointment=False)
        self.s.runs.append(
            StepRun(
                index=index,
                step_id=step.id,
                kind=step.kind,
                role=step.role,
                agency=agency,
                started_at=now,
                ledger=ledger,
            )
        )
        if step.pauses_clock and self.s.clock is not None:
            clock.pause(self.calendar, self.s.clock, now)
            self.s.exclusions.append(Exclusion(start=now, reason=self._exclusion_reason(step)))
        if step.kind is StepKind.LINKED:
            for child in step.children:
                snap = self.inp.linked[child.procedure]
                self.s.children.append(
                    ChildRun(
                        index=len(self.s.children),
                        # URL-safe and visibly part of the group: <group code>.<n>
                        code=f"{self.inp.code}.{len(self.s.children) + 1}",
                        procedure_code=child.procedure,
                        procedure_name=snap.procedure.name,
                        agency=snap.agency,
                    )
                )
        status = STATUS_FOR_KIND[step.kind]
        if step.kind is StepKind.RETURN:
            # The result (or the refusal notice) is ready: end of processing for the 766 index.
            self.s.processed_at = now
            self._stop_clock(now)
        self._emit(
            "step_started",
            SYSTEM_ACTOR,
            now,
            status_after=status,
            data={
                "owner_role": step.role.value,
                "owner_agency": agency,
                "due_at": self._iso(ledger.due_at),
                "budget": str(step.budget),
            },
        )

    @staticmethod
    def _exclusion_reason(step: Step) -> str:
        return "financial_obligation" if step.kind is StepKind.PAYMENT else step.id

    def _end_exclusion(self, now: datetime, reason: str) -> None:
        for ex in self.s.exclusions:
            if ex.end is None and ex.reason == reason:
                ex.end = now
        if self.s.clock is not None:
            clock.resume(self.calendar, self.s.clock, now, appointment=True)

    def _finish_run(self, now: datetime, outcome: str, actor: Actor) -> None:
        run = self.run()
        if run is None or run.ended_at is not None:
            return
        run.ended_at = now
        run.outcome = outcome
        run.actor_id = actor.id
        run.ledger.consumed_minutes = clock.consumed_now(self.calendar, run.ledger, now)
        due = run.ledger.due_at
        if due is None:
            run.verdict = None
        elif now > due:
            run.verdict = "late"
        elif self.calendar.local(now).date() == self.calendar.local(due).date():
            run.verdict = "on_time"
        else:
            run.verdict = "early"
        run.ledger.running_since = None
        if self.step(run.index).pauses_clock and self.s.clock and self.s.clock.paused_since:
            self._end_exclusion(now, self._exclusion_reason(self.step(run.index)))

    def _close(self, now: datetime, status: Status, outcome: str) -> None:
        self.s.outcome = outcome  # type: ignore[assignment]
        self.s.closed_at = now
        self.s.supplement_due_at = None
        for ex in self.s.exclusions:
            if ex.end is None:
                ex.end = now
        self._stop_clock(now)

    def _stop_clock(self, now: datetime) -> None:
        # A stopped clock keeps what it consumed; it is neither running nor paused.
        if self.s.clock is not None:
            clock.stop(self.calendar, self.s.clock, now)

    # -- linked sub-procedures (child dossiers) ------------------------------------

    def _linked_children(self) -> list[ChildRun]:
        run = self.run()
        if run is None or run.kind is not StepKind.LINKED or run.ended_at is not None:
            return []
        step = self.step()
        first = len(self.s.children) - len(step.children)
        return self.s.children[first:]

    def children_to_start(self) -> list[ChildRun]:
        """Children the workflow must start now: all at once, or the next in sequence."""
        if self.closed or self.s.status is Status.SUPPLEMENT_REQUESTED:
            return []
        children = self._linked_children()
        if not children:
            return []
        step = self.step()
        done = {c.procedure_code for c in children if c.finished_at is not None}
        ready = []
        for i, (child, spec) in enumerate(zip(children, step.children, strict=True)):
            if child.started_at is not None:
                continue
            needs = spec.after or (
                [] if step.parallel or i == 0 else [step.children[i - 1].procedure]
            )
            if all(n in done for n in needs):
                ready.append(child)
        return ready

    @staticmethod
    def _child_ack_pending(child: ChildRun) -> bool:
        return bool(
            child.ack_due_at
            and child.acknowledged_at is None
            and child.escalated_at is None
            and child.finished_at is None
        )

    def running_children(self) -> list[ChildRun]:
        return [c for c in self.s.children if c.started_at and c.finished_at is None]

    def child_input(self, child: ChildRun, now: datetime) -> DossierInput:
        snap = self.inp.linked[child.procedure_code]
        return DossierInput(
            code=child.code,
            procedure=snap.procedure,
            calendar=self.calendar,
            centre_agency=snap.agency,
            competent_agency=snap.agency,
            step_agencies=snap.step_agencies,
            channel=self.inp.channel,
            applicant=self.inp.applicant,
            documents=self.s.documents,
            submitted_at=now,
            submitted_by=SYSTEM_ACTOR,
            remote_area=self.inp.remote_area,
            parent_code=self.inp.code,
        )

    def child_started(self, child: ChildRun, now: datetime) -> None:
        child.started_at = now
        # Decree 63/2024 Art. 7(4): the receiving system acknowledges within 2 working hours.
        child.ack_due_at = self.calendar.advance(now, 120, TimeUnit.WORKING_HOURS)
        self._emit(
            "child_started",
            SYSTEM_ACTOR,
            now,
            data={
                "child": child.code,
                "procedure": child.procedure_code,
                "to_agency": child.agency,
                "ack_due_at": child.ack_due_at.isoformat(),
            },
        )

    def _child(self, code: str) -> ChildRun | None:
        return next((c for c in self.s.children if c.code == code), None)

    def child_acknowledged(self, code: str, worker: str, now: datetime) -> None:
        child = self._child(code)
        if child is None or child.acknowledged_at is not None:
            return
        child.acknowledged_at = now
        child.acknowledged_by = worker
        self._emit(
            "child_acknowledged",
            SYSTEM_ACTOR,
            now,
            data={"child": code, "agency": child.agency, "worker": worker},
        )

    def child_progress(
        self, code: str, status: Status | None, appointment: datetime | None, now: datetime
    ) -> None:
        """A sub-dossier's status or appointment changed at its agency: the group keeps
        track of every child's deadline."""
        child = self._child(code)
        if child is None or child.finished_at is not None:
            return
        if child.acknowledged_at is None:
            child.acknowledged_at = now
        changed = appointment != child.appointment_at
        child.status = status
        child.appointment_at = appointment
        if changed and appointment is not None:
            self._emit(
                "child_appointment",
                SYSTEM_ACTOR,
                now,
                data={
                    "child": code,
                    "agency": child.agency,
                    "appointment_at": appointment.isoformat(),
                },
            )

    def child_finished(
        self,
        code: str,
        outcome: str,
        status: Status,
        now: datetime,
        documents: list[DocumentRef] | None = None,
    ) -> None:
        child = self._child(code)
        if child is None or child.finished_at is not None:
            return
        # Results pass from agency to agency as documents: what one child produced, the
        # next one receives with the group's own.
        known = {d.sha256 for d in self.s.documents}
        self.s.documents.extend(d for d in documents or [] if d.sha256 not in known)
        if child.acknowledged_at is None:
            child.acknowledged_at = now
        child.finished_at = now
        child.outcome = outcome
        child.status = status
        self._emit(
            "child_finished",
            SYSTEM_ACTOR,
            now,
            data={"child": code, "agency": child.agency, "outcome": outcome, "status": status},
        )
        run = self.run()
        if self.closed or run is None or run.kind is not StepKind.LINKED:
            return
        step = self.step()
        if outcome != "granted" and step.on_child_refused == "refuse":
            reason = f"sub-procedure {child.procedure_name} ({child.code}) ended {outcome}"
            self._decide(
                ActionInput(actor=SYSTEM_ACTOR, comment=reason), now, granted=False, kind="reject"
            )
            return
        if all(c.finished_at for c in self._linked_children()):
            self._finish_run(now, "children_finished", SYSTEM_ACTOR)
            self._advance(now)

    def stop_by_parent(self, reason: str, now: datetime) -> None:
        """The linked group this dossier belongs to was withdrawn or refused."""
        if self.closed:
            return
        self._emit(
            "stopped",
            SYSTEM_ACTOR,
            now,
            comment=reason,
            status_after=Status.STOPPED,
            data={"reason": reason, "by_parent": self.inp.parent_code},
        )
        self._finish_run(now, "stopped_by_parent", SYSTEM_ACTOR)
        self._close(now, Status.STOPPED, "withdrawn")

    # -- handoff -------------------------------------------------------------------

    def handoff_acknowledged(self, ack: dict[str, Any], now: datetime) -> None:
        run = self.run()
        if run is None or run.kind is not StepKind.HANDOFF or run.ended_at is not None:
            return
        self.s.handoff_acks.append(ack)
        self._emit("handoff_acknowledged", SYSTEM_ACTOR, now, data={"to_agency": run.agency, **ack})
        self._finish_run(now, "acknowledged", SYSTEM_ACTOR)
        self._advance(now)

    # -- timers --------------------------------------------------------------------

    def next_wake(self) -> datetime | None:
        """The earliest moment a timer rule may fire: step budget, apology warning,
        appointment, supplement deadline."""
        if self.closed:
            return None
        candidates: list[datetime] = []
        run = self.run()
        if self._step_budget_pending(run):
            assert run is not None and run.ledger.due_at is not None
            candidates.append(run.ledger.due_at)
        c = self.s.clock
        if c and c.due_at and self.s.processed_at is None:
            if self._apology_warning_pending(c.due_at, c.started_at):
                candidates.append(self._apology_warning_at(c.due_at))
            if self.s.overdue is None:
                candidates.append(c.due_at)
        if self.s.supplement_due_at is not None:
            candidates.append(self.s.supplement_due_at)
        for child in self.s.children:
            if self._child_ack_pending(child) and child.ack_due_at:
                candidates.append(child.ack_due_at)
        candidates.extend(i.at for i in self.s.inspections if not i.reminded)
        return min(candidates) if candidates else None

    @staticmethod
    def _step_budget_pending(run: StepRun | None) -> bool:
        # The applicant is never escalated; a finished step has nothing left to escalate.
        return bool(
            run
            and run.ended_at is None
            and run.ledger.due_at
            and run.escalated_at is None
            and run.role is not Role.APPLICANT
        )

    def _apology_warning_pending(self, appointment: datetime, started: datetime | None) -> bool:
        if self.s.apology_warned or len(self.s.extensions) >= self.procedure.max_extensions:
            return False
        # When the last day for Form 04 opened before the clock even started (a same-day
        # or hour-based procedure), there is no "one working day before" to warn about.
        return started is None or self._apology_warning_at(appointment) >= started

    def _apology_warning_at(self, appointment: datetime) -> datetime:
        # Early warning at the opening of the last day on which Form 04 may be sent.
        latest = self.calendar.latest_extension_request(appointment)
        return self.calendar.at(self.calendar.local(latest).date(), self.calendar.opening_time)

    def on_time(self, now: datetime) -> None:
        """Fire every timer rule whose moment has come."""
        if self.closed:
            return
        if self.s.supplement_due_at is not None and now >= self.s.supplement_due_at:
            self._supplement_expired(now)
            return
        run = self.run()
        for inspection in self.s.inspections:
            if not inspection.reminded and now >= inspection.at:
                inspection.reminded = True
                self._emit(
                    "inspection_due",
                    SYSTEM_ACTOR,
                    now,
                    comment=f"site inspection at {inspection.at.isoformat()} {inspection.place}",
                    data={
                        "inspection_at": inspection.at.isoformat(),
                        "to_agency": inspection.agency,
                        "to_role": Role.SPECIALIST.value,
                        "by": inspection.by,
                    },
                )
        for child in self.s.children:
            if self._child_ack_pending(child) and child.ack_due_at and now >= child.ack_due_at:
                child.escalated_at = now
                self._escalate(
                    now,
                    "child_unacknowledged",
                    run,
                    f"{child.agency} has not acknowledged sub-dossier {child.code} "
                    f"({child.procedure_name}) within 2 working hours; it is being retried",
                    agency=child.agency,
                )
        if (
            self._step_budget_pending(run)
            and run
            and run.ledger.due_at
            and now >= run.ledger.due_at
            and self.step(run.index).deemed_consent
        ):
            # Construction Law Art. 102: a consulted body silent past its time has agreed.
            self._emit(
                "deemed_consent",
                SYSTEM_ACTOR,
                now,
                comment=f"{run.agency} did not reply by {run.ledger.due_at.isoformat()}: "
                "deemed to agree",
                data={"consulted_agency": run.agency},
            )
            self._finish_run(now, "deemed_consent", SYSTEM_ACTOR)
            self._advance(now)
            run = self.run()
        if (
            self._step_budget_pending(run)
            and run
            and run.ledger.due_at
            and now >= run.ledger.due_at
        ):
            run.escalated_at = now
            kind: EscalationKind = (
                "handoff_unacknowledged" if run.kind is StepKind.HANDOFF else "step_budget"
            )
            self._escalate(
                now,
                kind,
                run,
                f"step '{run.step_id}' ran past its budget of {self.step().budget} "
                f"(due {run.ledger.due_at.isoformat()})",
            )
        c = self.s.clock
        if c and c.due_at and self.s.processed_at is None:
            if self._apology_warning_pending(
                c.due_at, c.started_at
            ) and now >= self._apology_warning_at(c.due_at):
                self.s.apology_warned = True
                latest = self.calendar.latest_extension_request(c.due_at)
                self._escalate(
                    now,
                    "apology_due",
                    run,
                    f"appointment {c.due_at.isoformat()} is near: if the dossier will be late, "
                    f"send the apology and extension request (Form 04) by {latest.isoformat()}",
                )
            if self.s.overdue is None and now >= c.due_at:
                late = [
                    r.step_id
                    for r in self.s.runs
                    if r.verdict == "late" or (r.ended_at is None and r.escalated_at is not None)
                ]
                self.s.overdue = Overdue(
                    at=now,
                    appointment=c.due_at,
                    step_id=run.step_id if run else None,
                    agency=run.agency if run else None,
                    late_steps=late,
                )
                self._escalate(
                    now,
                    "overdue",
                    run,
                    f"dossier is past its appointment {c.due_at.isoformat()} at step "
                    f"'{run.step_id if run else '-'}' of {run.agency if run else '-'}",
                )

    def _escalate(
        self,
        now: datetime,
        kind: EscalationKind,
        run: StepRun | None,
        message: str,
        *,
        agency: str | None = None,
    ) -> None:
        agency = agency or (run.agency if run else self.inp.competent_agency)
        if kind == "apology_due" and agency not in self._extension_agencies():
            agency = self.inp.competent_agency  # who may send Form 04
        esc = Escalation(
            at=now,
            kind=kind,
            step_id=run.step_id if run else None,
            agency=agency,
            to_role=Role.LEADER,
            message=message,
        )
        self.s.escalations.append(esc)
        self._emit(
            "escalated" if kind != "overdue" else "overdue",
            SYSTEM_ACTOR,
            now,
            comment=message,
            data={"escalation": kind, "to_role": Role.LEADER.value, "to_agency": agency},
        )

    def _supplement_expired(self, now: datetime) -> None:
        at_intake = self.s.supplement_stage is StepKind.INTAKE
        status = Status.NOT_RECEIVED if at_intake else Status.STOPPED
        self._emit(
            "supplement_expired",
            SYSTEM_ACTOR,
            now,
            status_after=status,
            comment="the applicant did not supplement in time",
            data={"form": "03" if at_intake else "05"},
        )
        self._finish_run(now, "abandoned", SYSTEM_ACTOR)
        self._close(now, status, "abandoned")

    # -- events and views ----------------------------------------------------------

    def _emit(
        self,
        kind: str,
        actor: Actor,
        now: datetime,
        *,
        comment: str = "",
        status_after: Status | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        before = self.s.status
        if status_after is not None:
            self.s.status = status_after
        self.s.event_seq += 1
        run = self.s.runs[-1] if self.s.runs else None
        event = Event(
            id=f"{self.inp.code}:{self.s.event_seq}",
            seq=self.s.event_seq,
            dossier_code=self.inp.code,
            kind=kind,
            at=now,
            actor_id=actor.id,
            actor_name=actor.name,
            role=actor.role,
            agency=actor.agency,
            step_id=run.step_id if run else None,
            step_kind=run.kind if run else None,
            status_before=before,
            status_after=self.s.status,
            comment=comment,
            data=data or {},
            prev_hash=self.s.chain_head,
        )
        event.hash = event.content_hash(self.s.chain_head)
        self.s.chain_head = event.hash
        self._new_events.append(event)
        return event

    @staticmethod
    def _iso(dt: datetime | None) -> str | None:
        return dt.isoformat() if dt else None

    def view(self, now: datetime) -> DossierView:
        """The live picture. `allowed_actions` already accounts for a timer that is due
        but has not woken the workflow yet; everything else is the recorded state."""
        p, s, cal = self.procedure, self.s, self.calendar
        allowed = self.allowed_actions(now)
        runs_by_index = {r.index: r for r in s.runs}
        steps = []
        for i, step in enumerate(p.steps):
            r = runs_by_index.get(i)
            steps.append(
                StepView(
                    index=i,
                    step_id=step.id,
                    name=step.name,
                    kind=step.kind,
                    role=step.role,
                    agency=self.step_agency(i),
                    budget=str(step.budget),
                    started_at=r.started_at if r else None,
                    due_at=r.ledger.due_at if r else None,
                    ended_at=r.ended_at if r else None,
                    escalated=bool(r and r.escalated_at),
                    verdict=r.verdict if r else None,
                )
            )
        run = self.run()
        current = steps[run.index] if run else None
        holder = next((a for a in allowed if a.step_id is not None), None)
        if holder is None and s.status is Status.SUPPLEMENT_REQUESTED and allowed:
            holder = allowed[0]
        c = s.clock
        return DossierView(
            code=self.inp.code,
            procedure_code=p.code,
            procedure_version=p.version,
            procedure_name=p.name,
            status=s.status,
            status_code=s.status.national_code,
            status_label=s.status.label_vi,
            channel=self.inp.channel,
            centre_agency=self.inp.centre_agency,
            competent_agency=self.inp.competent_agency,
            submitted_at=self.inp.submitted_at,
            received_at=s.received_at,
            appointment_at=c.due_at if c and c.due_at else None,
            original_appointment_at=s.extensions[0].previous_appointment
            if s.extensions
            else (c.due_at if c else None),
            current_step=current,
            holder=holder,
            steps=steps,
            clock_unit=p.statutory_time.unit,
            clock_budget_minutes=(c.budget_minutes + c.extra_minutes)
            if c
            else p.statutory_time.minutes(cal.day_minutes),
            clock_consumed_minutes=clock.consumed_now(cal, c, now) if c else 0,
            clock_paused=bool(c and c.paused_since),
            paused_since=c.paused_since if c else None,
            time_paused_minutes=c.paused_minutes_total if c else 0,
            exclusions=s.exclusions,
            supplement_requests=s.supplement_requests,
            supplement_due_at=s.supplement_due_at,
            extensions=s.extensions,
            escalations=s.escalations,
            overdue=s.overdue,
            outcome=s.outcome,
            decided_at=s.decided_at,
            processed_at=s.processed_at,
            closed_at=s.closed_at,
            allowed_actions=allowed,
            forms=s.forms,
            handoff_acks=s.handoff_acks,
            calendar_version=cal.version,
            event_seq=s.event_seq,
            children=s.children,
            inspections=s.inspections,
            parent_code=self.inp.parent_code,
            documents=s.documents,
            applicant_account=self.inp.applicant.account,
            issuing=s.issuing,
            result=s.result,
            chain_head=s.chain_head,
            handoff_pending=self.pending_handoff() is not None,
        )
