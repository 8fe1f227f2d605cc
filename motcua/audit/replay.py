"""Replay a dossier's history against today's workflow code: the same runner, data
converter (with the deployment's payload codec) and workflows as the workers, so a
replay that passes here is a worker that would take the dossier over without a
non-determinism error. Also the check to run on every dossier before deploying new
workflow code."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from motcua.codec import (
    PayloadDecryptionError,
    PayloadKeyError,
    decoded_history,
    is_encrypted,
    payloads_in,
)
from workers.centre import INTERCEPTORS, WORKFLOW_RUNNER, WORKFLOWS


class RunReplay(BaseModel):
    run_id: str
    source: str
    events: int
    deterministic: bool
    error: str | None = None


def replayer(converter: DataConverter) -> Replayer:
    """`converter`: the workers' (motcua.temporal.data_converter), whose codec decrypts
    the history's payloads as the replay reads them."""
    return Replayer(
        workflows=WORKFLOWS,
        data_converter=converter,
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=INTERCEPTORS,
    )


async def replay_history(
    history: WorkflowHistory, *, run_id: str, source: str, converter: DataConverter
) -> RunReplay:
    # A payload the key ring cannot read would fail the replay with its message
    # encoded; read them all first to say which key is missing.
    codec = converter.payload_codec
    try:
        if codec is None:
            if any(is_encrypted(p) for e in history.events for p in payloads_in(e)):
                raise PayloadKeyError(
                    "the history's payloads are encrypted (binary/encrypted) and no key "
                    "ring was given to read them"
                )
        else:
            await decoded_history(history, codec)
    except (PayloadKeyError, PayloadDecryptionError) as exc:  # not replayed: say why
        return RunReplay(
            run_id=run_id,
            source=source,
            events=len(history.events),
            deterministic=False,
            error=f"{type(exc).__name__}: {exc}",
        )
    result = await replayer(converter).replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    return RunReplay(
        run_id=run_id,
        source=source,
        events=len(history.events),
        deterministic=failure is None,
        error=None if failure is None else f"{type(failure).__name__}: {failure}",
    )
