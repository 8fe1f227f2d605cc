"""The signed result in the machine (domain.machine), without Temporal: which action
issues it, the step held while signing, a failure giving the step back, the refusal
decision signed as the result, and who received it and how at the return."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from domain.dossier import Action, ActionInput, Actor, ResultDocument, Status
from domain.machine import DossierMachine, Refusal
from tests.factories import (
    AGENCY,
    CENTRE,
    dossier_input,
    local,
    officer,
    procedure,
    step,
    steps,
    synthetic_calendar,
)

A = date(2030, 1, 7)  # a Monday
CAL = synthetic_calendar(A, [])
INTAKE = officer("intake_officer", CENTRE)
SPECIALIST = officer("specialist", AGENCY)
LEADER = officer("leader", AGENCY)
SIGNER = officer("signer", AGENCY)
RETURNER = officer("return_officer", CENTRE)


def at(n: int, hh: int, mm: int = 0) -> datetime:
    return local(A + timedelta(days=n), hh, mm)


def machine(**kw: object) -> DossierMachine:
    m = DossierMachine(dossier_input("000.00.01.H99-300107-0001", at(0, 9), CAL, procedure(**kw)))
    m.signs_results = True
    m.start(at(0, 9))
    return m


def cmd(actor: Actor, comment: str = "", **data: object) -> ActionInput:
    return ActionInput(actor=actor, comment=comment, data=dict(data))


def document(granted: bool = True) -> ResultDocument:
    return ResultDocument(
        document_id="D:result",
        title="GIẤY PHÉP XÂY DỰNG",
        filename="d.pdf",
        sha256="a" * 64,
        size=10,
        number="D/GPXD",
        granted=granted,
        signer_id=SIGNER.id,
        signer_name="Ký",
        signing_agency=AGENCY,
        sealed_by=AGENCY,
        signatures=["ChuKyNguoiKy", "DauCoQuan"],
        issued_at=at(1, 10),
    )


def to_signature(m: DossierMachine) -> None:
    m.apply(Action.ACCEPT, cmd(INTAKE), at(0, 10))
    m.handoff_acknowledged({"agency": AGENCY}, at(0, 10, 5))
    m.apply(Action.APPRAISE, cmd(SPECIALIST, opinion="Đạt"), at(0, 14))
    m.apply(Action.APPROVE, cmd(LEADER, "Đồng ý"), at(0, 15))


def test_the_signature_step_issues_the_result_and_holds_the_step_meanwhile() -> None:
    m = machine()
    to_signature(m)
    assert not m.issues_result(Action.APPROVE) and m.issues_result(Action.SIGN)
    request = m.begin_issuing(Action.SIGN, cmd(SIGNER), at(1, 9))
    assert request.granted and request.signing_agency == AGENCY and request.seal_agency == AGENCY
    assert request.decision_text == "Đồng ý"
    # The factory's procedure names no result: a decision named after the procedure.
    title = "QUYẾT ĐỊNH giải quyết thủ tục cấp giấy phép xây dựng nhà ở riêng lẻ (test)"
    assert request.kind_title == title
    # Nobody acts on the step while it is signed; a second signature is refused, with why.
    assert all(a.action is not Action.SIGN for a in m.allowed_actions(at(1, 9, 1)))
    with pytest.raises(Refusal, match="đang được ký") as refused:
        m.check(Action.SIGN, cmd(SIGNER), at(1, 9, 1))
    assert refused.value.code == "wrong_step"
    m.finish_issuing(Action.SIGN, cmd(SIGNER), document(), at(1, 9, 2))
    kinds = [e.kind for e in m.drain()]
    assert kinds[-4:] == ["signing_started", "result_issued", "sign", "step_started"]
    assert m.s.result is not None and m.s.status is Status.PROCESSED
    assert m.view(at(1, 9, 3)).result == document()


def test_a_failed_signature_gives_the_step_back_to_the_signer() -> None:
    m = machine()
    to_signature(m)
    m.begin_issuing(Action.SIGN, cmd(SIGNER), at(1, 9))
    m.issuing_failed("the token is not plugged in", at(1, 9, 5))
    events = m.drain()
    assert events[-1].kind == "signing_failed" and events[-1].actor_id == SIGNER.id
    assert events[-1].comment == "the token is not plugged in"
    assert m.s.issuing is None and m.s.signing_failures == 1
    m.check(Action.SIGN, cmd(SIGNER), at(1, 10))  # may sign again


def test_a_withdrawal_while_signing_means_the_result_is_not_issued() -> None:
    p = procedure(
        steps=steps(
            step("appraisal", "appraisal", "specialist", 8),
            step("approval", "approval", "leader", 2),
        )
    )
    m = DossierMachine(dossier_input("000.00.01.H99-300107-0002", at(0, 9), CAL, p))
    m.signs_results = True
    m.start(at(0, 9))
    m.apply(Action.ACCEPT, cmd(INTAKE), at(0, 10))
    m.apply(Action.APPRAISE, cmd(SPECIALIST, opinion="Đạt"), at(0, 14))
    assert m.issues_result(Action.APPROVE) and m.issues_result(Action.REJECT)
    m.begin_issuing(Action.APPROVE, cmd(LEADER, "Đồng ý"), at(1, 9))
    applicant = Actor(id="citizen-001", name="Nguyễn Văn An", role="applicant")
    m.apply(Action.WITHDRAW, cmd(applicant, "Không cần nữa"), at(1, 9, 1))
    with pytest.raises(Refusal) as refused:
        m.finish_issuing(Action.APPROVE, cmd(LEADER, "Đồng ý"), document(), at(1, 9, 2))
    assert refused.value.code == "closed" and m.s.result is None


def test_a_refusal_decision_goes_to_the_signer_and_is_the_result() -> None:
    m = machine()
    m.apply(Action.ACCEPT, cmd(INTAKE), at(0, 10))
    m.handoff_acknowledged({"agency": AGENCY}, at(0, 10, 5))
    m.apply(Action.APPRAISE, cmd(SPECIALIST, opinion="Không đạt"), at(0, 14))
    m.apply(Action.REJECT, cmd(LEADER, "Vi phạm chỉ giới"), at(0, 15))
    assert m.step().kind.value == "signature"
    request = m.begin_issuing(Action.SIGN, cmd(SIGNER), at(1, 9))
    assert not request.granted and request.reasons == "Vi phạm chỉ giới"
    assert request.kind_title.startswith("QUYẾT ĐỊNH về việc từ chối")
    # Without the patch (histories from before it), a refusal goes straight to return.
    old = machine()
    old.signs_results = False
    old.apply(Action.ACCEPT, cmd(INTAKE), at(0, 10))
    old.handoff_acknowledged({"agency": AGENCY}, at(0, 10, 5))
    old.apply(Action.APPRAISE, cmd(SPECIALIST, opinion="Không đạt"), at(0, 14))
    old.apply(Action.REJECT, cmd(LEADER, "Vi phạm chỉ giới"), at(0, 15))
    assert old.step().kind.value == "return"


def returned(**data: object) -> tuple[DossierMachine, dict[str, object]]:
    m = machine()
    to_signature(m)
    m.begin_issuing(Action.SIGN, cmd(SIGNER), at(1, 9))
    m.finish_issuing(Action.SIGN, cmd(SIGNER), document(), at(1, 9, 2))
    m.apply(Action.RETURN, cmd(RETURNER, **data), at(1, 10))
    return m, m.drain()[-1].data


def test_the_return_records_who_received_the_result_and_how() -> None:
    _, data = returned(channel="counter")
    assert data == {
        "channel": "counter",
        "received_by": "Nguyễn Văn An",
        "document": "D:result",
        "sha256": "a" * 64,
    }
    _, data = returned(channel="counter", received_by="Trần Văn Bình", authorization="GUQ 12/2030")
    assert data["received_by"] == "Trần Văn Bình" and data["authorization"] == "GUQ 12/2030"
    _, data = returned(channel="post", tracking_number="EMS123456789VN")
    assert data["address"] == "Hạ Long, Quảng Ninh" and data["tracking_number"] == "EMS123456789VN"
    _, data = returned(channel="online")
    assert data["received_by"] == "citizen-001"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"channel": "counter", "received_by": "Người lạ"}, "authorization"),
        ({"channel": "post"}, "tracking_number"),
        ({"channel": "fax"}, "data.channel"),
        ({"channel": "counter", "received_by": 5}, "data.received_by"),
    ],
)
def test_a_return_without_its_details_is_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(Refusal, match=message) as refused:
        returned(**data)
    assert refused.value.code == "invalid"


def test_online_return_needs_the_signed_result() -> None:
    m = machine()
    to_signature(m)
    m.signs_results = False  # signed before the patch: no electronic result
    m.apply(Action.SIGN, cmd(SIGNER), at(1, 9))
    m.signs_results = True
    with pytest.raises(Refusal, match="Trả kết quả trực tuyến"):
        m.check(Action.RETURN, cmd(RETURNER, channel="online"), at(1, 10))
