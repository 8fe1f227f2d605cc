"""PAKN items (phản ánh, kiến nghị) in the Decision 766 index, on SQLite and PostgreSQL,
counted by hand: index 5.2 per answering agency (filed in the period; answered within
the deadline; late: answered after it, or unanswered and past it when the period is
judged), and 5.3/5.4 (a dossier with a complaint, or with any item answered late or past
its deadline, is unsatisfied; a suggestion answered in time is not)."""

from __future__ import annotations

from datetime import datetime

from domain.catalog import load_catalog
from infra.settings import Settings
from services.index import service_index
from store.repository.feedback import record_feedback
from tests.store.test_index import CENTRE, PERIOD, POLICE, dossier, t


def item(
    engine,
    code: str,
    *,
    kind: str,
    agency: str,
    filed: datetime,
    due: datetime,
    answered: datetime | None = None,
    about: str | None = None,
) -> None:
    record_feedback(
        engine,
        {
            "code": code,
            "dossier_code": about,
            "kind": kind,
            "text": "…",
            "by": "",
            "at": filed,
            "agency": agency,
            "status": "answered" if answered else "open",
            "filer_name": "Nguyễn Văn An",
            "filer_id_number": "001090000001",
            "due_at": due,
            "answer": "Đã trả lời" if answered else None,
            "answered_at": answered,
            "published_at": answered,
        },
        {"id": f"{code}:filed", "feedback_code": code, "kind": "filed", "at": filed},
        [],
    )


def test_pakn_timeliness_and_satisfaction_by_hand(engine) -> None:
    d2 = dossier(engine, 2, received=t(11, 2), appointment=t(11, 28, 17))
    d3 = dossier(engine, 3, received=t(11, 2), appointment=t(11, 28, 17))
    d5 = dossier(engine, 5, received=t(11, 2), appointment=t(11, 28, 17))
    # A suggestion on d2 answered in time; one on d3 answered late; a complaint on d5 not
    # yet due at the period's end; a suggestion to the centre past its deadline,
    # unanswered; a complaint of October (another period).
    item(engine, "PAKN-A", kind="suggestion", agency=POLICE, about=d2,
         filed=t(11, 3), due=t(11, 24, 17), answered=t(11, 20))  # fmt: skip
    item(engine, "PAKN-B", kind="suggestion", agency=POLICE, about=d3,
         filed=t(11, 4), due=t(11, 25, 17), answered=t(11, 27))  # fmt: skip
    item(engine, "PAKN-C", kind="complaint", agency=POLICE, about=d5,
         filed=t(11, 10), due=t(12, 1, 17))  # fmt: skip
    item(engine, "PAKN-D", kind="suggestion", agency=CENTRE,
         filed=t(11, 5), due=t(11, 26, 17))  # fmt: skip
    item(engine, "PAKN-E", kind="complaint", agency=POLICE,
         filed=t(10, 20), due=t(11, 10, 17), answered=t(11, 3))  # fmt: skip

    index = service_index(engine, load_catalog(Settings().catalog_dir), *PERIOD)
    pakn = {f.agency: f for f in index.feedback}
    police, centre = pakn[POLICE], pakn[CENTRE]
    assert (police.received, police.complaints, police.suggestions) == (3, 1, 2)
    assert (police.answered, police.answered_on_time, police.late, police.open) == (2, 1, 1, 1)
    assert police.on_time_rate == 33.33
    assert (centre.received, centre.answered, centre.late, centre.open) == (1, 0, 1, 1)
    assert centre.on_time_rate == 0.0
    # d3 (an item answered late) and d5 (a complaint); not d2.
    (row,) = index.rows
    assert row.counts.received == 3
    assert row.counts.complained_or_disliked == 2
