"""Publishing a month of the service index, on SQLite and PostgreSQL: once, frozen with
its hash (later recordings do not change it), a correction as the next revision with its
reason, the earlier kept; the published late list names the responsible units and
officials and nothing of the applicant."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from domain.catalog import Role, StepKind, load_catalog
from infra.settings import Settings
from services.audit.timeline import DelayAttribution, StepRecord, SupplementRequestRecord
from services.index_publication import (
    AlreadyPublished,
    MonthNotOver,
    NotPublished,
    publish_month,
    published_month,
    snapshot_month,
)
from store.index import late_codes
from store.models import IndexPublicationRow
from tests.store.test_index import CENTRE, PERIOD, POLICE, dossier, known, t

__all__ = ["known"]
LEADER = {"by": "ld-trung-tam", "by_name": "Trần Thị Lãnh Đạo"}


def late_list(engine) -> list[DelayAttribution]:
    """The late list as AuditService.late_in_period builds it (from each dossier's
    history): here written out for the known month's late dossiers, with their officers."""
    codes = late_codes(engine, *PERIOD)
    out = []
    for code in codes:
        if code.endswith("0005"):  # asked twice for a supplement
            out.append(
                DelayAttribution(
                    dossier_code=code,
                    procedure_code="3.000333",
                    appointment_at=t(11, 20, 17),
                    overdue_at=t(11, 6),
                    finished_at=t(11, 10),
                    overdue_by_working_minutes=0,
                    culprits=[],
                    reason="supplements",
                    supplement_requests=[
                        SupplementRequestRecord(
                            at=t(11, d),
                            officer_id="cv-01",
                            officer_name="Lê Văn Chuyên Viên",
                            agency=POLICE,
                            step_id="tham_dinh",
                        )
                        for d in (4, 6)
                    ],
                )
            )
            continue
        out.append(
            DelayAttribution(
                dossier_code=code,
                procedure_code="3.000333",
                appointment_at=t(11, 10, 17),
                overdue_at=t(11, 10, 17),
                finished_at=None,
                overdue_by_working_minutes=480,
                culprits=[
                    StepRecord(
                        step_id="tham_dinh",
                        step_name="Thẩm định hồ sơ",
                        kind=StepKind.APPRAISAL,
                        agency=POLICE,
                        role=Role.SPECIALIST,
                        officer_id="cv-02",
                        officer_name="Phạm Thị Thẩm Định",
                        started_at=t(11, 3),
                        planned_due_at=t(11, 6),
                        ended_at=t(11, 11),
                        verdict="late",
                        late_by_working_minutes=480,
                        escalated=False,
                    )
                ],
            )
        )
    return out


def test_a_month_is_published_once_frozen_and_corrected_by_revision(known) -> None:
    catalog = load_catalog(Settings().catalog_dir)
    snap = snapshot_month(known, catalog, "2026-11", late_list(known), now=t(12, 2))
    with pytest.raises(MonthNotOver):  # not before the month is over
        publish_month(known, snap, **LEADER, now=t(11, 30, 16))
    with pytest.raises(NotPublished):  # nothing to correct yet
        publish_month(known, snap, **LEADER, reason="sửa", now=t(12, 2))

    first = publish_month(known, snap, **LEADER, now=t(12, 2))
    assert (first.revision, first.reason, first.intact) == (1, "", True)
    assert first.snapshot.index.total.counts.received == 8
    assert len(first.snapshot.late) == 3

    with pytest.raises(AlreadyPublished):  # published once
        publish_month(known, snap, **LEADER, now=t(12, 3))

    # A dossier of November recorded late: recomputing changes the index, the publication
    # does not.
    dossier(known, 30, received=t(11, 25), appointment=t(11, 27, 17), processed=t(11, 26))
    assert published_month(known, "2026-11").current.model_dump() == first.model_dump()
    fresh = snapshot_month(known, catalog, "2026-11", late_list(known), now=t(12, 5))
    assert fresh.index.total.counts.received == 9

    second = publish_month(
        known, fresh, **LEADER, reason="Bổ sung hồ sơ 0030 đồng bộ chậm", now=t(12, 5)
    )
    assert second.revision == 2 and second.snapshot.index.total.counts.received == 9
    month = published_month(known, "2026-11")
    assert month.current.revision == 2
    assert [(r.revision, r.reason) for r in month.revisions] == [
        (1, ""),
        (2, "Bổ sung hồ sơ 0030 đồng bộ chậm"),
    ]
    kept = published_month(known, "2026-11", revision=1).current
    assert kept.snapshot.index.total.counts.received == 8 and kept.sha256 == first.sha256

    # A stored snapshot edited behind the application's back no longer matches its hash.
    with known.begin() as conn:
        table = IndexPublicationRow.__table__  # type: ignore[attr-defined]
        conn.execute(
            update(table)
            .where(table.c.revision == 1)
            .values(snapshot=table.c.snapshot.op("||")(" "))
        )
    assert published_month(known, "2026-11", revision=1).current.intact is False
    with pytest.raises(NotPublished):
        published_month(known, "2026-10")


def test_the_published_late_list_names_officials_and_no_applicant(known) -> None:
    catalog = load_catalog(Settings().catalog_dir)
    snap = snapshot_month(known, catalog, "2026-11", late_list(known), now=t(12, 2))
    pub = publish_month(known, snap, **LEADER, now=t(12, 2))
    by_code = {e.dossier_code: e for e in pub.snapshot.late}
    late = by_code[f"{CENTRE}-261101-0003"]
    assert [(r.agency, r.step_name, r.officer_name) for r in late.responsible] == [
        (POLICE, "Thẩm định hồ sơ", "Phạm Thị Thẩm Định")
    ]
    assert late.responsible[0].agency_name == catalog.agency(POLICE).name
    twice = by_code[f"{CENTRE}-261101-0005"]
    assert twice.reason == "supplements"
    assert [(r.step_name, r.officer_name) for r in twice.responsible] == [
        ("Yêu cầu bổ sung hồ sơ lần 2", "Lê Văn Chuyên Viên")
    ]
    assert "Phạm Thị Thẩm Định" in pub.snapshot.late_csv
    # The applicant of every dossier (tests/store/test_index.py: "Nguyễn Văn An",
    # 001090000001) is in the read model, never in what is published; officers' ids
    # neither (their names are what the law publishes).
    text = published_month(known, "2026-11").model_dump_json()
    for personal in ("Nguyễn Văn An", "001090000001", "cv-01", "cv-02", LEADER["by"]):
        assert personal not in text
