"""Handoff: the centre sends the dossier to the competent agency, which acknowledges it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.catalog import StepKind
from domain.dossier import (
    SYSTEM_ACTOR,
    Action,
    ActionInput,
    Status,
    StepRun,
)
from domain.machine.steps import StepFlow


class Handoff(StepFlow):
    """An automatic handoff, or a manual one after `forward`; it ends on the receiver's
    acknowledgement."""

    def pending_handoff(self) -> StepRun | None:
        """The handoff the workflow must send now, if any (auto, or after `forward`)."""
        run = self.run()
        if run is None or run.kind is not StepKind.HANDOFF or run.ended_at is not None:
            return None
        if self.s.status in (Status.SUPPLEMENT_REQUESTED,):
            return None
        if self.step().auto or run.outcome == "forwarded":
            return run
        return None

    def _do_forward(self, cmd: ActionInput, now: datetime) -> None:
        run = self.run()
        assert run is not None
        run.outcome = "forwarded"
        run.actor_id = cmd.actor.id
        self._emit_action(
            Action.FORWARD,
            cmd,
            now,
            data={"to_agency": self.step_agency()},
        )

    def handoff_acknowledged(self, ack: dict[str, Any], now: datetime) -> None:
        run = self.run()
        if run is None or run.kind is not StepKind.HANDOFF or run.ended_at is not None:
            return
        self.s.handoff_acks.append(ack)
        self._emit("handoff_acknowledged", SYSTEM_ACTOR, now, data={"to_agency": run.agency, **ack})
        self._finish_run(now, "acknowledged", SYSTEM_ACTOR)
        self._advance(now)
