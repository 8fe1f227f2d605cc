"""Real `motcua` OS processes for the tests that run them: workers (`motcua worker ...`)
and the HTTP API (`motcua api`), each configured by environment variables alone (as an
operator runs them), its output in a log file, always stopped in `finally`.

Used by tests/devserver/test_multi_worker.py (several worker processes per task queue,
one stopped gracefully) and tests/faults/ (workers killed, the API killed, the Temporal
server or the database taken away underneath running processes).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from domain.catalog import agency_task_queue
from infra.settings import REPO_ROOT
from tests.payload_keys import TEST_PAYLOAD_KEYS

DRAIN_LIMIT = 30  # seconds a stopped process may take to drain before SIGKILL
STARTUP_LIMIT = 90  # seconds a worker process may take to start polling (or the API to answer)
QUEUE_PARTITIONS = 4  # of a task queue, on the dev server (matching.numTaskqueueReadPartitions)
HOST = socket.gethostname()
MOTCUA = Path(sys.executable).with_name("motcua")


def _kill_if_running(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()


@dataclass
class MotcuaProcess:
    """One `motcua <argv>` OS process, its output in a log file."""

    name: str
    argv: list[str]  # motcua's arguments: ["worker", "centre"], ["api"], ...
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    signalled_at: datetime | None = None  # SIGTERM or SIGKILL sent
    exited_at: datetime | None = None
    killed: bool = False  # SIGKILL rather than a drain
    _stopping: asyncio.Future[int] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(MOTCUA), *self.argv],
                env=env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        atexit.register(_kill_if_running, self.proc)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode

    def check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"process {self.name} exited with {self.proc.returncode}:\n{self.tail()}"
            )

    async def stop(self) -> int:
        """SIGTERM (a graceful drain), then SIGKILL after DRAIN_LIMIT seconds; once."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        return await asyncio.shield(self._stopping)

    async def _stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.signalled_at = datetime.now(UTC)
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, DRAIN_LIMIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait)
        if self.exited_at is None:
            self.exited_at = datetime.now(UTC)
        return self.proc.returncode

    async def kill(self) -> int:
        """SIGKILL, no drain: what a crash, an OOM kill or a pulled plug does."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.signalled_at = datetime.now(UTC)
            self.killed = True
            self.proc.kill()
        await asyncio.to_thread(self.proc.wait)
        if self.exited_at is None:
            self.exited_at = datetime.now(UTC)
        return self.proc.returncode

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class WorkerProcess(MotcuaProcess):
    """A `motcua worker ...` process and the task queues it polls."""

    queues: list[str] = field(default_factory=list)  # workflows and activities

    @property
    def identity(self) -> str:
        """Its Temporal identity: the SDK's default, `pid@host`."""
        return f"{self.pid}@{HOST}"


@dataclass
class ApiProcess(MotcuaProcess):
    """A `motcua api` process serving on `port`."""

    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def wait_ready(self, limit: float = STARTUP_LIMIT) -> None:
        """Until GET /v1/healthz answers 200."""
        deadline = time.monotonic() + limit
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            while True:
                self.check_alive()
                try:
                    if (await http.get("/v1/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{self.name} never answered on {self.url}:\n{self.tail()}"
                    )
                await asyncio.sleep(0.1)


@dataclass
class Fleet:
    """The motcua processes of a test, and where they write."""

    env: dict[str, str]
    logs: Path
    centre_queue: str
    processes: list[MotcuaProcess] = field(default_factory=list)

    @property
    def workers(self) -> list[WorkerProcess]:
        return [p for p in self.processes if isinstance(p, WorkerProcess)]

    def start_centre(self, name: str) -> WorkerProcess:
        return self._start_worker(name, ["centre"], [self.centre_queue])

    def start_agency(self, name: str, agency: str) -> WorkerProcess:
        return self._start_worker(name, ["agency", "--agency", agency], [agency_task_queue(agency)])

    def _start_worker(self, name: str, args: list[str], queues: list[str]) -> WorkerProcess:
        p = WorkerProcess(name, ["worker", *args], self.logs / f"{name}.log", queues=queues)
        p.start(self.env)
        self.processes.append(p)
        return p

    def start_api(self, name: str, port: int) -> ApiProcess:
        p = ApiProcess(name, ["api", "--port", str(port)], self.logs / f"{name}.log", port=port)
        p.start(self.env)
        self.processes.append(p)
        return p

    def serving(self, queue: str) -> list[WorkerProcess]:
        return [p for p in self.workers if queue in p.queues]

    def by_identity(self) -> dict[str, WorkerProcess]:
        return {p.identity: p for p in self.workers}

    async def stop_all(self) -> dict[str, int]:
        codes = await asyncio.gather(*(p.stop() for p in self.processes))
        return {p.name: rc for p, rc in zip(self.processes, codes, strict=True)}

    def report(self) -> str:
        return "\n".join(
            f"----- {p.name} (pid {p.pid}, rc {p.returncode}) -----\n{p.tail()}"
            for p in self.processes
        )


@asynccontextmanager
async def running_fleet(env: dict[str, str], logs: Path, centre_queue: str) -> AsyncIterator[Fleet]:
    """Processes that are always stopped (and their output shown on failure)."""
    fleet = Fleet(env, logs, centre_queue)
    try:
        yield fleet
    except BaseException:
        await fleet.stop_all()
        print(f"\nprocess output (tails):\n{fleet.report()}")
        raise
    finally:
        await fleet.stop_all()


async def pollers(client: Client, queue: str, kind: TaskQueueType.ValueType) -> set[str]:
    """Identities polling the queue. A worker's long poll sits on one partition of the
    queue (up to a minute when idle), and a description covers one partition: look at
    each (the server's default is 4 partitions; the others are named /_sys/<queue>/<n>)."""
    found: set[str] = set()
    for name in [queue, *(f"/_sys/{queue}/{n}" for n in range(1, QUEUE_PARTITIONS))]:
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=name, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
                task_queue_type=kind,
            )
        )
        found.update(poller.identity for poller in described.pollers)
    return found


async def wait_polling(
    client: Client, processes: Iterable[WorkerProcess], limit: float = STARTUP_LIMIT
) -> None:
    """Until every process polls each of its task queues, for workflows and activities."""
    want = [
        (queue, kind, p)
        for p in processes
        for queue in p.queues
        for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
    ]
    deadline = time.monotonic() + limit
    while want:
        queue, kind, p = want[0]
        p.check_alive()
        if p.identity in await pollers(client, queue, kind):
            want.pop(0)
            continue
        if time.monotonic() > deadline:
            raise AssertionError(f"{p.name} ({p.identity}) never polled {queue} ({kind})")
        await asyncio.sleep(0.2)


def motcua_env(
    *,
    temporal_address: str,
    namespace: str,
    centre_queue: str,
    centre_agency: str,
    database_url: str,
    state: Path,
    pki_manifest: Path,
    public_base_url: str,
    archive_interval_seconds: float = 0,
    **extra: str,
) -> dict[str, str]:
    """What an operator sets: nothing but environment variables (`extra`: more MOTCUA_*,
    by their variable names)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_") and k != "DATABASE_URL"
    }
    env.update(
        MOTCUA_TEMPORAL_ADDRESS=temporal_address,
        MOTCUA_TEMPORAL_NAMESPACE=namespace,
        MOTCUA_CENTRE_TASK_QUEUE=centre_queue,
        MOTCUA_CENTRE_AGENCY=centre_agency,
        DATABASE_URL=database_url,
        MOTCUA_STATE_DIR=str(state),
        MOTCUA_DOCUMENT_STORE=str(state / "documents"),
        MOTCUA_PKI_MANIFEST=str(pki_manifest),
        MOTCUA_PUBLIC_BASE_URL=public_base_url,
        MOTCUA_ARCHIVE_INTERVAL_SECONDS=str(archive_interval_seconds),
        MOTCUA_PAYLOAD_KEYS=TEST_PAYLOAD_KEYS,  # the test clients' keys
        MOTCUA_LOG_FORMAT="text",
        MOTCUA_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
