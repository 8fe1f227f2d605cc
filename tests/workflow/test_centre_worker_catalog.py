"""The centre's worker, with the national portal's pull configured, refreshes its catalog
from the database while it runs and stops when it stops: a restarted worker (the
supervisor in `motcua dev`) left its predecessor's refresh thread running, which went on
asking a database long gone (the suite's portal tests showed it)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from infra.settings import Settings
from store import repository
from tests.devserver.journeys import shipped_catalog
from tests.harness import documents_for_tests
from workers.centre import centre_worker


def refreshers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "catalog-refresh" and t.is_alive()]


def gone(before: list[threading.Thread], seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not [t for t in refreshers() if t not in before]:
            return True
        time.sleep(0.05)
    return False


async def test_the_catalog_refresh_lives_and_ends_with_each_run_of_the_worker(
    ts_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    repository.sync_catalog(sqlite_engine, shipped_catalog())
    settings = Settings(
        centre_task_queue=f"centre-{uuid.uuid4().hex[:8]}",
        portal_pull_url="http://127.0.0.1:9/khong-dung",  # never asked: no poller started
        catalog_refresh_seconds=0.05,
    )
    before = refreshers()
    with ThreadPoolExecutor(max_workers=2) as executor:
        for _ in range(3):  # as a supervisor restarts it: a new worker each time
            worker = centre_worker(
                ts_env.client, settings, sqlite_engine, executor, documents_for_tests()
            )
            assert not [t for t in refreshers() if t not in before], "started before it runs"
            async with worker:
                for _ in range(100):  # run() starts in a task of its own
                    if [t for t in refreshers() if t not in before]:
                        break
                    await asyncio.sleep(0.02)
                assert len([t for t in refreshers() if t not in before]) == 1
            assert gone(before), "the refresh thread outlived its worker"
