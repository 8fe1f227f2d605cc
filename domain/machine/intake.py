"""Intake: submission, receipt (Form 01), supplement requests (Form 02), refusal (Form 03)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain import clock
from domain.calendar import Duration, TimeUnit
from domain.catalog import StepKind
from domain.checklist import ChecklistItem, component_line, intake_checklist
from domain.dossier import (
    Action,
    ActionInput,
    Channel,
    DocumentRef,
    Exclusion,
    Status,
)
from domain.machine._core import Refusal
from domain.machine.messages import T
from domain.machine.steps import STATUS_FOR_KIND, StepFlow

_documents = TypeAdapter(list[DocumentRef])


class Intake(StepFlow):
    """The intake officer's step and the applicant's supplements (at intake, or while the
    clock is paused during appraisal). Handlers run only after check() passed."""

    def start(self, now: datetime) -> None:
        """Open the intake step. Called once, at the very start of the first run."""
        if self.s.runs:
            return
        data: dict[str, Any] = {
            "channel": self.inp.channel.value,
            "documents": [d.model_dump() for d in self.inp.documents],
        }
        if self.inp.data_consents:
            # Who agreed, when, that which component be taken from a database (no ID numbers).
            data["data_consents"] = [c.record() for c in self.inp.data_consents]
        self._emit(
            "submitted",
            self.inp.submitted_by,
            self.inp.submitted_at,
            status_after=Status.SUBMITTED,
            data=data,
        )
        self._enter_step(0, self.inp.submitted_at)

    def held_for_components(self) -> list[ChecklistItem]:
        """The required components an online dossier still lacks while it waits at intake:
        nobody saw its papers, so it is not received (`accept`) until they come; the intake
        officer asks for them all at once, or refuses. A sub-dossier of a linked group was
        checked by the group's own intake."""
        if (
            not self.holds_incomplete
            or self.inp.channel is not Channel.ONLINE
            or self.inp.parent_code is not None
            or self.closed
            or self.step().kind is not StepKind.INTAKE
            or self.s.status is Status.SUPPLEMENT_REQUESTED
        ):
            return []
        return intake_checklist(
            self.procedure.documents, self.s.documents, self.s.data_fetches
        ).missing

    def _incomplete(self, missing: list[ChecklistItem]) -> Refusal:
        names = "; ".join(component_line(i) for i in missing)
        return Refusal(
            "incomplete",
            f"Hồ sơ {self.inp.code} nộp trực tuyến còn thiếu thành phần bắt buộc: {names}. "
            "Chưa thể tiếp nhận: yêu cầu bổ sung một lần, đầy đủ các thành phần còn thiếu "
            "(request_supplement), hoặc từ chối tiếp nhận (refuse).",
        )

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
        self._emit_action(
            Action.ACCEPT,
            cmd,
            now,
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
        self._emit_action(
            Action.REQUEST_SUPPLEMENT,
            cmd,
            now,
            status_after=Status.SUPPLEMENT_REQUESTED,
            data={
                "missing": cmd.data["missing"],
                "stage": step.kind.value,
                "request_number": self.s.supplement_requests,
                "supplement_due_at": self._iso(self.s.supplement_due_at),
                "form": "02",
            },
        )

    def _documents(self, cmd: ActionInput) -> list[DocumentRef]:
        try:
            docs = _documents.validate_python(cmd.data.get("documents"))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise Refusal(
                "invalid",
                T("documents_invalid", where=where, kind=first["type"], msg=first["msg"]),
            ) from None
        if not docs:
            raise Refusal("invalid", T("documents_empty"))
        return docs

    def _do_supplement(self, cmd: ActionInput, now: datetime) -> None:
        docs = self._documents(cmd)
        self.s.documents.extend(docs)
        stage = self.s.supplement_stage
        self.s.supplement_due_at = None
        self.s.supplement_stage = None
        data: dict[str, Any] = {"documents": [d.model_dump() for d in docs]}
        if stage is StepKind.INTAKE:
            self.s.arrival_at = now
            self._emit_action(Action.SUPPLEMENT, cmd, now, status_after=Status.SUBMITTED, data=data)
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
        self._emit_action(
            Action.SUPPLEMENT,
            cmd,
            now,
            status_after=STATUS_FOR_KIND[run.kind],
            data=data,
        )

    def _do_refuse(self, cmd: ActionInput, now: datetime) -> None:
        if self.step().kind is StepKind.INTAKE:
            self._emit_action(
                Action.REFUSE,
                cmd,
                now,
                status_after=Status.NOT_RECEIVED,
                data={"form": "03"},
            )
            self._finish_run(now, "refused", cmd.actor)
            self._close(now, Status.NOT_RECEIVED, "not_received")
            return
        self._decide(cmd, now, granted=False, kind=Action.REFUSE.value)
