"""Several worker processes on one task queue, and agency workers on theirs, tested
together against the dev server: no dossier is handled twice, none is lost (issue 9,
item 5).

The workers run as an operator runs them: `motcua worker centre` three times on one
centre task queue, `motcua worker agency --agency <CODE>` twice for the land
registration branch and twice for the tax office, every process configured by
environment variables alone and sharing one PostgreSQL read model and one document
store. The test process only submits dossiers and acts as the officers.

The procedure is the land-use right transfer (1.013831): the centre hands each dossier
off to the land registration branch (whose worker records the receipt and later signs
the result), and its linked step starts a child dossier (9.000002) that runs entirely
on the tax office's task queue. Every dossier and sub-dossier is walked to its end
concurrently; part-way through, the busiest centre process is stopped with SIGTERM (a
graceful drain, as in a rolling deploy) and a replacement started.

Then, from the workflow histories (what the workflows emitted and which process ran
each task) against the read model: every workflow completed once, every event, outbox
message, document, handoff receipt and archived history is there exactly once, and the
work was spread over several centre and several agency processes, the stopped one
handling nothing after it left.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.api.enums.v1 import PendingActivityState, TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory

from activities.contracts import RECEIVE_HANDOFF, RECORD_EVENTS
from activities.notifications import notifications_for, portal_sync
from domain.catalog import Role, agency_task_queue
from domain.dossier import (
    Action,
    ActionInput,
    Actor,
    AllowedAction,
    Applicant,
    Channel,
    DossierView,
    Event,
    ResultDocument,
    Status,
)
from motcua.audit.history import decode
from motcua.audit.integrity import verify_record
from motcua.devserver import DevServer
from motcua.docstore import FolderStore
from motcua.service import DossierService, ServiceError, SubmitRequest
from motcua.settings import REPO_ROOT, Settings
from store import repository
from store.db import session
from store.models import (
    DocumentRow,
    DossierRow,
    EventRow,
    HandoffInboxRow,
    HistoryArchiveRow,
    OutboxRow,
    RefusedAttemptRow,
)
from tests.conftest import fresh_pg_database
from tests.devserver.conftest import new_namespace
from tests.devserver.journeys import shipped_catalog
from tests.factories import doc
from tests.harness import pki_manifest_for_tests
from workflows.dossier import DossierWorkflow

pytestmark = pytest.mark.slow

PROCEDURE = "1.013831"  # land-use right transfer: handoff, then a linked tax sub-dossier
CHILD_PROCEDURE = "9.000002"  # the tax office's notice of financial obligation
CENTRE = "000.00.01.H99"  # Trung tâm Phục vụ hành chính công tỉnh
LAND = "000.14.02.H99"  # Chi nhánh Văn phòng Đăng ký đất đai: receives, appraises, signs
TAX = "000.21.01.H99"  # Thuế cơ sở 1 tỉnh: runs the child dossier on its own queue
DOSSIERS = 12
CENTRE_PROCESSES = 3
AGENCY_PROCESSES = {LAND: 2, TAX: 2}
# The busiest centre process leaves once this share of all officers' actions is done.
STOP_AT = 0.4
PUBLIC_BASE_URL = "https://dichvucong.example.vn"
ACTIONS = (Action.ACCEPT, Action.APPRAISE, Action.APPROVE, Action.SIGN, Action.PAY, Action.RETURN)
# Officers' actions per dossier: the group's own (accept, appraise, pay, appraise,
# approve, sign, return) and its tax sub-dossier's (accept, appraise, approve, sign, return).
ACTIONS_PER_DOSSIER = 12
DRAIN_LIMIT = 30  # seconds a stopped worker process may take to drain before SIGKILL
STARTUP_LIMIT = 90  # seconds a worker process may take to start polling
WALK_LIMIT = 180  # seconds for walking every dossier to its end
QUEUE_PARTITIONS = 4  # of a task queue, on the dev server (matching.numTaskqueueReadPartitions)
IN_FLIGHT_TRIES = 100  # rounds of describing the dossiers to catch an activity in flight
POLL = 0.2  # seconds between state queries while a dossier waits on a worker
HOST = socket.gethostname()
MOTCUA = Path(sys.executable).with_name("motcua")
INTAKE = Actor(
    id=f"intake_officer@{CENTRE}", name="Trần Thị Bình", role=Role.INTAKE_OFFICER, agency=CENTRE
)


# --------------------------------------------------------------------------- processes


def _kill_if_running(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()


@dataclass
class WorkerProcess:
    """One `motcua worker ...` OS process, its output in a log file."""

    name: str
    args: list[str]
    queues: list[str]  # the task queues it polls (workflows and activities)
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    signalled_at: datetime | None = None
    exited_at: datetime | None = None
    _stopping: asyncio.Future[int] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(MOTCUA), "worker", *self.args],
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

    @property
    def identity(self) -> str:
        """Its Temporal identity: the SDK's default, `pid@host`."""
        return f"{self.pid}@{HOST}"

    def check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"worker process {self.name} exited with {self.proc.returncode}:\n{self.tail()}"
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

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Fleet:
    """The worker processes of the test, and where they write."""

    env: dict[str, str]
    logs: Path
    centre_queue: str
    processes: list[WorkerProcess] = field(default_factory=list)

    def start_centre(self, name: str) -> WorkerProcess:
        return self._start(name, ["centre"], [self.centre_queue])

    def start_agency(self, name: str, agency: str) -> WorkerProcess:
        return self._start(name, ["agency", "--agency", agency], [agency_task_queue(agency)])

    def _start(self, name: str, args: list[str], queues: list[str]) -> WorkerProcess:
        p = WorkerProcess(name, args, queues, self.logs / f"{name}.log")
        p.start(self.env)
        self.processes.append(p)
        return p

    def serving(self, queue: str) -> list[WorkerProcess]:
        return [p for p in self.processes if queue in p.queues]

    def by_identity(self) -> dict[str, WorkerProcess]:
        return {p.identity: p for p in self.processes}

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
    """Worker processes that are always stopped (and their output shown on failure)."""
    fleet = Fleet(env, logs, centre_queue)
    try:
        yield fleet
    except BaseException:
        await fleet.stop_all()
        print(f"\nworker process output (tails):\n{fleet.report()}")
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


async def wait_polling(client: Client, processes: Iterable[WorkerProcess]) -> None:
    """Until every process polls each of its task queues, for workflows and activities."""
    want = [
        (queue, kind, p)
        for p in processes
        for queue in p.queues
        for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
    ]
    deadline = time.monotonic() + STARTUP_LIMIT
    while want:
        queue, kind, p = want[0]
        p.check_alive()
        if p.identity in await pollers(client, queue, kind):
            want.pop(0)
            continue
        if time.monotonic() > deadline:
            raise AssertionError(f"{p.name} ({p.identity}) never polled {queue} ({kind})")
        await asyncio.sleep(0.2)


def worker_env(
    devserver: DevServer, namespace: str, centre_queue: str, database_url: str, state: Path
) -> dict[str, str]:
    """What an operator sets: nothing but environment variables."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_") and k != "DATABASE_URL"
    }
    env.update(
        MOTCUA_TEMPORAL_ADDRESS=devserver.address,
        MOTCUA_TEMPORAL_NAMESPACE=namespace,
        MOTCUA_CENTRE_TASK_QUEUE=centre_queue,
        MOTCUA_CENTRE_AGENCY=CENTRE,
        DATABASE_URL=database_url,
        MOTCUA_STATE_DIR=str(state),
        MOTCUA_DOCUMENT_STORE=str(state / "documents"),
        MOTCUA_PKI_MANIFEST=str(pki_manifest_for_tests()),
        MOTCUA_PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        # Every centre process sweeps closed histories into the archive: they race.
        MOTCUA_ARCHIVE_INTERVAL_SECONDS="1",
        MOTCUA_LOG_FORMAT="text",
        MOTCUA_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


# --------------------------------------------------------------------------- officers


@dataclass
class Progress:
    """Officers' actions done so far; `halfway` is set once STOP_AT of them are."""

    total: int
    done: int = 0
    retries: int = 0
    halfway: asyncio.Event = field(default_factory=asyncio.Event)
    # (seconds since the start, seconds the action took, dossier, action), for diagnosis
    log: list[tuple[float, float, str, str]] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)

    def timeline(self) -> str:
        return "\n".join(
            f"{at:6.1f} s  {code} {action} took {took:.1f} s" for at, took, code, action in self.log
        )

    def step(self, code: str, action: Action, began: float) -> None:
        now = time.monotonic()
        self.log.append((now - self.t0, now - began, code, action.value))
        self.done += 1
        if self.done >= self.total * STOP_AT:
            self.halfway.set()


def submission(n: int) -> SubmitRequest:
    kinds = [
        "don_dang_ky_bien_dong",
        "hop_dong_chuyen_quyen",
        "giay_chung_nhan",
        "to_khai_thue_tncn",
        "to_khai_le_phi_truoc_ba",
    ]
    return SubmitRequest(
        procedure_code=PROCEDURE,
        applicant=Applicant(
            name=f"Nguyễn Văn Thử {n}",
            id_number=f"0790{n:08d}",
            phone="0912345678",
            email=f"thu{n}@example.vn",
            address="Xã Hòa An",
        ),
        channel=Channel.COUNTER,
        documents=[doc(f"{kind}-{n}.pdf", kind) for kind in kinds],
    )


def officer(a: AllowedAction) -> Actor:
    return Actor(
        id=f"{a.role.value}@{a.agency or '-'}",
        name=f"Cán bộ {a.role.value}",
        role=a.role,
        agency=a.agency,
    )


def data_for(a: AllowedAction, code: str) -> dict[str, object]:
    if a.action is Action.APPRAISE:
        return {"opinion": "Đủ điều kiện", "recommendation": "grant"}
    if a.action is Action.PAY:
        return {"receipt_number": f"BL-{code}", "amount_vnd": 1_500_000, "method": "online"}
    if a.action is Action.RETURN:
        return {"channel": "online"}
    return {}


def next_action(view: DossierView) -> AllowedAction | None:
    offered = [a for a in view.allowed_actions if a.action in ACTIONS and a.step_id]
    if not offered:
        return None
    # The payment gateway's signed callback settles the payment (as over HTTP).
    return next((a for a in offered if a.role is Role.SYSTEM), offered[0])


async def walk(service: DossierService, code: str, progress: Progress) -> DossierView:
    """Take every step the dossier offers, as its officers, until it closes; walk each
    sub-dossier on the way once its agency's worker has acknowledged it."""
    view = await service.state(code)
    walked: set[str] = set()
    for _ in range(2000):
        if view.closed_at is not None:
            return view
        child = next(
            (
                c
                for c in view.children
                if c.acknowledged_at and not c.finished_at and c.code not in walked
            ),
            None,
        )
        if child is not None:
            walked.add(child.code)
            done = await walk(service, child.code, progress)
            assert (done.status, done.outcome) == (Status.RETURNED, "granted"), done
            view = await service.state(code)
            continue
        a = next_action(view)
        if a is None:  # a handoff, a sub-dossier starting or finishing, a signature
            await asyncio.sleep(POLL)
            view = await service.state(code)
            continue
        cmd = ActionInput(actor=officer(a), comment="", data=data_for(a, code))
        began = time.monotonic()
        try:
            view = await service.act(code, a.action, cmd)
        except ServiceError as exc:
            if exc.code != "unavailable":
                raise AssertionError(
                    f"{code}: {a.action} refused: {exc.code}: {exc.message}"
                ) from None
            # The worker did not answer in time; the action may still land: give it a
            # while before acting again (a second one would be refused, and recorded).
            progress.retries += 1
            before = view.event_seq
            for _ in range(100):
                view = await service.state(code)
                if view.event_seq != before:
                    break
                await asyncio.sleep(POLL)
            continue
        if view.issuing is None:
            progress.step(code, a.action, began)
    raise AssertionError(f"{code} never closed: {view.status} at {view.current_step}")


@dataclass
class RollingStop:
    """What happened to the centre process stopped mid-walk."""

    victim: WorkerProcess | None = None
    at_progress: int = 0  # officers' actions done when it was told to stop
    # (dossier, activity id, activity type) it was running when told to stop, if caught
    in_flight: tuple[str, str, str] | None = None


async def activity_running_on(
    client: Client, codes: list[str], identity: str
) -> tuple[str, str, str] | None:
    """Wait a while for a moment when the worker `identity` runs an activity of one of
    these dossiers (so that stopping it then shows the drain); None if none came."""
    for _ in range(IN_FLIGHT_TRIES):
        described = await asyncio.gather(*(client.get_workflow_handle(c).describe() for c in codes))
        for code, d in zip(codes, described, strict=True):
            for a in d.raw_description.pending_activities:
                if (
                    a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                    and a.last_worker_identity == identity
                ):
                    return code, a.activity_id, a.activity_type.name
    return None


# --------------------------------------------------------------------------- histories


@dataclass(frozen=True)
class Task:
    """A workflow or activity task as the history records it: who ran it, and when."""

    workflow_id: str
    kind: str  # "workflow", or the activity type
    queue: str  # the task queue it was scheduled on (a workflow's: its own queue)
    identity: str
    at: datetime
    activity_id: str = ""
    attempt: int = 1  # an activity's: the attempt that completed
    last_failure: str = ""  # why the attempt before it failed


def tasks_of(history: WorkflowHistory) -> list[Task]:
    out: list[Task] = []
    scheduled: dict[int, tuple[str, str, str]] = {}
    own_queue = ""
    for event in history.events:
        at = event.event_time.ToDatetime(tzinfo=UTC)
        if event.HasField("workflow_execution_started_event_attributes"):
            own_queue = event.workflow_execution_started_event_attributes.task_queue.name
        elif event.HasField("workflow_task_completed_event_attributes"):
            # Who completed it (a speculative task, for an update, is recorded as started
            # without an identity).
            identity = event.workflow_task_completed_event_attributes.identity
            out.append(Task(history.workflow_id, "workflow", own_queue, identity, at))
        elif event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = (
                attrs.activity_type.name,
                attrs.task_queue.name,
                attrs.activity_id,
            )
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            kind, queue, activity_id = scheduled[started.scheduled_event_id]
            out.append(
                Task(
                    history.workflow_id,
                    kind,
                    queue,
                    started.identity,
                    at,
                    activity_id=activity_id,
                    attempt=started.attempt,
                    last_failure=(
                        started.last_failure.message if started.HasField("last_failure") else ""
                    ),
                )
            )
    return out


def expected_documents(code: str, events: list[Event]) -> Counter[str]:
    """The documents the read model must hold for these events, by id: a form per event
    that names one, the signed result, each upload, and the control slip at the close."""
    ids: Counter[str] = Counter()
    for e in events:
        if e.data.get("form"):
            ids[f"{e.id}:form-{e.data['form']}"] += 1
        if e.kind == "result_issued":
            ids[ResultDocument.model_validate(e.data["document"]).document_id] += 1
        uploads = e.data.get("documents")
        if e.kind in ("submitted", "supplement") and isinstance(uploads, list):
            ids.update(f"{e.id}:upload-{i}" for i in range(1, len(uploads) + 1))
    ids[f"{code}:form-06"] += 1
    return ids


def rows(engine: Engine, model: type) -> list:  # type: ignore[type-arg]
    with session(engine) as s:
        return list(s.exec(select(model)))


ARCHIVED = re.compile(r"archived (\d+) dossier history run\(s\)")


def exited_cleanly(p: WorkerProcess) -> bool:
    """Exit code 0. `motcua worker` leaves with os._exit after its workers drained, so the
    SDK's finalization abort (temporalio/sdk-python#300: SIGABRT, "PyGILState_Release")
    cannot happen; any other code is a failed drain."""
    return p.returncode == 0


def archived_by_logs(processes: Iterable[WorkerProcess]) -> int:
    """History runs the processes' archivers say they archived (INFO log lines)."""
    return sum(
        int(n)
        for p in processes
        for n in ARCHIVED.findall(p.log.read_text(encoding="utf-8", errors="replace"))
    )


# --------------------------------------------------------------------------- the test


@pytest.fixture
def shared_database() -> Iterator[Engine]:
    """One fresh PostgreSQL read model, shared by every process (as in production)."""
    with fresh_pg_database("motcua_multi") as engine:
        yield engine


async def test_many_worker_processes_handle_every_dossier_once(
    devserver: DevServer, devserver_client: Client, shared_database: Engine, tmp_path: Path
) -> None:
    started = time.monotonic()
    engine = shared_database
    client = await new_namespace(devserver_client, devserver.address, "multi")
    centre_queue = f"centre-multi-{client.namespace[-12:]}"
    state = tmp_path / "state"
    (state / "documents").mkdir(parents=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    url = engine.url.render_as_string(hide_password=False)
    env = worker_env(devserver, client.namespace, centre_queue, url, state)
    settings = Settings(
        centre_task_queue=centre_queue,
        centre_agency=CENTRE,
        state_dir=state,
        document_store=str(state / "documents"),
        pki_manifest=pki_manifest_for_tests(),
        public_base_url=PUBLIC_BASE_URL,
    )
    service = DossierService(client, engine, shipped_catalog(), settings)
    land_queue, tax_queue = agency_task_queue(LAND), agency_task_queue(TAX)

    async with running_fleet(env, logs, centre_queue) as fleet:
        for i in range(1, CENTRE_PROCESSES + 1):
            fleet.start_centre(f"centre-{i}")
        for agency, count in AGENCY_PROCESSES.items():
            for i in range(1, count + 1):
                fleet.start_agency(f"{'land' if agency == LAND else 'tax'}-{i}", agency)
        await wait_polling(client, fleet.processes)
        ready = time.monotonic()

        # -- a batch of dossiers, submitted at the centre's counter, walked together
        views = await asyncio.gather(
            *(service.submit(submission(n), INTAKE) for n in range(DOSSIERS))
        )
        codes = [v.code for v in views]
        assert len(set(codes)) == DOSSIERS
        progress = Progress(total=DOSSIERS * ACTIONS_PER_DOSSIER)
        stop = RollingStop()

        async def rolling_stop() -> None:
            """Once enough is under way, the centre process that has run the most
            workflow tasks leaves (SIGTERM, while it runs an activity if it can be
            caught at one) and a replacement takes its place."""
            await progress.halfway.wait()
            counts: Counter[str] = Counter()
            for code in codes:
                history = await client.get_workflow_handle(code).fetch_history()
                counts.update(t.identity for t in tasks_of(history) if t.kind == "workflow")
            centres = {p.identity: p for p in fleet.serving(centre_queue)}
            victim = centres[max(centres, key=lambda ident: counts[ident])]
            replacement = fleet.start_centre(f"centre-{CENTRE_PROCESSES + 1}")
            stop.victim, stop.at_progress = victim, progress.done
            stop.in_flight = await activity_running_on(client, codes, victim.identity)
            draining = asyncio.create_task(victim.stop())
            await wait_polling(client, [replacement])
            await draining

        try:
            async with asyncio.timeout(WALK_LIMIT), asyncio.TaskGroup() as tg:
                walks = [tg.create_task(walk(service, code, progress)) for code in codes]
                tg.create_task(rolling_stop())
        except BaseException:
            print(f"\nofficers' actions so far:\n{progress.timeline()}")
            raise
        finals = [w.result() for w in walks]
        walked = time.monotonic()
        victim = stop.victim
        assert victim is not None and victim.signalled_at and victim.exited_at

        # -- every workflow completed, each once
        children = {c.code: view.code for view in finals for c in view.children}
        assert len(children) == DOSSIERS
        everything = [*codes, *children]
        results = await asyncio.gather(
            *(client.get_workflow_handle_for(DossierWorkflow.run, c).result() for c in everything)
        )
        for code, result in zip(everything, results, strict=True):
            assert (result.status, result.outcome) == (Status.RETURNED, "granted"), code
        executions = [wf async for wf in client.list_workflows()]
        assert Counter(wf.id for wf in executions) == Counter(everything)
        assert {wf.status for wf in executions} == {WorkflowExecutionStatus.COMPLETED}
        for code, result in zip(everything, results, strict=True):
            assert result.procedure_code == (CHILD_PROCEDURE if code in children else PROCEDURE)

        # -- every closed run archived once, although every centre process sweeps
        centres = fleet.serving(centre_queue)
        for _ in range(150):  # the archive, then what the archivers said (they log after)
            done = len(await asyncio.to_thread(rows, engine, HistoryArchiveRow))
            if done >= len(executions) and archived_by_logs(centres) >= len(executions):
                break
            await asyncio.sleep(0.2)
        histories = {c: await client.get_workflow_handle(c).fetch_history() for c in everything}
        # Every process stops before the checks, so nothing is still writing.
        await fleet.stop_all()
        finished = time.monotonic()

        archived = rows(engine, HistoryArchiveRow)
        assert Counter((r.workflow_id, r.run_id) for r in archived) == Counter(
            (wf.id, wf.run_id) for wf in executions
        )
        # ...and each counted by the one process that archived it.
        assert archived_by_logs(centres) == len(executions), "runs the archivers counted"
        store = FolderStore(state / "documents")
        assert all(store.has(r.sha256) for r in archived)

        # -- the read model against what each workflow emitted (its history)
        by_code = {r.code: r for r in rows(engine, DossierRow)}
        assert sorted(by_code) == sorted(everything), "the read model has every dossier, once"
        outbox = rows(engine, OutboxRow)
        documents = rows(engine, DocumentRow)
        receipts = rows(engine, HandoffInboxRow)
        events_total = 0
        expected_outbox: list[tuple[str, str, str, str, str, str]] = []
        expected_docs: Counter[str] = Counter()
        acks: list[dict[str, object]] = []
        for code, result in zip(everything, results, strict=True):
            record = decode([histories[code]])
            assert record.completed and len(record.runs) == 1
            emitted = [e for batch in record.batches for e in batch.events]
            # The workflow emitted each event once, numbered 1..n without gaps...
            assert [e.seq for e in emitted] == list(range(1, result.event_seq + 1)), code
            assert len({e.id for e in emitted}) == len(emitted)
            # ...and the read model holds exactly those, chained as the workflow chained them.
            recorded = repository.list_events(engine, code)
            assert [(r.id, r.seq, r.kind, r.hash) for r in recorded] == [
                (e.id, e.seq, e.kind, e.hash) for e in emitted
            ], code
            report = verify_record(code, recorded, emitted, result.chain_head)
            assert report.intact, report.problems
            row = by_code[code]
            assert (row.status, row.last_event_seq) == (Status.RETURNED.value, result.event_seq)
            events_total += len(emitted)
            for batch in record.batches:
                for e in batch.events:
                    wanted = notifications_for(e, batch.view, record.input.applicant)
                    sync = portal_sync(e, batch.view, PUBLIC_BASE_URL)
                    for m in [*wanted, *([sync] if sync else [])]:
                        expected_outbox.append(
                            (m.id, m.dossier_code, m.recipient, m.channel, m.subject, m.body)
                        )
            expected_docs.update(expected_documents(code, emitted))
            acks.extend(e.data for e in emitted if e.kind == "handoff_acknowledged")
        assert len(rows(engine, EventRow)) == events_total, "no event row beyond the histories'"
        assert sorted(
            (o.id, o.dossier_code, o.recipient, o.channel, o.subject, o.body) for o in outbox
        ) == sorted(expected_outbox), "every notification queued exactly once"
        assert Counter(d.id for d in documents) == expected_docs, "every document exactly once"
        assert all(store.has(d.sha256) for d in documents if d.source != "upload")
        # One handoff per dossier, its receipt recorded once, by a land branch worker.
        assert len(acks) == DOSSIERS
        assert sorted(r.id for r in receipts) == sorted(str(a["inbox_id"]) for a in acks)
        assert {r.id: r.worker_identity for r in receipts} == {
            str(a["inbox_id"]): a["worker"] for a in acks
        }
        land_pids = {str(p.pid) for p in fleet.serving(land_queue)}
        assert {r.worker_identity.rsplit(":", 1)[-1] for r in receipts} <= land_pids
        assert {r.agency_code for r in receipts} == {LAND}
        assert rows(engine, RefusedAttemptRow) == [], "no action refused"

        # -- who ran what: only the processes serving a queue, and more than one per queue
        tasks = [t for h in histories.values() for t in tasks_of(h)]
        processes = fleet.by_identity()
        per_queue: dict[str, Counter[str]] = {}
        for t in tasks:
            assert t.identity in processes, f"{t} ran outside the fleet"
            runner = processes[t.identity]
            assert t.queue in runner.queues, f"{t} ran by {runner.name}"
            per_queue.setdefault(t.queue, Counter())[runner.name] += 1
        assert set(per_queue) == {centre_queue, land_queue, tax_queue}
        assert len(per_queue[centre_queue]) >= 2, per_queue
        assert len(per_queue[land_queue]) == AGENCY_PROCESSES[LAND], per_queue
        assert len(per_queue[tax_queue]) == AGENCY_PROCESSES[TAX], per_queue
        assert {t.queue for t in tasks if t.kind == RECEIVE_HANDOFF} == {land_queue}
        assert {t.queue for t in tasks if t.kind == RECORD_EVENTS} == {centre_queue, tax_queue}

        # Nothing failed and had to be retried, not even what ran while a process drained.
        retried = [t for t in tasks if t.attempt > 1]
        assert not retried, retried

        # The stopped process ran tasks before it left and none after; the activity it
        # was running when told to stop, it finished (a drain, not a cancellation); the
        # dossiers it had run went on elsewhere.
        mine = [t for t in tasks if t.identity == victim.identity]
        assert mine and all(t.at <= victim.exited_at for t in mine)
        if stop.in_flight is not None:
            in_code, _, kind = stop.in_flight
            finished_by = [
                t for t in tasks if (t.workflow_id, t.activity_id, t.kind) == stop.in_flight
            ]
            assert [(t.identity, t.attempt) for t in finished_by] == [(victim.identity, 1)], (
                f"{kind} of {in_code} was running on {victim.name} when it was told to stop"
            )
        moved = {
            t.workflow_id
            for t in tasks
            if t.kind == "workflow"
            and t.queue == centre_queue
            and t.identity != victim.identity
            and t.at > victim.signalled_at
            and t.workflow_id in {m.workflow_id for m in mine}
        }
        assert moved, "no dossier the stopped process had run went on after it left"

        # Every process, the stopped one included, drained and exited cleanly.
        unclean = {p.name: p.returncode for p in fleet.processes if not exited_cleanly(p)}
        assert not unclean, f"{unclean}\n{fleet.report()}"
        aborted_after_shutdown = [p.name for p in fleet.processes if p.returncode != 0]

    slowest = max(progress.log, key=lambda entry: entry[1])
    drain = (victim.exited_at - victim.signalled_at).total_seconds()
    print(
        f"\n{DOSSIERS} dossiers + {len(children)} sub-dossiers, {progress.done} actions "
        f"({progress.retries} looked at again after a timeout); tasks per process and queue: "
        f"{ {q: dict(c) for q, c in per_queue.items()} }; {victim.name} stopped at action "
        f"{stop.at_progress} while running {stop.in_flight}, drained in {drain:.1f} s, "
        f"{len(moved)} of its dossiers went on elsewhere; aborted in finalization after "
        f"shutting down (temporalio/sdk-python#300): {aborted_after_shutdown}; slowest action "
        f"{slowest[1]:.1f} s ({slowest[3]} of {slowest[2]} at {slowest[0]:.1f} s); workers "
        f"ready in {ready - started:.1f} s, walk {walked - ready:.1f} s, "
        f"total {finished - started:.1f} s"
    )
