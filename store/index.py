"""The Decision 766/QĐ-TTg counts, in SQL over the read model (one pass, grouped by the
deciding agency and procedure): the numerators and denominators of the on-time,
online-submission, online-payment, electronic-result, digitisation, reuse and
satisfaction figures. `services.index` turns them into the published rates.

Which dossiers count in a period [start, end): those actually received before `end`
and not finished before `start` (received in the period, or carried over into it).
The end of processing is `processed_at` ("Đã xử lý xong"), else the stop time.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, and_, case, exists, func, literal, or_, select
from sqlmodel import col

from store.models import DocumentRow, DossierRow, EventRow, FeedbackRow, RatingRow


class IndexCounts(BaseModel):
    agency: str
    procedure_code: str
    procedure_name: str
    received: int
    finished: int  # processing ended within the period
    on_time: int
    multiple_supplements: int
    online: int  # received online, with an electronic result where the result is a document
    fee_bearing: int
    paid_online: int
    result_required: int  # finished dossiers of procedures whose result is a document
    e_result: int
    digitised: int
    reused: int
    complained_or_disliked: int
    resolution_minutes_total: int
    resolution_minutes_count: int


def index_counts(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    document_procedures: Collection[str],
    fee_procedures: Collection[str],
    agency: str | None = None,
    procedure: str | None = None,
) -> list[IndexCounts]:
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    ended = func.coalesce(d.processed_at, d.closed_at)
    finished = and_(ended.is_not(None), ended < end)
    docs = list(document_procedures) or [""]
    fees = list(fee_procedures) or [""]
    is_doc = d.procedure_code.in_(docs)
    has_result = exists().where(
        col(DocumentRow.dossier_code) == d.code, col(DocumentRow.source) == "result"
    )
    has_upload = exists().where(
        col(DocumentRow.dossier_code) == d.code, col(DocumentRow.source) == "upload"
    )
    has_reused = exists().where(
        col(DocumentRow.dossier_code) == d.code,
        col(DocumentRow.source) == "upload",
        col(DocumentRow.reused).is_(True),
    )
    paid_online = exists().where(
        col(EventRow.dossier_code) == d.code,
        col(EventRow.kind) == "pay",
        col(EventRow.role) == "system",
    )
    unhappy = or_(
        exists().where(
            col(FeedbackRow.dossier_code) == d.code, col(FeedbackRow.kind) == "complaint"
        ),
        exists().where(col(RatingRow.dossier_code) == d.code, col(RatingRow.rating) == "dislike"),
    )
    on_time = case(
        (d.supplement_requests > 1, 0),  # more than one supplement request: overdue
        (finished, case((ended <= d.appointment_at, 1), (d.appointment_at.is_(None), 1), else_=0)),
        # Unfinished at the period's end: measured at the end (waiting for a supplement:
        # at the request, which the machine has already judged).
        (d.status == "supplement_requested", case((d.overdue.is_(True), 0), else_=1)),
        (d.appointment_at.is_(None), case((d.overdue.is_(True), 0), else_=1)),
        (d.appointment_at >= end, 1),
        else_=0,
    )

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    stmt = (
        select(
            d.competent_agency,
            d.procedure_code,
            func.max(d.procedure_name),
            func.count(),
            total(finished),
            func.coalesce(func.sum(on_time), 0),
            total(d.supplement_requests > 1),
            total(and_(d.channel == "online", or_(~is_doc, has_result))),
            total(d.procedure_code.in_(fees)),
            total(and_(d.procedure_code.in_(fees), paid_online)),
            total(and_(is_doc, finished)),
            total(and_(is_doc, finished, has_result)),
            total(and_(has_upload, or_(~is_doc, has_result))),
            total(has_reused),
            total(unhappy),
            func.coalesce(func.sum(case((finished, d.resolution_minutes), else_=literal(0))), 0),
            total(and_(finished, d.resolution_minutes.is_not(None))),
        )
        .where(
            d.received_at.is_not(None),
            d.received_at < end,
            or_(ended.is_(None), ended >= start),
        )
        .group_by(d.competent_agency, d.procedure_code)
        .order_by(d.competent_agency, d.procedure_code)
    )
    if agency is not None:
        stmt = stmt.where(or_(d.competent_agency == agency, d.centre_agency == agency))
    if procedure is not None:
        stmt = stmt.where(d.procedure_code == procedure)
    fields = list(IndexCounts.model_fields)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [IndexCounts.model_validate(dict(zip(fields, row, strict=True))) for row in rows]
