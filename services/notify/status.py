"""What operators see of the outbox (`motcua outbox list`, `GET /v1/outbox`): counts per
channel and state, and rows with their attempts and last error; recipients masked, in
the reference too (a row's id holds the address)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from infra.privacy import mask_email, mask_id_number, mask_phone
from store.models import OutboxRow
from store.repository.outbox_delivery import (
    OutboxState,
    count_outbox_delivery,
    list_outbox_delivery,
)

RowState = Literal["pending", "failed", "sent"]


class OutboxEntry(BaseModel):
    ref: str
    dossier_code: str
    channel: str
    recipient: str
    subject: str
    state: RowState
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None


class OutboxCount(BaseModel):
    channel: str
    state: RowState
    count: int


class OutboxStatus(BaseModel):
    counts: list[OutboxCount]
    notifications: list[OutboxEntry]


def masked_recipient(channel: str, recipient: str) -> str:
    """The recipient with its personal part masked (an operator needs the channel and
    enough to tell two apart, not the address)."""
    address = recipient.removeprefix(f"{channel}:")
    if channel == "email":
        return mask_email(address)
    if channel == "sms":
        return mask_phone(address)
    if address.isdigit():  # a portal account named by an ID number
        return mask_id_number(address)
    return address


def masked_reference(row: OutboxRow) -> str:
    """The row's id with the recipient's address in it masked."""
    if not row.id.endswith(row.recipient):
        return row.id
    head = row.id[: len(row.id) - len(row.recipient)]
    prefix = f"{row.channel}:" if row.recipient.startswith(f"{row.channel}:") else ""
    return f"{head}{prefix}{masked_recipient(row.channel, row.recipient)}"


def _entry(row: OutboxRow) -> OutboxEntry:
    state: RowState = "sent" if row.sent_at else "failed" if row.failed_at else "pending"
    masked = {
        "ref": masked_reference(row),
        "recipient": masked_recipient(row.channel, row.recipient),
        "state": state,
    }
    return OutboxEntry.model_validate({**row.model_dump(), **masked})


def outbox_status(
    engine: Engine, state: OutboxState = "pending", *, channel: str | None = None, limit: int = 100
) -> OutboxStatus:
    counts = count_outbox_delivery(engine)
    rows = list_outbox_delivery(engine, state, channel=channel, limit=limit)
    return OutboxStatus(
        counts=[
            OutboxCount(channel=ch, state=st, count=n)  # type: ignore[arg-type]
            for (ch, st), n in sorted(counts.items())
        ],
        notifications=[_entry(r) for r in rows],
    )
