"""Personal-data requests: their rows, what the centre holds about a data subject (the
export's facts), and the notes and corrections a decision leaves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlmodel import col

from store.models import (
    AuditLogRow,
    DocumentRow,
    DossierRow,
    EventRow,
    FeedbackRow,
    OutboxRow,
    PersonalDataNoteRow,
    PersonalDataRequestRow,
    RatingHistoryRow,
)
from store.repository._common import _insert, _write


def open_data_request(engine: Engine, row: PersonalDataRequestRow) -> PersonalDataRequestRow:
    """Insert the request once (a retried activity finds it) and return the stored row."""
    values = row.model_dump()

    def work(conn: Connection) -> None:
        conn.execute(
            _insert(conn, PersonalDataRequestRow).values(**values).on_conflict_do_nothing()
        )

    _write(engine, work)
    stored = get_data_request(engine, row.id)
    assert stored is not None
    return stored


def get_data_request(engine: Engine, request_id: str) -> PersonalDataRequestRow | None:
    stmt = select(PersonalDataRequestRow).where(col(PersonalDataRequestRow.id) == request_id)
    with engine.connect() as conn:
        found = conn.execute(stmt).first()
    return None if found is None else PersonalDataRequestRow.model_validate(found._mapping)


def list_data_requests(
    engine: Engine, *, account: str | None = None, open_only: bool = False
) -> list[PersonalDataRequestRow]:
    """Requests, the earliest due first (an account's own, or every one)."""
    stmt = select(PersonalDataRequestRow)
    if account is not None:
        stmt = stmt.where(col(PersonalDataRequestRow.account) == account)
    if open_only:
        stmt = stmt.where(col(PersonalDataRequestRow.status) == "received")
    stmt = stmt.order_by(col(PersonalDataRequestRow.due_at), col(PersonalDataRequestRow.id))
    with engine.connect() as conn:
        return [PersonalDataRequestRow.model_validate(r._mapping) for r in conn.execute(stmt)]


def escalate_data_request(engine: Engine, request_id: str, at: datetime) -> None:
    """Mark the request late (once: a retry keeps the first time)."""
    t = PersonalDataRequestRow.__table__.c  # type: ignore[attr-defined]
    stmt = (
        update(PersonalDataRequestRow)
        .where(t.id == request_id, t.escalated_at.is_(None))
        .values(escalated_at=at)
    )
    _write(engine, lambda conn: conn.execute(stmt))


def answer_data_request(
    engine: Engine,
    request_id: str,
    *,
    status: str,
    answer: str,
    at: datetime,
    by: str | None = None,
    export_key: str | None = None,
    notes: Sequence[PersonalDataNoteRow] = (),
    outbox_recipients: Sequence[tuple[Sequence[str], str, str]] = (),
) -> bool:
    """Answer the request in one transaction: its notes, the corrected recipients of
    applicant's notifications not yet sent ((dossier codes, channel, new recipient as
    "<channel>:<address>")), and the row.
    Only a request still open is answered, so a retried activity changes nothing twice;
    False when it was already answered."""
    t = PersonalDataRequestRow.__table__.c  # type: ignore[attr-defined]
    o = OutboxRow.__table__.c  # type: ignore[attr-defined]

    def work(conn: Connection) -> bool:
        done = conn.execute(
            update(PersonalDataRequestRow)
            .where(t.id == request_id, t.status == "received")
            .values(
                status=status, answer=answer, answered_at=at, handled_by=by, export_key=export_key
            )
        )
        if done.rowcount == 0:
            return False
        for note in notes:
            conn.execute(
                _insert(conn, PersonalDataNoteRow).values(**note.model_dump(exclude={"id"}))
            )
        for codes, channel, recipient in outbox_recipients:
            conn.execute(
                update(OutboxRow)
                .where(
                    o.dossier_code.in_(list(codes)),
                    o.channel == channel,
                    o.sent_at.is_(None),
                    o.failed_at.is_(None),
                    o.recipient_role == "applicant",
                )
                .values(recipient=recipient)
            )
        return True

    return _write(engine, work)


def _rows(conn: Connection, model: Any, *where: Any, order: Sequence[Any]) -> list[Any]:
    stmt = select(model).where(*where).order_by(*order)
    return [model.model_validate(r._mapping) for r in conn.execute(stmt)]


def held_about(engine: Engine, account: str) -> dict[str, Any]:
    """Everything the read model holds about the dossiers an account submitted, in one
    snapshot: the dossiers, their events, documents, audit-log reads, ratings, feedback,
    notes, and the contacts notifications were addressed to."""
    with engine.connect() as conn:
        dossiers = _rows(
            conn,
            DossierRow,
            col(DossierRow.applicant_account) == account,
            order=[col(DossierRow.submitted_at), col(DossierRow.code)],
        )
        codes = [d.code for d in dossiers] or [""]
        out: dict[str, Any] = {"dossiers": dossiers}
        for name, model, order in (
            ("events", EventRow, [col(EventRow.dossier_code), col(EventRow.seq)]),
            (
                "documents",
                DocumentRow,
                [col(DocumentRow.dossier_code), col(DocumentRow.created_at)],
            ),
            ("reads", AuditLogRow, [col(AuditLogRow.at), col(AuditLogRow.id)]),
            ("ratings", RatingHistoryRow, [col(RatingHistoryRow.at), col(RatingHistoryRow.id)]),
            ("feedback", FeedbackRow, [col(FeedbackRow.at), col(FeedbackRow.id)]),
            (
                "notes",
                PersonalDataNoteRow,
                [col(PersonalDataNoteRow.at), col(PersonalDataNoteRow.id)],
            ),
        ):
            out[name] = _rows(conn, model, col(model.dossier_code).in_(codes), order=order)
        # The applicant's own contacts ("sms:<phone>", "email:<address>"), as notified.
        o = OutboxRow.__table__.c  # type: ignore[attr-defined]
        contacts = conn.execute(
            select(o.dossier_code, o.channel, o.recipient)
            .where(
                o.dossier_code.in_(codes), o.recipient_role == "applicant", o.channel != "portal"
            )
            .distinct()
            .order_by(o.dossier_code, o.channel, o.recipient)
        ).all()
        out["contacts"] = [tuple(c) for c in contacts]
    return out
