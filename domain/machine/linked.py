"""Linked procedures: the child dossiers a linked step starts at other agencies."""

from __future__ import annotations

from datetime import datetime

from domain.calendar import TimeUnit
from domain.catalog import StepKind
from domain.dossier import (
    SYSTEM_ACTOR,
    ActionInput,
    ChildRun,
    DocumentRef,
    DossierInput,
    Status,
)
from domain.machine.messages import T
from domain.machine.steps import StepFlow


class LinkedProcedures(StepFlow):
    """Which children start when, their acknowledgement, progress and end; and a child's
    stop when its group is withdrawn or refused."""

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
            reason = str(
                T("child_ended", procedure=child.procedure_name, child=child.code, outcome=outcome)
            )
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
