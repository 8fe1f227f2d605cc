"""Who may do what now: the allowed actions, the actor's authorisation, the checks."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from domain.catalog import Role, StepKind
from domain.dossier import (
    Action,
    ActionInput,
    Actor,
    AllowedAction,
    Status,
    find_nul,
)
from domain.i18n import Text
from domain.machine._core import Refusal
from domain.machine.assignment import Assigning
from domain.machine.closing import RETURN_CHANNELS, Closing
from domain.machine.deadlines import Deadlines
from domain.machine.intake import Intake
from domain.machine.messages import T, either, role, role_of, status
from domain.machine.processing import Processing

# How many of the last requests taken a dossier remembers (`DossierState.requests_taken`):
# retries come within minutes, and a dossier takes a few dozen actions in its life.
REQUESTS_KEPT = 100


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


class Authorisation(Deadlines, Intake, Processing, Closing, Assigning):
    """`check` and `apply`: an action is taken only at its step, by its role and agency
    (and, once the step is assigned, by its assignee), once, with valid data, after due
    timers have fired."""

    def allowed_actions(self, now: datetime) -> list[AllowedAction]:
        """Every action that may be taken now, with the role and agency that may take it
        (as things stand once any due timer has fired)."""
        return self._settled(now)._allowed_now(now)

    def _settled(self, now: datetime) -> Self:
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
            # Assigned by name: the step's actions are the assignee's alone.
            held = run.assignment if self._assignable_run() is not None else None
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
                if action is Action.ACCEPT and self.held_for_components():
                    continue  # held at intake: the components must come first
                allowed.append(
                    AllowedAction(
                        action=action,
                        role=step.role,
                        agency=self.step_agency(),
                        step_id=step.id,
                        officer_id=held.officer_id if held else None,
                        officer_name=held.officer_name if held else "",
                    )
                )
                if action is Action.PAY:
                    # The payment gateway's confirmation (a signed callback) also settles it.
                    allowed.append(
                        AllowedAction(action=action, role=Role.SYSTEM, agency=None, step_id=step.id)
                    )
            allowed.extend(self._fee_actions(step.role, self.step_agency(), step.id))
            allowed.extend(self._assignment_actions())
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

    def _authorise(self, action: Action, actor: Actor, now: datetime) -> None:
        options = [a for a in self._allowed_now(now) if a.action is action]
        if not options:
            held = self.held_for_components() if action is Action.ACCEPT else []
            if held:
                raise self._incomplete(held)
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
            if option.agency != actor.agency:
                continue
            if option.officer_id is None or option.officer_id == actor.id:
                return
            raise Refusal(
                "forbidden",
                T(
                    "assigned_to_other",
                    step=option.step_id,
                    code=self.inp.code,
                    officer=option.officer_name or option.officer_id,
                    officer_id=option.officer_id,
                    action=action.value,
                ),
            )
        who = either(
            [
                role_of(o.role, o.agency) if o.agency else T("own_applicant", role=role(o.role))
                for o in options
            ]
        )
        raise Refusal(
            "forbidden",
            T(
                "forbidden",
                action=action.value,
                code=self.inp.code,
                who=who,
                actor=actor.id,
                as_=role_of(actor.role, actor.agency),
            ),
        )

    def _why_not_now(self, action: Action, now: datetime) -> Text:
        where = self._where()
        if self.closed:
            return T(
                "closed", code=self.inp.code, status=status(self.s.status), action=action.value
            )
        if action is Action.SUPPLEMENT:
            return T("no_supplement_requested", where=where)
        run = self.run()
        if action is Action.CLAIM and run is not None and run.assignment is not None:
            a = run.assignment
            return T(
                "already_held",
                step=run.step_id,
                officer=a.officer_name or a.officer_id,
                officer_id=a.officer_id,
            )
        if action is Action.WITHDRAW:
            return T("withdraw_after_decision", where=where)
        if action is Action.REQUEST_EXTENSION:
            c = self.s.clock
            if c is None:
                return T("extension_not_received")
            if self.s.processed_at is not None:
                return T("extension_processed")
            if len(self.s.extensions) >= self.procedure.max_extensions:
                return T("extension_once")
            if c.due_at is None:
                return T("extension_paused")
            latest = self.calendar.latest_extension_request(c.due_at)
            return T("extension_too_late", latest=latest, due=c.due_at)
        if self.s.status is Status.SUPPLEMENT_REQUESTED:
            return T("waiting_supplement", where=where)
        if self.s.issuing is not None:
            i = self.s.issuing
            return T(
                "being_signed",
                action=i.action.value,
                actor=i.actor.id,
                since=i.started_at,
                where=where,
            )
        return T("not_now", action=action.value, where=where)

    def _where(self) -> Text:
        run = self.run()
        if run is None:
            return T("where_closed", status=status(self.s.status))
        step = self.step()
        return T(
            "where_step",
            step=step.id,
            name=step.name,
            role=role(step.role),
            agency=self.step_agency(),
            status=status(self.s.status),
        )

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
            raise Refusal("already_taken", T("already_taken", code=self.inp.code))

    def _expect_step(self, expected: str | None) -> None:
        """The caller acts on the step it saw (`ActionInput.expected_step`): refused when
        the dossier has moved on (or closed), naming where it is now."""
        if expected is None:
            return
        run = self.run()
        if run is None:
            raise Refusal(
                "closed",
                T(
                    "expected_closed",
                    code=self.inp.code,
                    expected=expected,
                    status=status(self.s.status),
                ),
            )
        step = self.step()
        if step.id != expected:
            raise Refusal(
                "wrong_step",
                T(
                    "expected_moved",
                    code=self.inp.code,
                    expected=expected,
                    step=step.id,
                    name=step.name,
                    role=role(step.role),
                    agency=self.step_agency(),
                ),
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

    def _validate_data(self, action: Action, cmd: ActionInput, now: datetime) -> None:
        nul = find_nul({"comment": cmd.comment, "data": cmd.data})
        if nul:
            raise Refusal("invalid", T("nul", where=nul))
        needs_reason = (Action.REFUSE, Action.REJECT, Action.REQUEST_EXTENSION, Action.WITHDRAW)
        if action in needs_reason and not cmd.comment.strip():
            raise Refusal("invalid", T("needs_reason", action=action.value))
        if action is Action.REQUEST_SUPPLEMENT:
            missing = cmd.data.get("missing")
            if (
                not isinstance(missing, list)
                or not missing
                or not all(isinstance(m, str) and m.strip() for m in missing)
            ):
                raise Refusal("invalid", T("missing_list"))
        if action is Action.SUPPLEMENT:
            self._documents(cmd)
        if action is Action.APPRAISE:
            opinion = cmd.data.get("opinion", cmd.comment)
            if not isinstance(opinion, str) or not opinion.strip():
                raise Refusal("invalid", T("appraise_opinion"))
            rec = cmd.data.get("recommendation", "grant")
            if rec not in ("grant", "refuse"):
                raise Refusal("invalid", T("recommendation"))
        if action is Action.RETURN:
            channel = cmd.data.get("channel", "counter")
            if channel not in RETURN_CHANNELS:
                raise Refusal("invalid", T("channel", channels=", ".join(RETURN_CHANNELS)))
            if self.signs_results:
                self._return_record(cmd)
        if action is Action.PAY:
            self._validate_pay(cmd)
        if action is Action.RETURN and (unpaid := self.counter_fees_unpaid()):
            raise Refusal("wrong_step", T("fee_unpaid", code=self.inp.code, expected=unpaid))
        if action is Action.REQUEST_EXTENSION:
            self._new_appointment(cmd, now)
        if action is Action.SCHEDULE_INSPECTION:
            self._inspection_time(cmd, now)
        if action in (Action.ASSIGN, Action.CLAIM):
            self._validate_assignment(action, cmd)
