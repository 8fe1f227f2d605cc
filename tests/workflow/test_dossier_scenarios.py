"""DossierWorkflow scenarios on the time-skipping test server, with real workers
and a real read model (every test runs on SQLite and on PostgreSQL). Each test
moves the server's clock to a Monday 10:00 (Asia/Ho_Chi_Minh) a few weeks ahead
and gives the dossier a synthetic calendar relative to that Monday, so every
expected date below is worked out by hand from the rules, independent of this
year's holidays.

Anchor week numbering: A = the anchor Monday; A+7 the next Monday, and so on.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.dossier import DossierView, Status
from store import repository
from store.db import session
from store.models import HandoffInboxRow
from tests.factories import (
    AGENCY,
    APPLICANT,
    CENTRE,
    OTHER_AGENCY,
    anchor_monday,
    doc,
    dossier_input,
    local,
    officer,
    synthetic_calendar,
)
from tests.harness import (
    act,
    caught_up,
    documents_for_tests,
    finish,
    in_english,
    refusal,
    running_workers,
    start_dossier,
    state,
    unique_code,
)

INTAKE = officer("intake_officer", CENTRE)
SPECIALIST = officer("specialist", AGENCY)
LEADER = officer("leader", AGENCY)
SIGNER = officer("signer", AGENCY)
RETURNER = officer("return_officer", CENTRE)

# A "Tết" in the second week: Wednesday A+9 to Friday A+11 are days off.
TET = [9, 10, 11]


def pdf_text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


async def go_to(env: WorkflowEnvironment, target: datetime) -> None:
    now = await env.get_current_time()
    assert target > now, "tests only move time forward"
    await env.sleep(target - now)


async def open_dossier(
    env: WorkflowEnvironment, engine: Engine, settings: Any, *, days_off: list[int] = TET
) -> tuple[WorkflowHandle[Any, DossierView], date]:
    anchor = anchor_monday(await env.get_current_time(), weeks_ahead=2)
    await go_to(env, local(anchor, 10))
    inp = dossier_input(unique_code(), local(anchor, 10), synthetic_calendar(anchor, days_off))
    handle = await start_dossier(env.client, settings, inp)
    return handle, anchor


async def received_and_handed_off(handle: WorkflowHandle[Any, DossierView]) -> DossierView:
    await act(handle, "accept", INTAKE)
    return await wait_for_step(handle, "appraisal")


async def wait_for_step(handle: WorkflowHandle[Any, DossierView], step_id: str) -> DossierView:
    for _ in range(200):  # e.g. the agency's worker acknowledging the handoff
        view = await state(handle)
        if view.current_step and view.current_step.step_id == step_id:
            return view
        await _tick()
    raise AssertionError(f"the dossier never reached step {step_id}")


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.05)


async def test_happy_path_walks_every_step_to_the_returned_result(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, a = await open_dossier(ts_env, engine, settings)
        view = await state(handle)
        assert view.status is Status.SUBMITTED and view.status_code == 1
        assert [(x.action.value, x.role.value, x.agency) for x in view.allowed_actions][:3] == [
            ("accept", "intake_officer", CENTRE),
            ("request_supplement", "intake_officer", CENTRE),
            ("refuse", "intake_officer", CENTRE),
        ]

        view = await act(handle, "accept", INTAKE)
        # Received Monday A 10:00: day A not counted; 15 working days skipping
        # weekends and A+9..A+11 end on Thursday A+24 at 17:00.
        assert view.appointment_at == local(a + timedelta(days=24), 17)
        assert view.status is Status.RECEIVED

        view = await wait_for_step(handle, "appraisal")
        assert view.status is Status.IN_PROGRESS
        assert view.holder is not None and view.holder.role.value == "specialist"
        assert view.handoff_acks and view.handoff_acks[0]["agency"] == AGENCY

        await act(handle, "appraise", SPECIALIST, data={"opinion": "Đủ điều kiện cấp phép"})
        await act(handle, "approve", LEADER)
        view = await act(handle, "sign", SIGNER)
        assert view.status is Status.PROCESSED and view.status_code == 9
        view = await act(handle, "return", RETURNER, data={"channel": "counter"})
        assert view.status is Status.RETURNED and view.status_code == 10

        result = await handle.result()
        assert result.outcome == "granted"
        assert all(s.verdict in ("early", "on_time") for s in result.steps), result.steps

        code = handle.id
        kinds = [e.kind for e in repository.list_events(engine, code)]
        assert kinds[:4] == ["submitted", "step_started", "accept", "step_started"]
        for k in ("handoff_acknowledged", "appraise", "approve", "sign", "return"):
            assert k in kinds
        row = repository.get_dossier(engine, code)
        assert row is not None and row.status == "returned" and row.status_code == 10
        assert row.appointment_at == local(a + timedelta(days=24), 17)
        docs = repository.list_documents(engine, code)
        # The receipt at intake, the signed result, the control slip at the end; the uploads.
        assert [d.form for d in docs if d.source == "form"] == ["01", "06"]
        assert [d.form for d in docs if d.source == "result"] == ["result"]
        assert [d.filename for d in docs if d.source == "upload"] == ["don-de-nghi.pdf"]
        with session(engine) as db:  # the agency's worker wrote its own receipt
            inbox = db.exec(
                select(HandoffInboxRow).where(HandoffInboxRow.dossier_code == code)
            ).all()
        assert [(r.agency_code, r.step_id) for r in inbox] == [(AGENCY, "handoff")]


async def test_step_budget_running_out_escalates_to_the_agency_leader(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, a = await open_dossier(ts_env, engine, settings, days_off=[])
        view = await received_and_handed_off(handle)
        appraisal = view.current_step
        assert appraisal is not None and appraisal.due_at is not None
        # Appraisal started Monday A just after 10:00 with 8 working days (3840 office
        # minutes): 330 that Monday, 7 full days A+1..A+4, A+7..A+9, then 150 minutes
        # into Thursday A+10: due at about 10:00 that day.
        assert appraisal.due_at.date() == a + timedelta(days=10)
        assert abs(appraisal.due_at - local(a + timedelta(days=10), 10)) < timedelta(minutes=2)

        await go_to(ts_env, appraisal.due_at + timedelta(minutes=5))
        view = await state(handle)
        assert [e.kind for e in view.escalations] == ["step_budget"]
        esc = view.escalations[0]
        assert (esc.step_id, esc.agency, esc.to_role.value) == ("appraisal", AGENCY, "leader")
        assert view.current_step and view.current_step.escalated

        await caught_up(engine, handle)
        outbox = repository.list_outbox(engine, handle.id)
        assert any(m.recipient == f"leader@{AGENCY}" and "appraisal" in m.body for m in outbox)
        row = repository.get_dossier(engine, handle.id)
        assert row is not None and row.escalated
        await finish(engine, handle)


async def test_late_dossier_apologises_once_then_goes_overdue(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, a = await open_dossier(ts_env, engine, settings)
        await received_and_handed_off(handle)
        appointment = local(a + timedelta(days=24), 17)  # Thursday A+24

        # Early warning at the opening of the last day Form 04 may be sent (Wednesday A+23).
        await go_to(ts_env, local(a + timedelta(days=23), 8))
        view = await state(handle)
        assert "apology_due" in [e.kind for e in view.escalations]
        allowed = [(x.action.value, x.role.value, x.agency) for x in view.allowed_actions]
        assert ("request_extension", "leader", AGENCY) in allowed

        err = await refusal(handle, "request_extension", LEADER, data={"extra_days": 5})
        assert err.type == "invalid" and "cần ghi lý do" in err.message
        assert "reason" in in_english(err)
        err = await refusal(
            handle,
            "request_extension",
            officer("leader", OTHER_AGENCY),
            comment="x",
            data={"extra_days": 5},
        )
        assert err.type == "forbidden"

        view = await act(
            handle,
            "request_extension",
            LEADER,
            comment="Cần xác minh thực địa bổ sung",
            data={"extra_days": 5},
        )
        # Five working days after Thursday A+24: Friday A+25, Mon-Thu A+28..A+31.
        new_appointment = local(a + timedelta(days=31), 17)
        assert view.appointment_at == new_appointment
        assert view.original_appointment_at == appointment
        assert len(view.extensions) == 1

        err = await refusal(
            handle, "request_extension", LEADER, comment="again", data={"extra_days": 2}
        )
        assert err.type == "wrong_step" and "chỉ được hẹn lại một lần" in err.message
        assert "only once" in in_english(err)

        await go_to(ts_env, new_appointment + timedelta(minutes=1))
        view = await state(handle)
        assert view.overdue is not None
        assert (view.overdue.step_id, view.overdue.agency) == ("appraisal", AGENCY)
        assert view.overdue.appointment == new_appointment
        assert "appraisal" in view.overdue.late_steps
        await caught_up(engine, handle)
        assert "04" in [d.form for d in repository.list_documents(engine, handle.id)]
        await finish(engine, handle)


async def test_extension_refused_later_than_one_working_day_before_the_appointment(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, a = await open_dossier(ts_env, engine, settings)
        await received_and_handed_off(handle)
        # The last moment is Wednesday A+23 17:00; Thursday morning is too late.
        await go_to(ts_env, local(a + timedelta(days=24), 9))
        err = await refusal(
            handle, "request_extension", LEADER, comment="late", data={"extra_days": 3}
        )
        assert err.type == "wrong_step"
        assert "một ngày làm việc trước ngày hẹn" in err.message
        assert "one working day before" in in_english(err)
        await finish(engine, handle)


async def test_supplement_at_intake_restarts_the_clock_from_zero(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, a = await open_dossier(ts_env, engine, settings)
        view = await act(
            handle,
            "request_supplement",
            INTAKE,
            data={"missing": ["Bản vẽ thiết kế", "Giấy chứng nhận quyền sử dụng đất"]},
        )
        assert view.status is Status.SUPPLEMENT_REQUESTED and view.status_code == 5
        assert view.appointment_at is None  # the clock has not started
        # 15 working days to supplement, counted like a receipt (A+1..A+4, A+7, A+8,
        # A+14..A+18, A+21..A+24, skipping A+9..A+11): the 15th is Thursday A+24.
        assert view.supplement_due_at == local(a + timedelta(days=24), 17)

        # The complete dossier arrives on Thursday A+3 at 16:00.
        await go_to(ts_env, local(a + timedelta(days=3), 16))
        await act(
            handle, "supplement", APPLICANT, data={"documents": [doc("ban-ve.pdf").model_dump()]}
        )
        view = await act(handle, "accept", INTAKE)
        # Counted from Thursday A+3 (not Monday A): Fri A+4, A+7, A+8, A+14..A+18,
        # A+21..A+25, A+28, A+29 -> 15th working day is Tuesday A+29.
        assert view.received_at is not None
        assert abs(view.received_at - local(a + timedelta(days=3), 16)) < timedelta(seconds=30)
        assert view.appointment_at == local(a + timedelta(days=29), 17)
        assert view.supplement_requests == 1
        await caught_up(engine, handle)
        docs = repository.list_documents(engine, handle.id)
        assert [d.form for d in docs if d.source == "form"] == ["02", "01"]
        await finish(engine, handle)


async def test_supplement_during_appraisal_pauses_the_clock(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, a = await open_dossier(ts_env, engine, settings)
        view = await received_and_handed_off(handle)
        assert view.appointment_at == local(a + timedelta(days=24), 17)

        # Wednesday A+2 10:00: 1 day + 2.5 h of the 15 days used.
        await go_to(ts_env, local(a + timedelta(days=2), 10))
        view = await act(
            handle, "request_supplement", SPECIALIST, data={"missing": ["Bản vẽ mặt bằng"]}
        )
        assert view.clock_paused and view.appointment_at is None
        assert view.clock_consumed_minutes == 480 + 150

        # Nothing is overdue while the applicant is away, however long.
        await go_to(ts_env, local(a + timedelta(days=4), 14))
        err = await refusal(handle, "appraise", SPECIALIST, data={"opinion": "x"})
        assert err.type == "wrong_step" and "chờ người nộp bổ sung" in err.message
        assert "supplement" in in_english(err)
        view = await act(
            handle, "supplement", APPLICANT, data={"documents": [doc("mat-bang.pdf").model_dump()]}
        )
        # Resumed Friday A+4 14:00 with 15x480-630 = 6570 minutes left: 180 that Friday,
        # then 13 full days (A+7, A+8, A+14..A+18, A+21..A+25, A+28) and 150 minutes into
        # Tuesday A+29 -> appointment at its close.
        assert view.appointment_at == local(a + timedelta(days=29), 17)
        assert view.status is Status.IN_PROGRESS
        assert len(view.exclusions) == 1 and view.exclusions[0].reason == "supplement"
        end = view.exclusions[0].end
        assert end is not None and abs(end - local(a + timedelta(days=4), 14)) < timedelta(
            seconds=30
        )
        assert abs(view.time_paused_minutes - ((2 * 24 * 60) + 4 * 60)) <= 1
        await finish(engine, handle)


async def test_refusal_at_intake_closes_the_dossier(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, _ = await open_dossier(ts_env, engine, settings)
        await act(handle, "refuse", INTAKE, comment="Không thuộc thẩm quyền giải quyết")
        result = await handle.result()
        assert result.status is Status.NOT_RECEIVED and result.status_code == 3
        assert result.outcome == "not_received"
        docs = repository.list_documents(engine, handle.id)
        # Never received: the refusal slip, and no control slip (nothing was processed).
        assert [d.form for d in docs if d.source == "form"] == ["03"]


async def test_refusal_after_appraisal_returns_a_refusal_notice(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, _ = await open_dossier(ts_env, engine, settings)
        await received_and_handed_off(handle)
        view = await act(handle, "refuse", SPECIALIST, comment="Công trình vi phạm quy hoạch")
        assert view.outcome == "refused"
        # The refusal decision is the result: the signer signs it before it is returned.
        assert view.current_step is not None and view.current_step.kind.value == "signature"
        view = await act(handle, "sign", SIGNER)
        assert view.status is Status.PROCESSED and view.result is not None
        assert not view.result.granted
        await act(handle, "return", RETURNER)
        result = await handle.result()
        assert result.status is Status.RETURNED and result.outcome == "refused"


async def test_withdrawal_before_the_decision_issues_the_stop_notice(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, _ = await open_dossier(ts_env, engine, settings)
        await received_and_handed_off(handle)
        await act(handle, "withdraw", APPLICANT, comment="Tôi không còn nhu cầu")
        result = await handle.result()
        assert result.status is Status.STOPPED and result.status_code == 8
        assert result.outcome == "withdrawn"
        events = repository.list_events(engine, handle.id)
        assert [e.status_after for e in events if e.kind in ("withdraw", "stopped")] == [
            "withdrawal_requested",
            "stopped",
        ]
        docs = repository.list_documents(engine, handle.id)
        stop = [d for d in docs if d.form == "05"]
        assert len(stop) == 1
        text = pdf_text(documents_for_tests().store.get(stop[0].sha256))
        assert "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ" in text and "Tôi không còn nhu cầu" in text


async def test_withdrawal_after_the_decision_is_refused(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, _ = await open_dossier(ts_env, engine, settings)
        await received_and_handed_off(handle)
        await act(handle, "appraise", SPECIALIST, data={"opinion": "Đạt"})
        await act(handle, "approve", LEADER)
        err = await refusal(handle, "withdraw", APPLICANT, comment="đổi ý")
        assert err.type == "wrong_step" and "đã có quyết định" in err.message
        assert "decision" in in_english(err)
        await finish(engine, handle)


INVALID_ACTIONS: list[tuple[str, Any, dict[str, Any], str, str]] = [
    ("approve", INTAKE, {}, "wrong_step", "at step 'intake'"),
    (
        "accept",
        officer("intake_officer", AGENCY),
        {},
        "forbidden",
        f"intake_officer of {CENTRE}",
    ),
    ("accept", SPECIALIST, {}, "forbidden", "must be taken by intake_officer"),
    ("accept", officer("applicant", None, "someone-else"), {}, "forbidden", "intake_officer"),
    ("refuse", INTAKE, {}, "invalid", "needs a reason"),
    ("request_supplement", INTAKE, {"data": {"missing": []}}, "invalid", "data.missing"),
    (
        "supplement",
        APPLICANT,
        {"data": {"documents": []}},
        "wrong_step",
        "no supplement was requested",
    ),
    (
        "withdraw",
        officer("applicant", None, "someone-else"),
        {"comment": "x"},
        "forbidden",
        "own applicant",
    ),
    (
        "request_extension",
        LEADER,
        {"comment": "x", "data": {"extra_days": 1}},
        "wrong_step",
        "not been received",
    ),
    ("return", RETURNER, {}, "wrong_step", "at step 'intake'"),
]


@pytest.mark.parametrize(
    ("action", "actor", "kwargs", "code", "phrase"),
    INVALID_ACTIONS,
    # e.g. [sqlite-accept-by-specialist-forbidden]
    ids=[f"{action}-by-{actor.role.value}-{code}" for action, actor, _, code, _ in INVALID_ACTIONS],
)
async def test_invalid_actions_are_refused_with_a_reason(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    action: str,
    actor: Any,
    kwargs: dict[str, Any],
    code: str,
    phrase: str,
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, _ = await open_dossier(ts_env, engine, settings)
        err = await refusal(handle, action, actor, **kwargs)
        assert err.type == code, err.message
        assert phrase in in_english(err), err.message
        # A refused action changes nothing.
        view = await state(handle)
        assert view.status is Status.SUBMITTED
        await finish(engine, handle)


async def test_a_dossier_waiting_60_days_for_payment_keeps_an_honest_appointment(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    from tests.factories import procedure, step, steps

    payment_first = steps(
        step("appraisal", "appraisal", "specialist", 5),
        step("pay", "payment", "applicant", 1, pauses_clock=True),
        step("approval", "approval", "leader", 2),
    )
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        anchor = anchor_monday(await ts_env.get_current_time(), weeks_ahead=2)
        await go_to(ts_env, local(anchor, 10))
        inp = dossier_input(
            unique_code(),
            local(anchor, 10),
            synthetic_calendar(anchor, []),
            proc=procedure(steps=payment_first),
        )
        handle = await start_dossier(ts_env.client, settings, inp)
        a = anchor
        view = await act(handle, "accept", INTAKE)
        assert view.appointment_at == local(a + timedelta(days=21), 17)  # 15 working days
        await go_to(ts_env, local(a + timedelta(days=1), 10))
        view = await act(handle, "appraise", SPECIALIST, data={"opinion": "Đủ điều kiện"})
        # The tax notice is out: the clock stops at Tuesday A+1 10:00 with 150 minutes used.
        assert view.status is Status.FINANCIAL_OBLIGATION and view.clock_paused
        assert view.clock_consumed_minutes == 150

        # Sixty-two days pass; nothing is overdue while the applicant owes.
        await go_to(ts_env, local(a + timedelta(days=63), 10))
        view = await state(handle)
        assert view.overdue is None and not [e for e in view.escalations if e.kind == "overdue"]
        view = await act(handle, "pay", APPLICANT, data={"receipt_number": "BL-2030-0001"})
        # Resumed Monday A+63 10:00 with 7050 minutes left: 330 that day, then 14 working
        # days (A+64..A+67, A+70..A+74, A+77..A+81): Friday A+81 at the close of office.
        assert view.appointment_at == local(a + timedelta(days=81), 17)
        assert view.current_step is not None and view.current_step.step_id == "approval"
        assert [x.reason for x in view.exclusions] == ["financial_obligation"]
        await finish(engine, handle)
