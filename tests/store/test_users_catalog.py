"""Users seen on the API, and the catalog synced into the read model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from domain.catalog import Role, build_catalog, load_catalog, procedure_document
from store import repository as repo
from store.models import AgencyRow, ProcedureRow

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
PROCEDURES = Path(__file__).resolve().parents[2] / "procedures"


# --------------------------------------------------------------------------- users


def test_touch_user_inserts_then_updates(engine):
    row = repo.touch_user(engine, "sub-1", "Nguyễn Văn A", ["intake_officer"], "000.00.01.H99", T0)
    assert (row.sub, row.name, row.roles, row.agency) == (
        "sub-1",
        "Nguyễn Văn A",
        ["intake_officer"],
        "000.00.01.H99",
    )
    assert row.first_seen == row.last_seen == T0

    later = T0 + timedelta(hours=2)
    row = repo.touch_user(
        engine, "sub-1", "Nguyễn Văn A.", [Role.LEADER, "leader", Role.AUDITOR], None, later
    )
    assert row.name == "Nguyễn Văn A."
    assert row.roles == ["leader", "auditor"]  # plain strings, duplicates dropped, order kept
    assert row.agency is None
    assert row.first_seen == T0 and row.last_seen == later

    stored = repo.get_user(engine, "sub-1")
    assert stored is not None and stored.model_dump() == row.model_dump()
    assert repo.get_user(engine, "nobody") is None


def test_touch_user_late_write_does_not_regress(engine):
    repo.touch_user(engine, "sub-1", "New name", ["leader"], "A.B", T0 + timedelta(hours=1))
    row = repo.touch_user(engine, "sub-1", "Old name", ["specialist"], "C.D", T0)
    assert row.name == "New name" and row.roles == ["leader"] and row.agency == "A.B"
    assert row.last_seen == T0 + timedelta(hours=1)
    assert row.first_seen == T0  # but the earlier sighting is remembered


def test_touch_user_defaults_to_now(engine):
    before = datetime.now(UTC)
    row = repo.touch_user(engine, "sub-2", "", [], None)
    assert (
        before - timedelta(seconds=1) <= row.last_seen <= datetime.now(UTC) + timedelta(seconds=1)
    )


# --------------------------------------------------------------------------- catalog


def counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        agencies = conn.execute(select(func.count()).select_from(AgencyRow)).scalar_one()
        procedures = conn.execute(select(func.count()).select_from(ProcedureRow)).scalar_one()
    return agencies, procedures


def test_sync_shipped_catalog_is_idempotent(engine):
    catalog = load_catalog(PROCEDURES)
    n_procedures = sum(len(v) for v in catalog.procedures.values())
    assert repo.sync_catalog(engine, catalog) == (len(catalog.agencies), n_procedures)
    first = (repo.list_agencies(engine), repo.list_procedures(engine))
    assert counts(engine) == (len(catalog.agencies), n_procedures)

    repo.sync_catalog(engine, catalog)
    assert counts(engine) == (len(catalog.agencies), n_procedures)
    assert (repo.list_agencies(engine), repo.list_procedures(engine)) == first

    agencies = {a.code: a for a in first[0]}
    for code, agency in catalog.agencies.items():
        row = agencies[code]
        assert (row.name, row.kind, row.level, row.parent) == (
            agency.name,
            agency.kind.value,
            agency.level,
            agency.parent,
        )
    procedures = {(p.code, p.version): p for p in first[1]}
    for versions in catalog.procedures.values():
        for p in versions:
            row = procedures[(p.code, p.version)]
            assert row.name == p.name and row.field == p.field and row.level == p.level
            assert row.competent_agency == p.competent_agency
            assert row.statutory_value == p.statutory_time.value
            assert row.statutory_unit == p.statutory_time.unit.value
            assert row.effective_from == p.effective_from and row.effective_to == p.effective_to
            assert type(row.effective_from) is date
            # The database is the catalog (services/catalog.py): the definition keeps
            # what a dossier's snapshot leaves out (the retention schedule) and round-trips.
            assert row.definition == procedure_document(p)
            assert type(p).model_validate(row.definition) == p


def test_sync_updates_changed_rows_and_keeps_removed_ones(engine):
    catalog = load_catalog(PROCEDURES)
    repo.sync_catalog(engine, catalog)
    code, versions = sorted(catalog.procedures.items())[0]
    old = versions[-1]
    renamed = old.model_copy(update={"name": "Tên mới"})
    v2 = old.model_copy(update={"version": old.version + 1, "effective_to": None})
    agencies = list(catalog.agencies.values())
    first_agency = agencies[0].model_copy(update={"name": "Trung tâm (đổi tên)"})
    smaller = build_catalog([first_agency, *agencies[1:]], [renamed, v2])
    repo.sync_catalog(engine, smaller)

    rows = {(p.code, p.version): p for p in repo.list_procedures(engine)}
    assert rows[(code, old.version)].name == "Tên mới"
    assert rows[(code, old.version)].definition["name"] == "Tên mới"
    assert (code, old.version + 1) in rows
    # versions left out of the new catalog stay: dossiers may still refer to them
    assert len(rows) == sum(len(v) for v in catalog.procedures.values()) + 1
    names = {a.code: a.name for a in repo.list_agencies(engine)}
    assert names[first_agency.code] == "Trung tâm (đổi tên)"


def test_agencies_keep_their_place_validity_and_successor(engine):
    """Two-level local government: what the catalog says of an agency's days and successor
    is what the database holds and gives back (services/catalog.py reads the catalog from
    it), and a change to an agency is a new catalog revision."""
    from services.catalog import load_from_database

    catalog = load_catalog(PROCEDURES)
    merged = catalog.agencies["000.31.00.H99"].model_copy(
        update={
            "valid_from": date(2025, 7, 1),
            "valid_to": date(2026, 6, 30),
            "successor": "000.32.00.H99",
        }
    )
    repo.sync_catalog(engine, build_catalog([*catalog.agencies.values(), merged], []))
    held = load_from_database(engine).agencies
    assert held == {**catalog.agencies, merged.code: merged}
    assert held["000.31.01.H99"].place == "Hòa An"  # the place documents are dated at
    row = {a.code: a for a in repo.list_agencies(engine)}[merged.code]
    assert (row.valid_from, row.valid_to, row.successor) == (
        date(2025, 7, 1),
        date(2026, 6, 30),
        "000.32.00.H99",
    )

    # Syncing the same agencies again changes nothing, not even the revision.
    revision = repo.catalog_revision(engine)
    repo.sync_catalog(engine, build_catalog([*catalog.agencies.values(), merged], []))
    assert repo.catalog_revision(engine) == revision
    # Ending an agency (a merger's --last-day) is a new revision: every process reloads.
    centre = held["000.31.01.H99"].model_copy(
        update={"valid_to": date(2026, 6, 30), "successor": "000.32.01.H99"}
    )
    repo.save_agencies(engine, [centre])
    assert repo.catalog_revision(engine) != revision
    assert load_from_database(engine).agencies["000.31.01.H99"] == centre


def test_the_seed_fills_agencies_stored_before_they_had_validity(engine):
    """An agency row from before 0016_agency_validity (no place, no validity, never changed
    since) takes them from the shipped files once; a row changed since keeps its own."""
    from sqlalchemy import update

    catalog = load_catalog(PROCEDURES)
    repo.sync_catalog(engine, catalog)
    with engine.begin() as conn:
        conn.execute(
            update(AgencyRow)
            .where(AgencyRow.code == "000.31.01.H99")
            .values(place=None, changed_at=None)
        )
        conn.execute(
            update(AgencyRow).where(AgencyRow.code == "000.32.01.H99").values(place="Nơi khác")
        )
    repo.seed_catalog(engine, catalog)
    rows = {a.code: a for a in repo.list_agencies(engine)}
    assert rows["000.31.01.H99"].place == "Hòa An" and rows["000.31.01.H99"].changed_at
    assert rows["000.32.01.H99"].place == "Nơi khác"
