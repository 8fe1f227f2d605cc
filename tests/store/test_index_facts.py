"""The index's facts kept on each dossier's row (store.index.refresh_facts) against a full
recomputation from documents, events, ratings and complaints, on SQLite and PostgreSQL:
equal for the known month of tests/store/test_index.py, and whatever order the rows arrive
in (a document before its dossier, a rating changed twice, a payment after the fact)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from domain.catalog import load_catalog
from infra.settings import Settings
from services.index import service_index
from store import repository as repo
from store.index import (
    FACTS,
    counted_in,
    fact_conditions,
    index_counts,
    late_clause,
    late_codes,
    period_rows,
)
from store.models import DossierRow, FeedbackRow, RatingRow
from store.schemas import DocumentRecord
from tests.store.test_index import CENTRE, PERIOD, dossier, known, t

__all__ = ["known"]  # the fixture, imported for pytest


def kept_and_recomputed(engine) -> tuple[dict, dict]:
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    recomputed = fact_conditions()
    kept = select(d.code, *(d[name] for name in FACTS)).order_by(d.code)
    fresh = select(d.code, *(recomputed[name] for name in FACTS)).order_by(d.code)
    with engine.connect() as conn:
        a = {row[0]: tuple(bool(v) for v in row[1:]) for row in conn.execute(kept)}
        b = {row[0]: tuple(bool(v) for v in row[1:]) for row in conn.execute(fresh)}
    return a, b


def counts(engine, *, recompute: bool) -> list:
    catalog = load_catalog(Settings().catalog_dir)
    procedures = {c: catalog.procedure(c) for c in catalog.procedures}
    return index_counts(
        engine,
        *PERIOD,
        document_procedures=[c for c, p in procedures.items() if p.issuing_step() is not None],
        fee_procedures=[c for c, p in procedures.items() if any(f.amount_vnd > 0 for f in p.fees)],
        now=t(12, 20),
        recompute=recompute,
    )


def test_the_kept_facts_equal_a_full_recomputation(known) -> None:
    kept, fresh = kept_and_recomputed(known)
    assert kept == fresh
    # Not vacuous: the known month has each fact on some dossier and off on another.
    for i, name in enumerate(FACTS):
        assert {v[i] for v in kept.values()} == {True, False}, name
    assert counts(known, recompute=False) == counts(known, recompute=True)


def test_the_month_read_from_its_indexes_is_the_month_over_every_dossier(known) -> None:
    """period_rows (the two covering indexes' parts) counts exactly the dossiers
    counted_in selects from the whole table, and the late list is the same."""
    d = DossierRow.__table__.c  # type: ignore[attr-defined]
    for now in (t(11, 20, 11), t(11, 29), t(12, 20)):
        everything = select(d.code).where(counted_in(*PERIOD), late_clause(PERIOD[1], now))
        whole = select(d.code).where(counted_in(*PERIOD))
        part = period_rows(*PERIOD)
        with known.connect() as conn:
            late = [r[0] for r in conn.execute(everything.order_by(d.received_at, d.code))]
            counted = sorted(r[0] for r in conn.execute(whole))
            parts = sorted(r[0] for r in conn.execute(select(part.c.code)))
        assert late_codes(known, *PERIOD, now=now) == late
        assert parts == counted and len(counted) == 8


def test_the_facts_follow_rows_in_any_order(engine) -> None:
    code = f"{CENTRE}-261101-0042"
    # A component recorded before the dossier's own row (the read model's order is not
    # guaranteed): the dossier's first recording picks it up.
    repo.add_documents(
        engine,
        [
            DocumentRecord(
                id=f"{code}:upload",
                dossier_code=code,
                form="to_khai",
                sha256="ab" * 32,
                created_at=t(11, 3),
                source="upload",
                reused=True,
            )
        ],
    )
    dossier(engine, 42, received=t(11, 3), appointment=t(11, 12, 17), processed=t(11, 6))
    kept, fresh = kept_and_recomputed(engine)
    assert kept == fresh
    assert kept[code] == (False, True, True, False, False)

    # A dislike, changed to a like, then a complaint: unhappy follows each.
    repo.rate_dossier(engine, RatingRow(dossier_code=code, rating="dislike", by="c", at=t(11, 7)))
    assert kept_and_recomputed(engine)[0][code][4] is True
    repo.rate_dossier(engine, RatingRow(dossier_code=code, rating="like", by="c", at=t(11, 8)))
    assert kept_and_recomputed(engine)[0][code][4] is False
    repo.add_feedback(
        engine, FeedbackRow(dossier_code=code, kind="complaint", text="Chậm", by="c", at=t(11, 9))
    )
    # A payment by the portal recorded later, and the result.
    repo.record_events(
        engine,
        [
            {
                "id": f"{code}:7",
                "seq": 7,
                "dossier_code": code,
                "kind": "pay",
                "at": t(11, 4),
                "actor_id": "system",
                "role": "system",
            }
        ],
    )
    repo.add_documents(
        engine,
        [
            DocumentRecord(
                id=f"{code}:result",
                dossier_code=code,
                form="result",
                sha256="cd" * 32,
                created_at=t(11, 6) + timedelta(hours=1),
                source="result",
            )
        ],
    )
    kept, fresh = kept_and_recomputed(engine)
    assert kept == fresh
    assert kept[code] == (True, True, True, True, True)
    assert counts(engine, recompute=False) == counts(engine, recompute=True)
    index = service_index(engine, load_catalog(Settings().catalog_dir), *PERIOD, now=t(12, 20))
    assert index.total.counts.paid_online == 1 and index.total.counts.complained_or_disliked == 1
