"""Fees as the catalog states them, and the machine's checks of a payment: the judicial
record certificate (3.000333) costs 200.000 đồng at intake, 5.000 đồng more for each
certificate from the third, 100.000 đồng for a student and nothing for a child; a wrong
amount is refused naming the right one, and the result is not returned unpaid."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from activities.forms.receipt import in_words
from domain.catalog import Fee, FeeExemption, load_catalog
from domain.dossier import Action, ActionInput, Channel, Status
from domain.fees import fees_due, vnd
from domain.machine import DossierMachine, Refusal
from tests.factories import CENTRE, dossier_input, local, officer, synthetic_calendar

CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "procedures")
JUDICIAL = CATALOG.procedure("3.000333")
A = date(2030, 1, 7)
CAL = synthetic_calendar(A, [])
INTAKE = officer("intake_officer", CENTRE)
RETURNER = officer("return_officer", CENTRE)


def at(n: int, hh: int) -> datetime:
    return local(A + timedelta(days=n), hh)


def test_amounts_per_case_per_copy_and_for_exempted_groups() -> None:
    assert fees_due(JUDICIAL, "intake").total_vnd == 200_000
    assert fees_due(JUDICIAL, "intake", copies=2).total_vnd == 200_000
    assert fees_due(JUDICIAL, "intake", copies=4).total_vnd == 210_000
    assert fees_due(JUDICIAL, "intake", group="sinh_vien").total_vnd == 100_000
    child = fees_due(JUDICIAL, "intake", group="tre_em")
    assert child.total_vnd == 0
    assert child.lines[0].exemption == "Trẻ em theo quy định của Luật Trẻ em"
    assert vnd(200_000) == "200.000 đồng"
    # Land: the change-registration fee goes with the tax notice, at the payment step.
    land = CATALOG.procedure("1.013831")
    assert fees_due(land, "payment").total_vnd == 25_000
    assert fees_due(land, "intake").total_vnd == 0


def test_a_fee_line_per_copy_counts_from_its_first_charged_copy() -> None:
    fee = Fee(
        name="x",
        amount_vnd=8000,
        per="copy",
        from_copy=2,
        exemptions=[FeeExemption(group="ho_ngheo", name="Hộ nghèo", amount_vnd=1000)],
    )
    assert fee.amount_for(1, None) == 0
    assert fee.amount_for(3, None) == 16_000
    assert fee.amount_for(3, "ho_ngheo") == 2_000


def machine() -> DossierMachine:
    m = DossierMachine(dossier_input("H99.FEE.1", at(0, 8), CAL, JUDICIAL, channel=Channel.COUNTER))
    m.collects_fees = True
    m.start(at(0, 8))
    return m


def pay(amount: object, **data: object) -> ActionInput:
    return ActionInput(actor=INTAKE, data={"amount_vnd": amount, "method": "cash", **data})


def test_the_intake_officer_collects_the_exact_fee_and_the_step_stays_open() -> None:
    m = machine()
    assert any(a.action is Action.PAY for a in m.allowed_actions(at(0, 9)))
    with pytest.raises(Refusal) as wrong:
        m.apply(Action.PAY, pay(25_000_000), at(0, 9))
    assert wrong.value.code == "invalid"
    assert "200.000 đồng" in wrong.value.message and "25.000.000 đồng" in wrong.value.message
    with pytest.raises(Refusal) as method:
        m.apply(Action.PAY, pay(200_000, method="bitcoin"), at(0, 9))
    assert method.value.code == "invalid"
    with pytest.raises(Refusal) as group:
        m.apply(Action.PAY, pay(0, exemption="nguoi_la"), at(0, 9))
    assert "nguoi_la" in group.value.message
    m.apply(Action.PAY, pay(210_000, copies=4), at(0, 9))
    events = [e for e in m.drain() if e.kind == "pay"]
    assert events[0].data["fees"]["total_vnd"] == 210_000
    assert events[0].data["fees"]["collector"] == CENTRE
    assert m.s.status is Status.SUBMITTED  # still at intake: the officer now accepts
    assert not any(a.action is Action.PAY for a in m.allowed_actions(at(0, 9)))
    with pytest.raises(Refusal) as twice:
        m.apply(Action.PAY, pay(200_000), at(0, 9))
    assert twice.value.code == "wrong_step"


def test_an_unpaid_dossier_is_not_returned_until_the_return_officer_collects() -> None:
    m = machine()
    m.apply(Action.ACCEPT, ActionInput(actor=INTAKE), at(0, 9))
    # Jump to the return step as a refused decision would (the rules of return only).
    m._enter_step(len(JUDICIAL.steps) - 1, at(1, 9))
    back = ActionInput(actor=RETURNER, data={"channel": "counter"})
    with pytest.raises(Refusal) as unpaid:
        m.check(Action.RETURN, back, at(1, 10))
    assert unpaid.value.code == "wrong_step"
    assert "200.000 đồng" in unpaid.value.message
    student = ActionInput(
        actor=RETURNER, data={"amount_vnd": 100_000, "method": "bank_qr", "exemption": "sinh_vien"}
    )
    m.apply(Action.PAY, student, at(1, 10))
    m.check(Action.RETURN, back, at(1, 11))  # paid: no refusal


def test_without_the_patch_payments_are_taken_as_before() -> None:
    m = DossierMachine(dossier_input("H99.FEE.2", at(0, 8), CAL, JUDICIAL, channel=Channel.COUNTER))
    m.start(at(0, 8))
    assert not any(a.action is Action.PAY for a in m.allowed_actions(at(0, 9)))


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (0, "Không đồng"),
        (15, "Mười lăm đồng"),
        (21, "Hai mươi mốt đồng"),
        (25_000, "Hai mươi lăm nghìn đồng"),
        (135_000, "Một trăm ba mươi lăm nghìn đồng"),
        (200_000, "Hai trăm nghìn đồng"),
        (1_005_000, "Một triệu không trăm linh năm nghìn đồng"),
        (2_400_000, "Hai triệu bốn trăm nghìn đồng"),
    ],
)
def test_the_receipt_writes_the_total_in_words(amount: int, words: str) -> None:
    assert in_words(amount) == words
