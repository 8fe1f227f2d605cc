"""Moving through the procedure: entering and finishing steps, the decision, closing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import clock
from domain.catalog import Step, StepKind
from domain.dossier import (
    SYSTEM_ACTOR,
    ActionInput,
    Actor,
    ChildRun,
    Exclusion,
    Status,
    StepRun,
)
from domain.machine._core import MachineCore

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


class StepFlow(MachineCore):
    """Step runs and their budgets, the statutory clock's pauses for steps that stop
    it, the grant or refusal decision, and the end of the dossier."""

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
        data: dict[str, Any] = {
            "owner_role": step.role.value,
            "owner_agency": agency,
            "due_at": self._iso(ledger.due_at),
            "budget": str(step.budget),
        }
        if step.kind is StepKind.RETURN and (self.inp.return_agency or self.inp.return_by_post):
            # Boundary-free intake: the result goes to the centre the citizen chose (or
            # is posted by the filing centre), Circular 03/2025's handoff of the result.
            data["result_to"] = "post" if self.inp.return_by_post else agency
            data["received_at_centre"] = self.inp.centre_agency
        self._emit("step_started", SYSTEM_ACTOR, now, status_after=status, data=data)

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
