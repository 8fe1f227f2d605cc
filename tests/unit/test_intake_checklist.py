"""The intake checklist (domain.checklist) and the intake rule it feeds: an online dossier
missing a required component is held at intake, flagged, until it is supplemented."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest

from domain.catalog import load_catalog
from domain.checklist import component_line, intake_checklist
from domain.dossier import Action, ActionInput, Channel, DocumentRef, Status
from domain.machine import DossierMachine, Refusal
from tests.factories import (
    APPLICANT,
    CENTRE,
    doc,
    dossier_input,
    local,
    officer,
    procedure,
    step,
    synthetic_calendar,
)

ROOT = Path(__file__).resolve().parents[2]
A = date(2030, 1, 7)
CAL = synthetic_calendar(A)
INTAKE = officer("intake_officer", CENTRE)

COMPONENTS = [
    {"kind": "don", "name": "Đơn đề nghị", "original": True},
    {"kind": "ban_ve", "name": "Bản vẽ thiết kế", "copies": 2},
    {"kind": "uy_quyen", "name": "Văn bản ủy quyền (khi có)", "required": False},
]
PROC = procedure(
    documents=COMPONENTS,
    steps=[
        step("intake", "intake", "intake_officer", 0.5, agency="centre"),
        step("appraisal", "appraisal", "specialist", 8),
        step("approval", "approval", "leader", 2),
        step("return", "return", "return_officer", 0.5, agency="centre"),
    ],
)


def at(hh: int) -> datetime:
    return local(A, hh)


def machine(
    documents: list[DocumentRef], channel: Channel = Channel.ONLINE, *, holds: bool = True
) -> DossierMachine:
    inp = dossier_input("HS-1", at(8), CAL, PROC, channel=channel)
    m = DossierMachine(inp.model_copy(update={"documents": documents}))
    m.holds_incomplete = holds
    m.start(at(8))
    return m


def test_each_component_lists_its_files_and_a_missing_required_one_is_flagged() -> None:
    reused = DocumentRef(kind="ban_ve", filename="ban-ve.pdf", sha256="a" * 64, reused=True)
    checklist = intake_checklist(PROC.documents, [doc("don.pdf", "don"), reused, doc("x", "cccd")])
    don, ban_ve, uy_quyen = checklist.items
    assert [f.filename for f in don.files] == ["don.pdf"] and not don.missing and don.original
    assert ban_ve.files[0].reused and ban_ve.copies == 2 and not ban_ve.original
    assert not uy_quyen.required and not uy_quyen.missing  # optional: never missing
    assert [f.kind for f in checklist.unmatched] == ["cccd"]  # kept, named no component
    assert checklist.complete

    empty = intake_checklist(PROC.documents, [])
    assert [i.kind for i in empty.missing] == ["don", "ban_ve"]
    assert empty.model_dump()["complete"] is False
    assert component_line(empty.missing[1]) == "Bản vẽ thiết kế (bản sao, 2 bộ)"
    assert component_line(empty.missing[0]) == "Đơn đề nghị (bản chính)"


def test_an_incomplete_online_dossier_is_held_at_intake_until_supplemented() -> None:
    m = machine([doc("don.pdf", "don")])
    view = m.view(at(9))
    assert view.checklist is not None
    assert [i.kind for i in view.checklist.missing] == ["ban_ve"]
    offered = {a.action for a in view.allowed_actions if a.role.value == "intake_officer"}
    assert Action.ACCEPT not in offered
    assert {Action.REQUEST_SUPPLEMENT, Action.REFUSE} <= offered

    with pytest.raises(Refusal) as refused:
        m.apply(Action.ACCEPT, ActionInput(actor=INTAKE), at(9))
    assert refused.value.code == "incomplete"
    assert "Bản vẽ thiết kế (bản sao, 2 bộ)" in refused.value.message
    assert m.s.status is Status.SUBMITTED and m.step().id == "intake"

    missing = [component_line(i) for i in view.checklist.missing]
    m.apply(Action.REQUEST_SUPPLEMENT, ActionInput(actor=INTAKE, data={"missing": missing}), at(9))
    supplement = {"documents": [doc("ban-ve.pdf", "ban_ve").model_dump()]}
    m.apply(Action.SUPPLEMENT, ActionInput(actor=APPLICANT, data=supplement), at(10))
    assert m.view(at(10)).checklist.complete  # type: ignore[union-attr]
    m.apply(Action.ACCEPT, ActionInput(actor=INTAKE), at(10))
    assert m.view(at(10)).status is Status.IN_PROGRESS and m.step().id == "appraisal"


def test_complete_online_counter_and_pre_patch_dossiers_are_not_held() -> None:
    complete = machine([doc("don.pdf", "don"), doc("ban-ve.pdf", "ban_ve")])
    complete.apply(Action.ACCEPT, ActionInput(actor=INTAKE), at(9))
    assert complete.step().id == "appraisal"
    # At the counter the officer holds the papers: flagged, the officer decides.
    counter = machine([], Channel.COUNTER)
    assert len(counter.view(at(9)).checklist.missing) == 2  # type: ignore[union-attr]
    counter.apply(Action.ACCEPT, ActionInput(actor=INTAKE), at(9))
    assert counter.step().id == "appraisal"
    # A history recorded before the checklist replays as it ran (workflow.patched).
    before = machine([], holds=False)
    before.apply(Action.ACCEPT, ActionInput(actor=INTAKE), at(9))
    assert before.step().id == "appraisal"


def test_a_component_kind_names_one_component() -> None:
    with pytest.raises(ValueError, match=r"duplicate component kinds \['don'\]"):
        procedure(documents=[*COMPONENTS, {"kind": "don", "name": "Đơn (bản 2)"}])


def test_the_readme_walkthrough_submits_every_required_component() -> None:
    """The README's own walkthrough files a complete dossier (its kinds, its procedure)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    walkthrough = readme[readme.index("CODE=$(curl") :]
    walkthrough = walkthrough[: walkthrough.index("echo $CODE")]
    code = re.search(r'"procedure_code": "([\d.]+)"', walkthrough)
    assert code is not None
    kinds = set(re.findall(r'"kind": "([a-z_0-9]+)"', walkthrough))
    proc = load_catalog(ROOT / "procedures").procedure(code.group(1))
    required = {d.kind for d in proc.documents if d.required}
    assert required and required <= kinds, f"README submits {kinds}, needs {required}"
