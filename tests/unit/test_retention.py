"""Records retention in the catalog (procedures/*.yaml `retention:`) and its arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.catalog import RESULT_TYPES, CatalogError, Procedure, Retention, load_catalog
from domain.retention import ClosedDossier, add_years, past_retention, retention_due
from infra.settings import REPO_ROOT, SettingsError, load_settings
from tests.factories import procedure
from tests.unit.test_catalog import base_procedure, write_catalog


def test_add_years() -> None:
    assert add_years(date(2020, 5, 17), 10) == date(2030, 5, 17)
    assert add_years(date(2016, 2, 29), 5) == date(2021, 2, 28)
    assert add_years(date(2016, 2, 29), 4) == date(2020, 2, 29)
    assert add_years(date(2021, 3, 1), -1) == date(2020, 3, 1)


def test_retention_is_read_per_result_type(tmp_path: Path) -> None:
    p = base_procedure() | {"retention": {"granted": "permanent", "refused": 5, "withdrawn": 2}}
    catalog = load_catalog(write_catalog(tmp_path, p))
    r = catalog.procedure("1.009994").retention
    assert (r.period("granted"), r.period("refused"), r.period("withdrawn")) == ("permanent", 5, 2)
    assert r.period("abandoned") is None and r.period(None) is None and r.period("x") is None
    assert set(Retention.model_fields) == set(RESULT_TYPES)


@pytest.mark.parametrize(
    ("retention", "expected"),
    [
        ({"granted": "forever"}, "retention.granted"),
        ({"granted": 0}, "retention.granted"),
        ({"refused": 101}, "retention.refused"),
        ({"approved": 5}, "retention.approved: Extra inputs are not permitted"),
        ("permanent", "retention: Input should be a valid dictionary"),
    ],
)
def test_bad_retention_is_refused_naming_the_file_and_field(
    tmp_path: Path, retention: Any, expected: str
) -> None:
    p = base_procedure() | {"retention": retention}
    with pytest.raises(CatalogError) as err:
        load_catalog(write_catalog(tmp_path, p))
    assert "1.009994-v1.yaml: " + expected in err.value.render("en"), err.value.render("en")


def test_retention_stays_out_of_the_workflow_snapshot() -> None:
    """A dossier's workflow carries its procedure as JSON: the retention schedule is not
    part of it (workers of an earlier release forbid unknown fields), and a snapshot
    without it still reads."""
    p = procedure(retention={"granted": "permanent", "refused": 5})
    assert p.retention.granted == "permanent"
    assert "retention" not in p.model_dump() and "retention" not in p.model_dump_json()
    again = Procedure.model_validate_json(p.model_dump_json())
    assert again.retention == Retention()
    assert again.model_dump() == p.model_dump()


def test_every_shipped_procedure_names_its_periods() -> None:
    catalog = load_catalog(REPO_ROOT / "procedures")
    for versions in catalog.procedures.values():
        for p in versions:
            assert p.retention.granted is not None, p.code
            assert p.retention.refused is not None, p.code
    # Civil status and land records are kept for good.
    for code in ("1.001193", "2.000983", "1.013831"):
        assert catalog.procedure(code).retention.granted == "permanent", code
    for path in (REPO_ROOT / "procedures").glob("[0-9]*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "retention:" in text and "[uncertain]" in text.split("retention:")[0], path


def closed(code: str, procedure_code: str, outcome: str | None, at: datetime) -> ClosedDossier:
    return ClosedDossier(
        code=code,
        procedure_code=procedure_code,
        procedure_version=1,
        result_type=outcome,
        closed_at=at,
    )


def test_past_retention_uses_the_catalog_then_the_default(tmp_path: Path) -> None:
    p = base_procedure() | {"retention": {"granted": "permanent", "refused": 3}}
    catalog = load_catalog(write_catalog(tmp_path, p))
    at = datetime(2015, 6, 30, 18, 0, tzinfo=UTC)  # 01/07/2015 01:00 in Viet Nam
    dossiers = [
        closed("granted", "1.009994", "granted", at),
        closed("refused", "1.009994", "refused", at),
        closed("abandoned", "1.009994", "abandoned", at),
        closed("no-outcome", "1.009994", None, at),
    ]
    assert retention_due(catalog, dossiers[0], 7) is None  # permanent
    refused = retention_due(catalog, dossiers[1], 7)
    assert refused is not None
    assert (refused.closed_on, refused.retention_end) == (date(2015, 7, 1), date(2018, 7, 1))
    assert [d.code for d in past_retention(catalog, dossiers, 7, date(2022, 7, 1))] == [
        "refused",
        "abandoned",
        "no-outcome",
    ]
    assert [d.code for d in past_retention(catalog, dossiers, 7, date(2022, 6, 30))] == ["refused"]
    assert [d.code for d in past_retention(catalog, dossiers, 7, date(2018, 6, 30))] == []


def test_the_default_period_is_a_setting() -> None:
    assert load_settings().retention_default_years == 10
    assert load_settings(retention_default_years=30).retention_default_years == 30
    for wrong in (0, 101):
        with pytest.raises(SettingsError, match="MOTCUA_RETENTION_DEFAULT_YEARS"):
            load_settings(retention_default_years=wrong)
