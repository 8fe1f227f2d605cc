"""Records retention on the read model (both databases): which closed dossiers are past
their period, from the catalog's period for their result type or the default."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domain.catalog import Catalog, load_catalog
from domain.retention import RetentionDue, past_retention
from infra.settings import REPO_ROOT
from store.models import DossierRow
from store.retention import retention_candidates

DEFAULT_YEARS = 10
CERTIFIED_COPY = "2.000815"  # granted 5, refused 5
BIRTH = "1.001193"  # granted permanent, refused 5
PERSON = "Nguyễn Văn Riêng Tư"
ID_NUMBER = "001099012345"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(REPO_ROOT / "procedures")


def row(
    code: str,
    procedure: str,
    outcome: str | None,
    closed_at: datetime | None,
    version: int = 1,
) -> DossierRow:
    submitted = (closed_at or datetime(2020, 1, 1, tzinfo=UTC)) - timedelta(days=3)
    return DossierRow(
        code=code,
        procedure_code=procedure,
        procedure_version=version,
        procedure_name="x",
        status="returned" if closed_at else "in_progress",
        status_code=10 if closed_at else 4,
        channel="online",
        centre_agency="000.00.01.H99",
        competent_agency="000.31.00.H99",
        submitted_at=submitted,
        applicant_name=PERSON,
        applicant_id_number=ID_NUMBER,
        updated_at=closed_at or submitted,
        closed_at=closed_at,
        outcome=outcome,
    )


def vn(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock in Viet Nam on `day`, as UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=7)


def seed(engine: Engine) -> None:
    rows = [
        # certified copy, granted: 5 years from the day it closed
        row("A-granted-5y", CERTIFIED_COPY, "granted", vn(date(2019, 3, 10))),
        # closed late in the evening in Viet Nam: 16:30 UTC is 23:30 on the same VN day,
        # 17:30 UTC is already the next VN day
        row("B-vn-evening", CERTIFIED_COPY, "granted", datetime(2019, 3, 10, 16, 30, tzinfo=UTC)),
        row("C-vn-next-day", CERTIFIED_COPY, "granted", datetime(2019, 3, 10, 17, 30, tzinfo=UTC)),
        # birth registration granted: permanent, never listed however old
        row("D-permanent", BIRTH, "granted", vn(date(1990, 1, 2))),
        # birth registration refused: 5 years
        row("E-refused-5y", BIRTH, "refused", vn(date(2018, 6, 1))),
        # withdrawn: the catalog names no period, so the default (10 years)
        row("F-withdrawn-default", BIRTH, "withdrawn", vn(date(2014, 2, 1))),
        row("G-withdrawn-young", BIRTH, "withdrawn", vn(date(2016, 2, 1))),
        # a procedure the catalog does not know: the default
        row("H-unknown-procedure", "9.999999", "granted", vn(date(2013, 5, 5))),
        # 29 February + 5 years: 28 February
        row("I-leap-day", CERTIFIED_COPY, "refused", vn(date(2016, 2, 29))),
        # still open: never listed
        row("J-open", CERTIFIED_COPY, None, None),
        # a version the catalog no longer holds: the latest version's periods
        row("K-old-version", CERTIFIED_COPY, "granted", vn(date(2018, 1, 1)), version=7),
    ]
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()


def listed(engine: Engine, catalog: Catalog, as_of: date) -> dict[str, RetentionDue]:
    found = past_retention(catalog, retention_candidates(engine, as_of), DEFAULT_YEARS, as_of)
    return {d.code: d for d in found}


def test_past_retention_on_both_databases(engine: Engine, catalog: Catalog) -> None:
    seed(engine)
    past = listed(engine, catalog, date(2024, 3, 10))
    assert sorted(past) == [
        "A-granted-5y",
        "B-vn-evening",
        "E-refused-5y",
        "F-withdrawn-default",
        "H-unknown-procedure",
        "I-leap-day",
        "K-old-version",
    ]
    a = past["A-granted-5y"]
    assert (a.procedure_code, a.result_type, a.closed_on) == (
        CERTIFIED_COPY,
        "granted",
        date(2019, 3, 10),
    )
    assert (a.retention_years, a.retention_end, a.from_catalog) == (5, date(2024, 3, 10), True)
    assert past["B-vn-evening"].closed_on == date(2019, 3, 10)
    assert past["E-refused-5y"].retention_end == date(2023, 6, 1)
    f = past["F-withdrawn-default"]
    assert (f.retention_years, f.retention_end, f.from_catalog) == (10, date(2024, 2, 1), False)
    assert not past["H-unknown-procedure"].from_catalog
    assert past["I-leap-day"].retention_end == date(2021, 2, 28)
    assert past["K-old-version"].retention_years == 5
    # Longest past first, then by code.
    ends = [d.retention_end for d in past.values()]
    assert ends == sorted(ends)


def test_the_day_the_period_ends_is_the_first_day_past_it(engine: Engine, catalog: Catalog) -> None:
    seed(engine)
    before = listed(engine, catalog, date(2024, 3, 9))
    assert "A-granted-5y" not in before and "B-vn-evening" not in before
    on = listed(engine, catalog, date(2024, 3, 10))
    assert "A-granted-5y" in on and "C-vn-next-day" not in on
    assert "C-vn-next-day" in listed(engine, catalog, date(2024, 3, 11))
    # Permanent and open dossiers never are, however late the day.
    far = listed(engine, catalog, date(2200, 1, 1))
    assert "D-permanent" not in far and "J-open" not in far
    assert {"G-withdrawn-young", "C-vn-next-day"} <= set(far)


def test_candidates_carry_no_personal_data(engine: Engine, catalog: Catalog) -> None:
    seed(engine)
    for candidate in retention_candidates(engine, date(2200, 1, 1)):
        assert PERSON not in repr(candidate) and ID_NUMBER not in repr(candidate)
    # Nothing closed within the last year is even read (every period is a year or more):
    # as of 10/03/2020, the dossiers closed up to 10/03/2019 in Viet Nam, oldest first.
    codes = [c.code for c in retention_candidates(engine, date(2020, 3, 10))]
    assert codes == [
        "D-permanent",
        "H-unknown-procedure",
        "F-withdrawn-default",
        "G-withdrawn-young",
        "I-leap-day",
        "K-old-version",
        "E-refused-5y",
        "A-granted-5y",
        "B-vn-evening",
    ]
    codes = [c.code for c in retention_candidates(engine, date(2020, 3, 9))]
    assert "A-granted-5y" not in codes and "B-vn-evening" not in codes
    assert "E-refused-5y" in codes


def test_nothing_when_nothing_is_closed(engine: Engine, catalog: Catalog) -> None:
    assert listed(engine, catalog, date(2200, 1, 1)) == {}
