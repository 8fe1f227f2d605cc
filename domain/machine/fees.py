"""Fees: what the dossier owes at the step it is at, the payment's check against the
catalog, and the rule that a fee-bearing dossier is not returned unpaid.

Fees collected at intake are paid to the intake officer (`pay` at the intake step, which
stays open: the officer then accepts); those of a payment step (land: with the tax
notice) settle that step, at the counter or through the gateway; whatever is still unpaid
at return (and the fees due at return) is collected by the return officer before the
result is handed over. An exempted group pays what the catalog says for it (0: a `pay`
of 0 records the exemption, no receipt)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.catalog import Role, StepKind
from domain.dossier import Action, ActionInput, AllowedAction, FeePayment
from domain.fees import COUNTER_METHODS, FeeLine, FeesDue, Stage, exemption_groups, fees_due
from domain.machine._core import Refusal
from domain.machine.messages import T
from domain.machine.steps import StepFlow

_STAGE_OF_KIND: dict[StepKind, Stage] = {
    StepKind.INTAKE: "intake",
    StepKind.PAYMENT: "payment",
    StepKind.RETURN: "return",
}


class FeeCollection(StepFlow):
    """The fee rules; they apply only with `collects_fees` (the workflow's patch)."""

    def _fee_stage(self) -> Stage | None:
        run = self.run()
        return _STAGE_OF_KIND.get(run.kind) if run is not None else None

    def _paid_stages(self) -> set[str]:
        return {p.stage for p in self.s.fee_payments}

    def fees_owed(self, copies: int = 1, group: str | None = None) -> FeesDue | None:
        """What a payment at the current step must come to (None: nothing is collected
        here). At return: the intake fees still unpaid, and the return fees."""
        stage = self._fee_stage()
        if stage is None or self.inp.parent_code is not None:
            return None  # a linked group's sub-dossier: the group collects its fees
        paid = self._paid_stages()
        if stage in ("intake", "return") and stage in paid:
            # Paid here already: at return, that payment settled the intake's fees too
            # (`counter_fees_unpaid`), so nothing is owed and `pay` is not offered again.
            return None
        if stage == "payment":
            if self.step().kind is not StepKind.PAYMENT:
                return None
            return fees_due(self.procedure, "payment", copies, group)
        lines: list[FeeLine] = []
        stages: list[Stage] = ["intake"] if stage == "intake" else ["intake", "return"]
        for st in stages:
            if st not in paid:
                lines += fees_due(self.procedure, st, copies, group).lines
        if not lines:
            return None
        return FeesDue(stage=stage, copies=copies, group=group, lines=lines)

    def counter_fees_unpaid(self) -> int:
        """The fees (for an applicant of no exempted group) collected at intake or return
        that no payment has settled: the return waits for them."""
        if not self.collects_fees or self.inp.parent_code is not None:
            return 0
        paid = self._paid_stages()
        if "return" in paid:
            return 0
        total = 0
        for stage in ("intake", "return"):
            if stage == "intake" and "intake" in paid:
                continue
            total += fees_due(self.procedure, stage).total_vnd
        return total

    def _fee_actions(self, role: Role, agency: str, step_id: str) -> list[AllowedAction]:
        """`pay` at an intake or return step while its fees are unpaid, by the step's owner
        or the gateway (the payment step has `pay` as its own action)."""
        if not self.collects_fees or self.step().kind is StepKind.PAYMENT:
            return []
        owed = self.fees_owed()
        if owed is None:
            return []
        return [
            AllowedAction(action=Action.PAY, role=role, agency=agency, step_id=step_id),
            # Paid online: the gateway's signed confirmation settles it too.
            AllowedAction(action=Action.PAY, role=Role.SYSTEM, agency=None, step_id=step_id),
        ]

    def _pay_terms(self, cmd: ActionInput) -> tuple[int, str | None]:
        d = cmd.data
        copies = d.get("copies", 1)
        if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= 100:
            raise Refusal("invalid", T("fee_copies"))
        group = d.get("exemption") or None
        groups = exemption_groups(self.procedure)
        if group is not None and group not in groups:
            names = ", ".join(sorted(groups)) or "—"
            raise Refusal("invalid", T("fee_group", group=str(group)[:80], groups=names))
        return copies, group

    def _validate_pay(self, cmd: ActionInput) -> FeesDue | None:
        """The payment checked against the catalog; the fees it settles (None: a payment
        step whose amount the catalog does not set, such as a tax notice's)."""
        if not self.collects_fees:
            return None
        copies, group = self._pay_terms(cmd)
        owed = self.fees_owed(copies, group)
        if owed is None:
            if self._fee_stage() in ("intake", "return"):
                raise Refusal("wrong_step", T("fee_paid_already", code=self.inp.code))
            return None
        if not owed.lines:
            return None  # a payment step with no catalog fee: the notice's amount stands
        expected = owed.total_vnd
        amount = cmd.data.get("amount_vnd")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise Refusal("invalid", T("fee_amount_missing", code=self.inp.code, expected=expected))
        if amount != expected:
            lines = "; ".join(
                f"{line.name}: {line.amount_vnd:,}".replace(",", ".") for line in owed.lines
            )
            raise Refusal(
                "invalid",
                T("fee_amount", code=self.inp.code, expected=expected, amount=amount, lines=lines),
            )
        # A gateway names its own method (vietqr, the national platform ...: the portal's
        # flag tells them apart); at the counter it is one of COUNTER_METHODS.
        if cmd.actor.role is not Role.SYSTEM and cmd.data.get("method") not in COUNTER_METHODS:
            raise Refusal("invalid", T("fee_method", methods=", ".join(COUNTER_METHODS)))
        return owed

    def _fee_record(self, cmd: ActionInput, now: datetime, event_id: str) -> dict[str, Any]:
        """Keep the payment and say what it settled (the pay event's data: the receipt is
        issued from it)."""
        owed = self._validate_pay(cmd)
        if owed is None:
            return {}
        online = cmd.actor.role is Role.SYSTEM
        method = str(cmd.data.get("method") or ("online" if online else ""))
        collector = self.step_agency()
        self.s.fee_payments.append(
            FeePayment(
                stage=owed.stage,
                amount_vnd=owed.total_vnd,
                method=method,
                copies=owed.copies,
                group=owed.group,
                collector=collector,
                at=now,
                actor_id=cmd.actor.id,
                event_id=event_id,
                online=online,
            )
        )
        return {
            "fees": {
                "stage": owed.stage,
                "copies": owed.copies,
                "exemption": owed.group,
                "lines": [line.model_dump() for line in owed.lines],
                "total_vnd": owed.total_vnd,
                "collector": collector,
                "method": method,
            }
        }
