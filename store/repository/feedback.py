"""PAKN items (phản ánh, kiến nghị): written by their workflow's activity, one state change
at a time together with its event and its notifications; read by the API's lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine
from sqlmodel import col
from sqlmodel import select as sm_select

from store.index import refresh_facts
from store.models import FeedbackEventRow, FeedbackRow, OutboxRow
from store.repository._common import _insert, _read, _values, _write
from store.schemas import OutboxMessage

# Written once, when the item is filed: a later state never changes them.
_FIRST_ONLY = ("id", "code", "at", "by")


def record_feedback(
    engine: Engine,
    item: Mapping[str, Any],
    event: Mapping[str, Any],
    messages: Iterable[OutboxMessage],
) -> bool:
    """The item's state after `event` (upserted by its code), the event (once: its id) and
    the messages it sends (each once). Returns whether the event was new: an activity
    retried after a write that succeeded writes nothing twice."""
    outbox = [_values(m, OutboxRow) for m in messages]

    def work(conn: Connection) -> bool:
        ins = _insert(conn, FeedbackRow).values(**item)
        keep = {k: ins.excluded[k] for k in item if k not in _FIRST_ONLY}
        conn.execute(ins.on_conflict_do_update(index_elements=["code"], set_=keep))
        added = conn.execute(
            _insert(conn, FeedbackEventRow)
            .values(**event)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        if outbox:
            conn.execute(
                _insert(conn, OutboxRow).on_conflict_do_nothing(index_elements=["id"]), outbox
            )
        if item.get("dossier_code"):  # a complaint about a dossier: the index's kept fact
            refresh_facts(conn, [str(item["dossier_code"])])
        return bool(added.rowcount)

    return _write(engine, work)


def get_feedback(engine: Engine, code: str) -> FeedbackRow | None:
    rows = _read(engine, sm_select(FeedbackRow).where(col(FeedbackRow.code) == code))
    return rows[0] if rows else None


def list_feedback(
    engine: Engine,
    *,
    agency: str | None = None,
    status: str | None = None,
    filer_account: str | None = None,
    published: bool = False,
    limit: int = 200,
) -> list[FeedbackRow]:
    """Items with a workflow (a code), filtered; open ones by deadline, nearest first,
    published ones newest first."""
    stmt = sm_select(FeedbackRow).where(col(FeedbackRow.code).is_not(None))
    if agency is not None:
        stmt = stmt.where(col(FeedbackRow.agency) == agency)
    if status is not None:
        stmt = stmt.where(col(FeedbackRow.status) == status)
    if filer_account is not None:
        stmt = stmt.where(col(FeedbackRow.filer_account) == filer_account)
    if published:
        stmt = stmt.where(col(FeedbackRow.published_at).is_not(None)).order_by(
            col(FeedbackRow.published_at).desc(), col(FeedbackRow.id).desc()
        )
    else:
        stmt = stmt.order_by(col(FeedbackRow.due_at), col(FeedbackRow.id))
    return _read(engine, stmt.limit(limit))


def feedback_events(engine: Engine, code: str) -> list[FeedbackEventRow]:
    stmt = (
        sm_select(FeedbackEventRow)
        .where(col(FeedbackEventRow.feedback_code) == code)
        .order_by(col(FeedbackEventRow.at), col(FeedbackEventRow.id))
    )
    return _read(engine, stmt)
