"""Replay a dossier's history against today's workflow code: the same runner, data
converter (with the deployment's payload codec) and workflows as the workers, so a
replay that passes here is a worker that would take the dossier over without a
non-determinism error. Also the check to run on every dossier before deploying new
workflow code.

By default in the workers' sandbox. `sandboxed=False` replays the same workflow code
without it, several times faster (docs/benchmarks.md): the commands a history is checked
against are the same, but a call the sandbox forbids (a clock read, file access) is not
refused, so the sandboxed replay stays the check before a deployment, and the unsandboxed
one is for going through many histories quickly (an auditor's bulk replay)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from pydantic import BaseModel
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from infra import telemetry
from infra.codec import (
    PayloadDecryptionError,
    PayloadKeyError,
    decoded_history,
    is_encrypted,
    payloads_in,
)
from infra.codec import T as CODEC_TEXT
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

log = logging.getLogger(__name__)


class RunReplay(BaseModel):
    run_id: str
    source: str
    events: int
    deterministic: bool
    error: str | None = None


def replayer(converter: DataConverter, *, sandboxed: bool = True) -> Replayer:
    """`converter`: the workers' (infra.temporal.data_converter), whose codec decrypts
    the history's payloads as the replay reads them."""
    return Replayer(
        workflows=WORKFLOWS,
        data_converter=converter,
        workflow_runner=WORKFLOW_RUNNER if sandboxed else UnsandboxedWorkflowRunner(),
        # The workers' interceptors (workers.centre.INTERCEPTORS): tracing, which adds no
        # commands to a history and makes no spans on replay.
        interceptors=[telemetry.TRACING],
    )


async def _unreadable(history: WorkflowHistory, converter: DataConverter) -> str | None:
    """Why the history's payloads cannot be read with `converter` (which key is missing,
    which payload does not decrypt), or None if they can."""
    codec = converter.payload_codec
    try:
        if codec is None:
            if any(is_encrypted(p) for e in history.events for p in payloads_in(e)):
                raise PayloadKeyError(CODEC_TEXT("no_keyring"))
        else:
            await decoded_history(history, codec)
    except (PayloadKeyError, PayloadDecryptionError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def _verdict(
    history: WorkflowHistory,
    run_id: str,
    source: str,
    failure: Exception | None,
    converter: DataConverter,
) -> RunReplay:
    error = None
    if failure is not None:
        # A payload the key ring cannot read fails the replay with an error about its
        # encoding: say which key is missing instead (read only for failed replays).
        error = await _unreadable(history, converter) or f"{type(failure).__name__}: {failure}"
    return RunReplay(
        run_id=run_id,
        source=source,
        events=len(history.events),
        deterministic=failure is None,
        error=error,
    )


async def replay_history(
    history: WorkflowHistory,
    *,
    run_id: str,
    source: str,
    converter: DataConverter,
    sandboxed: bool = True,
) -> RunReplay:
    [verdict] = await replay_histories(
        [(history, run_id, source)], converter=converter, sandboxed=sandboxed
    )
    return verdict


async def replay_histories(
    runs: Iterable[tuple[WorkflowHistory, str, str]],
    *,
    converter: DataConverter,
    sandboxed: bool = True,
) -> list[RunReplay]:
    """Many histories (each with its run id and source) through one Replayer: what a
    bulk replay does, without a Replayer (and its workflow runner) for every history."""
    runs = list(runs)
    # The Replayer keys its failures by the run id a history names in its first event;
    # two histories of one run (a tampered copy beside the original, say) go through
    # separate passes.
    passes: list[dict[str, WorkflowHistory]] = []
    for history, _, _ in runs:
        free = next((p for p in passes if history.run_id not in p), None)
        if free is None:
            passes.append(free := {})
        free[history.run_id] = history
    failures: dict[int, Exception] = {}
    replay = replayer(converter, sandboxed=sandboxed)
    for one_pass in passes:

        async def histories(
            p: dict[str, WorkflowHistory] = one_pass,
        ) -> AsyncIterator[WorkflowHistory]:
            for history in p.values():
                yield history

        results = await replay.replay_workflows(histories(), raise_on_replay_failure=False)
        for run_id, failure in results.replay_failures.items():
            failures[id(one_pass[run_id])] = failure
    return [
        await _verdict(h, run_id, source, failures.get(id(h)), converter)
        for h, run_id, source in runs
    ]


# Builds the deployment's data converter in a child process (a converter's cipher does not
# pickle; its settings do): `functools.partial(infra.temporal.data_converter, settings)`.
ConverterFactory = Callable[[], DataConverter]
ReplayRun = tuple[WorkflowHistory, str, str]  # a history, its run id, its source


# A history as it crosses to a child process: its workflow id and its events, serialized
# (a history's event list does not pickle).
_Shipped = tuple[str, bytes, str, str]


def _shipped(run: ReplayRun) -> _Shipped:
    history, run_id, source = run
    events = History(events=history.events).SerializeToString()
    return history.workflow_id, events, run_id, source


def _replay_share(
    share: list[_Shipped], factory: ConverterFactory, sandboxed: bool
) -> list[RunReplay]:
    """In a child process: one share of the histories through one Replayer."""
    runs = []
    for workflow_id, data, run_id, source in share:
        history = History()
        history.ParseFromString(data)
        runs.append((WorkflowHistory(workflow_id, list(history.events)), run_id, source))
    return asyncio.run(replay_histories(runs, converter=factory(), sandboxed=sandboxed))


class ReplayPool:
    """Bulk replay over `processes` processes (spawned once, for as many batches as the
    caller has): replay is CPU-bound Python, so one process uses one core. With one
    process it replays in this one, with no child."""

    def __init__(self, processes: int, factory: ConverterFactory, *, sandboxed: bool) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, not {processes}")
        self.processes, self.factory, self.sandboxed = processes, factory, sandboxed
        self._pool: ProcessPoolExecutor | None = None
        self._converter: DataConverter | None = None

    def __enter__(self) -> ReplayPool:
        if self.processes > 1:
            self._pool = self._new_pool()
        else:
            self._converter = self.factory()
        return self

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    async def replay(self, runs: Iterable[ReplayRun]) -> list[RunReplay]:
        """A verdict for each run, in the order given. A replay process that dies (killed,
        out of memory) breaks the pool: the batch is replayed once more in a fresh one, and
        if that dies too, its runs are reported as not replayed, and the next batch gets a
        fresh pool again, so one bad batch does not end a bulk replay."""
        runs = list(runs)
        if self._pool is None:
            assert self._converter is not None, "use ReplayPool as a context manager"
            return await replay_histories(runs, converter=self._converter, sandboxed=self.sandboxed)
        # Dealt like cards, so that each process gets long and short histories alike.
        shares = [[_shipped(r) for r in runs[i :: self.processes]] for i in range(self.processes)]
        for attempt in (1, 2):
            try:
                done = await self._dealt(self._pool, shares)
                break
            except BrokenProcessPool as exc:
                log.warning("a replay process died (attempt %d of 2): %s", attempt, exc)
                self._pool.shutdown(cancel_futures=True)
                self._pool = self._new_pool()
        else:
            return [_not_replayed(run) for run in runs]
        # Back in the order given: run j was the (j // processes)-th of share j % processes.
        return [done[j % self.processes][j // self.processes] for j in range(len(runs))]

    async def _dealt(
        self, pool: ProcessPoolExecutor, shares: list[list[_Shipped]]
    ) -> list[list[RunReplay]]:
        """Each share replayed in a process of `pool` (the empty ones, when there are
        fewer runs than processes, are the last, and left out)."""
        loop = asyncio.get_running_loop()
        return await asyncio.gather(
            *(
                loop.run_in_executor(pool, _replay_share, share, self.factory, self.sandboxed)
                for share in shares
                if share
            )
        )


def _not_replayed(run: ReplayRun) -> RunReplay:
    history, run_id, source = run
    return RunReplay(
        run_id=run_id,
        source=source,
        events=len(history.events),
        deterministic=False,
        error=(
            "not replayed: the replay process died twice on this batch (killed, or out of "
            "memory); replay this dossier on its own"
        ),
    )
