"""What a workflow's history says happened, and the read model held against it: the
tasks each process ran (from the history), the documents a dossier's events call for,
and a check that the read model holds exactly what each workflow emitted, once.

Shared by tests/devserver/test_multi_worker.py and tests/faults/.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import WorkflowHistory

from activities.notifications import notifications_for, paid_online_by, portal_sync
from domain.dossier import DossierView, Event, ResultDocument
from infra.docstore import FolderStore
from services.audit.history import decode
from services.audit.integrity import verify_record
from store import repository
from store.db import session
from store.models import DocumentRow, DossierRow, EventRow, OutboxRow
from tests.payload_keys import plain

# --------------------------------------------------------------------------- histories


@dataclass(frozen=True)
class Task:
    """A workflow or activity task as the history records it: who ran it, and when."""

    workflow_id: str
    kind: str  # "workflow", or the activity type
    queue: str  # the task queue it was scheduled on (a workflow's: its own queue)
    identity: str
    at: datetime  # when it started (an activity's: when its last attempt started)
    activity_id: str = ""
    attempt: int = 1  # an activity's: the attempt that completed
    last_failure: str = ""  # why the attempt before it failed
    ended: datetime | None = None  # an activity's: when it completed (None: it did not)


def tasks_of(history: WorkflowHistory) -> list[Task]:
    out: list[Task] = []
    scheduled: dict[int, tuple[str, str, str]] = {}
    started_at: dict[int, int] = {}  # an activity's scheduled event id -> its index in out
    own_queue = ""
    for event in history.events:
        at = event.event_time.ToDatetime(tzinfo=UTC)
        if event.HasField("workflow_execution_started_event_attributes"):
            own_queue = event.workflow_execution_started_event_attributes.task_queue.name
        elif event.HasField("workflow_task_completed_event_attributes"):
            # Who completed it (a speculative task, for an update, is recorded as started
            # without an identity).
            identity = event.workflow_task_completed_event_attributes.identity
            out.append(Task(history.workflow_id, "workflow", own_queue, identity, at))
        elif event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = (
                attrs.activity_type.name,
                attrs.task_queue.name,
                attrs.activity_id,
            )
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            kind, queue, activity_id = scheduled[started.scheduled_event_id]
            started_at[started.scheduled_event_id] = len(out)
            out.append(
                Task(
                    history.workflow_id,
                    kind,
                    queue,
                    started.identity,
                    at,
                    activity_id=activity_id,
                    attempt=started.attempt,
                    last_failure=(
                        started.last_failure.message if started.HasField("last_failure") else ""
                    ),
                )
            )
        elif event.HasField("activity_task_completed_event_attributes"):
            i = started_at[event.activity_task_completed_event_attributes.scheduled_event_id]
            out[i] = replace(out[i], ended=at)
    return out


def expected_documents(code: str, events: list[Event]) -> Counter[str]:
    """The documents the read model must hold for these events, by id: a form per event
    that names one, the signed result, each upload, and the control slip at the close."""
    ids: Counter[str] = Counter()
    for e in events:
        if e.data.get("form"):
            ids[f"{e.id}:form-{e.data['form']}"] += 1
        if e.kind == "result_issued":
            ids[ResultDocument.model_validate(e.data["document"]).document_id] += 1
        uploads = e.data.get("documents")
        if e.kind in ("submitted", "supplement") and isinstance(uploads, list):
            ids.update(f"{e.id}:upload-{i}" for i in range(1, len(uploads) + 1))
        fees = e.data.get("fees")
        if e.kind == "pay" and isinstance(fees, dict) and int(fees.get("total_vnd", 0)) > 0:
            # The e-receipt: numbered in its unit's series (the number is the database's),
            # so named here by the payment it was issued for.
            ids[receipt_for(e.id)] += 1
    ids[f"{code}:form-06"] += 1
    return ids


def receipt_for(event_id: str) -> str:
    return f"receipt issued for {event_id}"


def document_key(d: Any) -> str:
    """A document row's id; an e-receipt's, by the payment it was issued for."""
    return receipt_for(d.event_id) if d.id.startswith("receipt:") else str(d.id)


def rows(engine: Engine, model: type) -> list:  # type: ignore[type-arg]
    with session(engine) as s:
        return list(s.exec(select(model)))


@dataclass
class Emitted:
    """What the workflows emitted (from their histories), dossier by dossier."""

    events: dict[str, list[Event]]
    handoff_acks: list[dict[str, object]]

    @property
    def total(self) -> int:
        return sum(len(e) for e in self.events.values())


def assert_read_model_holds_exactly(
    engine: Engine,
    histories: dict[str, WorkflowHistory],
    results: dict[str, DossierView],
    *,
    public_base_url: str,
    store: FolderStore | None = None,
) -> Emitted:
    """The read model against what each (completed, single-run) workflow emitted: each
    event once, numbered 1..n without gaps, in order and chained as the workflow chained
    it; the dossier row at the final status and last event; every notification and
    document exactly once (and each rendered file in `store`); no row beyond these.
    The database must hold these dossiers only."""
    emitted: dict[str, list[Event]] = {}
    acks: list[dict[str, object]] = []
    expected_outbox: list[tuple[str, str, str, str, str, str]] = []
    expected_docs: Counter[str] = Counter()
    by_code = {r.code: r for r in rows(engine, DossierRow)}
    assert sorted(by_code) == sorted(histories), "the read model has every dossier, once"
    for code, history in histories.items():
        result = results[code]
        record = decode([plain(history)])
        assert record.completed and len(record.runs) == 1, code
        events = [e for batch in record.batches for e in batch.events]
        # The workflow emitted each event once, numbered 1..n without gaps...
        assert [e.seq for e in events] == list(range(1, result.event_seq + 1)), code
        assert len({e.id for e in events}) == len(events), code
        # ...and the read model holds exactly those, chained as the workflow chained them.
        recorded = repository.list_events(engine, code)
        assert [(r.id, r.seq, r.kind, r.hash) for r in recorded] == [
            (e.id, e.seq, e.kind, e.hash) for e in events
        ], code
        report = verify_record(code, recorded, events, result.chain_head)
        assert report.intact, report.problems
        row = by_code[code]
        assert (row.status, row.last_event_seq) == (result.status.value, result.event_seq), code
        emitted[code] = events
        paid: str | None = None  # how a gateway confirmed the payment, so far
        for batch in record.batches:
            for i, e in enumerate(batch.events):
                wanted = notifications_for(e, batch.view, record.input.applicant)
                sync = portal_sync(
                    e, batch.view, public_base_url, payment_method=paid, later=batch.events[i + 1 :]
                )
                paid = paid or paid_online_by(e)
                for m in [*wanted, *([sync] if sync else [])]:
                    expected_outbox.append(
                        (m.id, m.dossier_code, m.recipient, m.channel, m.subject, m.body)
                    )
        expected_docs.update(expected_documents(code, events))
        acks.extend(e.data for e in events if e.kind == "handoff_acknowledged")
    out = Emitted(emitted, acks)
    assert len(rows(engine, EventRow)) == out.total, "no event row beyond the histories'"
    assert sorted(
        (o.id, o.dossier_code, o.recipient, o.channel, o.subject, o.body)
        for o in rows(engine, OutboxRow)
    ) == sorted(expected_outbox), "every notification queued exactly once"
    documents = rows(engine, DocumentRow)
    assert Counter(document_key(d) for d in documents) == expected_docs, (
        "every document exactly once"
    )
    if store is not None:
        assert all(store.has(d.sha256) for d in documents if d.source != "upload")
    return out
