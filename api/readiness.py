"""The checks of /v1/readyz, each named in its answer: ``database`` (a connection),
``read_model`` (a write goes through: an UPDATE of no row, rolled back), ``temporal``
(the frontend answers) and ``workers`` (a worker polls the centre's task queue, as
Temporal's DescribeTaskQueue reports it). The costlier two are cached for a moment,
and one probe at a time runs however many callers ask."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import Client

from store.db import SQLITE_BUSY_TIMEOUT_MS

#: How long a verdict of the cached checks stands.
CACHE_SECONDS = 2.0
#: How long one check may take before it counts as failed.
CHECK_TIMEOUT_SECONDS = 3.0
#: A write that changes nothing but needs the right to write (and, on SQLite, the write
#: lock); it is rolled back anyway.
WRITE_PROBE = "UPDATE dossiers SET code = code WHERE 1 = 0"
#: SQLite: how long the probe waits for a write lock another connection holds.
PROBE_BUSY_TIMEOUT_MS = 1000

OK = "ok"
SKIPPED = "skipped"

#: What a person reads for each failing check.
PROBLEMS = {
    "database": "không kết nối được cơ sở dữ liệu",
    "read_model": "không ghi được vào cơ sở dữ liệu (mô hình đọc)",
    "temporal": "không kết nối được Temporal",
    "workers": "không có worker nào nhận việc ở hàng đợi của trung tâm",
}


def failing(checks: dict[str, str]) -> list[str]:
    """The checks that failed (a skipped one is not: the one it needs failed)."""
    return [n for n, verdict in checks.items() if verdict != OK and not verdict.startswith(SKIPPED)]


def message(checks: dict[str, str]) -> str | None:
    names = failing(checks)
    if not names:
        return None
    return "Chưa sẵn sàng: " + "; ".join(f"{PROBLEMS.get(n, n)} ({n})" for n in names) + "."


class Readiness:
    """Cached verdicts of checks, with at most one probe of each in flight."""

    def __init__(self) -> None:
        self._verdicts: dict[str, tuple[float, str]] = {}
        self._running: dict[str, asyncio.Future[str]] = {}

    async def cached(self, name: str, probe: Callable[[], Awaitable[str]]) -> str:
        hit = self._verdicts.get(name)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        running = self._running.get(name)
        if running is None or running.done():
            running = asyncio.ensure_future(run_check(probe))
            self._running[name] = running
        # Shielded: a caller that goes away does not cancel the probe the others wait for.
        verdict = await asyncio.shield(running)
        self._verdicts[name] = (time.monotonic(), verdict)
        return verdict


async def run_check(probe: Callable[[], Awaitable[str]]) -> str:
    try:
        return await asyncio.wait_for(probe(), timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # readiness reports, it does not raise
        return f"unavailable: {type(exc).__name__}"


async def check_database(engine: Engine) -> str:
    def select_one() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    await asyncio.to_thread(select_one)
    return OK


async def check_read_model(engine: Engine) -> str:
    def write() -> None:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            try:
                if sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {PROBE_BUSY_TIMEOUT_MS}")
                conn.execute(text(WRITE_PROBE))
            finally:
                if sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                conn.rollback()

    await asyncio.to_thread(write)
    return OK


async def check_temporal(client: Client) -> str:
    await client.workflow_service.get_system_info(
        GetSystemInfoRequest(), timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS)
    )
    return OK


async def check_workers(client: Client, task_queue: str, max_age_seconds: float) -> str:
    """OK when Temporal saw a worker poll the queue, for workflow tasks and for activity
    tasks, at most ``max_age_seconds`` ago. Temporal remembers a poller for minutes after
    it is gone; an idle live one polls again about once a minute."""
    now = datetime.now(UTC)
    for kind, label in (
        (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, "workflow"),
        (TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, "activity"),
    ):
        answer = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
                task_queue_type=kind,
            ),
            timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS),
        )
        ages = [
            (now - poller.last_access_time.ToDatetime(tzinfo=UTC)).total_seconds()
            for poller in answer.pollers
            if poller.HasField("last_access_time")
        ]
        if not any(age <= max_age_seconds for age in ages):
            return f"unavailable: no worker polls {task_queue!r} for {label} tasks"
    return OK
