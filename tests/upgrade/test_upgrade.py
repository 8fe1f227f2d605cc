"""A code upgrade in the middle of a dossier's life: the dossier is received and
handed off under the current release, the workers are replaced by the next release
(a change shipped behind `workflow.patched`), and the dossier goes on to its
result. The dossier keeps the old path at the patched point (Temporal decides a
patch once per execution), a new dossier takes the new one, and the same change
shipped without the patch cannot replay the running dossier's history."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.calendar import CalendarActivities
from activities.documents import SigningActivities
from activities.handoff import AgencyActivities
from activities.read_model import ReadModelActivities
from domain.catalog import agency_task_queue
from tests.factories import AGENCY, CENTRE, dossier_input, officer, synthetic_calendar
from tests.harness import act, documents_for_tests, unique_code
from tests.payload_keys import DATA_CONVERTER
from tests.upgrade.dossier_v2 import (
    RELEASE_PATCH,
    DossierWorkflowV2,
    DossierWorkflowV2Unpatched,
)
from tests.workflow.test_dossier_scenarios import wait_for_step
from workflows.dossier import DossierWorkflow
from workflows.registry import WORKFLOW_RUNNER


def release_markers(history: WorkflowHistory) -> list[HistoryEvent]:
    """The patch markers of the simulated release (not those of earlier patches)."""
    return [
        e
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and RELEASE_PATCH.encode() in e.SerializeToString()
    ]


def release_workers(
    env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    pool: ThreadPoolExecutor,
    release: type = DossierWorkflowV2,
) -> list[Worker]:
    docs = documents_for_tests()
    read_model, calendar = ReadModelActivities(engine, docs), CalendarActivities(None)
    signing = SigningActivities(docs)
    return [
        # No sticky cache: the next release's worker picks the dossier up at once (the
        # time-skipping server would never time out a sticky queue of a stopped worker).
        Worker(
            env.client,
            task_queue=task_queue,
            workflows=[release],
            activities=[
                read_model.record_dossier_events,
                calendar.extend_calendar,
                signing.seal_result,
            ],
            activity_executor=pool,
            workflow_runner=WORKFLOW_RUNNER,
            max_cached_workflows=0,
        ),
        Worker(
            env.client,
            task_queue=agency_task_queue(AGENCY),
            activities=[AgencyActivities(engine, AGENCY).receive_handoff, signing.sign_result],
            activity_executor=pool,
        ),
    ]


async def test_a_dossier_survives_an_upgrade_in_the_middle_of_its_life(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    now = await ts_env.get_current_time()
    inp = dossier_input(unique_code(), now, synthetic_calendar(now.date()))
    # Release 1 (today's DossierWorkflow): received and handed off.
    queue = "centre-upgrade"
    with ThreadPoolExecutor(8) as pool:
        workers = release_workers(ts_env, engine, queue, pool, DossierWorkflow)
        async with workers[0], workers[1]:
            handle = await ts_env.client.start_workflow(
                DossierWorkflow.run, inp, id=inp.code, task_queue=queue
            )
            await act(handle, "accept", officer("intake_officer", CENTRE))
            before = await wait_for_step(handle, "appraisal")
    old_history = await handle.fetch_history()

    # The unpatched change would break this running dossier: replay proves it.
    unpatched = Replayer(
        workflows=[DossierWorkflowV2Unpatched],
        data_converter=DATA_CONVERTER,
        workflow_runner=WORKFLOW_RUNNER,
    )
    result = await unpatched.replay_workflow(old_history, raise_on_replay_failure=False)
    assert result.replay_failure is not None
    patched = Replayer(
        workflows=[DossierWorkflowV2],
        data_converter=DATA_CONVERTER,
        workflow_runner=WORKFLOW_RUNNER,
    )
    await patched.replay_workflow(old_history)  # raises if the patched release diverged

    # Release 2 takes over the same task queue and finishes the dossier.
    with ThreadPoolExecutor(8) as pool:
        workers = release_workers(ts_env, engine, queue, pool)
        async with workers[0], workers[1]:
            await act(handle, "appraise", officer("specialist", AGENCY), data={"opinion": "Đạt"})
            await act(handle, "approve", officer("leader", AGENCY))
            await act(handle, "sign", officer("signer", AGENCY))
            view = await act(handle, "return", officer("return_officer", CENTRE))
            result_view = await handle.result()
    assert view.appointment_at == before.appointment_at  # the clock did not notice the upgrade
    assert result_view.status.value == "returned"
    # A dossier that met the patched point under release 1 keeps release 1's path there
    # for the rest of its life (Temporal decides a patch once per execution): no marker.
    history = await handle.fetch_history()
    assert not release_markers(history)
    await patched.replay_workflow(history)


async def test_a_dossier_started_under_release_2_takes_the_new_path(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    now = await ts_env.get_current_time()
    inp = dossier_input(unique_code(), now, synthetic_calendar(now.date()))
    with ThreadPoolExecutor(8) as pool:
        workers = release_workers(ts_env, engine, "centre-v2", pool)
        async with workers[0], workers[1]:
            handle = await ts_env.client.start_workflow(
                DossierWorkflowV2.run, inp, id=inp.code, task_queue="centre-v2"
            )
            await act(handle, "accept", officer("intake_officer", CENTRE))
            await wait_for_step(handle, "appraisal")
            await handle.terminate("test finished")
    history = await handle.fetch_history()
    assert len(release_markers(history)) == 1
    assert [e for e in history.events if e.HasField("timer_started_event_attributes")]
