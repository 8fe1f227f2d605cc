"""The machine's state, its current step, and the event record every phase writes to."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from domain.calendar import WorkingCalendar
from domain.catalog import Step
from domain.dossier import (
    Action,
    ActionInput,
    Actor,
    DossierInput,
    DossierState,
    Event,
    Status,
    StepRun,
)
from domain.findings import StepFinding, capped, is_finding, with_finding
from domain.i18n import Text


class Refusal(Exception):
    """An action refused with a reason. `code` tells the API which HTTP status fits:
    forbidden (403), wrong_step / closed (409), invalid (422). The reason is a `Text`
    (domain/machine/messages.py): `message` is its Vietnamese, the API renders it in the
    caller's language."""

    def __init__(self, code: str, message: Text | str) -> None:
        self.text = message if isinstance(message, Text) else None
        self.message = str(message)
        super().__init__(self.message)
        self.code = code


class MachineCore:
    """What every phase shares: the dossier's input and state, the step it is at, and
    `_emit`, which appends a hash-chained event to the record."""

    def __init__(self, inp: DossierInput, calendar: WorkingCalendar | None = None) -> None:
        self.inp = inp
        self.procedure = inp.procedure
        self.calendar = calendar or inp.calendar
        self.s: DossierState = inp.carried_state or DossierState(documents=list(inp.documents))
        self._new_events: list[Event] = []
        # Results are rendered, signed and sealed by activities (the workflow turns this
        # on behind a patch; histories from before it replay with plain sign events).
        self.signs_results = False
        # An online dossier missing a required component is held at intake: `accept` waits
        # for the supplement (the workflow turns this on behind a patch, like the above).
        self.holds_incomplete = False
        # Fees are checked against the catalog, collected at the counter and required
        # before return (behind a patch, like the above: domain/machine/fees.py).
        self.collects_fees = False
        if self.s.arrival_at is None:
            self.s.arrival_at = inp.submitted_at

    @property
    def closed(self) -> bool:
        return self.s.closed_at is not None

    def drain(self) -> list[Event]:
        events, self._new_events = self._new_events, []
        return events

    @property
    def has_new_events(self) -> bool:
        return bool(self._new_events)

    def step(self, index: int | None = None) -> Step:
        return self.procedure.steps[self.s.step_index if index is None else index]

    def run(self) -> StepRun | None:
        if self.closed or not self.s.runs:
            return None
        return self.s.runs[-1]

    def step_agency(self, index: int | None = None) -> str:
        return self.moved(self.inp.step_agencies[self.s.step_index if index is None else index])

    def moved(self, agency: str) -> str:
        """Where `agency`'s work on this dossier is now: its successor's, after a merger
        (`AgencyMove`s in order), else itself."""
        for move in self.s.agency_moves:
            if move.from_agency == agency:
                agency = move.to_agency
        return agency

    @property
    def competent_agency(self) -> str:
        """The agency that decides now (its successor, once merged)."""
        return self.moved(self.inp.competent_agency)

    def copy(self) -> Self:
        twin = type(self)(
            self.inp.model_copy(update={"carried_state": self.s.model_copy(deep=True)}),
            self.calendar,
        )
        twin.s.event_seq = self.s.event_seq
        twin.signs_results = self.signs_results
        twin.holds_incomplete = self.holds_incomplete
        twin.collects_fees = self.collects_fees
        return twin

    def _emit_action(
        self,
        action: Action,
        cmd: ActionInput,
        now: datetime,
        *,
        status_after: Status | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        """The event of an actor's action: its kind, actor and comment are the command's."""
        return self._emit(
            action.value, cmd.actor, now, comment=cmd.comment, status_after=status_after, data=data
        )

    def _emit(
        self,
        kind: str,
        actor: Actor,
        now: datetime,
        *,
        comment: str = "",
        status_after: Status | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        before = self.s.status
        if status_after is not None:
            self.s.status = status_after
        self.s.event_seq += 1
        run = self.s.runs[-1] if self.s.runs else None
        event = Event(
            id=f"{self.inp.code}:{self.s.event_seq}",
            seq=self.s.event_seq,
            dossier_code=self.inp.code,
            kind=kind,
            at=now,
            actor_id=actor.id,
            actor_name=actor.name,
            role=actor.role,
            agency=actor.agency,
            step_id=run.step_id if run else None,
            step_kind=run.kind if run else None,
            status_before=before,
            status_after=self.s.status,
            comment=comment,
            data=data or {},
            prev_hash=self.s.chain_head,
        )
        event.hash = event.content_hash(self.s.chain_head)
        self.s.chain_head = event.hash
        self._new_events.append(event)
        if run is not None and is_finding(kind, actor.role):
            self._note_finding(event, run)
        return event

    def _note_finding(self, event: Event, run: StepRun) -> None:
        """Keep what this action concluded at its step, for the next holders."""
        finding = StepFinding(
            **capped(event.model_dump(include=set(StepFinding.model_fields) - {"event_id"})),
            event_id=event.id,
            step_name=self.procedure.steps[run.index].name,
        )
        self.s.findings = with_finding(self.s.findings, finding)

    @staticmethod
    def _iso(dt: datetime | None) -> str | None:
        return dt.isoformat() if dt else None
