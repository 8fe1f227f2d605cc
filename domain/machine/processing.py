"""The agencies' work: appraisal, site inspection, consultation, approval, signature, payment."""

from __future__ import annotations

from datetime import datetime

from domain.catalog import StepKind
from domain.dossier import (
    Action,
    ActionInput,
    Inspection,
)
from domain.machine._core import Refusal
from domain.machine.fees import FeeCollection
from domain.machine.messages import T


class Processing(FeeCollection):
    """The handlers of the steps between handoff and return. Handlers run only after
    check() passed."""

    def _inspection_time(self, cmd: ActionInput, now: datetime) -> datetime:
        raw = cmd.data.get("at")
        try:
            at = datetime.fromisoformat(str(raw))
        except ValueError:
            raise Refusal("invalid", T("inspection_format")) from None
        cal = self.calendar
        if at.tzinfo is None:
            at = at.replace(tzinfo=cal.tz)
        if at <= now:
            raise Refusal("invalid", T("inspection_past", at=at))
        if cal.clamp_forward(at) != cal.local(at):
            raise Refusal("invalid", T("inspection_off_hours", at=at))
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
        self._emit_action(
            Action.SCHEDULE_INSPECTION,
            cmd,
            now,
            data={"inspection_at": at.isoformat(), "place": place},
        )

    def _do_appraise(self, cmd: ActionInput, now: datetime) -> None:
        opinion = cmd.data.get("opinion") or cmd.comment
        rec = cmd.data.get("recommendation", "grant")
        self._emit_action(
            Action.APPRAISE,
            cmd,
            now,
            data={"opinion": opinion, "recommendation": rec},
        )
        self._finish_run(now, f"appraised:{rec}", cmd.actor)
        self._advance(now)

    def _do_approve(self, cmd: ActionInput, now: datetime) -> None:
        self._decide(cmd, now, granted=True, kind=Action.APPROVE.value)

    def _do_reject(self, cmd: ActionInput, now: datetime) -> None:
        self._decide(cmd, now, granted=False, kind=Action.REJECT.value)

    def _do_sign(self, cmd: ActionInput, now: datetime) -> None:
        self._emit_action(
            Action.SIGN,
            cmd,
            now,
            data={k: v for k, v in cmd.data.items() if k in ("document", "sha256", "certificate")},
        )
        self._finish_run(now, "signed", cmd.actor)
        self._advance(now)

    def _do_pay(self, cmd: ActionInput, now: datetime) -> None:
        # At an intake or return step the fee is recorded and the step stays open; at a
        # payment step the payment settles the step (machine/fees.py).
        fees = self._fee_record(cmd, now, f"{self.inp.code}:{self.s.event_seq + 1}")
        self._emit_action(
            Action.PAY,
            cmd,
            now,
            data={
                **{
                    k: v
                    for k, v in cmd.data.items()
                    if k in ("receipt_number", "amount_vnd", "method")
                },
                **fees,
            },
        )
        if self.step().kind is StepKind.PAYMENT:
            self._finish_run(now, "paid", cmd.actor)
            self._advance(now)
