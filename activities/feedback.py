"""A PAKN item's record: its state after each event in the read model, the event, and who
is told: the filer at filing and at the answer (which carries the answer), the routed
agency's officers at filing, and its leader when the answer is late."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.contracts import RECORD_FEEDBACK, RecordFeedbackInput
from domain.calendar import VIETNAM_TZ
from domain.catalog import Role
from domain.feedback import Filer
from store.repository.feedback import record_feedback
from store.schemas import OutboxMessage

TZ = ZoneInfo(VIETNAM_TZ)


def _local(at: datetime) -> str:
    return f"{at.astimezone(TZ):%H:%M %d/%m/%Y}"


def filer_channels(filer: Filer) -> list[tuple[str, str]]:
    """Where the filer hears back: their portal account (or ID number), phone, e-mail."""
    channels: list[tuple[str, str]] = []
    portal = filer.account or filer.id_number
    if portal:
        channels.append(("portal", portal))
    if filer.phone:
        channels.append(("sms", filer.phone))
    if filer.email:
        channels.append(("email", filer.email))
    return channels


def messages_for(inp: RecordFeedbackInput) -> list[OutboxMessage]:
    item, view, event = inp.item, inp.view, inp.event
    event_id = f"{item.code}:{event.kind}"
    subject_code = item.dossier_code or item.code
    what = item.kind.label_vi.lower()
    out: list[OutboxMessage] = []

    def to_filer(subject: str, body: str) -> None:
        for channel, address in filer_channels(item.filer):
            out.append(
                OutboxMessage(
                    dossier_code=subject_code,
                    event_id=event_id,
                    recipient_role=Role.APPLICANT,
                    recipient=f"{channel}:{address}",
                    channel=channel,
                    subject=subject,
                    body=body,
                    created_at=event.at,
                )
            )

    def to_officers(role: Role, subject: str, body: str) -> None:
        out.append(
            OutboxMessage(
                dossier_code=subject_code,
                event_id=event_id,
                recipient_role=role,
                recipient_agency=item.agency,
                recipient=f"{role.value}@{item.agency}",
                channel="portal",
                subject=subject,
                body=body,
                created_at=event.at,
            )
        )

    if event.kind == "filed":
        to_filer(
            f"Đã tiếp nhận {what} {item.code}",
            f"Đã tiếp nhận {what} của ông/bà, mã {item.code}. Hạn trả lời: {_local(view.due_at)}.",
        )
        for role in (Role.SPECIALIST, Role.LEADER):
            to_officers(
                role,
                f"{item.kind.label_vi} {item.code} chờ trả lời",
                f"Hạn trả lời: {_local(view.due_at)}."
                + (f" Hồ sơ {item.dossier_code}." if item.dossier_code else ""),
            )
    elif event.kind == "escalated":
        to_officers(
            Role.LEADER,
            f"Cảnh báo: {what} {item.code} quá hạn trả lời",
            f"{event.comment}. Hạn trả lời: {_local(view.due_at)}.",
        )
    elif event.kind == "answered":
        to_filer(
            f"Trả lời {what} {item.code}",
            f"Trả lời {what} {item.code}: {inp.answer or ''}",
        )
    return out


class FeedbackActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name=RECORD_FEEDBACK)
    def record_feedback(self, inp: RecordFeedbackInput) -> bool:
        item, view, event = inp.item, inp.view, inp.event
        row = {
            "code": item.code,
            "dossier_code": item.dossier_code,
            "kind": item.kind.value,
            "text": item.text,
            "by": item.filer.account or "",
            "at": item.filed_at,
            "agency": item.agency,
            "status": view.status.value,
            "channel": item.channel,
            "filer_account": item.filer.account,
            "filer_name": item.filer.name,
            "filer_id_number": item.filer.id_number,
            "filer_phone": item.filer.phone,
            "filer_email": item.filer.email,
            "due_at": view.due_at,
            "escalated_at": view.escalated_at,
            "answer": inp.answer,
            "answered_by": event.actor.id if event.kind == "answered" and event.actor else None,
            "answered_by_name": (
                event.actor.name if event.kind == "answered" and event.actor else None
            ),
            "answered_at": view.answered_at,
            # Published when answered: the index counts publication within 2 working days.
            "published_at": view.answered_at,
        }
        if event.kind != "answered":
            for key in ("answer", "answered_by", "answered_by_name"):
                row.pop(key)
        actor = event.actor
        record = {
            "id": f"{item.code}:{event.kind}",
            "feedback_code": item.code,
            "kind": event.kind,
            "at": event.at,
            "actor_id": actor.id if actor else "system",
            "actor_role": actor.role.value if actor else Role.SYSTEM.value,
            "agency": actor.agency if actor else item.agency,
            "comment": event.comment,
        }
        return record_feedback(self.engine, row, record, messages_for(inp))
