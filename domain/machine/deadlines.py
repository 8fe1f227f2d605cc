"""The statutory clock's deadlines: timers, escalations, and the appointment's extension."""

from __future__ import annotations

from datetime import date, datetime

from domain import clock
from domain.catalog import Role, StepKind
from domain.dossier import (
    SYSTEM_ACTOR,
    Action,
    ActionInput,
    Escalation,
    EscalationKind,
    Extension,
    Overdue,
    Status,
    StepRun,
)
from domain.machine._core import Refusal
from domain.machine.linked import LinkedProcedures


class Deadlines(LinkedProcedures):
    """What fires on time (step budgets, the apology warning, the appointment, the
    supplement deadline, inspections, unacknowledged children) and the leader's
    extension of the appointment (Form 04)."""

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
        self._emit_action(
            Action.REQUEST_EXTENSION,
            cmd,
            now,
            data={
                "previous_appointment": previous.isoformat(),
                "new_appointment": new.isoformat(),
                "form": "04",
            },
        )
