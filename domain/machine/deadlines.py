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
from domain.machine.messages import T


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
                    comment=str(T("inspection_due", at=inspection.at, place=inspection.place)),
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
                    str(
                        T(
                            "esc_child_unacknowledged",
                            agency=child.agency,
                            child=child.code,
                            procedure=child.procedure_name,
                        )
                    ),
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
                comment=str(T("deemed_consent", agency=run.agency, due=run.ledger.due_at)),
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
                str(
                    T(
                        "esc_step_budget",
                        step=run.step_id,
                        budget=self.step().budget,
                        due=run.ledger.due_at,
                    )
                ),
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
                    str(T("esc_apology_due", due=c.due_at, latest=latest)),
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
                    str(
                        T(
                            "esc_overdue",
                            due=c.due_at,
                            step=run.step_id if run else "-",
                            agency=run.agency if run else "-",
                        )
                    ),
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
        agency = agency or (run.agency if run else self.competent_agency)
        if kind == "apology_due" and agency not in self._extension_agencies():
            agency = self.competent_agency  # who may send Form 04
        # A step a leader assigned by name: that leader hears of it too (a claimed step
        # has nobody but the leader role above it).
        held = run.assignment if run is not None and run.ended_at is None else None
        assigner = held.by_id if held is not None and not held.claimed else None
        esc = Escalation(
            at=now,
            kind=kind,
            step_id=run.step_id if run else None,
            agency=agency,
            to_role=Role.LEADER,
            message=message,
            to_officer=assigner,
        )
        self.s.escalations.append(esc)
        data: dict[str, str] = {
            "escalation": kind,
            "to_role": Role.LEADER.value,
            "to_agency": agency,
        }
        if held is not None:
            # Only on assigned steps: events of dossiers without assignment are as before.
            data["assignee_id"] = held.officer_id
            if assigner is not None:
                data["to_officer"] = assigner
                data["to_officer_name"] = held.by_name
        self._emit(
            "escalated" if kind != "overdue" else "overdue",
            SYSTEM_ACTOR,
            now,
            comment=message,
            data=data,
        )

    def _supplement_expired(self, now: datetime) -> None:
        at_intake = self.s.supplement_stage is StepKind.INTAKE
        status = Status.NOT_RECEIVED if at_intake else Status.STOPPED
        self._emit(
            "supplement_expired",
            SYSTEM_ACTOR,
            now,
            status_after=status,
            comment=str(T("supplement_expired")),
            data={"form": "03" if at_intake else "05"},
        )
        self._finish_run(now, "abandoned", SYSTEM_ACTOR)
        self._close(now, status, "abandoned")

    def _extension_agencies(self) -> list[str]:
        agencies = [self.competent_agency]
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
                    raise Refusal("invalid", T("not_working_day", day=day))
                new = cal.closing(day)
            elif isinstance(extra, int) and not isinstance(extra, bool) and extra > 0:
                new = cal.closing(cal.nth_working_day_after(cal.local(c.due_at).date(), extra))
            else:
                raise Refusal("invalid", T("extension_how"))
        except ValueError as exc:
            if isinstance(exc, Refusal):
                raise
            raise Refusal("invalid", T("new_appointment_format")) from None
        if new <= c.due_at:
            raise Refusal("invalid", T("new_not_later", new=new, current=c.due_at))
        cap = self.procedure.max_extension
        if cap is not None:
            limit = cal.due(c.due_at, cap.minutes(cal.day_minutes), cap.unit)
            if new > limit:
                raise Refusal("invalid", T("extension_cap", cap=cap, limit=limit, new=new))
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
