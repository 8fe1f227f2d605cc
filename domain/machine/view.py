"""The live picture of a dossier (DossierView) that the API and the read model show."""

from __future__ import annotations

from datetime import datetime

from domain import clock
from domain.checklist import intake_checklist
from domain.dossier import (
    Action,
    AllowedAction,
    DossierView,
    Status,
    StepView,
)
from domain.machine.authorisation import Authorisation
from domain.machine.handoff import Handoff


class LiveView(Authorisation, Handoff):
    """`view`: the recorded state, with the actions allowed now."""

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
                    # a finished step stays where it was done (before any merger)
                    agency=r.agency if r and r.ended_at else self.step_agency(i),
                    budget=str(step.budget),
                    started_at=r.started_at if r else None,
                    due_at=r.ledger.due_at if r else None,
                    ended_at=r.ended_at if r else None,
                    escalated=bool(r and r.escalated_at),
                    verdict=r.verdict if r else None,
                    assignment=r.assignment if r else None,
                )
            )
        run = self.run()
        current = steps[run.index] if run else None
        holder = next(
            (
                a
                for a in allowed
                if a.step_id is not None and a.action not in (Action.ASSIGN, Action.CLAIM)
            ),
            None,
        )
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
            competent_agency=self.competent_agency,
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
            checklist=intake_checklist(p.documents, s.documents, s.data_fetches),
            applicant_account=self.inp.applicant.account,
            issuing=s.issuing,
            result=s.result,
            chain_head=s.chain_head,
            handoff_pending=self.pending_handoff() is not None,
            findings=s.findings,
            assignment=run.assignment if run else None,
            return_agency=self.inp.return_agency,
            return_by_post=self.inp.return_by_post,
            agency_moves=s.agency_moves,
            fee_due_vnd=self._fee_due_now(allowed),
        )

    def _fee_due_now(self, allowed: list[AllowedAction]) -> int | None:
        """What a payment now must come to, when one is open and the catalog sets it."""
        if not self.collects_fees or not any(a.action is Action.PAY for a in allowed):
            return None
        owed = self.fees_owed()
        return owed.total_vnd if owed is not None and owed.lines else None
