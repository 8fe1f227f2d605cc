"""The catalog as managed data, on both databases: the shipped files seed it once, a catalog
administrator drafts, checks and publishes a version with a future effective date, every
process holding the catalog sees it (a second cache reloads on the revision), and it takes
effect on its date by itself; a generated catalog of 2,000 procedures imports, validates,
imports again unchanged, and reports the records it refuses (services/catalog.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bench.catalog_import import generated_catalog
from domain.catalog import load_catalog
from domain.catalog_exchange import Decision
from services.catalog import CatalogAdmin, CatalogCache, CatalogRefused
from store import repository

PROCEDURES = Path(__file__).resolve().parents[2] / "procedures"
CODE = "1.001612"
DECISION = Decision(number="1234/QĐ-UBND", date="2026-12-01", signer="Chủ tịch UBND tỉnh")
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
TODAY = date(2026, 12, 7)


@pytest.fixture
def admin(engine) -> CatalogAdmin:
    repository.seed_catalog(engine, load_catalog(PROCEDURES))
    return CatalogAdmin(engine, CatalogCache(engine, interval=0.0))


def test_the_seed_inserts_only_what_is_missing(engine):
    catalog = load_catalog(PROCEDURES)
    n = sum(len(v) for v in catalog.procedures.values())
    assert repository.seed_catalog(engine, catalog) == (len(catalog.agencies), n)
    assert repository.seed_catalog(engine, catalog) == (0, 0)


def test_a_scheduled_version_takes_effect_on_its_date_and_other_processes_see_it(engine, admin):
    other = CatalogCache(engine, interval=0.0)  # another process: a worker, another API
    draft = admin.draft(CODE, "dm-01", NOW)
    assert (draft.version, draft.status, draft.drafted_from) == (2, "draft", 1)
    assert admin.draft(CODE, "dm-01", NOW).version == 2  # one draft at a time

    d = dict(draft.definition)
    d["steps"] = [dict(s) for s in d["steps"]]
    d["steps"][1]["budget"] = {"value": 9, "unit": "working_days"}
    problems = admin.save(CODE, 2, d)
    assert any("steps: tổng thời gian các bước" in p for p in problems), problems
    with pytest.raises(CatalogRefused) as refused:
        admin.publish(
            CODE,
            2,
            effective_from=TODAY + timedelta(days=30),
            decision=DECISION,
            actor="dm-01",
            now=NOW,
        )
    assert refused.value.code == "invalid"

    d["steps"][1]["budget"] = {"value": 1, "unit": "working_days"}
    assert admin.save(CODE, 2, d) == []
    base, changes = admin.diff(CODE, 2)
    assert base == 1 and [c.path for c in changes] == [f"steps[{d['steps'][1]['id']}].budget"]

    with pytest.raises(CatalogRefused) as past:
        admin.publish(
            CODE,
            2,
            effective_from=TODAY - timedelta(days=1),
            decision=DECISION,
            actor="dm-01",
            now=NOW,
        )
    assert "effective_from" in str(past.value)

    effective = TODAY + timedelta(days=30)
    v = admin.publish(CODE, 2, effective_from=effective, decision=DECISION, actor="dm-01", now=NOW)
    assert (v.status, v.decision, v.published_by) == ("published", DECISION, "dm-01")
    with pytest.raises(CatalogRefused):  # a published version is not edited
        admin.save(CODE, 2, d)

    # This process at once; another on its next refresh (the revision changed).
    assert other.catalog.procedure_version(CODE, 2) is None
    assert other.refresh() is True and other.refresh() is False
    for catalog in (admin.catalog, other.catalog):
        assert catalog.procedure(CODE, on=effective - timedelta(days=1)).version == 1
        assert catalog.procedure(CODE, on=effective).version == 2
        assert catalog.procedure(CODE, on=effective).steps[1].budget.value == 1
    states = {x.version: x.state for x in admin.versions(CODE, today=TODAY)}
    assert states == {1: "in_force", 2: "scheduled"}
    assert [x.state for x in admin.overview(today=TODAY)[CODE]] == ["in_force", "scheduled"]
    later = {x.version: x.state for x in admin.versions(CODE, today=effective)}
    assert later == {1: "superseded", 2: "in_force"}


def test_a_generated_catalog_of_2000_procedures_imports_and_reimports_unchanged(engine, admin):
    doc = generated_catalog(2000)
    # Three records that cannot be taken: each reported with its fields, none stored.
    doc["procedures"].append({"code": "8.999991", "name": "Thiếu hết"})
    bad_time = dict(
        doc["procedures"][0], code="8.999992", time={"value": -1, "unit": "working_days"}
    )
    doc["procedures"].append(bad_time)
    doc["procedures"].append(dict(doc["procedures"][1], code="8.999993", agency="000.77.77.H99"))
    report = admin.import_file(doc, "dm-01", NOW)
    assert len(report.created) == 2000 and report.new_versions == []
    invalid = {i["code"]: i["problems"] for i in report.invalid}
    assert set(invalid) == {"8.999991", "8.999992", "8.999993"}
    assert any("agency" in p for p in invalid["8.999991"]), invalid["8.999991"]
    assert any("time.value" in p for p in invalid["8.999992"]), invalid["8.999992"]
    assert any("000.77.77.H99" in p for p in invalid["8.999993"]), invalid["8.999993"]
    assert "8.999991" not in admin.catalog.procedures
    # Every stored version reads back as a valid procedure.
    held = CatalogCache(engine).catalog
    assert sum(1 for c in held.procedures if c.startswith("8.")) == 2000

    again = admin.import_file(generated_catalog(2000), "dm-01", NOW)
    assert (again.created, again.new_versions, len(again.unchanged)) == ([], [], 2000)

    changed = admin.import_file(generated_catalog(2000, changed_every=100), "dm-01", NOW)
    assert len(changed.new_versions) == 20 and len(changed.unchanged) == 1980
    assert admin.catalog.procedure("8.000001").version == 2

    # Export, then import the export: nothing changes.
    exported = admin.export()
    assert len(exported["procedures"]) == len(admin.catalog.procedures)
    back = admin.import_file(exported, "dm-01", NOW)
    assert back.created == [] and back.new_versions == [] and back.invalid == []
