"""The procedure catalog (domain.catalog): the shipped data and the validation rules."""

from __future__ import annotations

import copy
import re
import shutil
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import ValidationError

from domain.calendar import TimeUnit
from domain.calendar_source import build_calendar
from domain.catalog import (
    AGENCY_CODE,
    CENTRE,
    COMPETENT,
    PROCEDURE_CODE,
    ROLES_FOR_KIND,
    Agency,
    AgencyKind,
    Catalog,
    CatalogError,
    Procedure,
    Role,
    StepKind,
    agency_task_queue,
    build_catalog,
    load_catalog,
)
from infra.settings import REPO_ROOT, Settings

CATALOG_DIR = REPO_ROOT / "procedures"
PROVINCE_CENTRE = "000.00.01.H99"
COMMUNE_PC = "000.31.00.H99"
VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return load_catalog(CATALOG_DIR)


# -- the shipped catalog --------------------------------------------------------


def test_settings_point_at_the_shipped_catalog() -> None:
    s = Settings()
    assert s.catalog_dir == CATALOG_DIR
    assert s.calendar_overrides == CATALOG_DIR / "calendar" / "overrides.yaml"


def test_shipped_catalog_loads(shipped: Catalog) -> None:
    assert {"1.009994", "3.000333", "1.001612", "2.000635"} <= set(shipped.procedures)
    assert len(shipped.procedures) >= 12
    assert PROVINCE_CENTRE in shipped.agencies


def test_shipped_agencies(shipped: Catalog) -> None:
    centre = shipped.agency(PROVINCE_CENTRE)
    assert centre.kind is AgencyKind.CENTRE
    assert centre.level == "province"
    assert centre.name == "Trung tâm Phục vụ hành chính công tỉnh"
    assert centre.task_queue == agency_task_queue(PROVINCE_CENTRE)
    kinds = {(a.kind, a.level) for a in shipped.agencies.values()}
    for needed in [
        (AgencyKind.CENTRE, "commune"),
        (AgencyKind.PEOPLES_COMMITTEE, "commune"),
        (AgencyKind.POLICE, "province"),
        (AgencyKind.TAX, "province"),
        (AgencyKind.LAND_REGISTRY, "province"),
        (AgencyKind.DEPARTMENT, "province"),
    ]:
        assert needed in kinds
    for agency in shipped.agencies.values():
        assert agency.code.endswith(".H99")
        assert agency.parent is None or agency.parent in shipped.agencies
    with pytest.raises(KeyError, match="unknown agency"):
        shipped.agency("999.99.99.H99")


def test_shipped_file_names_match_code_and_version(shipped: Catalog) -> None:
    files = sorted(p.name for p in CATALOG_DIR.glob("*.yaml") if p.name != "agencies.yaml")
    expected = sorted(
        f"{p.code}-v{p.version}.yaml" for versions in shipped.procedures.values() for p in versions
    )
    assert files == expected


@pytest.mark.parametrize("centre", [PROVINCE_CENTRE, "000.31.01.H99"])
def test_each_shipped_procedure_resolves(shipped: Catalog, centre: str) -> None:
    for procedure in shipped.latest():
        assert PROCEDURE_CODE.match(procedure.code)
        assert shipped.procedure(procedure.code) is procedure
        assert shipped.procedure(procedure.code, on=procedure.effective_from) is procedure
        assert procedure.legal_basis
        assert procedure.documents
        # What follows holds for procedures filed on their own at a centre that decide by
        # an approval; linked groups, child-only sub-procedures and the on-the-spot
        # procedures (approved at the centre) are checked in test_shipped_catalog.py.
        linked = any(s.kind is StepKind.LINKED for s in procedure.steps)
        if not procedure.standalone or linked or procedure.on_the_spot:
            continue
        assert procedure.effective_from <= date(2025, 11, 17)
        assert procedure.fees
        competent = shipped.agency(procedure.competent_agency)
        assert competent.kind is not AgencyKind.CENTRE
        for step in procedure.steps:
            resolved = shipped.resolve_agency(step.agency, procedure, centre)
            assert AGENCY_CODE.match(resolved)
            shipped.agency(resolved)
            assert step.role in ROLES_FOR_KIND[step.kind]
        first, last = procedure.steps[0], procedure.steps[-1]
        assert (first.kind, first.role, first.agency) == (
            StepKind.INTAKE,
            Role.INTAKE_OFFICER,
            CENTRE,
        )
        assert (last.kind, last.role, last.agency) == (StepKind.RETURN, Role.RETURN_OFFICER, CENTRE)
        approvals = [s for s in procedure.steps if s.kind is StepKind.APPROVAL]
        assert len(approvals) == 1
        assert (approvals[0].role, approvals[0].agency) == (Role.LEADER, COMPETENT)
        budget = sum(s.budget.day_equivalent() for s in procedure.steps)
        assert budget <= procedure.statutory_time.day_equivalent()
        if procedure.on_the_spot:
            assert all(s.kind is not StepKind.HANDOFF for s in procedure.steps)


def test_shipped_procedure_details(shipped: Catalog) -> None:
    permit = shipped.procedure("1.009994")
    assert permit.level == "commune"
    assert permit.competent_agency == COMMUNE_PC
    assert shipped.agency(permit.competent_agency).kind is AgencyKind.PEOPLES_COMMITTEE
    assert (permit.statutory_time.value, permit.statutory_time.unit) == (15, TimeUnit.CALENDAR_DAYS)
    handoff = next(s for s in permit.steps if s.kind is StepKind.HANDOFF)
    assert handoff.auto and handoff.role is Role.SYSTEM

    record = shipped.procedure("3.000333")
    assert record.level == "province"
    assert shipped.agency(record.competent_agency).kind is AgencyKind.POLICE
    assert (record.statutory_time.value, record.statutory_time.unit) == (10, TimeUnit.WORKING_DAYS)
    assert [f.amount_vnd for f in record.fees] == [200000, 5000]  # per case; per copy from the 3rd

    household = shipped.procedure("1.001612")
    assert household.on_the_spot
    assert (household.statutory_time.value, household.statutory_time.unit) == (
        3,
        TimeUnit.WORKING_DAYS,
    )
    assert [f.amount_vnd for f in household.fees] == [100000]

    extract = shipped.procedure("2.000635")
    assert extract.receipt_cutoff == time(15, 0)
    assert (extract.statutory_time.value, extract.statutory_time.unit) == (
        8,
        TimeUnit.WORKING_HOURS,
    )
    assert all(s.budget.unit is TimeUnit.WORKING_HOURS for s in extract.steps)
    assert [s.budget.value for s in extract.steps] == [1, 3, 2, 1, 1]


def test_shipped_procedures_give_appointments(shipped: Catalog) -> None:
    cal = build_calendar(2025, 2026)
    received = datetime(2025, 7, 7, 10, tzinfo=VN)  # Monday
    due = {
        p.code: cal.appointment(received, p.statutory_time, p.receipt_cutoff)
        for p in shipped.latest()
    }
    # 15 calendar days: 22/07 (Tue). 10 working days: 08/07 .. 21/07.
    assert due["1.009994"] == datetime(2025, 7, 22, 17, tzinfo=VN)
    assert due["3.000333"] == datetime(2025, 7, 21, 17, tzinfo=VN)
    assert due["1.001612"] == datetime(2025, 7, 10, 17, tzinfo=VN)
    # 8 working hours from 10:00 Mon: Tue 10:00.
    assert due["2.000635"] == datetime(2025, 7, 8, 10, tzinfo=VN)


# -- invalid definitions ----------------------------------------------------------


def base_procedure() -> dict[str, Any]:
    return {
        "code": "1.009994",
        "version": 1,
        "name": "Thủ tục thử",
        "field": "Thử nghiệm",
        "level": "commune",
        "competent_agency": COMMUNE_PC,
        "legal_basis": ["Văn bản thử"],
        "effective_from": "2025-07-01",
        "statutory_time": {"value": 10, "unit": "working_days"},
        "steps": [
            step("tiep_nhan", "intake", "intake_officer", "centre", 0.5),
            step("chuyen", "handoff", "system", "competent", 0.5),
            step("tham_dinh", "appraisal", "specialist", "competent", 6),
            step("phe_duyet", "approval", "leader", "competent", 1),
            step("ky", "signature", "signer", "competent", 1),
            step("tra", "return", "return_officer", "centre", 1),
        ],
    }


def step(id_: str, kind: str, role: str, agency: str, days: float) -> dict[str, Any]:
    return {
        "id": id_,
        "kind": kind,
        "name": id_,
        "role": role,
        "agency": agency,
        "budget": {"value": days, "unit": "working_days"},
    }


def write_catalog(directory: Path, *procedures: dict[str, Any]) -> Path:
    shutil.copy(CATALOG_DIR / "agencies.yaml", directory / "agencies.yaml")
    for p in procedures:
        path = directory / f"{p['code']}-v{p['version']}.yaml"
        path.write_text(yaml.safe_dump(p, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return directory


def rejected(tmp_path: Path, procedure: dict[str, Any]) -> str:
    write_catalog(tmp_path, procedure)
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    return err.value.render("en")


def test_base_definition_is_valid(tmp_path: Path) -> None:
    catalog = load_catalog(write_catalog(tmp_path, base_procedure()))
    assert catalog.procedure("1.009994").name == "Thủ tục thử"


def test_budgets_beyond_statutory_time(tmp_path: Path) -> None:
    p = base_procedure()
    p["steps"][2]["budget"]["value"] = 7  # 0.5 + 0.5 + 7 + 1 + 1 + 1 = 11 > 10
    msg = rejected(tmp_path, p)
    assert "1.009994-v1.yaml" in msg
    assert "steps: budgets add up to 11 days" in msg
    assert "statutory time of 10 working days" in msg


def test_working_hour_budgets_count_as_eighths_of_a_day() -> None:
    p = base_procedure()
    p["statutory_time"] = {"value": 8, "unit": "working_hours"}
    del p["steps"][1]  # no handoff
    for s, hours in zip(p["steps"], [1, 3, 2, 1, 1], strict=True):
        s["budget"] = {"value": hours, "unit": "working_hours"}
    Procedure.model_validate(p)  # 8 h of 8 h
    p["steps"][1]["budget"]["value"] = 4  # 9 h = 1.125 days
    with pytest.raises(ValidationError) as err:
        Procedure.model_validate(p)
    assert "budgets add up to 1.125 days, beyond the statutory time of 8 working hours" in str(
        err.value
    )


def test_unknown_step_kind(tmp_path: Path) -> None:
    p = base_procedure()
    p["steps"][2]["kind"] = "review"
    msg = rejected(tmp_path, p)
    assert "steps.2.kind" in msg
    assert "'appraisal'" in msg


def test_unknown_role(tmp_path: Path) -> None:
    p = base_procedure()
    p["steps"][2]["role"] = "clerk"
    msg = rejected(tmp_path, p)
    assert "steps.2.role" in msg


def test_role_that_cannot_own_the_kind(tmp_path: Path) -> None:
    p = base_procedure()
    p["steps"][3]["role"] = "applicant"
    msg = rejected(tmp_path, p)
    assert "steps.3" in msg
    assert "role 'applicant' cannot own a approval step (allowed: leader)" in msg


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        ("intake", "specialist"),
        ("return", "intake_officer"),
        ("appraisal", "leader"),
        ("signature", "specialist"),
    ],
)
def test_roles_are_separated_by_kind(kind: str, role: str) -> None:
    p = base_procedure()
    p["steps"][2] = step("x", kind, role, "competent", 1)
    with pytest.raises(ValidationError, match=f"role '{role}' cannot own a {kind} step"):
        Procedure.model_validate(p)


def test_first_step_not_intake(tmp_path: Path) -> None:
    p = base_procedure()
    p["steps"] = p["steps"][1:]
    msg = rejected(tmp_path, p)
    assert "steps: the first step must be an intake step" in msg


def test_last_step_not_return() -> None:
    p = base_procedure()
    p["steps"] = p["steps"][:-1]
    with pytest.raises(ValidationError, match="steps: the last step must be a return step"):
        Procedure.model_validate(p)


def test_no_approval_step() -> None:
    p = base_procedure()
    del p["steps"][3]
    with pytest.raises(ValidationError, match="steps: a procedure needs an approval step"):
        Procedure.model_validate(p)


def test_duplicate_step_ids(tmp_path: Path) -> None:
    p = base_procedure()
    p["steps"][4]["id"] = "tham_dinh"
    msg = rejected(tmp_path, p)
    assert "steps: duplicate step ids ['tham_dinh']" in msg


def test_step_id_must_be_a_slug() -> None:
    p = base_procedure()
    p["steps"][0]["id"] = "Tiep-Nhan"
    with pytest.raises(ValidationError) as err:
        Procedure.model_validate(p)
    assert err.value.errors()[0]["loc"] == ("steps", 0, "id")


def test_on_the_spot_with_a_handoff(tmp_path: Path) -> None:
    p = base_procedure()
    p["on_the_spot"] = True
    msg = rejected(tmp_path, p)
    assert "steps: an on-the-spot procedure has no handoff (['chuyen'])" in msg
    del p["steps"][1]
    assert load_catalog(write_catalog(tmp_path, p)).procedure("1.009994").on_the_spot


def test_unknown_competent_agency(tmp_path: Path) -> None:
    p = base_procedure()
    p["competent_agency"] = "000.00.99.H99"
    msg = rejected(tmp_path, p)
    assert "procedure 1.009994 v1: competent_agency: unknown agency 000.00.99.H99" in msg


def test_unknown_step_agency(tmp_path: Path) -> None:
    p = base_procedure()
    p["steps"][2]["agency"] = "000.00.98.H99"
    msg = rejected(tmp_path, p)
    assert "procedure 1.009994 v1: steps.2.agency: unknown agency 000.00.98.H99" in msg


def test_step_agency_by_code_is_accepted(tmp_path: Path) -> None:
    p = base_procedure()
    p["steps"][2]["agency"] = "000.00.13.H99"  # Sở Xây dựng appraises for the commune
    catalog = load_catalog(write_catalog(tmp_path, p))
    proc = catalog.procedure("1.009994")
    assert catalog.resolve_agency(proc.steps[2].agency, proc, PROVINCE_CENTRE) == "000.00.13.H99"
    assert catalog.resolve_agency(COMPETENT, proc, PROVINCE_CENTRE) == COMMUNE_PC
    assert catalog.resolve_agency(CENTRE, proc, PROVINCE_CENTRE) == PROVINCE_CENTRE


@pytest.mark.parametrize("code", ["1.0099", "1009994", "1.00999A", "12.009994", ""])
def test_bad_procedure_code(tmp_path: Path, code: str) -> None:
    p = base_procedure()
    p["code"] = code
    p_file = {**p, "code": "1.000001"}  # keep the file name sane
    write_catalog(tmp_path)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(p, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    assert f"bad.yaml: code: '{code}' is not a national procedure code" in err.value.render("en")
    assert Procedure.model_validate(p_file).code == "1.000001"


@pytest.mark.parametrize(
    "code", ["H99", "000.00.01.h99", "000.00.01.H99.", "00000.01.H99", "000 00 01 H99"]
)
def test_bad_agency_code(tmp_path: Path, code: str) -> None:
    (tmp_path / "agencies.yaml").write_text(
        yaml.safe_dump([{"code": code, "name": "Thử", "kind": "department"}], allow_unicode=True),
        encoding="utf-8",
    )
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    assert re.search(
        r"agencies\.yaml\[0\]: code: .* is not an agency electronic identifier",
        err.value.render("en"),
    )


def test_unknown_agency_kind() -> None:
    with pytest.raises(ValidationError) as err:
        Agency.model_validate({"code": "000.00.50.H99", "name": "Thử", "kind": "ministry"})
    assert err.value.errors()[0]["loc"] == ("kind",)


def test_misspelt_field_is_rejected(tmp_path: Path) -> None:
    p = base_procedure()
    p["steps"][2]["budgte"] = p["steps"][2].pop("budget")
    msg = rejected(tmp_path, p)
    assert "steps.2.budget: Field required" in msg
    assert "steps.2.budgte: Extra inputs are not permitted" in msg


def test_effective_to_before_effective_from() -> None:
    p = base_procedure()
    p["effective_to"] = "2025-06-30"
    with pytest.raises(ValidationError, match="effective_to is before effective_from"):
        Procedure.model_validate(p)


def test_duplicate_versions(tmp_path: Path) -> None:
    p = base_procedure()
    write_catalog(tmp_path, p)
    (tmp_path / "copy.yaml").write_text(yaml.safe_dump(p, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"thủ tục 1.009994: trùng số phiên bản \[1, 1\]"):
        load_catalog(tmp_path)


def test_missing_agencies_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"agencies\.yaml: không có tệp này"):
        load_catalog(tmp_path)


@pytest.mark.parametrize("text", ["code: [unclosed\n", "effective_from: 2025-02-30\n"])
def test_unreadable_yaml(tmp_path: Path, text: str) -> None:
    write_catalog(tmp_path)
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"broken\.yaml: không phải YAML hợp lệ"):
        load_catalog(tmp_path)


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    a = base_procedure()
    a["steps"][2]["kind"] = "review"
    b = base_procedure()
    b["code"] = "2.000635"
    b["steps"] = b["steps"][1:]
    write_catalog(tmp_path, a, b)
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    text = err.value.render("en")
    assert "1.009994-v1.yaml: steps.2.kind" in text
    assert "2.000635-v1.yaml: (document): steps: the first step must be an intake step" in text


# -- versions -------------------------------------------------------------------


def versions() -> tuple[dict[str, Any], dict[str, Any]]:
    v1 = base_procedure()
    v1["effective_to"] = "2026-06-30"
    v2 = copy.deepcopy(base_procedure())
    v2["version"] = 2
    v2["effective_from"] = "2026-07-01"
    v2["name"] = "Thủ tục thử (Luật Xây dựng 2025)"
    v2["statutory_time"] = {"value": 12, "unit": "working_days"}
    return v1, v2


def test_procedure_picks_the_version_in_force(tmp_path: Path) -> None:
    v1, v2 = versions()
    catalog = load_catalog(write_catalog(tmp_path, v2, v1))
    assert [p.version for p in catalog.procedures["1.009994"]] == [1, 2]
    assert catalog.procedure("1.009994", on=date(2025, 7, 1)).version == 1
    assert catalog.procedure("1.009994", on=date(2026, 6, 30)).version == 1
    assert catalog.procedure("1.009994", on=date(2026, 7, 1)).version == 2
    assert catalog.procedure("1.009994", on=date(2030, 1, 1)).version == 2
    assert catalog.procedure("1.009994").version == 2  # latest
    assert [p.version for p in catalog.latest()] == [2]
    with pytest.raises(KeyError, match="no version in force on 2025-06-30"):
        catalog.procedure("1.009994", on=date(2025, 6, 30))
    with pytest.raises(KeyError, match=r"unknown procedure 9\.999999"):
        catalog.procedure("9.999999")


def test_the_current_version_is_the_one_in_force_not_a_scheduled_one(tmp_path: Path) -> None:
    """What a citizen files under and what the index judges by: before v2's effective
    date, v1, although v2 is published (the latest); before any version, the newest."""
    v1, v2 = versions()
    catalog = load_catalog(write_catalog(tmp_path, v2, v1))
    assert catalog.current("1.009994", date(2026, 6, 30)).version == 1
    assert catalog.current("1.009994", date(2026, 7, 1)).version == 2
    assert catalog.current("1.009994", date(2020, 1, 1)).version == 2
    assert [p.version for p in catalog.in_force(date(2026, 6, 30))] == [1]
    assert [p.version for p in catalog.latest()] == [2]
    with pytest.raises(KeyError, match=r"unknown procedure 9\.999999"):
        catalog.current("9.999999", date(2026, 6, 30))


def test_in_force_bounds_are_inclusive() -> None:
    v1, _ = versions()
    p = Procedure.model_validate(v1)
    assert not p.in_force(date(2025, 6, 30))
    assert p.in_force(date(2025, 7, 1))
    assert p.in_force(date(2026, 6, 30))
    assert not p.in_force(date(2026, 7, 1))


def test_build_catalog_from_objects() -> None:
    v1, v2 = versions()
    agencies = [
        Agency(code=COMMUNE_PC, name="UBND xã", kind=AgencyKind.PEOPLES_COMMITTEE, level="commune")
    ]
    catalog = build_catalog(agencies, [Procedure.model_validate(v2), Procedure.model_validate(v1)])
    assert catalog.procedure("1.009994", on=date(2025, 12, 31)).version == 1
    assert Procedure.model_validate(v1).step("phe_duyet").kind is StepKind.APPROVAL
    with pytest.raises(KeyError):
        Procedure.model_validate(v1).step("absent")


def test_calendar_day_procedure_budgets_must_fit_its_working_days(tmp_path: Path) -> None:
    # 15 calendar days hold at most 15 x 5/7 = 10.7 working days: 11 days of steps do not fit.
    with pytest.raises(ValidationError, match="beyond the statutory time of 15 calendar days"):
        Procedure.model_validate(
            {
                **base_procedure(),
                "statutory_time": {"value": 15, "unit": "calendar_days"},
                "steps": [
                    step("tiep_nhan", "intake", "intake_officer", "centre", 0.5),
                    step("tham_dinh", "appraisal", "specialist", "competent", 8),
                    step("phe_duyet", "approval", "leader", "competent", 2),
                    step("tra", "return", "return_officer", "centre", 0.5),
                ],
            }
        )


def test_handoff_names_the_receiving_agency_not_the_centre() -> None:
    p = base_procedure()
    p["steps"][1] = step("chuyen", "handoff", "system", "centre", 0.5)
    with pytest.raises(ValidationError, match="a handoff step names the receiving agency"):
        Procedure.model_validate(p)
