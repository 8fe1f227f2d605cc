"""The shipped procedure catalog (procedures/*.yaml): what it holds, not how it is validated.

Checks the catalog shipped for the two-level local government in force since 1/7/2025: enough
procedures, linked groups whose children exist and add up, the legal times the YAML cites, that
`motcua procedures validate` accepts it, and that every procedure walks to its result on the
dossier state machine (children, hand-offs, clock pauses and deemed consent included).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from typer.testing import CliRunner

from domain.calendar import Duration, TimeUnit
from domain.catalog import (
    AGENCY_CODE,
    CENTRE,
    COMPETENT,
    PROCEDURE_CODE,
    AgencyKind,
    Catalog,
    Procedure,
    Role,
    Step,
    StepKind,
    load_catalog,
)
from domain.dossier import Action, ActionInput, Actor, Applicant, Status
from domain.machine import DossierMachine
from infra.settings import REPO_ROOT, Settings
from motcua.cli import app
from services.dossiers import DossierService, SubmitRequest

CATALOG_DIR = REPO_ROOT / "procedures"
TWO_LEVEL_START = date(2025, 7, 1)
VN = ZoneInfo("Asia/Ho_Chi_Minh")

NEWBORN_GROUP = "2.000986"
BIRTH, RESIDENCE, CHILD_HEALTH_CARD = "1.001193", "1.004222", "9.000001"
KARAOKE_GROUP = "9.000004"
HOUSEHOLD_BUSINESS, SECURITY_CERTIFICATE, KARAOKE_LICENCE = "1.001612", "9.000005", "1.001029"
LAND_TRANSFER, LAND_TAX = "1.013831", "9.000002"
LAND_FIRST_REGISTRATION, LAND_FIRST_CERTIFICATE = "9.000003", "2.000983"
HOUSE_PERMIT = "1.009994"
ENTERPRISE, DRIVING_LICENCE, JUDICIAL_RECORD = "2.001610", "9.000006", "3.000333"
CERTIFIED_COPY = "2.000815"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CATALOG_DIR)


def all_versions(catalog: Catalog) -> list[Procedure]:
    return [p for versions in catalog.procedures.values() for p in versions]


def linked_steps(p: Procedure) -> list[Step]:
    return [s for s in p.steps if s.kind is StepKind.LINKED]


def days(d: Duration | None) -> float:
    assert d is not None
    return d.day_equivalent()


def wd(value: float) -> Duration:
    return Duration(value=value, unit=TimeUnit.WORKING_DAYS)


def children_of(catalog: Catalog, code: str) -> list[Procedure]:
    (step,) = linked_steps(catalog.procedure(code))
    return [catalog.procedure(c.procedure) for c in step.children]


# -- the catalog as a whole -------------------------------------------------------------------


def test_catalog_loads_with_at_least_twelve_procedures(catalog: Catalog) -> None:
    assert len(catalog.procedures) >= 12
    assert len(all_versions(catalog)) >= 12


def test_codes_and_versions_are_unique_and_name_their_files(catalog: Catalog) -> None:
    seen: set[tuple[str, int]] = set()
    for path in sorted(CATALOG_DIR.glob("*.yaml")):
        if path.name == "agencies.yaml":
            continue
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        key = (raw["code"], raw["version"])
        assert key not in seen, f"{path.name} repeats {key}"
        seen.add(key)
        assert path.name == f"{raw['code']}-v{raw['version']}.yaml"
    assert seen == {(p.code, p.version) for p in all_versions(catalog)}
    assert all(PROCEDURE_CODE.match(code) for code, _ in seen)


def test_agency_codes_are_unique(catalog: Catalog) -> None:
    raw = yaml.safe_load((CATALOG_DIR / "agencies.yaml").read_text(encoding="utf-8"))
    codes = [a["code"] for a in raw]
    assert len(codes) == len(set(codes)) == len(catalog.agencies)
    assert all(AGENCY_CODE.match(c) for c in codes)


def test_every_procedure_cites_its_basis_and_lists_documents(catalog: Catalog) -> None:
    for p in all_versions(catalog):
        assert p.legal_basis and all(law.strip() for law in p.legal_basis), p.code
        assert p.documents, p.code
        assert any(d.required for d in p.documents), p.code
        assert p.effective_from >= TWO_LEVEL_START, p.code
        assert p.in_force(p.effective_from)
        assert all(f.amount_vnd >= 0 for f in p.fees)


def test_two_level_local_government(catalog: Catalog) -> None:
    """Since 1/7/2025 there is no district level: no agency or procedure names one."""
    for agency in catalog.agencies.values():
        assert agency.level in ("province", "commune", "central")
        assert "huyện" not in agency.name.lower(), agency.name
        assert agency.parent is None or agency.parent in catalog.agencies
    for p in all_versions(catalog):
        assert p.level in ("province", "commune")
        texts = [p.name, *(s.name for s in p.steps), *(d.name for d in p.documents)]
        assert not any("cấp huyện" in t.lower() for t in texts), p.code
    kinds = {(a.kind, a.level) for a in catalog.agencies.values()}
    for needed in [
        (AgencyKind.CENTRE, "province"),
        (AgencyKind.CENTRE, "commune"),
        (AgencyKind.PEOPLES_COMMITTEE, "commune"),
        (AgencyKind.POLICE, "province"),
        (AgencyKind.POLICE, "commune"),
        (AgencyKind.SOCIAL_INSURANCE, "province"),
        (AgencyKind.TAX, "province"),
        (AgencyKind.LAND_REGISTRY, "province"),
        (AgencyKind.DEPARTMENT, "province"),
    ]:
        assert needed in kinds, needed


def test_budgets_fit_the_statutory_time(catalog: Catalog) -> None:
    for p in all_versions(catalog):
        budget = sum(s.budget.day_equivalent() for s in p.steps)
        assert budget <= p.statutory_time.day_equivalent() + 1e-9, p.code
        assert p.competent_agency in catalog.agencies
        assert catalog.agency(p.competent_agency).kind is not AgencyKind.CENTRE


def test_cli_validate_accepts_the_shipped_catalog() -> None:
    result = CliRunner().invoke(app, ["procedures", "validate", str(CATALOG_DIR)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok:")
    default = CliRunner().invoke(app, ["procedures", "validate"])
    assert default.exit_code == 0, default.output


# -- linked groups ----------------------------------------------------------------------------


def test_every_linked_child_exists_and_resolves_to_a_known_agency(catalog: Catalog) -> None:
    groups = 0
    for p in all_versions(catalog):
        for step in linked_steps(p):
            groups += 1
            assert step.role is Role.SYSTEM
            assert step.children
            for child_ref in step.children:
                child = catalog.procedure(child_ref.procedure)  # raises if missing
                agency = child_ref.agency or child.competent_agency
                assert agency in catalog.agencies, (p.code, child.code)
                assert agency == child.competent_agency, (p.code, child.code)
                assert not linked_steps(child), f"{child.code} nests a group"
                assert child.statutory_time.day_equivalent() <= p.statutory_time.day_equivalent()
    assert groups >= 3


def test_children_are_received_and_returned_by_their_own_agency(catalog: Catalog) -> None:
    """Run as a child, "centre" and "competent" both mean the child's agency (the service
    resolves them so); a child-only procedure says "competent" outright, a procedure that is
    also filed on its own keeps "centre" for its standalone counter."""
    for p in all_versions(catalog):
        for step in linked_steps(p):
            for child_ref in step.children:
                child = catalog.procedure(child_ref.procedure)
                first, last = child.steps[0], child.steps[-1]
                assert (first.kind, first.role) == (StepKind.INTAKE, Role.INTAKE_OFFICER)
                assert (last.kind, last.role) == (StepKind.RETURN, Role.RETURN_OFFICER)
                own = (COMPETENT,) if not child.standalone else (CENTRE, COMPETENT)
                assert first.agency in own and last.agency in own, child.code
                assert all(s.agency in (CENTRE, COMPETENT) for s in child.steps), child.code
                assert not any(s.kind is StepKind.HANDOFF for s in child.steps), child.code
                assert any(s.kind is StepKind.APPROVAL for s in child.steps), child.code


def test_non_standalone_procedures_belong_to_a_group(catalog: Catalog) -> None:
    referenced = {
        c.procedure for p in all_versions(catalog) for s in linked_steps(p) for c in s.children
    }
    for p in all_versions(catalog):
        if not p.standalone:
            assert p.code in referenced, f"{p.code} is never run"
        if linked_steps(p):
            assert p.standalone, p.code  # a group is what the citizen files
            assert p.steps[0].agency == CENTRE and p.steps[-1].agency == CENTRE


def test_newborn_group(catalog: Catalog) -> None:
    group = catalog.procedure(NEWBORN_GROUP)
    assert group.standalone and group.level == "commune"
    assert group.statutory_time == wd(3)
    assert group.verification_time == wd(5)
    assert group.receipt_cutoff == time(15, 0)
    intake, linked, ret = group.steps
    assert (intake.kind, intake.agency) == (StepKind.INTAKE, CENTRE)
    assert (ret.kind, ret.agency) == (StepKind.RETURN, CENTRE)
    assert linked.kind is StepKind.LINKED
    assert not linked.parallel and linked.on_child_refused == "refuse"
    assert [c.procedure for c in linked.children] == [BIRTH, RESIDENCE, CHILD_HEALTH_CARD]

    birth, residence, card = children_of(catalog, NEWBORN_GROUP)
    assert birth.standalone  # also filed on its own
    assert not residence.standalone and not card.standalone
    assert catalog.agency(birth.competent_agency).kind is AgencyKind.PEOPLES_COMMITTEE
    assert catalog.agency(residence.competent_agency).kind is AgencyKind.POLICE
    assert catalog.agency(residence.competent_agency).level == "commune"
    assert catalog.agency(card.competent_agency).kind is AgencyKind.SOCIAL_INSURANCE
    assert days(birth.statutory_time) <= 1  # within the working day
    assert birth.receipt_cutoff == time(15, 0)
    assert days(card.statutory_time) <= 2
    assert days(residence.statutory_time) <= 2


def test_karaoke_group_adds_up_to_sixteen_working_days(catalog: Catalog) -> None:
    group = catalog.procedure(KARAOKE_GROUP)
    assert group.statutory_time == wd(16)
    (linked,) = linked_steps(group)
    assert not linked.parallel and linked.on_child_refused == "refuse"
    assert [c.procedure for c in linked.children] == [
        HOUSEHOLD_BUSINESS,
        SECURITY_CERTIFICATE,
        KARAOKE_LICENCE,
    ]
    children = children_of(catalog, KARAOKE_GROUP)
    assert [c.statutory_time for c in children] == [wd(3), wd(3), wd(10)]
    assert sum(days(c.statutory_time) for c in children) == days(group.statutory_time)
    household, security, licence = children
    assert household.standalone  # the household business registration is also filed alone
    assert catalog.agency(security.competent_agency).kind is AgencyKind.POLICE
    assert catalog.agency(licence.competent_agency).kind is AgencyKind.DEPARTMENT
    # the group's fees are paid once, at submission; its own children collect none again
    assert sum(f.amount_vnd for f in group.fees) > 0
    assert not security.fees and not licence.fees
    for child in children:
        assert child.effective_from <= group.effective_from


# -- land ---------------------------------------------------------------------------------------


def test_land_transfer_links_the_tax_office_then_pauses_for_payment(catalog: Catalog) -> None:
    transfer = catalog.procedure(LAND_TRANSFER)
    assert transfer.statutory_time == wd(10)
    assert transfer.remote_area_extra == wd(10)
    assert catalog.agency(transfer.competent_agency).kind is AgencyKind.LAND_REGISTRY
    kinds = [s.kind for s in transfer.steps]
    i = kinds.index(StepKind.LINKED)
    linked, payment = transfer.steps[i], transfer.steps[i + 1]
    assert payment.kind is StepKind.PAYMENT and payment.pauses_clock
    assert linked.pauses_clock  # determining the obligation is not counted either
    (child_ref,) = linked.children
    assert child_ref.procedure == LAND_TAX
    tax = catalog.procedure(LAND_TAX)
    assert not tax.standalone
    assert catalog.agency(tax.competent_agency).kind is AgencyKind.TAX
    assert days(tax.statutory_time) <= 3
    assert kinds.index(StepKind.APPROVAL) > i + 1  # the registry decides after payment


def test_first_land_registration_and_certificate(catalog: Catalog) -> None:
    registration = catalog.procedure(LAND_FIRST_REGISTRATION)
    certificate = catalog.procedure(LAND_FIRST_CERTIFICATE)
    assert registration.statutory_time == wd(20)
    assert certificate.statutory_time == wd(3)
    for p in (registration, certificate):
        assert p.remote_area_extra == wd(10)
    posting = next(s for s in registration.steps if s.kind is StepKind.CONSULTATION)
    assert posting.pauses_clock and posting.deemed_consent
    assert catalog.agency(registration.competent_agency).kind is AgencyKind.LAND_REGISTRY
    assert catalog.agency(certificate.competent_agency).kind is AgencyKind.PEOPLES_COMMITTEE


# -- construction, business, police, on-the-spot ---------------------------------------------------


def test_house_permit_consults_with_deemed_consent(catalog: Catalog) -> None:
    permit = catalog.procedure(HOUSE_PERMIT)
    assert permit.statutory_time == Duration(value=15, unit=TimeUnit.CALENDAR_DAYS)
    assert permit.max_extension == Duration(value=10, unit=TimeUnit.CALENDAR_DAYS)
    (consultation,) = [s for s in permit.steps if s.kind is StepKind.CONSULTATION]
    assert consultation.deemed_consent
    assert consultation.budget.day_equivalent() <= days(permit.statutory_time)
    kinds = [s.kind for s in permit.steps]
    assert kinds.index(StepKind.APPRAISAL) < kinds.index(StepKind.CONSULTATION)
    assert kinds.index(StepKind.CONSULTATION) < kinds.index(StepKind.APPROVAL)


@pytest.mark.parametrize(
    ("code", "value", "kind"),
    [
        (ENTERPRISE, 3, AgencyKind.DEPARTMENT),
        (DRIVING_LICENCE, 5, AgencyKind.POLICE),
        (JUDICIAL_RECORD, 10, AgencyKind.POLICE),
        (HOUSEHOLD_BUSINESS, 3, AgencyKind.PEOPLES_COMMITTEE),
    ],
)
def test_statutory_times(catalog: Catalog, code: str, value: float, kind: AgencyKind) -> None:
    p = catalog.procedure(code)
    assert p.statutory_time == wd(value)
    assert catalog.agency(p.competent_agency).kind is kind
    assert p.fees and all(f.amount_vnd > 0 for f in p.fees)


def test_certified_copy_is_done_entirely_at_the_centre(catalog: Catalog) -> None:
    copy = catalog.procedure(CERTIFIED_COPY)
    assert copy.on_the_spot
    assert copy.receipt_cutoff == time(15, 0)
    assert copy.statutory_time.unit is TimeUnit.WORKING_HOURS
    assert days(copy.statutory_time) <= 1
    assert [s.kind for s in copy.steps] == [
        StepKind.INTAKE,
        StepKind.APPRAISAL,
        StepKind.APPROVAL,
        StepKind.SIGNATURE,
        StepKind.RETURN,
    ]
    assert all(s.agency == CENTRE for s in copy.steps)
    assert all(s.budget.unit is TimeUnit.WORKING_HOURS for s in copy.steps)


def test_catalog_loads_from_a_copy(tmp_path: Path) -> None:
    """The directory is self-contained: agencies.yaml plus one file per procedure version."""
    for path in CATALOG_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    copied = load_catalog(tmp_path)
    assert set(copied.procedures) == set(load_catalog(CATALOG_DIR).procedures)


# -- every shipped procedure can be walked to its result on the state machine --------------------

PREFERRED = (Action.ACCEPT, Action.APPRAISE, Action.APPROVE, Action.SIGN, Action.PAY, Action.RETURN)
GATEWAY = Actor(id="payment-gateway", name="Cổng thanh toán", role=Role.SYSTEM)


def walk(m: DossierMachine, now: datetime, trail: list[str]) -> datetime:
    """Take the happy path: acknowledge hand-offs, run children to their end, let silent
    consultations be deemed agreed, and otherwise take the first positive action offered."""
    for _ in range(60):
        if m.closed:
            return now
        now += timedelta(minutes=5)
        if m.pending_handoff() is not None:
            m.handoff_acknowledged({"worker": "test"}, now)
            trail.append(f"{m.inp.procedure.code}:handoff")
            continue
        children = m.children_to_start()
        if children:
            for child in children:
                m.child_started(child, now)
                sub = DossierMachine(m.child_input(child, now))
                sub.start(now)
                now = walk(sub, now, trail)
                assert sub.s.outcome is not None
                m.child_finished(child.code, sub.s.outcome, sub.s.status, now)
            continue
        if m.step().deemed_consent:  # nobody answers: silence is consent when the budget ends
            run = m.run()
            assert run is not None and run.ledger.due_at is not None
            now = run.ledger.due_at
            m.on_time(now)
            trail.append(f"{m.inp.procedure.code}:deemed_consent")
            continue
        offered = [a for a in m.allowed_actions(now) if a.action in PREFERRED]
        assert offered, (m.inp.code, m.step().id)
        choice = offered[0]
        actor = (
            GATEWAY
            if choice.action is Action.PAY
            else Actor(id=f"{choice.role.value}-1", role=choice.role, agency=choice.agency)
        )
        data = {"opinion": "Đủ điều kiện"} if choice.action is Action.APPRAISE else {}
        m.apply(choice.action, ActionInput(actor=actor, data=data), now)
        trail.append(f"{m.inp.procedure.code}:{choice.action.value}")
    raise AssertionError(f"{m.inp.code} did not finish")


@pytest.mark.parametrize("centre", ["000.31.01.H99", "000.00.01.H99"])
def test_every_standalone_procedure_walks_to_its_result(catalog: Catalog, centre: str) -> None:
    # build_input needs neither a Temporal client nor a database
    service = DossierService(None, None, catalog, Settings())  # type: ignore[arg-type]
    received = datetime(2025, 12, 1, 9, 0, tzinfo=VN)  # Monday, every version in force
    for p in catalog.latest():
        if not p.standalone:
            continue
        req = SubmitRequest(
            procedure_code=p.code,
            applicant=Applicant(name="Nguyễn Văn An", id_number="001090001234"),
            centre_agency=centre,
        )
        inp = service.build_input(req, Actor(id="c-1", role=Role.INTAKE_OFFICER), "H99-1", received)
        m = DossierMachine(inp)
        m.start(received)
        trail: list[str] = []
        walk(m, received, trail)
        assert (m.s.status, m.s.outcome) == (Status.RETURNED, "granted"), (p.code, trail)
        for step in linked_steps(p):
            assert len(m.s.children) == len(step.children)
            assert all(c.outcome == "granted" for c in m.s.children)
        if any(s.pauses_clock for s in p.steps):
            assert m.s.exclusions and all(ex.end is not None for ex in m.s.exclusions)
        if any(s.deemed_consent for s in p.steps):
            assert f"{p.code}:deemed_consent" in trail
        # the group's and each child's steps all ran, in order
        assert trail[0] == f"{p.code}:accept" and trail[-1] == f"{p.code}:return"


def test_step_names_come_from_the_version_the_dossier_runs() -> None:
    catalog = load_catalog(REPO_ROOT / "procedures")
    assert catalog.step_name("3.000333", 1, "phe_duyet") == "Duyệt kết quả tra cứu, xác minh"
    # A version or step the catalog no longer holds: the id, rather than another version's name.
    assert catalog.step_name("3.000333", 99, "phe_duyet") == "phe_duyet"
    assert catalog.step_name("3.000333", 1, "gone") == "gone"
    assert catalog.step_name("9.999999", 1, "tiep_nhan") == "tiep_nhan"
