"""The audit trail, shaped like the best registries' (Open Zaak's audittrail): for
every change, who made it, through which application, what action, the old and new
values, the reason given, and when; refused attempts too (who tried what, and why
it was refused). Built from the append-only event log and refused attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from store.models import EventRow, RefusedAttemptRow


class TrailEntry(BaseModel):
    at: datetime
    seq: int | None
    actor_id: str
    actor_name: str
    role: str
    agency: str | None
    application: str
    action: str
    changes: dict[str, tuple[Any, Any]]
    reason: str
    event_id: str | None
    hash: str = ""


def _application(role: str) -> str:
    if role == "system":
        return "motcua workflow (timers, agency workers, payment gateway)"
    if role == "applicant":
        return "motcua API (applicant)"
    return "motcua API (officer)"


def trail(events: Sequence[EventRow], refused: Sequence[RefusedAttemptRow]) -> list[TrailEntry]:
    entries: list[TrailEntry] = []
    step: str | None = None
    appointment: Any = None
    for e in events:
        changes: dict[str, tuple[Any, Any]] = {}
        if e.status_before != e.status_after:
            changes["status"] = (e.status_before, e.status_after)
        data = e.data or {}
        if e.kind == "step_started" and e.step_id != step:
            changes["step"] = (step, e.step_id)
            step = e.step_id
            if data.get("due_at"):
                changes["step_due_at"] = (None, data["due_at"])
        new_appointment = data.get("appointment_at") or data.get("new_appointment")
        if new_appointment and new_appointment != appointment:
            changes["appointment"] = (appointment, new_appointment)
            appointment = new_appointment
        if "outcome" in data:
            changes["outcome"] = (None, data["outcome"])
        if e.kind == "result_issued":
            doc = data.get("document", {})
            changes["result"] = (None, doc.get("sha256"))
        entries.append(
            TrailEntry(
                at=e.at,
                seq=e.seq,
                actor_id=e.actor_id,
                actor_name=e.actor_name,
                role=e.role,
                agency=e.agency,
                application=_application(e.role),
                action=e.kind,
                changes=changes,
                reason=e.comment,
                event_id=e.id,
                hash=e.hash,
            )
        )
    for r in refused:
        entries.append(
            TrailEntry(
                at=r.at,
                seq=None,
                actor_id=r.actor_id,
                actor_name=r.actor_name,
                role=r.role,
                agency=r.agency,
                application=_application(r.role),
                action=f"{r.action} (refused: {r.code})",
                changes={},
                reason=r.reason,
                event_id=None,
            )
        )
    return sorted(entries, key=lambda t: (t.at, t.seq or 0))
