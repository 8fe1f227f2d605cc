"""The Decision 766 index from the read model, on SQLite and PostgreSQL: a known set of
dossiers (early, on the dot, late, refused, two supplements, unfinished on time and
late, online and at the counter, paid online, reused data, a complaint, a dislike) and
every figure checked by hand against DOMAIN.md §1.9."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from domain.catalog import load_catalog
from domain.dossier import Channel, Status
from infra.settings import Settings
from services.index import service_index, to_csv
from store import repository as repo
from store.index import late_codes
from store.models import FeedbackRow, RatingRow
from store.schemas import DocumentRecord, DossierSummary

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
POLICE, CENTRE, COMMUNE = "000.00.20.H99", "000.00.01.H99", "000.31.00.H99"
PERIOD = (datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ))
DAY = 480  # office minutes a working day


def t(month: int, day: int, hh: int = 10) -> datetime:
    return datetime(2026, month, day, hh, 0, tzinfo=TZ)


def dossier(
    engine,
    n: int,
    *,
    received: datetime,
    appointment: datetime | None,
    processed: datetime | None = None,
    channel: Channel = Channel.COUNTER,
    procedure: str = "3.000333",
    competent: str = POLICE,
    supplements: int = 0,
    overdue: bool = False,
    result: bool = False,
    uploads: tuple[bool, ...] = (),  # one per upload: reused?
    from_database: bool = False,  # a component taken from a national database (no file)
    paid_online: bool = False,
    days: int = 0,
    outcome: str | None = None,
) -> str:
    code = f"{CENTRE}-261101-{n:04d}"
    status = Status.RETURNED if processed else Status.IN_PROGRESS
    repo.record_events(
        engine,
        [
            {
                "id": f"{code}:1",
                "seq": 1,
                "dossier_code": code,
                "kind": "pay" if paid_online else "accept",
                "at": received,
                "actor_id": "system" if paid_online else "tnhs-01",
                "role": "system" if paid_online else "intake_officer",
            }
        ],
        DossierSummary(
            code=code,
            procedure_code=procedure,
            procedure_version=1,
            procedure_name=procedure,
            status=status,
            channel=channel,
            centre_agency=CENTRE,
            competent_agency=competent,
            submitted_at=received,
            received_at=received,
            appointment_at=appointment,
            overdue=overdue,
            applicant_name="Nguyễn Văn An",
            applicant_id_number="001090000001",
            closed_at=processed + timedelta(hours=1) if processed else None,
            processed_at=processed,
            supplement_requests=supplements,
            outcome=outcome,
            resolution_minutes=days * DAY if processed else None,
            last_event_seq=1,
        ),
    )
    # (id, component, hash tag, source, reused)
    given = [(f"upload-{i}", "to_khai", f"{i:02d}", "upload", r) for i, r in enumerate(uploads)]
    if from_database:
        given.append(("database", "thong_tin_cha_me", "db", "database", True))
    docs = [
        DocumentRecord(
            id=f"{code}:{suffix}",
            dossier_code=code,
            form=form,
            sha256=f"{n:02d}{tag}".ljust(64, "0"),
            created_at=received,
            source=source,
            reused=reused,
        )
        for suffix, form, tag, source, reused in given
    ]
    if result:
        docs.append(
            DocumentRecord(
                id=f"{code}:result",
                dossier_code=code,
                form="result",
                sha256=f"{n:02d}ff".ljust(64, "0"),
                created_at=processed or received,
                source="result",
            )
        )
    repo.add_documents(engine, docs)
    return code


@pytest.fixture
def known(engine):
    d1 = dossier(
        engine,
        1,
        received=t(11, 2),
        appointment=t(11, 10, 17),
        processed=t(11, 5),
        result=True,
        uploads=(False,),
        days=3,
    )  # early, at the counter
    dossier(
        engine,
        2,
        received=t(11, 2),
        appointment=t(11, 9, 17),
        processed=t(11, 9, 17),
        channel=Channel.ONLINE,
        result=True,
        uploads=(False,),
        paid_online=True,
        days=5,
    )
    dossier(
        engine,
        3,
        received=t(11, 2),
        appointment=t(11, 10, 17),
        processed=t(11, 12),
        result=True,
        overdue=True,
        days=8,
    )  # late
    d4 = dossier(
        engine,
        4,
        received=t(11, 3),
        appointment=t(11, 11, 17),
        processed=t(11, 6),
        channel=Channel.ONLINE,
        result=True,
        days=2,
    )  # refused, on time
    dossier(
        engine,
        5,
        received=t(11, 3),
        appointment=t(11, 20, 17),
        processed=t(11, 10),
        result=True,
        supplements=2,
        days=4,
    )  # on time, but asked twice for supplements
    dossier(
        engine,
        6,
        received=t(11, 20),
        appointment=t(12, 5, 17),
        channel=Channel.ONLINE,
        uploads=(True,),
    )  # unfinished, its appointment after the period: on time
    dossier(engine, 7, received=t(11, 10), appointment=t(11, 28, 17), overdue=True)
    dossier(
        engine,
        8,
        received=t(10, 1),
        appointment=t(10, 15, 17),
        processed=t(10, 30),
        result=True,
        days=9,
    )  # finished before the period: not counted
    dossier(engine, 9, received=t(12, 2), appointment=t(12, 16, 17))  # after: not counted
    dossier(
        engine,
        10,
        received=t(11, 4),
        appointment=None,
        channel=Channel.ONLINE,
        procedure="2.000986",
        competent=COMMUNE,
        uploads=(True, False),
    )  # a linked group
    repo.rate_dossier(engine, RatingRow(dossier_code=d1, rating="dislike", by="c", at=t(11, 6)))
    repo.add_feedback(
        engine, FeedbackRow(dossier_code=d4, kind="complaint", text="Chậm", by="c", at=t(11, 7))
    )
    return engine


def test_every_figure_of_the_index(known) -> None:
    catalog = load_catalog(Settings().catalog_dir)
    index = service_index(known, catalog, *PERIOD)
    police, group = index.rows
    c = police.counts
    assert (police.agency, police.procedure_code) == (POLICE, "3.000333")
    # Received or processed in November: 1-7 (8 ended in October, 9 arrived in December).
    assert (c.received, c.finished, c.on_time, c.multiple_supplements) == (7, 5, 4, 1)
    assert police.on_time_rate == 57.14  # 1, 2, 4, 6 of 7
    assert police.overdue_rate == 42.86
    assert police.average_resolution == 4.4  # (3 + 5 + 8 + 2 + 4) / 5 working days
    assert police.resolution_unit == "working_days"
    assert (c.online, police.online_submission_rate) == (2, 28.57)  # 6 has no e-result yet
    assert (c.fee_bearing, c.paid_online, police.online_payment_rate) == (7, 1, 14.29)
    assert (c.result_required, c.e_result, police.electronic_result_rate) == (5, 5, 100.0)
    assert (c.digitised, police.digitisation_rate) == (2, 28.57)  # 1 and 2
    assert (c.reused, police.reuse_rate) == (1, 14.29)  # 6
    assert c.complained_or_disliked == 2  # 1 disliked, 4 complained
    assert police.satisfaction == 28.57  # 100 - (42.86 + 28.57)

    g = group.counts
    assert (group.agency, group.procedure_code) == (COMMUNE, "2.000986")
    # A linked group returns its sub-dossiers' results: online counts without its own.
    assert (g.received, g.on_time, g.online, g.digitised, g.reused, g.fee_bearing) == (
        1,
        1,
        1,
        1,
        1,
        0,
    )
    assert group.online_payment_rate is None and group.electronic_result_rate is None

    total = index.total.counts
    assert (total.received, total.on_time, total.online) == (8, 5, 3)
    assert index.total.on_time_rate == 62.5 and index.total.average_resolution is None

    # Per agency and per procedure (one procedure each here): the same figures as the rows.
    assert [(a.agency, a.procedure_code) for a in index.agencies] == [
        (POLICE, None),
        (COMMUNE, None),
    ]
    by_agency = {a.agency: a for a in index.agencies}
    assert by_agency[POLICE].counts.received == 7
    assert by_agency[POLICE].on_time_rate == police.on_time_rate
    assert by_agency[POLICE].average_resolution == 4.4
    assert by_agency[POLICE].resolution_unit == "working_days"
    assert by_agency[POLICE].satisfaction == police.satisfaction
    assert by_agency[COMMUNE].on_time_rate == 100.0
    by_procedure = {p.procedure_code: p for p in index.procedures}
    assert set(by_procedure) == {"3.000333", "2.000986"}
    assert by_procedure["3.000333"].agency == "*"
    assert by_procedure["3.000333"].counts.received == 7
    assert by_procedure["3.000333"].average_resolution == 4.4

    police_only = service_index(known, catalog, *PERIOD, agency=POLICE)
    assert [r.procedure_code for r in police_only.rows] == ["3.000333"]
    csv = to_csv(index).splitlines()
    assert csv[0].startswith("agency,procedure_code,procedure_name,received,on_time")
    assert csv[1].startswith(f"{POLICE},3.000333,3.000333,7,4,57.14,4.4,working_days")
    assert csv[-1].startswith("*,,Tổng cộng,8,5,62.5,,")


def test_the_period_is_judged_by_the_procedure_version_in_force(known, tmp_path) -> None:
    """A version published for a later day (here: the fee abolished from 1/1/2027) does
    not change November's figures: the month is judged by the version in force then."""
    shipped = Settings().catalog_dir
    catalog_dir = tmp_path / "procedures"
    shutil.copytree(shipped, catalog_dir)
    v1 = yaml.safe_load((shipped / "3.000333-v1.yaml").read_text(encoding="utf-8"))
    v2 = {**v1, "version": 2, "effective_from": "2027-01-01", "fees": []}
    (catalog_dir / "3.000333-v2.yaml").write_text(
        yaml.safe_dump(v2, allow_unicode=True), encoding="utf-8"
    )
    catalog = load_catalog(catalog_dir)
    assert catalog.procedure("3.000333").version == 2  # published, the latest
    police = service_index(known, catalog, *PERIOD).rows[0]
    c = police.counts
    assert (c.fee_bearing, c.paid_online, police.online_payment_rate) == (7, 1, 14.29)
    # In January, the fee is gone: the dossiers still open then bear none.
    january = (datetime(2027, 1, 1, tzinfo=TZ), datetime(2027, 2, 1, tzinfo=TZ))
    later = service_index(known, catalog, *january, now=datetime(2027, 1, 20, tzinfo=TZ))
    january_police = next(r for r in later.rows if r.procedure_code == "3.000333").counts
    assert (january_police.received, january_police.fee_bearing) == (3, 0)


def test_the_late_list_is_the_dossiers_the_index_counts_late(known) -> None:
    """One definition of late: the index's 7 - 4 late police dossiers are the late list's
    (3 past its appointment, 5 asked twice for a supplement, 7 unfinished and overdue)."""
    codes = late_codes(known, *PERIOD)
    assert codes == [f"{CENTRE}-261101-{n:04d}" for n in (3, 5, 7)]
    index = service_index(known, load_catalog(Settings().catalog_dir), *PERIOD)
    assert sum(r.counts.received - r.counts.on_time for r in index.rows) == len(codes)


def test_in_the_running_month_a_dossier_due_later_is_on_time_today(engine) -> None:
    """Unfinished dossiers are judged at the earlier of now and the period's end: accepted
    this morning, due in three working days, it is on time today (100 %), late once its
    appointment has passed, and judged at the month's end for a month that is over."""
    catalog = load_catalog(Settings().catalog_dir)
    dossier(engine, 1, received=t(11, 20, 8), appointment=t(11, 25, 17))
    today = service_index(engine, catalog, *PERIOD, now=t(11, 20, 11))
    assert (today.total.counts.on_time, today.total.on_time_rate) == (1, 100.0)
    assert late_codes(engine, *PERIOD, now=t(11, 20, 11)) == []
    after = service_index(engine, catalog, *PERIOD, now=t(11, 26, 9))
    assert (after.total.counts.on_time, after.total.on_time_rate) == (0, 0.0)
    assert late_codes(engine, *PERIOD, now=t(11, 26, 9)) == [f"{CENTRE}-261101-0001"]
    over = service_index(engine, catalog, *PERIOD, now=t(12, 20))  # judged at 1/12
    assert over.total.counts.on_time == 0


def test_a_withdrawn_dossier_is_not_in_the_e_result_denominator(engine) -> None:
    catalog = load_catalog(Settings().catalog_dir)
    common = {"received": t(11, 2), "appointment": t(11, 10, 17), "processed": t(11, 5)}
    dossier(engine, 1, result=True, outcome="granted", **common)
    dossier(engine, 2, outcome="withdrawn", **common)  # stopped: no result to deliver
    c = service_index(engine, catalog, *PERIOD).rows[0].counts
    assert (c.finished, c.result_required, c.e_result) == (2, 1, 1)


def test_the_latest_rating_counts_and_every_rating_is_kept(known) -> None:
    """Ratings kept with their time; the index counts each dossier's latest one. By hand:
    dossier 1 was disliked (the fixture) and a retried "like" stamped earlier does not
    replace it; dossier 2 disliked then liked at the kiosk: happy; dossier 3 liked then
    disliked: unhappy; dossier 4 complained (the fixture). So 1, 3 and 4 are unhappy."""
    d1, d2, d3 = (f"{CENTRE}-261101-{n:04d}" for n in (1, 2, 3))
    repo.rate_dossier(known, RatingRow(dossier_code=d1, rating="like", by="c", at=t(11, 5)))
    repo.rate_dossier(known, RatingRow(dossier_code=d2, rating="dislike", by="c", at=t(11, 10)))
    repo.rate_dossier(
        known, RatingRow(dossier_code=d2, rating="like", by="kiosk", at=t(11, 11)), source="kiosk"
    )
    repo.rate_dossier(known, RatingRow(dossier_code=d3, rating="like", by="c", at=t(11, 10)))
    repo.rate_dossier(
        known,
        RatingRow(dossier_code=d3, rating="dislike", by="kiosk", at=t(11, 12)),
        source="kiosk",
    )
    assert [(r.rating, r.source) for r in repo.rating_history(known, d1)] == [
        ("like", "account"),  # stamped before the dislike: history only
        ("dislike", "account"),
    ]
    assert [(r.rating, r.source) for r in repo.rating_history(known, d2)] == [
        ("dislike", "account"),
        ("like", "kiosk"),
    ]
    catalog = load_catalog(Settings().catalog_dir)
    police = service_index(known, catalog, *PERIOD).rows[0]
    c = police.counts
    assert (c.received, c.on_time, c.complained_or_disliked) == (7, 4, 3)
    # 100 % - (overdue 3/7 + unhappy 3/7) = 100 - 42.86 - 42.86
    assert police.satisfaction == 14.28
