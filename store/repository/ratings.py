"""Applicants' ratings and feedback."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from store.models import FeedbackRow, RatingRow
from store.repository._common import _insert, _write


def rate_dossier(engine: Engine, row: RatingRow) -> None:
    """The applicant's rating of a dossier; a later one replaces it."""
    values = row.model_dump()

    def work(conn: Connection) -> None:
        ins = _insert(conn, RatingRow).values(**values)
        keep = {k: ins.excluded[k] for k in values if k != "dossier_code"}
        conn.execute(ins.on_conflict_do_update(index_elements=["dossier_code"], set_=keep))

    _write(engine, work)


def add_feedback(engine: Engine, row: FeedbackRow) -> None:
    values = row.model_dump(exclude={"id"})
    _write(engine, lambda conn: conn.execute(_insert(conn, FeedbackRow).values(**values)))
