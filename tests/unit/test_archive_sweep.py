"""The centre worker's archiver logs every run it archived, also from a sweep that
failed or was stopped part way (a worker shutting down in a rolling deploy): operators
and tests count archived runs from these lines.

Temporal's listing and the archiving of one run are stood in for: what is under test is
the sweep's loop and its log, not Temporal (tests/devserver/test_audit.py archives real
histories; tests/devserver/test_multi_worker.py counts these lines from seven worker
processes, one of them stopped mid-run).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from services.audit import archive


@dataclass(frozen=True)
class Closed:
    id: str
    run_id: str


class Listing:
    """What the archiver asks of its Temporal client: the closed runs."""

    def __init__(self, runs: list[Closed]) -> None:
        self.runs = runs

    async def list_workflows(self, query: str) -> AsyncIterator[Closed]:
        assert "ExecutionStatus" in query
        for run in self.runs:
            yield run


# This test's archiver's own logger: an archiver of another test's workers may be running
# in this process (session-scoped stacks), logging through the module's.
LOG = logging.getLogger(f"{archive.__name__}.under_test")
RUNS = [Closed(f"000.00.01.H99-261203-000{i}", f"run-{i}") for i in (1, 2, 3)]


@pytest.fixture
def nothing_archived_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive.repository, "archived_run_ids", lambda engine, ids: set())


async def sweep_until_second_run(
    monkeypatch: pytest.MonkeyPatch, second: Any
) -> asyncio.Task[None]:
    """archive_forever, archiving the first run and then doing `second` to the second."""
    at_second = asyncio.Event()

    async def archive_run(client: Any, engine: Any, store: Any, wid: str, run_id: str) -> bool:
        if run_id == "run-1":
            return True
        at_second.set()
        return bool(await second())

    monkeypatch.setattr(archive, "archive_run", archive_run)
    sweeping = archive.archive_forever(Listing(RUNS), None, None, interval=60, logger=LOG)  # type: ignore[arg-type]
    task = asyncio.create_task(sweeping)
    await asyncio.wait_for(at_second.wait(), 5)
    return task


def archived_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == LOG.name and r.levelno == logging.INFO
    ]


@pytest.mark.usefixtures("nothing_archived_yet")
async def test_a_sweep_stopped_part_way_logs_what_it_archived(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG.name)
    task = await sweep_until_second_run(monkeypatch, asyncio.Event().wait)  # never ends
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert archived_lines(caplog) == ["archived 1 dossier history run(s)"]


@pytest.mark.usefixtures("nothing_archived_yet")
async def test_a_sweep_that_fails_part_way_logs_what_it_archived_and_the_failure(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOG.name)

    async def unreachable() -> bool:
        raise ConnectionError("document store unreachable")

    task = await sweep_until_second_run(monkeypatch, unreachable)
    await asyncio.sleep(0.1)  # the sweep ends; the archiver waits for the next one
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert archived_lines(caplog) == ["archived 1 dossier history run(s)"]
    [failed] = [r for r in caplog.records if r.name == LOG.name and r.levelno == logging.ERROR]
    assert "sweep failed" in failed.getMessage() and failed.exc_info is not None
