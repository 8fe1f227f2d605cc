"""Personal-data requests on the time-skipping server, with the real activities over a
SQLite read model and a folder document store: an access request is answered with its
export at once; a correction nobody decides is escalated once its 2 working days have
run out (and not before), and is still answered, late, when a leader decides."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.contracts import DataRequestDecision, DataRequestInput
from activities.data_requests import DataRequestActivities
from infra.docstore import FolderStore
from infra.settings import Settings
from store import repository
from store.models import DossierRow
from tests.histories import keep
from workflows.data_request import DataRequestWorkflow
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

QUEUE = "data-requests"


@pytest.fixture
async def worker(
    ts_env: WorkflowEnvironment, sqlite_engine: Engine, tmp_path: Path
) -> AsyncIterator[FolderStore]:
    store = FolderStore(tmp_path / "docs")
    acts = DataRequestActivities(sqlite_engine, store, Settings().calendar_overrides, 2)
    with ThreadPoolExecutor(4) as executor:
        async with Worker(
            ts_env.client,
            task_queue=QUEUE,
            workflows=WORKFLOWS,
            activities=[
                acts.open_data_request,
                acts.export_personal_data,
                acts.escalate_data_request,
                acts.decide_data_request,
            ],
            activity_executor=executor,
            workflow_runner=WORKFLOW_RUNNER,
        ):
            yield store


def a_dossier(engine: Engine, account: str) -> str:
    now = datetime.now(UTC)
    code = "000.00.20.H99-261201-0042"
    with Session(engine) as s:
        s.add(
            DossierRow(
                code=code,
                procedure_code="3.000333",
                procedure_version=1,
                procedure_name="Cấp Phiếu lý lịch tư pháp số 1",
                status="processing",
                status_code=2,
                channel="online",
                centre_agency="000.00.20.H99",
                competent_agency="000.00.23.H99",
                submitted_at=now,
                updated_at=now,
                applicant_name="Trần Thị Bình",
                applicant_id_number="001099012345",
                applicant_account=account,
            )
        )
        s.commit()
    return code


async def start(env: WorkflowEnvironment, inp: DataRequestInput) -> WorkflowHandle:  # type: ignore[type-arg]
    return await env.client.start_workflow(
        DataRequestWorkflow.run, inp, id=inp.request_id, task_queue=QUEUE
    )


async def test_an_access_request_is_answered_with_its_export(
    ts_env: WorkflowEnvironment, worker: FolderStore, sqlite_engine: Engine
) -> None:
    code = a_dossier(sqlite_engine, "citizen-binh")
    handle = await start(
        ts_env, DataRequestInput(request_id="pdr-access", account="citizen-binh", kind="access")
    )
    state = await handle.result()
    assert state.status == "answered" and not state.escalated
    row = repository.get_data_request(sqlite_engine, "pdr-access")
    assert row is not None and row.status == "answered" and row.escalated_at is None
    assert row.answered_at is not None and row.answered_at <= row.due_at
    assert row.export_key is not None
    export = json.loads(worker.get(row.export_key))
    [dossier] = export["dossiers"]
    assert dossier["code"] == code
    assert dossier["applicant"] == {"name": "Trần Thị Bình", "id_number": "001099012345"}


async def test_a_correction_nobody_decides_is_escalated_when_its_time_runs_out(
    ts_env: WorkflowEnvironment, worker: FolderStore, sqlite_engine: Engine
) -> None:
    code = a_dossier(sqlite_engine, "citizen-binh")
    handle = await start(
        ts_env,
        DataRequestInput(
            request_id="pdr-correct",
            account="citizen-binh",
            kind="correct",
            corrections={"name": "Trần Thị Bình An", "phone": "0987654321"},
        ),
    )
    # Opened: due at the close of a working day at least two working days away.
    for _ in range(100):
        if (row := repository.get_data_request(sqlite_engine, "pdr-correct")) is not None:
            break
        await ts_env.sleep(timedelta(seconds=1))
    assert row is not None
    assert row.due_at - row.received_at >= timedelta(days=2)
    assert (await handle.query(DataRequestWorkflow.state)).escalated is False
    assert row.escalated_at is None

    # Three weeks later (longer than any holiday run): escalated, at or after its time.
    await ts_env.sleep(timedelta(days=21))
    state = await handle.query(DataRequestWorkflow.state)
    assert state.escalated is True and state.status == "received"
    row = repository.get_data_request(sqlite_engine, "pdr-correct")
    assert row is not None and row.escalated_at is not None and row.escalated_at >= row.due_at

    # A leader decides, late: carried out, the record annotated, the name not changed.
    decided = await handle.execute_update(
        DataRequestWorkflow.decide, DataRequestDecision(apply=True, by="leader-1")
    )
    assert decided.status == "answered" and decided.escalated is True
    assert (await handle.result()).status == "answered"
    keep(await handle.fetch_history(), "data_request_escalated_decided")  # when recording
    held = repository.held_about(sqlite_engine, "citizen-binh")
    [note] = held["notes"]
    assert note.dossier_code == code and note.kind == "correction"
    assert note.data["changes"]["name"] == {"held": "Trần Thị Bình", "asked": "Trần Thị Bình An"}
    assert held["dossiers"][0].applicant_name == "Trần Thị Bình"  # annotated, never rewritten
