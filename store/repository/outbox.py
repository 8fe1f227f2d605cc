"""The notification outbox: queueing messages, reading what is pending and marking it sent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func
from sqlmodel import col
from sqlmodel import select as sm_select

from store.models import OutboxRow
from store.repository._common import (
    _insert_ignoring_duplicates,
    _now,
    _read,
    _rows_in_order,
    _table,
    _write,
)
from store.schemas import OutboxMessage


def add_outbox(
    engine: Engine, rows: Iterable[OutboxMessage | OutboxRow | Mapping[str, Any]]
) -> None:
    """Queue notifications; ids already queued are ignored (``id`` defaults to ``event_id:recipient``)."""
    _insert_ignoring_duplicates(engine, OutboxRow, OutboxMessage, rows)


def mark_outbox_sent(engine: Engine, ids: Iterable[str], at: datetime | None = None) -> int:
    """Mark notifications delivered (those not marked yet); returns how many changed."""
    id_list = list(ids)
    if not id_list:
        return 0
    table = _table(OutboxRow)
    sent_at = at or _now()

    def work(conn: Connection) -> int:
        stmt = (
            table.update()
            .where(table.c.id.in_(id_list), table.c.sent_at.is_(None))
            .values(sent_at=sent_at)
        )
        return int(conn.execute(stmt).rowcount or 0)

    return _write(engine, work)


def list_outbox(engine: Engine, code: str) -> list[OutboxRow]:
    """The dossier's notifications, oldest first."""
    return _rows_in_order(engine, OutboxRow.dossier_code, code, OutboxRow.created_at)


def list_pending_outbox(
    engine: Engine, limit: int = 100, *, channel: str | None = None
) -> list[OutboxRow]:
    """Undelivered notifications (of one channel, if given), oldest first (for the sender).

    Messages of one instant go in the order of their events: an id is
    "<dossier code>:<event seq>:<recipient>", so among a dossier's messages to one
    recipient the shorter id has the smaller seq ("…:9:dvcqg" before "…:10:dvcqg")."""
    stmt = sm_select(OutboxRow).where(col(OutboxRow.sent_at).is_(None))
    if channel is not None:
        stmt = stmt.where(OutboxRow.channel == channel)
    order = (col(OutboxRow.created_at), func.length(OutboxRow.id), col(OutboxRow.id))
    return _read(engine, stmt.order_by(*order).limit(limit))
