"""The rules added for linked and long-running dossiers, on DossierMachine alone:
an unacknowledged hop raises an alert after two working hours, a silent consulted
agency is deemed to agree, remote communes get their extra time, verification
lengthens the statutory time, an extension is capped, and the payment gateway's
confirmation settles a financial obligation.

A = Monday 2030-01-07 (weekends only are days off in this calendar)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from domain.catalog import Role
from domain.dossier import Action, ActionInput, Actor, Status
from domain.machine import DossierMachine, Refusal
from tests.factories import (
    AGENCY,
    CENTRE,
    OTHER_AGENCY,
    dossier_input,
    local,
    officer,
    procedure,
    step,
    steps,
    synthetic_calendar,
)
from tests.workflow.test_linked_groups import BIRTH, RESIDENCE, group_input

A = date(2030, 1, 7)
CAL = synthetic_calendar(A)
INTAKE = officer("intake_officer", CENTRE)
GATEWAY = Actor(id="payment-gateway", name="Cổng thanh toán", role=Role.SYSTEM)


def at(n: int, hh: int, mm: int = 0) -> datetime:
    return local(A + timedelta(days=n), hh, mm)


def machine(**proc: Any) -> DossierMachine:
    inp = dossier_input("H99-300107-0001", at(0, 9), CAL, proc=procedure(**proc) if proc else None)
    m = DossierMachine(inp)
    m.start(at(0, 9))
    return m


def act(m: DossierMachine, action: str, actor: Actor, when: datetime, **kw: Any) -> None:
    m.apply(Action(action), ActionInput(actor=actor, **kw), when)


def test_unacknowledged_hop_raises_an_alert_after_two_working_hours() -> None:
    inp = group_input("H99-300107-0002", at(0, 9), CAL)
    m = DossierMachine(inp)
    m.start(at(0, 9))
    act(m, "accept", INTAKE, at(0, 9, 5))
    (first,) = m.children_to_start()
    assert (first.procedure_code, first.agency) == (BIRTH, AGENCY)
    # Started at 11:00: 30 minutes before lunch, then 90 after it: due 14:30.
    m.child_started(first, at(0, 11))
    assert first.ack_due_at == at(0, 14, 30)
    assert m.next_wake() is not None and m.next_wake() <= at(0, 14, 30)
    m.on_time(at(0, 14, 29))
    assert not [e for e in m.s.escalations if e.kind == "child_unacknowledged"]
    m.on_time(at(0, 14, 30))
    (alert,) = [e for e in m.s.escalations if e.kind == "child_unacknowledged"]
    assert alert.agency == AGENCY and alert.to_role is Role.LEADER
    # The agency's worker comes back and acknowledges; the sequence goes on.
    m.child_acknowledged(first.code, "motcua-agency-x", at(0, 15))
    assert m.children_to_start() == []  # the second waits for the first to finish
    m.child_finished(first.code, "granted", Status.RETURNED, at(1, 9))
    (second,) = m.children_to_start()
    assert second.procedure_code == RESIDENCE and second.agency == OTHER_AGENCY
    child = m.child_input(second, at(1, 9))
    assert child.parent_code == m.inp.code and child.centre_agency == OTHER_AGENCY
    assert child.procedure.code == RESIDENCE and child.calendar == m.calendar


def test_parallel_children_start_together_and_a_refusal_can_be_tolerated() -> None:
    inp = group_input("H99-300107-0003", at(0, 9), CAL, on_child_refused="continue")
    step = inp.procedure.steps[1].model_copy(update={"parallel": True})
    proc = inp.procedure.model_copy(
        update={"steps": [inp.procedure.steps[0], step, inp.procedure.steps[2]]}
    )
    m = DossierMachine(inp.model_copy(update={"procedure": proc}))
    m.start(at(0, 9))
    act(m, "accept", INTAKE, at(0, 9, 5))
    both = m.children_to_start()
    assert [c.procedure_code for c in both] == [BIRTH, RESIDENCE]
    for c in both:
        m.child_started(c, at(0, 9, 10))
    m.child_finished(both[0].code, "not_received", Status.NOT_RECEIVED, at(0, 10))
    assert m.s.outcome is None and m.step().kind.value == "linked"
    m.child_finished(both[1].code, "granted", Status.RETURNED, at(0, 11))
    assert m.step().kind.value == "return" and m.s.status is Status.PROCESSED


def test_withdrawn_group_stops_a_child_through_its_parent() -> None:
    inp = group_input("H99-300107-0004", at(0, 9), CAL)
    m = DossierMachine(inp)
    m.start(at(0, 9))
    act(m, "accept", INTAKE, at(0, 9, 5))
    (first,) = m.children_to_start()
    m.child_started(first, at(0, 9, 6))
    child = DossierMachine(m.child_input(first, at(0, 9, 6)))
    child.start(at(0, 9, 6))
    act(m, "withdraw", officer("intake_officer", CENTRE), at(0, 10), comment="Người dân rút hồ sơ")
    assert m.closed and [c.code for c in m.running_children()] == [first.code]
    child.stop_by_parent("the linked group ended: withdrawn", at(0, 10))
    assert child.closed and child.s.status is Status.STOPPED


def consultation_procedure(
    statutory: dict[str, Any], consultation: dict[str, Any]
) -> dict[str, Any]:
    """Appraisal, a consultation of OTHER_AGENCY deemed agreed on silence, approval."""
    return {
        "statutory_time": statutory,
        "steps": steps(
            step("appraisal", "appraisal", "specialist", 2),
            step(
                "consult",
                "consultation",
                "specialist",
                agency=OTHER_AGENCY,
                deemed_consent=True,
                **consultation,
            ),
            step("approval", "approval", "leader", 2),
        ),
    }


def test_a_consulted_agency_that_stays_silent_is_deemed_to_agree() -> None:
    m = machine(**consultation_procedure({"value": 15, "unit": "working_days"}, {"value": 8}))
    m.inp.step_agencies[2] = OTHER_AGENCY
    act(m, "accept", INTAKE, at(0, 9, 5))
    act(m, "appraise", officer("specialist", AGENCY), at(0, 10), data={"opinion": "Đủ điều kiện"})
    consult = m.run()
    assert consult is not None and consult.step_id == "consult" and consult.ledger.due_at
    # Eight working days from Monday 10:00: 330 minutes that day, seven full days
    # (A+1..A+4, A+7..A+9), then 150 minutes into Thursday A+10: 10:00.
    assert consult.ledger.due_at == at(10, 10)
    m.on_time(at(10, 9, 59))
    assert m.step().id == "consult"
    m.on_time(at(10, 10))
    assert m.step().id == "approval"
    deemed = [e for e in m.drain() if e.kind == "deemed_consent"]
    assert len(deemed) == 1 and deemed[0].data["consulted_agency"] == OTHER_AGENCY
    assert not [e for e in m.s.escalations if e.step_id == "consult"]  # consent, not lateness


def test_remote_communes_get_the_extra_time_and_verification_the_longer_time() -> None:
    base = {
        "remote_area_extra": {"value": 10, "unit": "working_days"},
        "verification_time": {"value": 17, "unit": "working_days"},
    }
    m = machine(**base)  # 15 working days
    act(m, "accept", INTAKE, at(0, 9, 5))
    assert m.s.clock and m.s.clock.due_at == local(A + timedelta(days=21), 17)

    remote = DossierMachine(m.inp.model_copy(update={"remote_area": True, "carried_state": None}))
    remote.start(at(0, 9))
    act(remote, "accept", INTAKE, at(0, 9, 5))
    # 25 working days: five whole weeks after Monday A.
    assert remote.s.clock and remote.s.clock.due_at == local(A + timedelta(days=35), 17)

    checked = machine(**base)
    act(checked, "accept", INTAKE, at(0, 9, 5), data={"verification": True})
    # 17 working days: A+1..A+4, A+7..A+11, A+14..A+18, A+21..A+23.
    assert checked.s.clock and checked.s.clock.due_at == local(A + timedelta(days=23), 17)


def test_a_new_appointment_is_capped_by_the_procedure() -> None:
    m = machine(max_extension={"value": 10, "unit": "calendar_days"})
    act(m, "accept", INTAKE, at(0, 9, 5))
    appointment = m.s.clock.due_at if m.s.clock else None
    # 15 working days: Monday A+21 (28/01); ten more calendar days allow up to 07/02.
    assert appointment == local(A + timedelta(days=21), 17)
    leader = officer("leader", AGENCY)
    with pytest.raises(Refusal, match="tối đa 10 ngày "):
        m.check(
            Action.REQUEST_EXTENSION,
            ActionInput(
                actor=leader, comment="Cần thêm thời gian", data={"new_appointment": "2030-02-08"}
            ),
            at(5, 10),
        )
    act(
        m,
        "request_extension",
        leader,
        at(5, 10),
        comment="Cần thêm thời gian",
        data={"new_appointment": "2030-01-31"},
    )
    assert m.s.clock and m.s.clock.due_at == local(date(2030, 1, 31), 17)


def test_the_payment_gateway_confirms_a_financial_obligation() -> None:
    m = machine(
        steps=steps(
            step("appraisal", "appraisal", "specialist", 3),
            step("approval", "approval", "leader", 2),
            step("pay", "payment", "applicant", 1, pauses_clock=True),
        )
    )
    act(m, "accept", INTAKE, at(0, 9, 5))
    act(m, "appraise", officer("specialist", AGENCY), at(0, 10), data={"opinion": "Đạt"})
    act(m, "approve", officer("leader", AGENCY), at(0, 11))
    assert m.s.status is Status.FINANCIAL_OBLIGATION and m.s.clock and m.s.clock.paused_since
    # Sixty days later the gateway's signed callback confirms the payment.
    act(m, "pay", GATEWAY, at(60, 10), data={"receipt_number": "BL-0001", "amount_vnd": 2500000})
    assert m.step().id == "return"
    assert m.s.exclusions[-1].reason == "financial_obligation"
    assert m.s.exclusions[-1].end == at(60, 10)


def test_newborn_group_registers_the_birth_then_residence_and_card_side_by_side() -> None:
    """The shipped Decree 63/2024 group: birth first, then the two that need its result."""
    from pathlib import Path

    from domain.catalog import load_catalog
    from domain.dossier import Applicant, Channel
    from infra.settings import REPO_ROOT, Settings
    from services.dossiers import DossierService, SubmitRequest

    catalog = load_catalog(Path(REPO_ROOT / "procedures"))
    service = DossierService(None, None, catalog, Settings())  # type: ignore[arg-type]
    request = SubmitRequest(
        procedure_code="2.000986",
        applicant=Applicant(name="Lê Thị Hoa", id_number="001190000123"),
        channel=Channel.ONLINE,
    )
    inp = service.build_input(request, officer("intake_officer", CENTRE), "H99-G-0001", at(0, 9))
    m = DossierMachine(inp.model_copy(update={"calendar": CAL}))
    m.start(at(0, 9))
    act(m, "accept", officer("intake_officer", m.inp.centre_agency), at(0, 9, 5))
    (birth,) = m.children_to_start()
    assert birth.procedure_code == "1.001193"
    m.child_started(birth, at(0, 9, 6))
    assert m.children_to_start() == []
    m.child_finished(birth.code, "granted", Status.RETURNED, at(0, 11))
    both = m.children_to_start()
    assert sorted(c.procedure_code for c in both) == ["1.004222", "9.000001"]
    assert {c.agency for c in both} == {"000.20.31.H99", "000.00.22.H99"}


def test_a_site_inspection_is_scheduled_within_the_appraisal_and_reminded() -> None:
    m = machine()
    act(m, "accept", INTAKE, at(0, 9, 5))
    m.handoff_acknowledged({"agency": AGENCY}, at(0, 9, 10))
    specialist = officer("specialist", AGENCY)
    appraisal = m.run()
    assert appraisal is not None and appraisal.ledger.due_at is not None

    def refused(data: dict[str, str]) -> str:
        with pytest.raises(Refusal) as exc:
            m.check(Action.SCHEDULE_INSPECTION, ActionInput(actor=specialist, data=data), at(1, 9))
        assert exc.value.code == "invalid"
        return exc.value.message

    assert "ngoài giờ hành chính" in refused({"at": at(2, 12).isoformat()})  # lunch break
    assert "ngoài giờ hành chính" in refused({"at": at(5, 9).isoformat()})  # Saturday
    assert "không phải thời điểm trong tương lai" in refused({"at": at(0, 10).isoformat()})
    assert "ISO 8601" in refused({"at": "next week"})
    with pytest.raises(Refusal) as wrong:
        m.check(
            Action.SCHEDULE_INSPECTION,
            ActionInput(
                actor=officer("specialist", OTHER_AGENCY), data={"at": at(2, 9).isoformat()}
            ),
            at(1, 9),
        )
    assert wrong.value.code == "forbidden"

    act(
        m,
        "schedule_inspection",
        specialist,
        at(1, 9),
        data={"at": "2030-01-09T09:00", "place": "Thửa đất số 12, tờ bản đồ 5"},
    )
    (inspection,) = m.s.inspections
    assert inspection.at == at(2, 9) and inspection.step_id == appraisal.step_id
    assert m.next_wake() is not None and m.next_wake() <= at(2, 9)
    m.drain()
    m.on_time(at(2, 9))
    (reminder,) = [e for e in m.drain() if e.kind == "inspection_due"]
    assert reminder.data["to_agency"] == AGENCY and reminder.data["to_role"] == "specialist"
    m.on_time(at(2, 10))
    assert not [e for e in m.drain() if e.kind == "inspection_due"]  # once


def test_consulted_bodies_silent_for_12_days_are_deemed_to_agree() -> None:
    """Construction Law Art. 102: a works permit (20 days) whose consulted body does not
    answer within 12 days; the permit's procedure goes on without it."""
    m = machine(
        **consultation_procedure(
            {"value": 20, "unit": "calendar_days"}, {"value": 12, "unit": "calendar_days"}
        )
    )
    m.inp.step_agencies[2] = OTHER_AGENCY
    act(m, "accept", INTAKE, at(0, 9, 5))
    act(m, "appraise", officer("specialist", AGENCY), at(1, 10), data={"opinion": "Đạt"})
    consult = m.run()
    assert consult is not None and consult.ledger.due_at == at(13, 10)  # 12 days later
    m.on_time(at(13, 9, 59))
    assert m.step().id == "consult"
    m.on_time(at(13, 10))
    assert m.step().id == "approval"
    assert [e.kind for e in m.drain() if e.kind == "deemed_consent"] == ["deemed_consent"]
