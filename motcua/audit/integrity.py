"""Is the read model's record of a dossier the record the workflow made?

Every event carries the hash of the dossier's previous event and its own, computed
by the workflow as it emits it (`Event.content_hash`), and the workflow keeps the
last hash (`chain_head`). `verify_record` recomputes the chain over the SQL rows, and
compares every row with the event in the workflow's history, field by field, so an
edited, removed or added row is named with what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.dossier import Event
from store.models import EventRow

COMPARED = (
    "kind",
    "at",
    "actor_id",
    "actor_name",
    "role",
    "agency",
    "step_id",
    "step_kind",
    "status_before",
    "status_after",
    "comment",
    "data",
    "prev_hash",
    "hash",
)


class Problem(BaseModel):
    seq: int | None
    event_id: str | None
    message: str


class IntegrityReport(BaseModel):
    dossier_code: str
    intact: bool
    events_in_read_model: int
    events_in_history: int | None
    chained_events: int
    chain_head_read_model: str
    chain_head_workflow: str | None
    problems: list[Problem]


def _event(row: EventRow) -> Event:
    return Event.model_validate(row.model_dump())


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    return getattr(value, "value", value)


def _show(value: Any) -> str:
    text = repr(_plain(value) if not isinstance(value, datetime) else value.isoformat())
    return text if len(text) <= 120 else text[:117] + "..."


def verify_record(
    code: str,
    rows: Sequence[EventRow],
    history_events: Sequence[Event] | None,
    chain_head: str | None = None,
) -> IntegrityReport:
    problems: list[Problem] = []

    def problem(seq: int | None, event_id: str | None, message: str) -> None:
        problems.append(Problem(seq=seq, event_id=event_id, message=message))

    events = [_event(r) for r in rows]
    # 1. Numbering: 1..n, no gaps, no repeats.
    seqs = [e.seq for e in events]
    for missing in sorted(set(range(1, max(seqs, default=0) + 1)) - set(seqs)):
        problem(missing, f"{code}:{missing}", f"event #{missing} is missing from the read model")
    # 2. The chain over the rows themselves.
    previous: Event | None = None
    chained = 0
    for e in events:
        if e.hash:
            chained += 1
            if e.content_hash(e.prev_hash) != e.hash:
                problem(
                    e.seq,
                    e.id,
                    f"event #{e.seq} ({e.kind}) does not match its hash: "
                    "the row was changed after it was recorded",
                )
            expected_prev = previous.hash if previous is not None else ""
            if e.prev_hash != expected_prev:
                problem(
                    e.seq,
                    e.id,
                    f"event #{e.seq} ({e.kind}) does not follow event #{e.seq - 1} in the "
                    "chain: an event before it was changed, removed or inserted",
                )
        elif previous is not None and previous.hash:
            problem(e.seq, e.id, f"event #{e.seq} ({e.kind}) has lost its hash")
        previous = e
    head = events[-1].hash if events else ""
    # 3. The rows against the workflow's own history.
    if history_events is not None:
        by_seq = {e.seq: e for e in events}
        for h in history_events:
            row = by_seq.pop(h.seq, None)
            if row is None:
                if h.seq not in set(range(1, max(seqs, default=0) + 1)) - set(seqs):
                    problem(h.seq, h.id, f"event #{h.seq} ({h.kind}) is not in the read model")
                continue
            for field in COMPARED:
                recorded, original = getattr(row, field), getattr(h, field)
                if _plain(recorded) != _plain(original):
                    problem(
                        h.seq,
                        h.id,
                        f"event #{h.seq} ({h.kind}): {field} is {_show(recorded)} in the read "
                        f"model but {_show(original)} in the workflow history",
                    )
        for extra in by_seq.values():
            problem(
                extra.seq,
                extra.id,
                f"event #{extra.seq} ({extra.kind}) is in the read model but not in the history",
            )
    if chain_head and head != chain_head:
        problem(
            None,
            None,
            f"the read model's chain ends at {head[:12] or 'nothing'}…, the workflow's at "
            f"{chain_head[:12]}…: events are missing or were changed",
        )
    return IntegrityReport(
        dossier_code=code,
        intact=not problems,
        events_in_read_model=len(events),
        events_in_history=len(history_events) if history_events is not None else None,
        chained_events=chained,
        chain_head_read_model=head,
        chain_head_workflow=chain_head,
        problems=problems,
    )
