"""A long-lived dossier continues as new when its history grows, carrying its
whole state: the clock, the step, the supplements and the event numbering.
Runs on the real dev server with a low continue-as-new threshold (the
time-skipping server cannot suggest continue-as-new)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.dossier import ActionInput, DossierView
from motcua.devserver import temporal_cli_path
from store import repository
from tests.conftest import SERVER_STARTUP
from tests.factories import (
    AGENCY,
    APPLICANT,
    CENTRE,
    doc,
    dossier_input,
    officer,
    synthetic_calendar,
)
from tests.harness import act, caught_up, running_workers, start_dossier, state, unique_code
from tests.payload_keys import DATA_CONVERTER
from tests.workflow.test_dossier_scenarios import wait_for_step
from workflows.dossier import (
    AGENCY_CODE,
    DOSSIER_STATUS,
    ESCALATED,
    PROCEDURE_CODE,
    STATUTORY_DEADLINE,
    DossierWorkflow,
)

pytestmark = pytest.mark.devserver


@asynccontextmanager
async def dev_server_suggesting_continue_as_new(after: int) -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server, suggesting continue-as-new once a history has `after` events."""
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=str(temporal_cli_path()),
        dev_server_startup_timeout=SERVER_STARTUP,
        search_attributes=[
            DOSSIER_STATUS,
            PROCEDURE_CODE,
            AGENCY_CODE,
            STATUTORY_DEADLINE,
            ESCALATED,
        ],
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={after}",
            "--dynamic-config-value",
            "system.forceSearchAttributesCacheRefreshOnRead=true",
        ],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def can_env() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server_suggesting_continue_as_new(60) as env:
        yield env


@pytest.fixture
async def can_env_tight() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server_suggesting_continue_as_new(30) as env:
        yield env


async def test_dossier_continues_as_new_and_keeps_its_state(
    can_env: WorkflowEnvironment, engine: Engine
) -> None:
    intake, specialist = officer("intake_officer", CENTRE), officer("specialist", AGENCY)
    now = datetime.now(UTC)
    async with running_workers(can_env.client, engine, [AGENCY]) as settings:
        inp = dossier_input(unique_code(), now, synthetic_calendar(now.date()))
        started = await start_dossier(can_env.client, settings, inp)
        first_run = started.result_run_id
        # Address the dossier by id only, as the API does: after continue-as-new the
        # latest run answers.
        handle = can_env.client.get_workflow_handle_for(DossierWorkflow.run, inp.code)
        view = await act(handle, "accept", intake)
        appointment = view.appointment_at
        view = await wait_for_step(handle, "appraisal")
        # Supplement loops during appraisal grow the history past the threshold. The first
        # request is sent as the API sends a request under an Idempotency-Key: its update
        # id, and the same as the action's request_id.
        first_request = ActionInput(
            actor=specialist, data={"missing": ["giấy tờ 0"]}, request_id="act-k-0"
        )
        for i in range(12):
            if i == 0:
                await handle.execute_update(
                    "request_supplement", first_request, id="act-k-0", result_type=DossierView
                )
            else:
                await act(
                    handle, "request_supplement", specialist, data={"missing": [f"giấy tờ {i}"]}
                )
            await act(
                handle,
                "supplement",
                APPLICANT,
                data={"documents": [doc(f"bo-sung-{i}.pdf").model_dump()]},
            )
        for _ in range(100):  # the switch happens on the workflow's next loop turn
            described = await handle.describe()
            if described.run_id != first_run:
                break
            await asyncio.sleep(0.05)
        assert described.run_id != first_run, (
            f"never continued as new: {described.history_length} events"
        )
        assert described.status is WorkflowExecutionStatus.RUNNING

        view = await state(handle)
        assert view.supplement_requests == 12

        # The first request, sent again (its answer was lost): the new run does not know
        # the update id, but the carried state knows the request was taken.
        again = await handle.start_update(
            "request_supplement",
            first_request,
            id="act-k-0",
            wait_for_stage=WorkflowUpdateStage.COMPLETED,
            result_type=DossierView,
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await again.result()
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == "already_taken"
        assert (await state(handle)).supplement_requests == 12
        assert view.received_at is not None and view.appointment_at is not None
        assert view.appointment_at >= appointment  # pauses only ever push it later
        assert view.current_step is not None and view.current_step.kind.value == "appraisal"

        # The event numbering carries on without gaps or repeats across runs.
        await caught_up(engine, handle)
        seqs = [e.seq for e in repository.list_events(engine, handle.id)]
        assert seqs == list(range(1, view.event_seq + 1))

        await act(handle, "withdraw", APPLICANT, comment="kết thúc thử nghiệm")
        result = await handle.result()
        assert result.status.value == "stopped"


async def test_a_group_continues_as_new_with_its_child_still_running(
    can_env_tight: WorkflowEnvironment, engine: Engine
) -> None:
    from tests.factories import OTHER_AGENCY
    from tests.workflow.test_linked_groups import group_input, resolve_child, until

    env = can_env_tight
    now = datetime.now(UTC)
    async with running_workers(env.client, engine, [AGENCY, OTHER_AGENCY]) as settings:
        inp = group_input(unique_code(), now, synthetic_calendar(now.date()))
        started = await start_dossier(env.client, settings, inp)
        group = env.client.get_workflow_handle_for(DossierWorkflow.run, inp.code)
        await act(group, "accept", officer("intake_officer", CENTRE))
        view = await until(
            group,
            lambda v: v.children and v.children[0].acknowledged_at,
            "first child acknowledged",
        )
        # Its history is past the bound while the first child is still at its agency.
        for _ in range(100):
            if (await group.describe()).run_id != started.result_run_id:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the group never continued as new")
        view = await state(group)
        assert view.children[0].finished_at is None and view.current_step is not None
        assert view.current_step.kind.value == "linked" and view.current_step.due_at is not None

        # The child reports to the group by id: the new run hears it and moves on.
        await resolve_child(env, view.children[0].code, AGENCY)
        view = await until(group, lambda v: v.children[1].acknowledged_at, "second child")
        await resolve_child(env, view.children[1].code, OTHER_AGENCY)
        view = await until(group, lambda v: v.status.value == "processed", "group processed")
        await act(group, "return", officer("return_officer", CENTRE))
        assert (await group.result()).outcome == "granted"
