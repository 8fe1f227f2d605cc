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
from domain.machine._core import Refusal
from domain.machine.closing import RETURN_CHANNELS, Closing
from domain.machine.deadlines import Deadlines
from domain.machine.intake import Intake
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


class Authorisation(Deadlines, Intake, Processing, Closing):
    """`check` and `apply`: an action is taken only at its step, by its role and agency,
    once, with valid data, after due timers have fired."""

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
