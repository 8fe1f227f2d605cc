"""What the fault tests share: the judicial record certificate procedure (3.000333:
intake at the provincial centre, handoff to the provincial police, appraisal, approval
and signature there, return at the centre), officers who walk a dossier to its end
through DossierService, and ways to watch (and hold) activities in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client

from domain.catalog import Role
from domain.dossier import Action, ActionInput, Actor, AllowedAction, DossierView
from infra.settings import Settings
from services.dossiers import DossierService, ServiceError
from store import repository
from tests.devserver.journeys import CENTRE, POLICE, PROCEDURE, request
from tests.harness import pki_manifest_for_tests

__all__ = ["CENTRE", "POLICE", "PROCEDURE", "request"]

PUBLIC_BASE_URL = "https://dichvucong.example.vn"
INTAKE = Actor(
    id=f"intake_officer@{CENTRE}", name="Trần Thị Bình", role=Role.INTAKE_OFFICER, agency=CENTRE
)
# The officers' actions that take a judicial record dossier from intake to return.
# (The fee, 200.000 đồng, is collected at intake, before the acceptance.)
WALKED = (Action.PAY, Action.ACCEPT, Action.APPRAISE, Action.APPROVE, Action.SIGN, Action.RETURN)
POLL = 0.1  # seconds between looks at a dossier waiting on a worker


def service_settings(state: Path, centre_queue: str, **kw: object) -> Settings:
    """The settings of the test's own DossierService (the worker processes get the same
    through their environment: tests/processes.py `motcua_env`)."""
    values: dict[str, object] = {
        "centre_task_queue": centre_queue,
        "centre_agency": CENTRE,
        "state_dir": state,
        "document_store": str(state / "documents"),
        "pki_manifest": pki_manifest_for_tests(),
        "public_base_url": PUBLIC_BASE_URL,
        "archive_interval_seconds": 0,
    }
    values.update(kw)
    return Settings(**values)  # type: ignore[arg-type]


def officer(a: AllowedAction) -> Actor:
    return Actor(
        id=f"{a.role.value}@{a.agency or '-'}",
        name=f"Cán bộ {a.role.value}",
        role=a.role,
        agency=a.agency,
    )


def data_for(action: Action) -> dict[str, object]:
    if action is Action.APPRAISE:
        return {"opinion": "Không có án tích", "recommendation": "grant"}
    if action is Action.SIGN:
        return {"document": "phieu-lltp-so-1.pdf"}
    if action is Action.RETURN:
        return {"channel": "counter", "received_by": "Nguyễn Văn An"}
    if action is Action.PAY:
        return {"amount_vnd": 200_000, "method": "cash"}
    return {}


def next_step_action(view: DossierView) -> AllowedAction | None:
    """The step owner's action that moves the dossier on (None while the system holds it:
    a handoff waiting for the agency's worker, a signature in progress)."""
    offered = [
        a
        for a in view.allowed_actions
        if a.action in WALKED and (a.step_id is not None or a.action is Action.PAY)
    ]
    # A fee offered is paid before the step's own action (the return waits for it).
    return next((a for a in offered if a.action is Action.PAY), next(iter(offered), None))


async def pay_at_counter(service: DossierService, code: str) -> DossierView:
    """The intake officer collects the fee at the counter, before accepting (as a counter
    does): the walk then never collects it at the return step."""
    return await service.act(code, Action.PAY, ActionInput(actor=INTAKE, data=data_for(Action.PAY)))


async def walk(
    service: DossierService, code: str, *, until: str | None = None, limit: float = 60
) -> DossierView:
    """Take every step the dossier offers, as its officers, until it closes (or reaches
    the step `until`)."""
    deadline = time.monotonic() + limit
    view = await service.state(code)
    while view.closed_at is None:
        if until is not None and view.current_step and view.current_step.step_id == until:
            return view
        if time.monotonic() > deadline:
            offered = [(a.action.value, a.role.value, a.step_id) for a in view.allowed_actions]
            raise AssertionError(
                f"{code} never got there: {view.status} at {view.current_step}, "
                f"offered {offered}, fee due {view.fee_due_vnd}"
            )
        a = next_step_action(view)
        if a is None:
            await asyncio.sleep(POLL)
            view = await service.state(code)
            continue
        try:
            view = await service.act(
                code, a.action, ActionInput(actor=officer(a), data=data_for(a.action))
            )
        except ServiceError as exc:
            if exc.code != "unavailable":
                raise AssertionError(f"{code}: {a.action} refused: {exc.message}") from None
            # The worker did not answer in time: the action may still land; look again.
            await asyncio.sleep(1)
            view = await service.state(code)
    return view


async def wait_for_step(
    service: DossierService, code: str, step_id: str, limit: float = 30
) -> DossierView:
    deadline = time.monotonic() + limit
    while True:
        view = await service.state(code)
        if view.current_step is not None and view.current_step.step_id == step_id:
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"{code} never reached {step_id}: {view.current_step}")
        await asyncio.sleep(POLL)


async def caught_up(service: DossierService, code: str, limit: float = 30) -> DossierView:
    """Until the read model holds every event the workflow has emitted so far."""
    deadline = time.monotonic() + limit
    while True:
        view = await service.state(code)
        row = await asyncio.to_thread(repository.get_dossier, service.engine, code)
        if row is not None and row.last_event_seq == view.event_seq:
            return view
        if time.monotonic() > deadline:
            seen = row.last_event_seq if row else None
            raise AssertionError(f"{code}: read model at event {seen} of {view.event_seq}")
        await asyncio.sleep(POLL)


async def pending_activity(client: Client, code: str, activity_type: str) -> PendingActivityInfo:
    """The dossier's pending activity of that type (AssertionError when there is none)."""
    described = await client.get_workflow_handle(code).describe()
    for a in described.raw_description.pending_activities:
        if a.activity_type.name == activity_type:
            return a
    raise AssertionError(f"{code} has no pending {activity_type}")


async def wait_running_on(
    client: Client, code: str, activity_type: str, identity: str, limit: float = 30
) -> PendingActivityInfo:
    """Until the dossier's `activity_type` runs (started, not finished) on the worker
    `identity`, as the server sees it."""
    deadline = time.monotonic() + limit
    while True:
        try:
            a = await pending_activity(client, code, activity_type)
            if (
                a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                and a.last_worker_identity == identity
            ):
                return a
        except AssertionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{code}: {activity_type} never ran on {identity}")
        await asyncio.sleep(POLL)


@contextmanager
def table_locked(engine: Engine, table: str) -> Iterator[None]:
    """Hold an ACCESS EXCLUSIVE lock on a PostgreSQL table until the block exits: every
    write to it (and read) waits. Holds an activity inside its database write."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            yield
        finally:
            transaction.rollback()


def waiting_on_lock(engine: Engine, table: str) -> int:
    """Sessions waiting for a lock on `table` (pg_locks: not granted)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = :t AND NOT l.granted"
                ),
                {"t": table},
            ).scalar_one()
        )
