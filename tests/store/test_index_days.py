"""The index's daily facts (store.index.kept_days, index_days) against a full recomputation,
on SQLite and PostgreSQL: after every kind of change to a dossier's row (received,
finished, moved to another agency, renamed procedure, a late PAKN item, a complaint),
the stored daily facts equal a rebuild from every row, and the month's index read from
them equals the index recomputed over every dossier with every fact probed from its
table; judged mid-day and at midnight, in the running month and after it, for all
agencies, one agency and one procedure. And the migration's backfill builds the same."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import insert, select

from domain.catalog import load_catalog
from domain.dossier import Channel, Status
from infra.settings import Settings
from store import repository as repo
from store.db import alembic_config
from store.index import index_counts, kept_day_rows, late_codes, late_count, rebuild_days
from store.models import DossierRow, FeedbackRow, IndexDayRow, RatingRow
from store.schemas import DocumentRecord, DossierSummary
from tests.store.test_feedback_index import item
from tests.store.test_index import CENTRE, COMMUNE, PERIOD, POLICE, TZ, known, t
from tests.store.test_migrations import empty_engine

__all__ = ["empty_engine", "known"]  # the fixtures, imported for pytest

CATALOG = load_catalog(Settings().catalog_dir)
PROCEDURES = {c: CATALOG.procedure(c) for c in CATALOG.procedures}
KINDS = {
    "document_procedures": [c for c, p in PROCEDURES.items() if p.issuing_step() is not None],
    "fee_procedures": [c for c, p in PROCEDURES.items() if any(f.amount_vnd > 0 for f in p.fees)],
}
DECEMBER = (datetime(2026, 12, 1, tzinfo=TZ), datetime(2027, 1, 1, tzinfo=TZ))
# Instants judged: mid-day in November (before and after 17:00 appointments), its last
# midnight, after it; mid-December; long after.
MOMENTS = (
    t(11, 10, 11),
    t(11, 10, 18),
    t(11, 28, 17),
    t(11, 30, 23),
    t(12, 1, 0),
    t(12, 2, 9),
    t(12, 16, 18),
    t(12, 20),
    datetime(2027, 3, 1, tzinfo=TZ),
)


def rebuilt(engine) -> dict:
    """The daily facts a rebuild from every row makes (not kept: rolled back)."""
    with engine.connect() as conn:
        tx = conn.begin()
        rebuild_days(conn)
        t_ = IndexDayRow.__table__  # type: ignore[attr-defined]
        rows = {
            (bool(r[0]), r[1], r[2], r[3], *r[4:8]): tuple(int(v) for v in r[8:])
            for r in conn.execute(select(*t_.c))
        }
        tx.rollback()
    return rows


def assert_equal_to_recomputation(engine) -> int:
    """Every period and moment (and at three of them, each agency and a procedure): the
    daily facts' index is the recomputed one, and the late list is as long as the index's
    late count. Returns how many rows compared (not vacuous)."""
    assert kept_day_rows(engine) == rebuilt(engine)
    compared = 0
    for period in (PERIOD, DECEMBER):
        for i, now in enumerate(MOMENTS):
            filters: list[tuple[str | None, str | None]] = [(None, None)]
            if i % 3 == 1:
                filters += [(POLICE, None), (CENTRE, None), (COMMUNE, None), (None, "3.000333")]
            for agency, procedure in filters:
                fresh = index_counts(
                    engine,
                    *period,
                    now=now,
                    agency=agency,
                    procedure=procedure,
                    recompute=True,
                    **KINDS,
                )
                kept = index_counts(
                    engine, *period, now=now, agency=agency, procedure=procedure, **KINDS
                )
                assert kept == fresh, (period, now, agency, procedure)
                compared += len(fresh)
            late = late_codes(engine, *period, now=now)
            assert late_count(engine, *period, now=now) == len(late)
            assert late_codes(engine, *period, now=now, limit=2, offset=1) == late[1:3]
    return compared


def summary(code: str, seq: int, **changes) -> DossierSummary:
    values = {
        "code": code,
        "procedure_code": "3.000333",
        "procedure_version": 1,
        "procedure_name": "Cấp phiếu lý lịch tư pháp",
        "status": Status.IN_PROGRESS,
        "channel": Channel.ONLINE,
        "centre_agency": CENTRE,
        "competent_agency": POLICE,
        "submitted_at": t(11, 9),
        "received_at": t(11, 9),
        "appointment_at": t(11, 20, 17),
        "applicant_name": "Nguyễn Văn An",
        "applicant_id_number": "001090000001",
        "last_event_seq": seq,
    }
    values.update(changes)
    return DossierSummary(**values)


def record(engine, code: str, seq: int, **changes) -> None:
    repo.record_events(
        engine,
        [
            {
                "id": f"{code}:{seq}",
                "seq": seq,
                "dossier_code": code,
                "kind": "accept",
                "at": t(11, 9),
                "actor_id": "tnhs-01",
                "role": "intake_officer",
            }
        ],
        summary(code, seq, **changes),
    )


def test_the_known_month_from_its_daily_facts(known) -> None:
    assert assert_equal_to_recomputation(known) > 0


def test_the_daily_facts_follow_every_change_of_a_dossier(engine) -> None:
    a, b, c = (f"{CENTRE}-261109-{n:04d}" for n in (1, 2, 3))
    # Submitted, not yet received: in no period, in no daily fact.
    record(engine, a, 1, status=Status.SUBMITTED, received_at=None)
    assert kept_day_rows(engine) == {}
    record(engine, a, 2)  # received: unfinished, due 20/11 17:00
    record(engine, b, 1, appointment_at=t(11, 10, 17), channel=Channel.COUNTER)
    # Due on a judged day (10/11): judged by the hour; and one without an appointment.
    record(engine, c, 1, appointment_at=None, overdue=True, procedure_name="Tên cũ")
    assert len(kept_day_rows(engine)) == 3
    assert assert_equal_to_recomputation(engine) > 0

    # A document, a payment by the portal, a dislike: the kept facts move the daily ones.
    repo.add_documents(
        engine,
        [
            DocumentRecord(
                id=f"{a}:u",
                dossier_code=a,
                form="to_khai",
                sha256="ab" * 32,
                created_at=t(11, 9),
                source="upload",
                reused=True,
            )
        ],
    )
    repo.record_events(
        engine,
        [
            {
                "id": f"{a}:9",
                "seq": 9,
                "dossier_code": a,
                "kind": "pay",
                "at": t(11, 9),
                "actor_id": "system",
                "role": "system",
            }
        ],
    )
    # b finishes late (after its appointment) with a result; then the applicant dislikes it.
    record(
        engine,
        b,
        2,
        status=Status.RETURNED,
        processed_at=t(11, 12),
        closed_at=t(11, 12, 11),
        resolution_minutes=960,
    )
    repo.add_documents(
        engine,
        [
            DocumentRecord(
                id=f"{b}:result",
                dossier_code=b,
                form="result",
                sha256="cd" * 32,
                created_at=t(11, 12),
                source="result",
            )
        ],
    )
    repo.rate_dossier(engine, RatingRow(dossier_code=b, rating="dislike", by="c", at=t(11, 13)))
    assert assert_equal_to_recomputation(engine) > 0

    # a is moved to the commune and its appointment to December; c's procedure renamed
    # (a new catalog version): the old day keys give their dossier back.
    record(engine, a, 3, competent_agency=COMMUNE, appointment_at=t(12, 2, 17))
    record(
        engine,
        c,
        2,
        appointment_at=None,
        overdue=True,
        procedure_name="Tên mới",
        supplement_requests=2,
    )
    names = {k[7] for k in kept_day_rows(engine)}
    assert "Tên cũ" not in names and "Tên mới" in names
    assert assert_equal_to_recomputation(engine) > 0

    # a finishes in December (unfinished at November's end); a late PAKN item on b and
    # a suggestion answered in time on c; a complaint on a.
    record(
        engine,
        a,
        4,
        competent_agency=COMMUNE,
        appointment_at=t(12, 2, 17),
        status=Status.RETURNED,
        processed_at=t(12, 2, 9),
        closed_at=t(12, 2, 10),
        resolution_minutes=2000,
    )
    item(
        engine,
        "PAKN-1",
        kind="suggestion",
        agency=POLICE,
        about=c,
        filed=t(11, 11),
        due=t(11, 25, 17),
    )  # unanswered: late from 25/11 17:00
    item(
        engine,
        "PAKN-2",
        kind="suggestion",
        agency=POLICE,
        about=b,
        filed=t(11, 11),
        due=t(11, 25, 17),
        answered=t(11, 20),
    )
    repo.add_feedback(
        engine, FeedbackRow(dossier_code=a, kind="complaint", text="Chậm", by="c", at=t(12, 3))
    )
    # Received in December (in November's daily facts' reach, not in its period).
    record(
        engine,
        f"{CENTRE}-261202-0004",
        1,
        received_at=t(12, 2),
        submitted_at=t(12, 2),
        appointment_at=t(12, 16, 17),
    )
    # Due in November, finished in December: late at November's end.
    record(
        engine,
        f"{CENTRE}-261115-0006",
        1,
        received_at=t(11, 15),
        submitted_at=t(11, 15),
        appointment_at=t(11, 25, 17),
        status=Status.RETURNED,
        processed_at=t(12, 3),
        closed_at=t(12, 3, 11),
        resolution_minutes=4000,
    )
    record(
        engine,
        f"{CENTRE}-261203-0005",
        1,
        received_at=t(12, 3),
        submitted_at=t(12, 3),
        appointment_at=None,
    )
    assert assert_equal_to_recomputation(engine) > 0
    november = index_counts(engine, *PERIOD, now=t(12, 20), **KINDS)
    assert sum(r.received for r in november) == 4
    assert sum(r.finished for r in november) == 1  # b; a and 0006 finished after the period
    # Late at its end: c (two supplement requests) and 0006 (due before the end, finished
    # after it); not b (finished on 12/11, due on 20/11 since its second recording), nor a
    # (due in December).
    assert sum(r.received - r.on_time for r in november) == 2


def test_the_migration_builds_the_daily_facts_of_existing_dossiers(empty_engine) -> None:
    engine = empty_engine
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    command.upgrade(cfg, "0014_catalog_versions")
    base = summary("x", 1).model_dump()
    rows = []
    for n in range(40):
        received = t(10, 20) + timedelta(days=n, hours=n % 5)
        finished = n % 3 != 0
        row = {k: v for k, v in base.items() if k in DossierRow.model_fields}
        row.update(
            code=f"{CENTRE}-261020-{n:04d}",
            status="returned" if finished else "in_progress",
            status_code=10 if finished else 4,
            channel="online" if n % 2 else "counter",
            submitted_at=received,
            received_at=None if n == 7 else received,
            appointment_at=None if n == 8 else received + timedelta(days=n % 11),
            processed_at=received + timedelta(days=n % 13) if finished else None,
            closed_at=received + timedelta(days=n % 13, hours=1) if finished else None,
            supplement_requests=n % 4 // 2 * 2,
            overdue=n % 5 == 0,
            resolution_minutes=n * 100 if finished else None,
            outcome="withdrawn" if n == 10 else None,
            competent_agency=POLICE if n % 4 else COMMUNE,
            fact_result=finished and n % 7 != 0,
            fact_upload=n % 2 == 0,
            fact_reused=n % 6 == 0,
            fact_paid_online=n % 9 == 0,
            fact_unhappy=n % 8 == 0,
            updated_at=received,
            last_event_seq=1,
        )
        rows.append(row)
    with engine.begin() as conn:
        conn.execute(insert(DossierRow.__table__), rows)
    command.upgrade(cfg, "head")
    # The backfill's SQL builds what the read model's rebuild does (which equals the
    # recomputation: the tests above); these rows' facts were written, not recorded.
    kept = kept_day_rows(engine)
    assert len(kept) > 20 and kept == rebuilt(engine)
    assert {k[0] for k in kept} == {True, False}


@pytest.mark.parametrize("now", [t(11, 20, 11), t(12, 20)])
def test_the_late_list_pages_are_slices_of_the_whole(known, now) -> None:
    whole = late_codes(known, *PERIOD, now=now)
    assert whole  # not vacuous
    pages = [late_codes(known, *PERIOD, now=now, limit=1, offset=i) for i in range(len(whole) + 1)]
    assert [c for page in pages for c in page] == whole and pages[-1] == []
