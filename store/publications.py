"""Published months of the Decision 766 index: one row per revision, never updated."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from store.models import IndexPublicationRow


class RevisionTaken(Exception):
    """Another publication of this month and revision was stored first."""


def add_publication(engine: Engine, row: IndexPublicationRow) -> IndexPublicationRow:
    """Store a revision; the unique (period, revision) refuses a second one, so two
    leaders publishing at once cannot both succeed."""
    with Session(engine, expire_on_commit=False) as s:
        s.add(row)
        try:
            s.commit()
        except IntegrityError as exc:
            s.rollback()
            raise RevisionTaken(f"{row.period} revision {row.revision}") from exc
        s.refresh(row)
        return row


def publications(engine: Engine, period: str) -> list[IndexPublicationRow]:
    """The month's revisions, the first first."""
    stmt = (
        select(IndexPublicationRow)
        .where(col(IndexPublicationRow.period) == period)
        .order_by(col(IndexPublicationRow.revision))
    )
    with Session(engine, expire_on_commit=False) as s:
        return list(s.exec(stmt).all())
