"""Replay a dossier's history against today's workflow code: the same runner, data
converter and workflows as the workers, so a replay that passes here is a worker that
would take the dossier over without a non-determinism error. Also the check to run on
every dossier before deploying new workflow code."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from motcua.temporal import DATA_CONVERTER
from workers.centre import INTERCEPTORS, WORKFLOW_RUNNER, WORKFLOWS


class RunReplay(BaseModel):
    run_id: str
    source: str
    events: int
    deterministic: bool
    error: str | None = None


def replayer() -> Replayer:
    return Replayer(
        workflows=WORKFLOWS,
        data_converter=DATA_CONVERTER,
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=INTERCEPTORS,
    )


async def replay_history(history: WorkflowHistory, *, run_id: str, source: str) -> RunReplay:
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    return RunReplay(
        run_id=run_id,
        source=source,
        events=len(history.events),
        deterministic=failure is None,
        error=None if failure is None else f"{type(failure).__name__}: {failure}",
    )
