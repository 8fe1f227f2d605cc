"""Closing: the result returned to the applicant, or the dossier withdrawn (Form 05)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.dossier import (
    SYSTEM_ACTOR,
    Action,
    ActionInput,
    Status,
)
from domain.machine._core import Refusal
from domain.machine.messages import T
from domain.machine.steps import StepFlow

RETURN_CHANNELS = ("counter", "post", "online")


class Closing(StepFlow):
    """Return at the counter, by post or online, and withdrawal before the decision.
    Handlers run only after check() passed."""

    def _return_record(self, cmd: ActionInput) -> dict[str, Any]:
        """Who received the result and how (at the counter, by post, online), checked:
        someone other than the applicant shows an authorisation, a posted result has the
        postal item number, an online return needs the signed electronic result."""
        d = cmd.data
        applicant = self.inp.applicant
        channel = d.get("channel", "counter")

        def text(key: str, default: str = "") -> str:
            value = d.get(key, default)
            if not isinstance(value, str) or len(value) > 500:
                raise Refusal("invalid", T("return_text", key=key))
            return value.strip()

        record: dict[str, Any] = {"channel": channel}
        if channel == "counter":
            received_by = text("received_by", applicant.name) or applicant.name
            record["received_by"] = received_by
            if received_by.casefold() != applicant.name.casefold():
                authorization = text("authorization")
                if not authorization:
                    # Not the applicant's name: the refusal reaches the caller, the
                    # refused attempts and, as a failure, the history (plaintext).
                    raise Refusal("invalid", T("not_the_applicant", received_by=received_by))
                record["authorization"] = authorization
        elif channel == "post":
            tracking = text("tracking_number")
            address = text("address", applicant.address) or applicant.address
            if not tracking:
                raise Refusal("invalid", T("tracking_number"))
            if not address:
                raise Refusal("invalid", T("address"))
            record.update(
                tracking_number=tracking,
                address=address,
                received_by=text("received_by", applicant.name) or applicant.name,
            )
        else:
            if self.s.result is None and self.procedure.issuing_step() is not None:
                raise Refusal("invalid", T("online_no_result"))
            record["received_by"] = applicant.account or applicant.name
        if self.s.result is not None:
            record["document"] = self.s.result.document_id
            record["sha256"] = self.s.result.sha256
        return record

    def _do_return(self, cmd: ActionInput, now: datetime) -> None:
        data = (
            self._return_record(cmd)
            if self.signs_results
            else {
                "channel": cmd.data.get("channel", "counter"),
                "received_by": cmd.data.get("received_by", self.inp.applicant.name),
            }
        )
        self._emit_action(Action.RETURN, cmd, now, status_after=Status.RETURNED, data=data)
        self._finish_run(now, "returned", cmd.actor)
        self._close(now, Status.RETURNED, self.s.outcome or "granted")

    def _do_withdraw(self, cmd: ActionInput, now: datetime) -> None:
        self._emit_action(Action.WITHDRAW, cmd, now, status_after=Status.WITHDRAWAL_REQUESTED)
        self._emit(
            "stopped",
            SYSTEM_ACTOR,
            now,
            comment="Thông báo dừng giải quyết hồ sơ",
            status_after=Status.STOPPED,
            data={"form": "05", "reason": cmd.comment},
        )
        self._finish_run(now, "withdrawn", cmd.actor)
        self._close(now, Status.STOPPED, "withdrawn")
