"""Is the read model's record of a dossier the record the workflow made?

Every event carries the hash of the dossier's previous event and its own, computed
by the workflow as it emits it (`Event.content_hash`), and the workflow keeps the
last hash (`chain_head`). `verify_record` recomputes the chain over the SQL rows, and
compares every row with the event in the workflow's history, field by field, so an
edited, removed or added row is named with what changed. `verify_audit_log` does the
same for the audit log's own chain (`store.models.AuditLogRow`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.dossier import Event
from services.messages import T
from store.models import AuditLogHeadRow, AuditLogRow, EventRow

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
        problem(missing, f"{code}:{missing}", str(T("event_missing", seq=str(missing))))
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
                    str(T("event_hash", seq=str(e.seq), kind=e.kind)),
                )
            expected_prev = previous.hash if previous is not None else ""
            if e.prev_hash != expected_prev:
                problem(
                    e.seq,
                    e.id,
                    str(T("event_chain", seq=str(e.seq), kind=e.kind, before=str(e.seq - 1))),
                )
        elif previous is not None and previous.hash:
            problem(e.seq, e.id, str(T("event_hash_lost", seq=str(e.seq), kind=e.kind)))
        previous = e
    head = events[-1].hash if events else ""
    # 3. The rows against the workflow's own history.
    if history_events is not None:
        by_seq = {e.seq: e for e in events}
        for h in history_events:
            row = by_seq.pop(h.seq, None)
            if row is None:
                if h.seq not in set(range(1, max(seqs, default=0) + 1)) - set(seqs):
                    problem(
                        h.seq, h.id, str(T("event_not_in_read_model", seq=str(h.seq), kind=h.kind))
                    )
                continue
            for field in COMPARED:
                recorded, original = getattr(row, field), getattr(h, field)
                if _plain(recorded) != _plain(original):
                    problem(
                        h.seq,
                        h.id,
                        str(
                            T(
                                "event_differs",
                                seq=str(h.seq),
                                kind=h.kind,
                                field=field,
                                recorded=_show(recorded),
                                original=_show(original),
                            )
                        ),
                    )
        for extra in by_seq.values():
            problem(
                extra.seq,
                extra.id,
                str(T("event_not_in_history", seq=str(extra.seq), kind=extra.kind)),
            )
    if chain_head and head != chain_head:
        problem(
            None,
            None,
            str(T("chain_head", head=head[:12] or T("nothing"), workflow=chain_head[:12])),
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


# --------------------------------------------------------------------------- audit log


class AuditLogProblem(BaseModel):
    seq: int | None
    row_id: int | None
    message: str


class AuditLogReport(BaseModel):
    intact: bool
    rows: int
    chained_rows: int
    head_seq: int | None
    # Keep a copy of it where the database's administrators cannot write: a chain
    # rewritten from some row on no longer ends there.
    head_hash: str | None
    problems: list[AuditLogProblem]


def verify_audit_log(rows: Sequence[AuditLogRow], head: AuditLogHeadRow | None) -> AuditLogReport:
    """The audit log's chain over its rows (`rows` in the order written: by id) and its
    head: an edited row no longer matches its hash, a deleted one leaves a gap in the
    numbering and breaks the link of the row after it (or, at the end, falls short of
    the head), a moved one is out of order. Each problem names the row."""
    problems: list[AuditLogProblem] = []

    def problem(row: AuditLogRow | None, seq: int | None, message: str) -> None:
        problems.append(
            AuditLogProblem(seq=seq, row_id=row.id if row is not None else None, message=message)
        )

    chained = [r for r in rows if r.seq is not None]
    for r in rows:
        if r.seq is None:
            problem(
                r,
                None,
                f"dòng id={r.id} của audit_log ({r.action}, {r.actor_id}) không thuộc chuỗi "
                "băm: được ghi thẳng vào cơ sở dữ liệu, không qua ứng dụng",
            )
    # Order: the rows as written (by id) must carry 1, 2, 3, ... in that order.
    highest: AuditLogRow | None = None
    for r in chained:
        assert r.seq is not None
        if highest is not None and highest.seq is not None and r.seq < highest.seq:
            problem(
                r,
                r.seq,
                f"dòng #{r.seq} (id={r.id}) của audit_log bị đổi chỗ: nằm sau dòng "
                f"#{highest.seq} (id={highest.id})",
            )
        elif highest is None or (highest.seq is not None and r.seq > highest.seq):
            highest = r
    by_seq = sorted(chained, key=lambda r: r.seq or 0)
    last = by_seq[-1].seq if by_seq else 0
    assert last is not None
    present = {r.seq for r in by_seq}
    for missing in sorted(set(range(1, last + 1)) - present):
        problem(None, missing, f"dòng #{missing} của audit_log đã bị xóa (chuỗi bị hở)")
    previous: AuditLogRow | None = None
    for r in by_seq:
        assert r.seq is not None
        if r.content_hash(r.prev_hash) != r.hash:
            problem(
                r,
                r.seq,
                f"dòng #{r.seq} (id={r.id}, {r.action} của {r.actor_id}) của audit_log đã bị "
                "sửa: nội dung không khớp với mã băm của nó",
            )
        if previous is not None and previous.seq == r.seq - 1 and r.prev_hash != previous.hash:
            problem(
                r,
                r.seq,
                f"dòng #{r.seq} (id={r.id}) của audit_log không nối tiếp dòng #{previous.seq}: "
                "một dòng trước nó đã bị sửa hoặc thay",
            )
        if previous is None and r.seq == 1 and r.prev_hash:
            problem(r, r.seq, "dòng #1 của audit_log không phải dòng đầu của chuỗi")
        previous = r
    if head is None:
        if chained:
            problem(None, None, "audit_log mất đầu chuỗi (bảng audit_log_head trống)")
    elif head.seq > last:
        gone = f"#{last + 1}" if head.seq == last + 1 else f"#{last + 1} đến #{head.seq}"
        problem(None, head.seq, f"dòng {gone} ở cuối audit_log đã bị xóa")
    elif head.seq < last:
        problem(
            None,
            last,
            f"audit_log có dòng sau đầu chuỗi (#{head.seq}): các dòng đến #{last} được "
            "ghi ngoài ứng dụng",
        )
    elif by_seq and head.hash != by_seq[-1].hash:
        problem(by_seq[-1], last, f"dòng cuối #{last} của audit_log không khớp đầu chuỗi")
    return AuditLogReport(
        intact=not problems,
        rows=len(rows),
        chained_rows=len(chained),
        head_seq=head.seq if head is not None else None,
        head_hash=head.hash if head is not None else None,
        problems=problems,
    )
