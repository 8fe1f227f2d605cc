"""What the steps concluded (domain/findings.py) in the live view: the leader approves
with the specialist's opinion and recommendation in view, the signer sees the approval,
a step visited again replaces its earlier conclusion, and the applicant's own data
(the return's receiver) never becomes a finding."""

from __future__ import annotations

from domain.findings import FINDING_KINDS, MAX_TEXT
from tests.factories import APPLICANT
from tests.unit.test_machine import (
    INTAKE,
    LEADER,
    RETURNER,
    SIGNER,
    SPECIALIST,
    Dossier,
    at,
    hours_procedure,
    payment_procedure,
)


def test_the_next_holders_see_what_the_steps_before_them_concluded() -> None:
    d = Dossier(hours_procedure(), submitted=at(0, 8))
    d.act("accept", INTAKE, at(0, 8, 5), comment="Hồ sơ đầy đủ")
    d.ack(at(0, 8, 10))
    opinion = {"opinion": "Đủ điều kiện; đã đối chiếu bản gốc", "recommendation": "grant"}
    d.act("appraise", SPECIALIST, at(0, 9), data=opinion)

    # The leader's desk: the appraisal, by whom and at which step, beside the approval.
    view = d.m.view(at(0, 9, 30))
    assert view.current_step is not None and view.current_step.kind == "approval"
    appraisal = next(f for f in view.findings if f.kind == "appraise")
    assert appraisal.data == opinion
    assert appraisal.step_id == "appraisal" and appraisal.step_name
    assert (appraisal.actor_id, appraisal.role, appraisal.agency) == (
        SPECIALIST.id,
        SPECIALIST.role,
        SPECIALIST.agency,
    )
    assert appraisal.event_id == next(e.id for e in d.events if e.kind == "appraise")
    assert [f.kind for f in view.findings] == ["accept", "appraise"]

    # The signer's desk: what was approved, and the note that goes on the result.
    d.act("approve", LEADER, at(0, 10), comment="Đồng ý cấp")
    view = d.m.view(at(0, 10, 30))
    assert view.current_step is not None and view.current_step.kind == "signature"
    approval = view.findings[-1]
    assert (approval.kind, approval.comment, approval.data["outcome"]) == (
        "approve",
        "Đồng ý cấp",
        "granted",
    )

    d.act("sign", SIGNER, at(0, 11))
    d.act("return", RETURNER, at(0, 13), data={"channel": "counter", "received_by": "Ông B"})
    view = d.m.view(at(0, 14))
    assert [f.kind for f in view.findings] == ["accept", "appraise", "approve", "sign"]
    assert "return" not in FINDING_KINDS  # the receiver's name is personal data


def test_a_step_visited_again_replaces_its_earlier_conclusion() -> None:
    d = Dossier(hours_procedure(), submitted=at(0, 8))
    d.act("accept", INTAKE, at(0, 8, 5))
    d.ack(at(0, 8, 10))
    d.act("request_supplement", SPECIALIST, at(0, 9), data={"missing": ["Bản sao CCCD"]})
    d.act("supplement", INTAKE, at(1, 9))
    d.act("request_supplement", SPECIALIST, at(1, 10), data={"missing": ["Bản vẽ"]})
    asked = [f for f in d.m.view(at(1, 11)).findings if f.kind == "request_supplement"]
    assert [f.data["missing"] for f in asked] == [["Bản vẽ"]]


def test_the_applicants_own_payment_is_not_a_finding() -> None:
    d = Dossier(payment_procedure()).received_and_handed_off(at(0, 10), at(0, 10, 10))
    d.act("appraise", SPECIALIST, at(3, 7, 30))
    d.act("pay", APPLICANT, at(3, 9), data={"receipt_number": "BL-1", "amount_vnd": 200000})
    assert "pay" in d.kinds()
    assert [f.kind for f in d.m.view(at(3, 10)).findings] == ["accept", "appraise"]


def test_an_inspection_and_an_extension_are_findings_with_their_data() -> None:
    d = Dossier().received_and_handed_off(at(0, 10), at(0, 10, 10))
    visit = at(3, 9)
    d.act(
        "schedule_inspection",
        SPECIALIST,
        at(1, 9),
        data={"at": visit.isoformat(), "place": "Thửa 12"},
    )
    reason = "Cần xác minh thêm hiện trạng công trình"
    d.act("request_extension", LEADER, at(22, 9), comment=reason, data={"extra_days": 3})
    found = {f.kind: f for f in d.m.view(at(22, 10)).findings}
    inspection = found["schedule_inspection"].data
    assert (inspection["inspection_at"], inspection["place"]) == (visit.isoformat(), "Thửa 12")
    extension = found["request_extension"]
    assert extension.comment == reason and extension.data["previous_appointment"]
    assert extension.data["new_appointment"] == d.appointment.isoformat()  # type: ignore[union-attr]


def test_a_findings_text_is_capped_but_its_event_keeps_it_all() -> None:
    d = Dossier(hours_procedure(), submitted=at(0, 8))
    d.act("accept", INTAKE, at(0, 8, 5))
    d.ack(at(0, 8, 10))
    long = "Ý kiến rất dài. " * 1000
    d.act("appraise", SPECIALIST, at(0, 9), data={"opinion": long, "recommendation": "grant"})
    (finding,) = [f for f in d.m.view(at(0, 10)).findings if f.kind == "appraise"]
    assert len(finding.data["opinion"]) == MAX_TEXT and finding.data["opinion"].endswith("…")
    assert next(e for e in d.events if e.kind == "appraise").data["opinion"] == long
