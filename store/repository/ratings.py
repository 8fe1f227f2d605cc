"""Applicants' ratings and feedback."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, select
from sqlmodel import col

from store.index import refresh_facts
from store.models import FeedbackRow, RatingHistoryRow, RatingRow
from store.repository._common import _insert, _table, _write


def rate_dossier(engine: Engine, row: RatingRow, *, source: str = "account") -> None:
    """Keep a rating of a dossier: every one in the history, with its time and source; the
    latest (by time) in `dossier_ratings`, which the 766 index counts. One transaction, so
    the two never disagree; a rating older than the one held (a late retry) stays in the
    history only."""
    values = row.model_dump()

    def work(conn: Connection) -> None:
        conn.execute(_insert(conn, RatingHistoryRow).values(**values, source=source))
        ins = _insert(conn, RatingRow).values(**values)
        keep = {k: ins.excluded[k] for k in values if k != "dossier_code"}
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["dossier_code"],
                set_=keep,
                where=_table(RatingRow).c.at <= ins.excluded.at,
            )
        )
        refresh_facts(conn, [row.dossier_code])

    _write(engine, work)


def rating_history(engine: Engine, dossier_code: str) -> list[RatingHistoryRow]:
    """Every rating of a dossier, oldest first."""
    stmt = (
        select(RatingHistoryRow)
        .where(col(RatingHistoryRow.dossier_code) == dossier_code)
        .order_by(col(RatingHistoryRow.at), col(RatingHistoryRow.id))
    )
    with engine.connect() as conn:
        return [RatingHistoryRow.model_validate(r._mapping) for r in conn.execute(stmt)]


def add_feedback(engine: Engine, row: FeedbackRow) -> None:
    values = row.model_dump(exclude={"id"})

    def work(conn: Connection) -> None:
        conn.execute(_insert(conn, FeedbackRow).values(**values))
        if row.dossier_code:
            refresh_facts(conn, [row.dossier_code])

    _write(engine, work)
