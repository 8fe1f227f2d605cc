"""An officer's action that reaches the workflow in the same workflow task as the
agency's acknowledgement of the handoff (e.g. after a worker restart, or when both
arrive together) must see the acknowledged state, not be refused as "wrong step".

The test makes that happen deterministically: the centre's worker is away while the
agency's worker acknowledges and while the specialist's action is sent, so the next
workflow task carries both."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.calendar import CalendarActivities
from activities.documents import SigningActivities
from activities.handoff import AgencyActivities
from activities.read_model import ReadModelActivities
from domain.catalog import agency_task_queue
from tests.factories import AGENCY, CENTRE, dossier_input, officer, synthetic_calendar
from tests.harness import act, documents_for_tests, in_english, refusal, unique_code
from workflows.dossier import DossierWorkflow
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

QUEUE = "centre-race"


def centre(env: WorkflowEnvironment, engine: Engine, pool: ThreadPoolExecutor) -> Worker:
    docs = documents_for_tests()
    return Worker(
        env.client,
        task_queue=QUEUE,
        workflows=WORKFLOWS,
        activities=[
            ReadModelActivities(engine, docs).record_dossier_events,
            CalendarActivities(None).extend_calendar,
            SigningActivities(docs).seal_result,
        ],
        activity_executor=pool,
        workflow_runner=WORKFLOW_RUNNER,
        max_cached_workflows=0,  # no sticky queue: the next worker takes the task at once
    )


def agency(env: WorkflowEnvironment, engine: Engine, pool: ThreadPoolExecutor) -> Worker:
    return Worker(
        env.client,
        task_queue=agency_task_queue(AGENCY),
        activities=[AgencyActivities(engine, AGENCY).receive_handoff],
        activity_executor=pool,
    )


async def pending_activities(handle) -> list[str]:  # type: ignore[no-untyped-def]
    raw = (await handle.describe()).raw_description
    return [a.activity_type.name for a in raw.pending_activities]


async def test_an_action_arriving_with_the_handoff_acknowledgement_is_taken(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    now = await ts_env.get_current_time()
    inp = dossier_input(unique_code(), now, synthetic_calendar(now.date()))
    with ThreadPoolExecutor(8) as pool:
        async with centre(ts_env, engine, pool):
            handle = await ts_env.client.start_workflow(
                DossierWorkflow.run, inp, id=inp.code, task_queue=QUEUE
            )
            await act(handle, "accept", officer("intake_officer", CENTRE))
            for _ in range(200):  # the handoff waits for the agency's worker
                if "receive_handoff" in await pending_activities(handle):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("no handoff was sent")
        # The centre's worker is away: the agency acknowledges...
        async with agency(ts_env, engine, pool):
            for _ in range(200):
                if "receive_handoff" not in await pending_activities(handle):
                    break
                await asyncio.sleep(0.05)
        # ... and the specialist acts; both wait for the centre's next workflow task.
        appraise = asyncio.create_task(
            act(handle, "appraise", officer("specialist", AGENCY), data={"opinion": "Đạt"})
        )
        await asyncio.sleep(1)
        async with centre(ts_env, engine, pool), agency(ts_env, engine, pool):
            view = await asyncio.wait_for(appraise, timeout=60)
            assert view.current_step is not None and view.current_step.step_id == "approval"
            await handle.terminate("test finished")


async def test_an_action_while_the_handoff_is_still_in_flight_says_so(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    """The agency's worker is down: an action for the step after the handoff waits a
    moment (HANDOFF_LANDING), then is refused as `handoff_in_flight`, not `wrong_step`
    (the API asks again once the handoff has landed); nothing changes meanwhile, and the
    same action is taken once the agency has acknowledged."""
    now = await ts_env.get_current_time()
    inp = dossier_input(unique_code(), now, synthetic_calendar(now.date()))
    specialist = officer("specialist", AGENCY)
    with ThreadPoolExecutor(8) as pool:
        async with centre(ts_env, engine, pool):
            handle = await ts_env.client.start_workflow(
                DossierWorkflow.run, inp, id=inp.code, task_queue=QUEUE
            )
            await act(handle, "accept", officer("intake_officer", CENTRE))
            err = await refusal(handle, "appraise", specialist, data={"opinion": "Đạt"})
            assert err.type == "handoff_in_flight", (err.type, err.message)
            assert inp.code in err.message and "thử lại sau giây lát" in err.message
            assert "try again" in in_english(err)
            view = await handle.query(DossierWorkflow.state)
            assert view.current_step is not None and view.current_step.kind == "handoff"
            async with agency(ts_env, engine, pool):
                for _ in range(200):
                    if "receive_handoff" not in await pending_activities(handle):
                        break
                    await asyncio.sleep(0.05)
                view = await act(handle, "appraise", specialist, data={"opinion": "Đạt"})
            assert view.current_step is not None and view.current_step.step_id == "approval"
            await handle.terminate("test finished")
