"""A PAKN item (phản ánh, kiến nghị) on the time-skipping test server, recorded in a real
SQLite read model by the real activity: filed and routed; left unanswered past its 15
working days, it is escalated to the agency's leader once (an event, a message); an
officer of another agency cannot answer it, nor can an intake officer of the right one;
a specialist of the routed agency answers it late, and the answer is published and sent
to the filer on each of their channels. An item answered in time is never escalated."""

from __future__ import annotations

import asyncio
import concurrent.futures
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.feedback import FeedbackActivities
from domain.calendar_source import build_calendar
from domain.catalog import Role
from domain.dossier import Actor
from domain.feedback import (
    AnswerInput,
    FeedbackInput,
    FeedbackKind,
    FeedbackStatus,
    Filer,
    answer_days,
)
from store.models import OutboxRow
from store.repository.feedback import feedback_events, get_feedback
from tests.histories import keep
from tests.payload_keys import DATA_CONVERTER
from workflows.feedback import FeedbackWorkflow
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

QUEUE = "feedback"
AGENCY = "000.00.20.H99"
FILER = Filer(name="Nguyễn Văn An", id_number="001090000123", phone="0912345678", email="an@x.vn")


def specialist(agency: str = AGENCY) -> Actor:
    return Actor(id="cv1", name="Trần Thị Bình", role=Role.SPECIALIST, agency=agency)


async def _item(env: WorkflowEnvironment, code: str) -> FeedbackInput:
    now = await env.get_current_time()
    return FeedbackInput(
        code=code,
        kind=FeedbackKind.COMPLAINT,
        text="Hồ sơ của tôi chậm, không ai trả lời điện thoại",
        dossier_code="H99.01-261207-0001",
        agency=AGENCY,
        filer=FILER,
        filed_at=now,
        calendar=build_calendar(now.year - 1, now.year + 2),
        answer_time=answer_days(15),
    )


def _outbox(engine: Engine, event_id: str) -> list[OutboxRow]:
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxRow).where(OutboxRow.event_id == event_id)).all()
    return [OutboxRow.model_validate(dict(r._mapping)) for r in rows]


async def _refused(handle: object, actor: Actor) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(  # type: ignore[attr-defined]
            FeedbackWorkflow.answer_item, AnswerInput(actor=actor, text="Đã xem xét")
        )
    assert isinstance(failed.value.cause, ApplicationError)
    return failed.value.cause


async def test_a_late_complaint_is_escalated_then_answered_published_and_sent(
    ts_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    activities = FeedbackActivities(sqlite_engine)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        async with Worker(
            ts_env.client,
            task_queue=QUEUE,
            workflows=WORKFLOWS,
            activities=[activities.record_feedback],
            activity_executor=pool,
            workflow_runner=WORKFLOW_RUNNER,
        ):
            inp = await _item(ts_env, "PAKN-LATE000001")
            handle = await ts_env.client.start_workflow(
                FeedbackWorkflow.run, inp, id=inp.code, task_queue=QUEUE
            )
            filed = await handle.query(FeedbackWorkflow.state)
            # 15 working days, counted from the next working day: three weeks at least.
            assert filed.due_at - inp.filed_at >= timedelta(days=21)
            assert filed.escalated_at is None

            # Three calendar weeks and some: past the deadline whatever day this runs.
            await ts_env.sleep(filed.due_at - inp.filed_at + timedelta(hours=1))
            for _ in range(100):
                late = await handle.query(FeedbackWorkflow.state)
                if late.escalated_at is not None:
                    break
                await asyncio.sleep(0.05)
            assert late.escalated_at is not None and late.escalated_at >= filed.due_at
            assert late.status is FeedbackStatus.OPEN

            # Only a specialist or leader of the routed agency answers it.
            assert (await _refused(handle, specialist("000.00.99.H99"))).type == "forbidden"
            clerk = Actor(id="tn1", name="Lê Văn C", role=Role.INTAKE_OFFICER, agency=AGENCY)
            assert (await _refused(handle, clerk)).type == "forbidden"

            answered = await handle.execute_update(
                FeedbackWorkflow.answer_item,
                AnswerInput(actor=specialist(), text="Hồ sơ đã được giải quyết, xin lỗi ông."),
            )
            assert answered.status is FeedbackStatus.ANSWERED and answered.late
            assert (await handle.result()).answered_by == "cv1"
            history = await handle.fetch_history()
    keep(history, "feedback_escalated_answered")  # the golden one, when recording
    # Its history replays with today's code (the waits, the escalation, the refused
    # answers that left no trace, the late answer): the workflow is deterministic.
    await Replayer(
        workflows=WORKFLOWS, data_converter=DATA_CONVERTER, workflow_runner=WORKFLOW_RUNNER
    ).replay_workflow(history)

    row = get_feedback(sqlite_engine, inp.code)
    assert row is not None and row.status == "answered"
    assert row.answer == "Hồ sơ đã được giải quyết, xin lỗi ông."
    assert row.published_at is not None and row.escalated_at is not None
    assert row.answered_by_name == "Trần Thị Bình"
    assert [e.kind for e in feedback_events(sqlite_engine, inp.code)] == [
        "filed",
        "escalated",
        "answered",
    ]
    leader = _outbox(sqlite_engine, f"{inp.code}:escalated")
    assert [(m.recipient, m.recipient_role) for m in leader] == [(f"leader@{AGENCY}", "leader")]
    told = _outbox(sqlite_engine, f"{inp.code}:answered")
    assert sorted(m.recipient for m in told) == [
        "email:an@x.vn",
        "portal:001090000123",
        "sms:0912345678",
    ]
    assert all("xin lỗi ông" in m.body for m in told)


async def test_an_item_answered_in_time_is_never_escalated(
    ts_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    activities = FeedbackActivities(sqlite_engine)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        async with Worker(
            ts_env.client,
            task_queue=QUEUE,
            workflows=WORKFLOWS,
            activities=[activities.record_feedback],
            activity_executor=pool,
            workflow_runner=WORKFLOW_RUNNER,
        ):
            inp = await _item(ts_env, "PAKN-INTIME0001")
            handle = await ts_env.client.start_workflow(
                FeedbackWorkflow.run, inp, id=inp.code, task_queue=QUEUE
            )
            await ts_env.sleep(timedelta(days=3))
            view = await handle.execute_update(
                FeedbackWorkflow.answer_item, AnswerInput(actor=specialist(), text="Đã xử lý")
            )
            assert not view.late and view.escalated_at is None
            # Time passes beyond the deadline: nothing more happens to an answered item.
            await handle.result()
    assert [e.kind for e in feedback_events(sqlite_engine, inp.code)] == ["filed", "answered"]
    assert _outbox(sqlite_engine, f"{inp.code}:escalated") == []
