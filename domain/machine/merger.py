"""Mergers: an agency's work on the dossier taken over by its successor.

Two-level local government (from 01/7/2025): communes merge and their People's Committees'
codes stop being used. An open dossier keeps everything it did (its history, the centre
that received it, the agency each finished step was at); what is still to do at the old
agency is done at the successor's from the move on: the current step if it is there, and
every later step."""

from __future__ import annotations

from datetime import datetime

from domain.dossier import AgencyMove, MoveAgencyInput
from domain.machine._core import Refusal
from domain.machine.handoff import Handoff
from domain.machine.messages import T


class Merging(Handoff):
    def check_move(self, cmd: MoveAgencyInput) -> None:
        """Raise Refusal when the move cannot be made; no side effects."""
        if cmd.request_id is not None and cmd.request_id in self.s.requests_taken:
            raise Refusal("already_taken", T("already_taken", code=self.inp.code))
        if self.closed:
            raise Refusal("closed", T("move_closed", code=self.inp.code))
        if cmd.from_agency == cmd.to_agency:
            raise Refusal("invalid", T("move_same", agency=cmd.from_agency))
        if cmd.from_agency not in self._agencies_to_come():
            raise Refusal("invalid", T("move_not_here", code=self.inp.code, agency=cmd.from_agency))

    def _agencies_to_come(self) -> set[str]:
        """The agencies of the current step and those after it, as the dossier has them now."""
        run = self.run()
        start = self.s.step_index if run is not None else len(self.procedure.steps)
        found = {self.step_agency(i) for i in range(start, len(self.procedure.steps))}
        if run is not None:
            found.add(run.agency)
        found.add(self.competent_agency)
        return found

    def move_agency(self, cmd: MoveAgencyInput, now: datetime) -> None:
        """Move the work still to do at `from_agency` to `to_agency`, recorded as an
        `agency_moved` event (its status unchanged)."""
        self.check_move(cmd)
        before = self.step_agency()
        self.s.agency_moves = [
            *self.s.agency_moves,
            AgencyMove(
                from_agency=cmd.from_agency,
                to_agency=cmd.to_agency,
                decision=cmd.decision,
                at=now,
            ),
        ]
        run = self.run()
        # A handoff to the old agency not acknowledged yet goes to the successor instead.
        resent = self.pending_handoff()
        resent_to = (
            cmd.to_agency if resent is not None and resent.agency == cmd.from_agency else None
        )
        if run is not None and run.ended_at is None and run.agency == cmd.from_agency:
            # The open step goes to the successor with its budget and time used so far;
            # a name it was assigned to belongs to the old agency: the successor's leader
            # assigns it again.
            run.agency = cmd.to_agency
            run.assignment = None
        if cmd.request_id is not None:
            self.s.requests_taken = [*self.s.requests_taken[-99:], cmd.request_id]
        self._emit(
            "agency_moved",
            cmd.actor,
            now,
            comment=cmd.decision,
            data={
                "from_agency": cmd.from_agency,
                "to_agency": cmd.to_agency,
                "decision": cmd.decision,
                "step_agency_before": before,
                "step_agency_after": self.step_agency(),
                "competent_agency": self.competent_agency,
                "centre_agency": self.inp.centre_agency,
                **({"handoff_to": resent_to} if resent_to else {}),
            },
        )
