"""The signed result: held while activities render, sign and seal it, then the action."""

from __future__ import annotations

from datetime import datetime

from domain.catalog import StepKind
from domain.dossier import (
    Action,
    ActionInput,
    Issuing,
    ResultDocument,
    ResultRequest,
)
from domain.machine.authorisation import Authorisation


class ResultIssuing(Authorisation):
    """Whether an action issues the result, and the signing's start, failure and end."""

    def issues_result(self, action: Action) -> bool:
        """Whether taking `action` now issues the result, so the workflow must render,
        sign and seal it before the action completes."""
        if not self.signs_results or self.closed or self.run() is None:
            return False
        index = self.procedure.issuing_step()
        if index is None or index != self.s.step_index:
            return False
        kind = self.step().kind
        if kind is StepKind.SIGNATURE:
            return action is Action.SIGN
        return kind is StepKind.APPROVAL and action in (Action.APPROVE, Action.REJECT)

    def begin_issuing(self, action: Action, cmd: ActionInput, now: datetime) -> ResultRequest:
        """The signer acted: hold the step while the activities sign the result."""
        self.check(action, cmd, now)
        self.on_time(now)
        granted = {Action.APPROVE: True, Action.REJECT: False}.get(
            action, self.s.outcome == "granted"
        )
        decision = cmd.comment if action in (Action.APPROVE, Action.REJECT) else ""
        decision = decision or self.s.decision_note
        spec = self.procedure.result_spec
        p = self.procedure
        title = (
            spec.title
            if granted
            else f"QUYẾT ĐỊNH về việc từ chối giải quyết hồ sơ {p.name[:1].lower()}{p.name[1:]}"
        )
        self.s.issuing = Issuing(action=action, actor=cmd.actor, started_at=now)
        self._emit(
            "signing_started",
            cmd.actor,
            now,
            comment=cmd.comment,
            data={"action": action.value, "granted": granted},
        )
        return ResultRequest(
            action=action,
            number=f"{self.inp.code}/{spec.number_suffix if granted else 'QĐ-TC'}",
            kind_title=title,
            granted=granted,
            decision_text=decision,
            reasons="" if granted else decision,
            signer=cmd.actor,
            signer_title=spec.signer_title,
            signing_agency=self.step_agency(),
            seal_agency=self.step_agency(),
            legal_basis=list(p.legal_basis),
            requested_at=now,
            template=spec.template if granted else None,
        )

    def issuing_failed(self, message: str, now: datetime) -> None:
        """The signing activities gave up: the step is the signer's again."""
        issuing = self.s.issuing
        if issuing is None:
            return
        self.s.issuing = None
        self.s.signing_failures += 1
        self._emit(
            "signing_failed",
            issuing.actor,
            now,
            comment=message,
            data={"action": issuing.action.value, "failures": self.s.signing_failures},
        )

    def finish_issuing(
        self, action: Action, cmd: ActionInput, document: ResultDocument, now: datetime
    ) -> None:
        """The result is signed and sealed: record its hash, then take the action."""
        self.s.issuing = None
        self.check(action, cmd, now)
        self.s.result = document
        self._emit(
            "result_issued",
            cmd.actor,
            now,
            data={"document": document.model_dump(mode="json")},
        )
        signed = cmd.model_copy(
            update={
                "data": {
                    **{k: v for k, v in cmd.data.items() if k not in ("document", "sha256")},
                    "document": document.document_id,
                    "sha256": document.sha256,
                }
            }
        )
        self.apply(action, signed, now)
