"""Data instead of paper (domain/machine/reuse.py): a consented component is asked of its
database once; a record found satisfies the checklist as a reused component with its
source; a record missing or wrong becomes one supplement request naming it and one request
to have the database corrected."""

from __future__ import annotations

from domain.checklist import intake_checklist
from domain.datasources import (
    ComponentSource,
    Database,
    DataConsent,
    DataRecordSource,
    FetchedComponent,
    FetchOutcome,
)
from domain.dossier import Action, ActionInput, Channel, DocumentRef, Status
from domain.machine import DossierMachine, Refusal
from tests.factories import doc, dossier_input, procedure, step
from tests.unit.test_intake_checklist import CAL, INTAKE, at

PARENTS = "thong_tin_cha_me"
PROC = procedure(
    documents=[
        {"kind": "to_khai", "name": "Tờ khai", "original": True},
        {
            "kind": PARENTS,
            "name": "Thông tin về cha, mẹ",
            "source": {"database": "population", "fields": ["ho_ten", "ngay_sinh"]},
        },
    ],
    steps=[
        step("intake", "intake", "intake_officer", 0.5, agency="centre"),
        step("appraisal", "appraisal", "specialist", 8),
        step("approval", "approval", "leader", 2),
        step("return", "return", "return_officer", 0.5, agency="centre"),
    ],
)
SOURCE = ComponentSource(database=Database.POPULATION, fields=["ho_ten", "ngay_sinh"])


def machine(channel: Channel = Channel.ONLINE, consent: bool = True) -> DossierMachine:
    consents = [
        DataConsent(
            component=PARENTS,
            subject_ids=["001190000001", "001190000002"],
            consented_by="citizen-1",
            consented_at=at(8),
        )
    ]
    inp = dossier_input("HS-1", at(8), CAL, PROC, channel=channel).model_copy(
        update={
            "documents": [doc("tokhai.pdf", "to_khai")],
            "data_consents": consents if consent else [],
        }
    )
    m = DossierMachine(inp)
    m.holds_incomplete = True
    m.start(at(8))
    m.drain()
    return m


def found() -> FetchedComponent:
    return FetchedComponent(
        component=PARENTS,
        database=Database.POPULATION,
        outcome=FetchOutcome.FOUND,
        record=DataRecordSource(
            database=Database.POPULATION,
            record_ids=["DC-1", "DC-2"],
            fields=["ho_ten", "ngay_sinh"],
            fetched_at=at(8),
            sha256="a" * 64,
        ),
    )


def missing() -> FetchedComponent:
    return FetchedComponent(
        component=PARENTS, database=Database.POPULATION, outcome=FetchOutcome.NOT_FOUND
    )


def test_the_consented_component_is_asked_once_and_a_found_record_satisfies_it() -> None:
    m = machine()
    [request] = m.components_to_fetch()
    assert (request.component, request.source, request.consent.consented_by) == (
        PARENTS,
        SOURCE,
        "citizen-1",
    )
    # Held at intake until the record comes: the component is required.
    assert [i.kind for i in m.held_for_components()] == [PARENTS]
    m.components_fetched([found()], at(9))
    assert m.components_to_fetch() == []
    [event] = m.drain()
    assert event.kind == "data_reused"
    assert event.data["consent"]["consented_by"] == "citizen-1"
    assert "001190000001" not in str(event.data)  # no ID numbers in the record of events
    item = next(i for i in m.view(at(9)).checklist.items if i.kind == PARENTS)  # type: ignore[union-attr]
    assert not item.missing and item.source == SOURCE
    [file] = item.files
    assert file.reused and file.source is not None
    assert file.source.database_name == "CSDL quốc gia về dân cư"
    assert file.source.record_ids == ["DC-1", "DC-2"]
    m.apply(Action.ACCEPT, ActionInput(actor=INTAKE), at(10))
    assert m.s.received_at is not None  # received: the component came from the database
    # The answer again (a retried activity's): nothing recorded twice.
    m.components_fetched([found()], at(11))
    assert [e.kind for e in m.drain()].count("data_reused") == 0


def test_a_missing_record_becomes_one_supplement_request_and_one_correction_request() -> None:
    m = machine()
    m.components_fetched([missing()], at(9))
    kinds = [e.kind for e in m.drain()]
    assert kinds == ["data_not_supplied", "database_correction_requested", "request_supplement"]
    assert m.s.status is Status.SUPPLEMENT_REQUESTED and m.s.supplement_requests == 1
    view = m.view(at(9))
    item = next(i for i in view.checklist.items if i.kind == PARENTS)  # type: ignore[union-attr]
    assert item.missing and item.data_outcome is FetchOutcome.NOT_FOUND
    assert item.data_issue == "không có dữ liệu trong CSDL quốc gia về dân cư"
    # Told again: recorded once.
    m.components_fetched([missing()], at(10))
    assert m.drain() == [] and m.s.supplement_requests == 1
    # The citizen supplements the papers: the component is satisfied by the file.
    m.apply(
        Action.SUPPLEMENT,
        ActionInput(
            actor=m.inp.submitted_by,
            data={"documents": [doc("cccd-cha-me.pdf", PARENTS).model_dump()]},
        ),
        at(11),
    )
    assert m.held_for_components() == []


def test_wrong_data_names_the_fields_in_the_supplement_request() -> None:
    m = machine()
    wrong = FetchedComponent(
        component=PARENTS,
        database=Database.POPULATION,
        outcome=FetchOutcome.MISMATCH,
        mismatched=["ho_ten"],
    )
    m.components_fetched([wrong], at(9))
    events = m.drain()
    request = events[-1]
    assert request.kind == "request_supplement"
    assert request.data["missing"] == [
        "Thông tin về cha, mẹ (bản sao; dữ liệu trong CSDL quốc gia về dân cư không khớp "
        "với tờ khai (ho_ten))"
    ]


def test_an_unavailable_database_leaves_the_component_to_the_officer() -> None:
    m = machine()
    down = FetchedComponent(
        component=PARENTS,
        database=Database.POPULATION,
        outcome=FetchOutcome.UNAVAILABLE,
        message="timeout",
    )
    m.components_fetched([down], at(9))
    assert [e.kind for e in m.drain()] == ["data_not_supplied"]
    assert m.s.status is Status.SUBMITTED
    try:
        m.check(Action.ACCEPT, ActionInput(actor=INTAKE), at(10))
    except Refusal as r:
        assert r.code == "incomplete"
    else:
        raise AssertionError("accept should be held")


def test_at_the_counter_the_officer_decides_and_without_consent_nothing_is_fetched() -> None:
    counter = machine(Channel.COUNTER)
    counter.components_fetched([missing()], at(9))
    assert [e.kind for e in counter.drain()] == [
        "data_not_supplied",
        "database_correction_requested",
    ]
    assert counter.s.status is Status.SUBMITTED
    assert machine(consent=False).components_to_fetch() == []


def test_a_file_reference_dumps_as_before_and_the_checklist_shows_the_source() -> None:
    ref = DocumentRef(kind="x", filename="x.pdf", sha256="b" * 64)
    assert set(ref.model_dump()) == {"kind", "filename", "sha256", "reused"}
    rec = found().record
    with_source = DocumentRef(kind=PARENTS, filename="db", sha256="a" * 64, source=rec)
    checklist = intake_checklist(PROC.documents, [with_source])
    assert checklist.items[1].files[0].source == rec
