"""Which centre may receive which procedure (Decree 118/2025, boundary-free intake), where
the result returns, and an agency's work moved to its successor (two-level local
government): the catalog's rules and the machine's, without a server."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.catalog import Agency, AgencyKind, Catalog, CatalogError, build_catalog, load_catalog
from domain.dossier import Action, ActionInput, Actor, Applicant, MoveAgencyInput, Status
from domain.machine import DossierMachine, Refusal
from infra.settings import REPO_ROOT, Settings
from services.dossiers import DossierService, ServiceError, SubmitRequest
from store.db import init_db, make_engine

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE_CENTRE, COMMUNE_CENTRE, OTHER_CENTRE = "000.00.01.H99", "000.31.01.H99", "000.32.01.H99"
COMMUNE, SUCCESSOR, COMMUNE_POLICE = "000.31.00.H99", "000.32.00.H99", "000.20.31.H99"
JUDICIAL_RECORD, ENTERPRISE, CIVIL_STATUS = "3.000333", "2.001610", "2.000635"
RECEIVED = datetime(2025, 12, 1, 9, 0, tzinfo=VN)  # a Monday


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(REPO_ROOT / "procedures")


def service(catalog: Catalog, **settings: object) -> DossierService:
    return DossierService(None, None, catalog, Settings(**settings))  # type: ignore[arg-type]


def officer(agency: str | None, role: str = "intake_officer") -> Actor:
    return Actor(id=f"{role}@{agency}", role=role, agency=agency)  # type: ignore[arg-type]


def request(procedure: str, **kw: object) -> SubmitRequest:
    return SubmitRequest(
        procedure_code=procedure,
        applicant=Applicant(name="Nguyễn Văn An", id_number="001090001234"),
        **kw,  # type: ignore[arg-type]
    )


def test_boundary_free_procedures_go_to_any_centre_others_to_their_home(
    catalog: Catalog,
) -> None:
    judicial = catalog.procedure(JUDICIAL_RECORD)
    enterprise = catalog.procedure(ENTERPRISE)
    civil = catalog.procedure(CIVIL_STATUS)
    assert judicial.boundary_free and not enterprise.boundary_free
    for centre in (PROVINCE_CENTRE, COMMUNE_CENTRE, OTHER_CENTRE):
        assert catalog.may_receive(centre, judicial, boundary_free=True)
    assert catalog.home_centres(enterprise) == [PROVINCE_CENTRE]
    assert not catalog.may_receive(COMMUNE_CENTRE, enterprise, boundary_free=False)
    # A commune procedure not listed: its own commune's centre only.
    assert catalog.home_centres(civil) == [COMMUNE_CENTRE]
    assert not catalog.may_receive(OTHER_CENTRE, civil, boundary_free=False)
    # Only a centre receives: not the police, whatever the list says.
    assert not catalog.may_receive("000.00.20.H99", judicial, boundary_free=True)
    # The commune police belong to the commune of the same place.
    assert catalog.commune_of(COMMUNE_POLICE) == COMMUNE
    assert catalog.commune_of(COMMUNE_CENTRE) == COMMUNE


def test_the_submission_is_refused_before_anything_starts_at_a_centre_that_may_not_receive(
    catalog: Catalog,
) -> None:
    s = service(catalog)
    s.validate_submission(request(JUDICIAL_RECORD), officer(COMMUNE_CENTRE))
    with pytest.raises(ServiceError) as refused:
        s.validate_submission(request(ENTERPRISE), officer(COMMUNE_CENTRE))
    assert refused.value.code == "invalid"
    assert ENTERPRISE in refused.value.message and PROVINCE_CENTRE in refused.value.message
    # The province's list replaces the catalog's flags.
    listed = service(catalog, boundary_free_procedures=[ENTERPRISE])
    listed.validate_submission(request(ENTERPRISE), officer(COMMUNE_CENTRE))
    with pytest.raises(ServiceError):
        listed.validate_submission(request(CIVIL_STATUS), officer(OTHER_CENTRE))
    # An officer of one centre does not file for another.
    with pytest.raises(ServiceError) as other:
        s.validate_submission(
            request(JUDICIAL_RECORD, centre_agency=PROVINCE_CENTRE), officer(COMMUNE_CENTRE)
        )
    assert other.value.code == "forbidden"


def test_the_intake_officer_s_own_centre_receives_and_the_chosen_centre_returns(
    catalog: Catalog,
) -> None:
    s = service(catalog)
    inp = s.build_input(
        request(JUDICIAL_RECORD, return_agency=OTHER_CENTRE),
        officer(COMMUNE_CENTRE),
        "000.00.20.H99-251201-0001",
        RECEIVED,
    )
    assert (inp.centre_agency, inp.competent_agency, inp.return_agency) == (
        COMMUNE_CENTRE,
        "000.00.20.H99",
        OTHER_CENTRE,
    )
    assert inp.step_agencies[0] == COMMUNE_CENTRE and inp.step_agencies[-1] == OTHER_CENTRE
    # An officer of no centre (the tax office) files into the deployment's centre.
    inp = s.build_input(request(JUDICIAL_RECORD), officer("000.00.21.H99"), "c", RECEIVED)
    assert inp.centre_agency == PROVINCE_CENTRE and inp.return_agency is None
    with pytest.raises(ServiceError):
        s.build_input(
            request(JUDICIAL_RECORD, return_agency=OTHER_CENTRE, return_by_post=True),
            officer(COMMUNE_CENTRE),
            "c",
            RECEIVED,
        )


def test_a_merger_moves_the_work_left_and_keeps_what_was_done(catalog: Catalog) -> None:
    s = service(catalog)
    inp = s.build_input(request(CIVIL_STATUS), officer(COMMUNE_CENTRE), "x-1", RECEIVED)
    m = DossierMachine(inp)
    m.start(RECEIVED)
    m.apply(Action.ACCEPT, ActionInput(actor=officer(COMMUNE_CENTRE)), RECEIVED)
    assert m.step_agency() == COMMUNE
    admin = Actor(id="qt-01", role="admin")  # type: ignore[arg-type]
    move = MoveAgencyInput(actor=admin, from_agency=COMMUNE, to_agency=SUCCESSOR, decision="NQ")
    m.move_agency(move, RECEIVED)
    event = m.drain()[-1]
    assert (event.kind, event.data["to_agency"], event.comment) == ("agency_moved", SUCCESSOR, "NQ")
    view = m.view(RECEIVED)
    assert (view.centre_agency, view.competent_agency) == (COMMUNE_CENTRE, SUCCESSOR)
    assert view.steps[0].agency == COMMUNE_CENTRE  # done at the centre, as it was
    assert [st.agency for st in view.steps[1:4]] == [SUCCESSOR] * 3
    # The old agency's specialist is refused; the successor's appraises.
    opinion = {"opinion": "Đúng sổ", "recommendation": "grant"}
    with pytest.raises(Refusal):
        m.check(
            Action.APPRAISE,
            ActionInput(actor=officer(COMMUNE, "specialist"), data=opinion),
            RECEIVED,
        )
    m.apply(
        Action.APPRAISE, ActionInput(actor=officer(SUCCESSOR, "specialist"), data=opinion), RECEIVED
    )
    assert m.s.status is Status.IN_PROGRESS
    # Nothing is left at the old agency: a second move is refused.
    with pytest.raises(Refusal) as again:
        m.check_move(move)
    assert again.value.code == "invalid"


def test_agencies_carry_validity_and_a_known_successor() -> None:
    old = Agency(
        code="000.33.00.H99",
        name="Ủy ban nhân dân xã Cũ",
        kind=AgencyKind.PEOPLES_COMMITTEE,
        level="commune",
        valid_to=date(2025, 6, 30),
        successor=COMMUNE,
    )
    assert old.active_on(date(2025, 6, 30)) and not old.active_on(date(2025, 7, 1))
    with pytest.raises(CatalogError, match="successor: không có cơ quan"):
        build_catalog([old], [])
    new = Agency(code=COMMUNE, name="Ủy ban nhân dân xã Hòa An", kind=AgencyKind.PEOPLES_COMMITTEE)
    assert build_catalog([old, new], []).successor_of(old.code) == COMMUNE
    with pytest.raises(ValueError, match="valid_to is before valid_from"):
        Agency(
            code="000.34.00.H99",
            name="x",
            kind=AgencyKind.OTHER,
            valid_from=date(2025, 7, 1),
            valid_to=date(2025, 1, 1),
        )


async def test_the_dossier_code_carries_the_resolving_agency_or_the_receiving_centre(
    catalog: Catalog, tmp_path: Path
) -> None:
    """Circular 03/2025 Art. 13 read as the resolving agency's identifier ([uncertain]:
    MOTCUA_DOSSIER_CODE_AGENCY=centre numbers by receiving centre)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'codes.db'}")
    init_db(engine)
    try:
        by_agency = DossierService(None, engine, catalog, Settings())  # type: ignore[arg-type]
        code = await by_agency.allocate_code(request(JUDICIAL_RECORD), officer(COMMUNE_CENTRE))
        assert code.startswith("000.00.20.H99-"), code
        by_centre = DossierService(
            None,  # type: ignore[arg-type]
            engine,
            catalog,
            Settings(dossier_code_agency="centre"),
        )
        code = await by_centre.allocate_code(request(JUDICIAL_RECORD), officer(COMMUNE_CENTRE))
        assert code.startswith(f"{COMMUNE_CENTRE}-"), code
    finally:
        engine.dispose()


def test_an_officer_of_a_commune_files_at_the_commune_s_centre(catalog: Catalog) -> None:
    """D3 (docs/authorization.md): the centre an intake officer receives at is their own
    centre, else their commune's (its People's Committee, its police), else the
    deployment's; the result returns there by default."""
    assert catalog.centre_for(COMMUNE_CENTRE) == COMMUNE_CENTRE
    assert catalog.centre_for(COMMUNE) == COMMUNE_CENTRE
    assert catalog.centre_for(COMMUNE_POLICE) == COMMUNE_CENTRE
    assert catalog.centre_for("000.00.21.H99") is None  # the provincial tax office
    s = service(catalog)
    for agency in (COMMUNE, COMMUNE_POLICE):
        inp = s.build_input(request(JUDICIAL_RECORD), officer(agency), "c", RECEIVED)
        assert (inp.centre_agency, inp.return_agency) == (COMMUNE_CENTRE, None)
        assert inp.step_agencies[0] == inp.step_agencies[-1] == COMMUNE_CENTRE
    inp = s.build_input(
        request(JUDICIAL_RECORD, return_agency=OTHER_CENTRE), officer(COMMUNE), "c", RECEIVED
    )
    assert (inp.centre_agency, inp.step_agencies[-1]) == (COMMUNE_CENTRE, OTHER_CENTRE)
    # Hòa An's centre merged into Bình Long's: Hòa An's officers file at Bình Long's.
    merged = catalog.model_copy(
        update={
            "agencies": {
                **catalog.agencies,
                COMMUNE_CENTRE: catalog.agencies[COMMUNE_CENTRE].model_copy(
                    update={"valid_to": date(2025, 11, 30), "successor": OTHER_CENTRE}
                ),
            }
        }
    )
    assert merged.centre_for(COMMUNE, RECEIVED.date()) == OTHER_CENTRE
    assert merged.centre_for(COMMUNE, date(2025, 11, 30)) == COMMUNE_CENTRE


def test_a_centre_past_its_last_day_neither_receives_nor_returns(catalog: Catalog) -> None:
    ended = catalog.agencies[OTHER_CENTRE].model_copy(
        update={"valid_to": date(2025, 11, 30), "successor": COMMUNE_CENTRE}
    )
    merged = catalog.model_copy(update={"agencies": {**catalog.agencies, OTHER_CENTRE: ended}})
    s = service(merged)
    day_after = datetime(2025, 12, 1, 9, 0, tzinfo=VN)
    with pytest.raises(ServiceError) as receiving:
        s._check_in_operation("centre_agency", OTHER_CENTRE, day_after.date())
    assert receiving.value.code == "invalid"
    assert receiving.value.message == (
        "centre_agency: Trung tâm Phục vụ hành chính công xã Bình Long (000.32.01.H99) đã thôi "
        "hoạt động sau ngày 30/11/2025 (sắp xếp đơn vị hành chính): không tiếp nhận hồ sơ mới, "
        "không trả kết quả; hồ sơ đã nhận vẫn tra cứu được. Cơ quan kế thừa: Trung tâm Phục vụ "
        "hành chính công xã Hòa An (000.31.01.H99)"
    )
    assert receiving.value.text is not None
    assert "ceased operating after 2025-11-30" in receiving.value.text.render("en")
    with pytest.raises(ServiceError) as returning:
        s.build_input(
            request(JUDICIAL_RECORD, return_agency=OTHER_CENTRE),
            officer(COMMUNE_CENTRE),
            "c",
            day_after,
        )
    assert returning.value.message.startswith("return_agency: Trung tâm")
    # On its last day it still receives and returns.
    s._check_in_operation("centre_agency", OTHER_CENTRE, date(2025, 11, 30))


def test_a_handoff_not_yet_acknowledged_goes_to_the_successor(catalog: Catalog) -> None:
    """A construction permit accepted at Hòa An's centre is being handed to Hòa An's
    People's Committee when the commune merges: the handoff is the successor's to
    acknowledge, and the move's event says so."""
    s = service(catalog)
    inp = s.build_input(request("1.009994"), officer(COMMUNE_CENTRE), "x-2", RECEIVED)
    m = DossierMachine(inp)
    m.start(RECEIVED)
    m.apply(Action.ACCEPT, ActionInput(actor=officer(COMMUNE_CENTRE)), RECEIVED)
    pending = m.pending_handoff()
    assert pending is not None and pending.agency == COMMUNE
    admin = Actor(id="qt-01", role="admin")  # type: ignore[arg-type]
    m.move_agency(MoveAgencyInput(actor=admin, from_agency=COMMUNE, to_agency=SUCCESSOR), RECEIVED)
    event = m.drain()[-1]
    assert (event.kind, event.data["handoff_to"]) == ("agency_moved", SUCCESSOR)
    pending = m.pending_handoff()
    assert pending is not None and pending.agency == SUCCESSOR
    m.handoff_acknowledged({"agency": SUCCESSOR}, RECEIVED)
    assert m.step_agency() == SUCCESSOR


def test_the_citizen_told_the_result_is_ready_is_told_it_comes_by_post(catalog: Catalog) -> None:
    """The return step of a dossier returned by post: the step's record says where the
    result goes ('post', shown in Vietnamese by the pages), and the citizen's notice says
    it in words."""
    from activities.notifications import notifications_for

    s = service(catalog)
    inp = s.build_input(
        request(JUDICIAL_RECORD, return_by_post=True), officer(COMMUNE_CENTRE), "x-3", RECEIVED
    )
    m = DossierMachine(inp)
    m.start(RECEIVED)
    m._enter_step(len(inp.procedure.steps) - 1, RECEIVED)
    started = m.drain()[-1]
    assert (started.kind, started.data["result_to"]) == ("step_started", "post")
    assert started.data["received_at_centre"] == COMMUNE_CENTRE
    told = [
        n
        for n in notifications_for(started, m.view(RECEIVED), inp.applicant)
        if n.recipient_role == "applicant"
    ]
    assert told, started
    assert all("qua dịch vụ bưu chính công ích" in n.body for n in told), [n.body for n in told]
