"""Decode a dossier's workflow history (one run, or every run of a dossier that continued
as new) into a typed record, without a server and without running the workflow.

What a DossierWorkflow history holds, and where:
- WorkflowExecutionStarted: the `DossierInput` (on later runs it carries the state and
  the calendar as extended so far);
- ActivityTaskScheduled of `record_dossier_events`: each batch of events the dossier
  emitted, with the dossier's view right after the batch (`RecordEventsInput`);
- ActivityTaskCompleted of `extend_calendar`: calendar years fetched while it ran;
- WorkflowExecutionUpdateAccepted: every officer or applicant action (`ActionInput`), and
  a merger's move of an agency's work (`move_agency`: `MoveAgencyInput`).

`decode` reads plain payloads: pass a history whose payloads were decrypted first
(`infra.codec.decoded_history`, which `AuditService` does); an encrypted one is
refused with the payload's encoding named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from activities.contracts import EXTEND_CALENDAR, RECORD_EVENTS, RecordEventsInput
from domain.calendar import WorkingCalendar
from domain.dossier import ActionInput, DossierInput, DossierView, Event, MoveAgencyInput
from infra.temporal import converter_with

WORKFLOW_TYPE = "DossierWorkflow"

M = TypeVar("M", bound=BaseModel)
_PLAIN = converter_with(None)


@dataclass(frozen=True)
class RecordedBatch:
    """One `record_dossier_events` activity: the events and the view right after them."""

    scheduled_at: datetime  # when the workflow scheduled the recording (history time)
    events: list[Event]
    view: DossierView


@dataclass(frozen=True)
class AcceptedUpdate:
    """An action (workflow update) that passed its validator and was accepted."""

    at: datetime
    name: str
    input: ActionInput | MoveAgencyInput
    update_id: str


@dataclass
class DossierRecord:
    input: DossierInput  # the first run's input: the dossier as submitted
    batches: list[RecordedBatch]
    updates: list[AcceptedUpdate]
    runs: list[str]  # run ids, in order
    completed: bool  # the last run completed (not failed, terminated or still running)
    # The dossier's frozen calendar as the workflow last held it: the latest run's input
    # calendar extended by every `extend_calendar` result recorded in the history.
    calendar: WorkingCalendar
    last_event_at: datetime  # time of the last history event of the last run (any kind)


def decode(histories: Sequence[WorkflowHistory]) -> DossierRecord:
    """The record of one dossier from its histories (runs in order, first run first).

    Raises ValueError when a history is not a DossierWorkflow history, when the runs do
    not follow each other (each later run must continue the one before it as new), or
    when the first run is not the dossier's first (it carries state from an earlier one).
    """
    if not histories:
        raise ValueError("no history given: pass every run of the dossier, first run first")
    first_input: DossierInput | None = None
    calendar: WorkingCalendar | None = None
    batches: list[RecordedBatch] = []
    updates: list[AcceptedUpdate] = []
    runs: list[str] = []
    completed = False
    last_event_at: datetime | None = None
    previous_closed_as_new = False

    for number, history in enumerate(histories):
        where = f"history {number + 1} of {len(histories)} ({history.workflow_id!r})"
        events = list(history.events)
        if not events:
            raise ValueError(f"{where} has no events")
        started = events[0]
        if not started.HasField("workflow_execution_started_event_attributes"):
            raise ValueError(
                f"{where} does not begin with WorkflowExecutionStarted "
                f"(it begins with {_type_name(started)}): not a whole workflow history"
            )
        attrs = started.workflow_execution_started_event_attributes
        if attrs.workflow_type.name != WORKFLOW_TYPE:
            raise ValueError(
                f"{where} is a {attrs.workflow_type.name!r} history, not a {WORKFLOW_TYPE} history"
            )
        inp = _decode(attrs.input.payloads, DossierInput, f"{where}: workflow input")
        run_id = attrs.original_execution_run_id
        if number == 0:
            if inp.carried_state is not None:
                raise ValueError(
                    f"{where} is a continued run of dossier {inp.code} (it carries state from "
                    f"run {attrs.continued_execution_run_id or '?'}): pass every run from the first"
                )
            first_input = inp
        else:
            assert first_input is not None
            if inp.code != first_input.code:
                raise ValueError(f"{where} belongs to dossier {inp.code}, not {first_input.code}")
            if not previous_closed_as_new or attrs.continued_execution_run_id != runs[-1]:
                raise ValueError(
                    f"{where} (run {run_id}) does not continue run {runs[-1]} as new: "
                    "pass the runs of one dossier in order"
                )
        runs.append(run_id)
        calendar = inp.calendar

        scheduled: dict[int, str] = {}  # event id -> activity type, to match completions
        for event in events:
            at = _time(event)
            if event.HasField("activity_task_scheduled_event_attributes"):
                act = event.activity_task_scheduled_event_attributes
                scheduled[event.event_id] = act.activity_type.name
                if act.activity_type.name == RECORD_EVENTS:
                    rec = _decode(
                        act.input.payloads,
                        RecordEventsInput,
                        f"{where}: event {event.event_id} ({RECORD_EVENTS} input)",
                    )
                    batches.append(
                        RecordedBatch(scheduled_at=at, events=rec.events, view=rec.dossier)
                    )
            elif event.HasField("activity_task_completed_event_attributes"):
                done = event.activity_task_completed_event_attributes
                if scheduled.get(done.scheduled_event_id) == EXTEND_CALENDAR:
                    more = _decode(
                        done.result.payloads,
                        WorkingCalendar,
                        f"{where}: event {event.event_id} ({EXTEND_CALENDAR} result)",
                    )
                    calendar = calendar.merged(more)
            elif event.HasField("workflow_execution_update_accepted_event_attributes"):
                request = event.workflow_execution_update_accepted_event_attributes.accepted_request
                # A merger's move (`move_agency`) names the agencies; every other update
                # is an officer's or applicant's action.
                model: type[ActionInput | MoveAgencyInput] = (
                    MoveAgencyInput if request.input.name == "move_agency" else ActionInput
                )
                cmd = _decode(
                    request.input.args.payloads,
                    model,
                    f"{where}: event {event.event_id} (update {request.input.name!r})",
                )
                updates.append(
                    AcceptedUpdate(
                        at=at, name=request.input.name, input=cmd, update_id=request.meta.update_id
                    )
                )
        last = events[-1]
        previous_closed_as_new = (
            last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        )
        completed = last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
        last_event_at = _time(last)

    assert first_input is not None and calendar is not None and last_event_at is not None
    return DossierRecord(
        input=first_input,
        batches=batches,
        updates=updates,
        runs=runs,
        completed=completed,
        calendar=calendar,
        last_event_at=last_event_at,
    )


def events_of(record: DossierRecord) -> list[Event]:
    """Every event the dossier emitted, in sequence order, each once (by id)."""
    seen: dict[str, Event] = {}
    for batch in record.batches:
        for event in batch.events:
            seen.setdefault(event.id, event)
    return sorted(seen.values(), key=lambda e: e.seq)


def _decode(payloads: Sequence[Payload], model: type[M], what: str) -> M:
    try:
        values: list[Any] = _PLAIN.payload_converter.from_payloads(payloads, [model])
    except Exception as exc:
        raise ValueError(f"{what}: cannot be decoded as {model.__name__}: {exc}") from exc
    if len(values) != 1 or not isinstance(values[0], model):
        raise ValueError(f"{what}: expected one {model.__name__}, found {len(values)} value(s)")
    return values[0]


def _time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def _type_name(event: HistoryEvent) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
