"""Delivering the notification outbox: senders claim rows, report each attempt, give up.

A sender claims a batch of rows of the channels it can deliver: in one write
transaction, the due rows (not sent, not given up, past their backoff, no live claim)
get its name and a lease (`claimed_until`) and one more attempt. On PostgreSQL the rows
are picked with ``FOR UPDATE SKIP LOCKED``, so concurrent senders take disjoint batches
without waiting; SQLite serialises the transactions (``BEGIN IMMEDIATE``). Either way
two senders never hold the same row. A sender that dies mid-send leaves its rows
claimed until the lease runs out; then another takes them (the message may then go
twice: the transports carry the row's id, as Message-ID or RequestId, so the far end
can tell). Reporting an attempt (`outbox_delivered`, `outbox_attempt_failed`) is
accepted only from the sender holding the claim.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, and_, case, func, or_, select
from sqlmodel import col
from sqlmodel import select as sm_select

from store.models import OutboxRow
from store.repository._common import _now, _read, _row, _table, _write

OutboxState = Literal["pending", "failed", "sent", "all"]
LAST_ERROR_CHARS = 1000


def _due(table: Any, channels: Sequence[str], now: datetime) -> Any:
    c = table.c
    return and_(
        c.channel.in_(list(channels)),
        c.sent_at.is_(None),
        c.failed_at.is_(None),
        or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
        or_(c.claimed_until.is_(None), c.claimed_until < now),
    )


def claim_outbox(
    engine: Engine,
    channels: Sequence[str],
    *,
    sender: str,
    limit: int = 50,
    lease: timedelta = timedelta(minutes=5),
    max_attempts: int | None = None,
    now: datetime | None = None,
) -> list[OutboxRow]:
    """Claim up to `limit` due rows of `channels` for `sender`, oldest first, counting
    one more attempt on each. With `max_attempts`, a row whose last claim ran out after
    its last attempt (its sender died) is given up instead of claimed again."""
    if not channels or limit <= 0:
        return []
    table = _table(OutboxRow)
    at = now or _now()

    def work(conn: Connection) -> list[OutboxRow]:
        c = table.c
        if max_attempts is not None:
            conn.execute(
                table.update()
                .where(_due(table, channels, at), c.attempts >= max_attempts)
                .values(
                    failed_at=at,
                    claimed_by=None,
                    claimed_until=None,
                    last_error=f"no answer after {max_attempts} attempt(s) (a sender stopped "
                    "while sending)",
                )
            )
        pick = (
            select(c.id)
            .where(_due(table, channels, at))
            .order_by(c.created_at, c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = [r[0] for r in conn.execute(pick)]
        if not ids:
            return []
        claimed = conn.execute(
            table.update()
            .where(c.id.in_(ids), _due(table, channels, at))
            .values(
                claimed_by=sender,
                claimed_until=at + lease,
                attempts=c.attempts + 1,
                last_attempt_at=at,
            )
            .returning(*table.c)
        ).mappings()
        rows = [_row(OutboxRow, m) for m in claimed]
        return sorted(rows, key=lambda r: (r.created_at, r.id))

    return _write(engine, work)


def _release(engine: Engine, row_id: str, sender: str, values: dict[str, Any]) -> bool:
    table = _table(OutboxRow)

    def work(conn: Connection) -> bool:
        c = table.c
        result = conn.execute(
            table.update()
            .where(c.id == row_id, c.claimed_by == sender, c.sent_at.is_(None))
            .values(claimed_by=None, claimed_until=None, **values)
        )
        return bool(result.rowcount)

    return _write(engine, work)


def outbox_delivered(
    engine: Engine, row_id: str, *, sender: str, at: datetime | None = None
) -> bool:
    """The far end took the row (sent). False if `sender` no longer held the claim."""
    return _release(engine, row_id, sender, {"sent_at": at or _now(), "last_error": None})


def outbox_attempt_failed(
    engine: Engine,
    row_id: str,
    *,
    sender: str,
    error: str,
    retry_at: datetime | None,
    at: datetime | None = None,
) -> bool:
    """An attempt failed with `error`: tried again from `retry_at`, or given up (failed)
    when `retry_at` is None. False if `sender` no longer held the claim."""
    values: dict[str, Any] = {"last_error": error[:LAST_ERROR_CHARS]}
    if retry_at is None:
        values["failed_at"] = at or _now()
    else:
        values["next_attempt_at"] = retry_at
    return _release(engine, row_id, sender, values)


def outbox_unclaim(engine: Engine, row_id: str, *, sender: str) -> bool:
    """Give a claimed row back untried (its attempt not counted)."""
    table = _table(OutboxRow)
    return _release(engine, row_id, sender, {"attempts": table.c.attempts - 1})


def list_outbox_delivery(
    engine: Engine,
    state: OutboxState = "pending",
    *,
    channel: str | None = None,
    limit: int = 100,
) -> list[OutboxRow]:
    """Rows by delivery state (pending: neither sent nor given up), oldest first."""
    stmt = sm_select(OutboxRow)
    if state == "pending":
        stmt = stmt.where(col(OutboxRow.sent_at).is_(None), col(OutboxRow.failed_at).is_(None))
    elif state == "failed":
        stmt = stmt.where(col(OutboxRow.failed_at).is_not(None))
    elif state == "sent":
        stmt = stmt.where(col(OutboxRow.sent_at).is_not(None))
    if channel is not None:
        stmt = stmt.where(OutboxRow.channel == channel)
    return _read(engine, stmt.order_by(col(OutboxRow.created_at), col(OutboxRow.id)).limit(limit))


def count_outbox_delivery(engine: Engine) -> dict[tuple[str, str], int]:
    """How many rows per (channel, state), state one of pending, failed, sent."""

    table = _table(OutboxRow)
    c = table.c
    state = case(
        (c.sent_at.is_not(None), "sent"), (c.failed_at.is_not(None), "failed"), else_="pending"
    )
    stmt = select(c.channel, state, func.count()).group_by(c.channel, state)
    with engine.connect() as conn:
        return {(ch, st): int(n) for ch, st, n in conn.execute(stmt)}


def retry_outbox(
    engine: Engine,
    ids: Iterable[str] | None = None,
    *,
    dossier_code: str | None = None,
    channel: str | None = None,
    at: datetime | None = None,
) -> int:
    """Queue given-up rows again (those of `ids`, of `dossier_code`, of `channel`, or all),
    with a fresh count of attempts; the last error stays until the next attempt. Returns
    how many."""
    table = _table(OutboxRow)
    c = table.c
    where: list[Any] = [c.failed_at.is_not(None), c.sent_at.is_(None)]
    if ids is not None:
        id_list = list(ids)
        if not id_list:
            return 0
        where.append(c.id.in_(id_list))
    if dossier_code is not None:
        where.append(c.dossier_code == dossier_code)
    if channel is not None:
        where.append(c.channel == channel)

    def work(conn: Connection) -> int:
        result = conn.execute(
            table.update()
            .where(*where)
            .values(failed_at=None, attempts=0, next_attempt_at=at or _now(), claimed_by=None)
        )
        return int(result.rowcount or 0)

    return _write(engine, work)
