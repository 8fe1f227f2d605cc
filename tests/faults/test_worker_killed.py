"""Worker processes killed (SIGKILL: no drain, no goodbye) in the middle of an activity;
replacements started; every dossier still completes exactly once (issue 10, item 2).

Two `motcua worker` processes run as an operator runs them (environment variables only,
one shared PostgreSQL read model and document store): the centre's and the provincial
police's. Two judicial record dossiers are submitted and held, each in the middle of an
activity, by a lock the test takes on the table the activity writes:

- dossier A's read-model recording (the intake officer's `accept`: the event, Form 01,
  the notifications) on the centre's process, inside its last transaction: the form and
  the notifications are already committed, the events wait on `dossier_events`;
- dossier B's handoff receipt on the police's process, waiting on `agency_inbox`.

Once the server reports each activity started on that very process (describe: pending
activity, its worker identity) and PostgreSQL shows the writes waiting, both processes
are killed, the locks released, and a new centre process and a new police process
started. Nothing tells Temporal that the processes died: each activity runs out its
start-to-close timeout (30 s for both) and is retried, on the replacement.

Then: each activity's completed attempt is the second, run by the replacement, after a
timeout; the killed processes completed nothing after they died; every workflow
completed once; the read model holds each event once (seq 1..n, in order, chained),
each notification and document once (A's Form 01 and notifications were written by the
killed attempt and again by the retry), one handoff receipt per dossier, written by the
replacement police process.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowExecutionStatus

from activities.contracts import RECEIVE_HANDOFF, RECORD_EVENTS
from domain.catalog import agency_task_queue
from domain.dossier import Action, ActionInput, Status
from infra.docstore import FolderStore
from motcua.devserver import DevServer
from services.dossiers import DossierService
from store.models import DocumentRow, HandoffInboxRow, OutboxRow
from tests.devserver.conftest import new_namespace
from tests.devserver.journeys import shipped_catalog
from tests.exactly_once import assert_read_model_holds_exactly, rows, tasks_of
from tests.faults.support import (
    CENTRE,
    INTAKE,
    POLICE,
    PUBLIC_BASE_URL,
    caught_up,
    pay_at_counter,
    request,
    service_settings,
    table_locked,
    wait_for_step,
    wait_running_on,
    waiting_on_lock,
    walk,
)
from tests.harness import pki_manifest_for_tests
from tests.processes import motcua_env, running_fleet, wait_polling
from workflows.dossier import DossierWorkflow

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

ACTIVITY_TIMEOUT = 30  # start-to-close of both activities (workflows/dossier.py)
RETRY_LIMIT = ACTIVITY_TIMEOUT + 30  # seconds until a killed attempt has been retried


async def wait_until(what: str, check: Callable[[], object], limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.1)


async def test_workers_killed_mid_activity_every_dossier_completes_once(
    devserver: DevServer, devserver_client: Client, shared_database: Engine, tmp_path: Path
) -> None:
    started = time.monotonic()
    engine = shared_database
    client = await new_namespace(devserver_client, devserver.address, "killed")
    centre_queue = f"centre-killed-{client.namespace[-12:]}"
    police_queue = agency_task_queue(POLICE)
    state = tmp_path / "state"
    (state / "documents").mkdir(parents=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    env = motcua_env(
        temporal_address=devserver.address,
        namespace=client.namespace,
        centre_queue=centre_queue,
        centre_agency=CENTRE,
        database_url=engine.url.render_as_string(hide_password=False),
        state=state,
        pki_manifest=pki_manifest_for_tests(),
        public_base_url=PUBLIC_BASE_URL,
    )
    service = DossierService(
        client, engine, shipped_catalog(), service_settings(state, centre_queue)
    )

    async with running_fleet(env, logs, centre_queue) as fleet:
        centre_1 = fleet.start_centre("centre-1")
        police_1 = fleet.start_agency("police-1", POLICE)
        await wait_polling(client, fleet.workers)
        ready = time.monotonic()

        a = (await service.submit(request(1), INTAKE)).code
        b = (await service.submit(request(2), INTAKE)).code
        for code in (a, b):
            await pay_at_counter(service, code)
            await caught_up(service, code)

        with ExitStack() as locks:
            # B: its handoff receipt, on police-1, waits inside its transaction.
            locks.enter_context(table_locked(engine, "agency_inbox"))
            await service.act(b, Action.ACCEPT, ActionInput(actor=INTAKE))
            await wait_running_on(client, b, RECEIVE_HANDOFF, police_1.identity)
            await wait_until("B's receipt waits", lambda: waiting_on_lock(engine, "agency_inbox"))

            # A: its recording, on centre-1, waits in its last transaction (the events),
            # with Form 01 and the notifications already committed.
            locks.enter_context(table_locked(engine, "dossier_events"))
            await service.act(a, Action.ACCEPT, ActionInput(actor=INTAKE))
            await wait_running_on(client, a, RECORD_EVENTS, centre_1.identity)
            await wait_until("A's events wait", lambda: waiting_on_lock(engine, "dossier_events"))
            await wait_until(
                "A's Form 01 is committed by the attempt now waiting",
                lambda: any(
                    d.dossier_code == a and d.id.endswith(":form-01")
                    for d in rows(engine, DocumentRow)
                ),
            )
            partial_outbox = {o.id for o in rows(engine, OutboxRow) if o.dossier_code == a}
            assert partial_outbox, "A's notifications were committed before its events"

            await asyncio.gather(centre_1.kill(), police_1.kill())
        killed = time.monotonic()
        assert centre_1.exited_at and police_1.exited_at

        centre_2 = fleet.start_centre("centre-2")
        police_2 = fleet.start_agency("police-2", POLICE)
        await wait_polling(client, [centre_2, police_2])
        replaced = time.monotonic()

        # Nothing tells Temporal the processes died: the activities time out, then retry.
        await wait_for_step(service, b, "tra_cuu_xac_minh", limit=RETRY_LIMIT)
        await caught_up(service, a, limit=RETRY_LIMIT)
        retried = time.monotonic()

        # One after the other: two first signatures at once in a fresh process can race
        # in asn1crypto's lazy certificate parsing and fail (and be retried) on their own.
        finals = [await walk(service, a), await walk(service, b)]
        walked = time.monotonic()
        for view in finals:
            assert (view.status, view.outcome) == (Status.RETURNED, "granted"), view.code

        # -- every workflow completed, each once
        codes = [a, b]
        results = {
            c: await client.get_workflow_handle_for(DossierWorkflow.run, c).result() for c in codes
        }
        executions = [wf async for wf in client.list_workflows()]
        assert Counter(wf.id for wf in executions) == Counter(codes)
        assert {wf.status for wf in executions} == {WorkflowExecutionStatus.COMPLETED}
        histories = {c: await client.get_workflow_handle(c).fetch_history() for c in codes}
        await fleet.stop_all()  # nothing is still writing while the read model is checked

        # -- the killed attempts: retried once each, after a timeout, by the replacements
        tasks = {c: tasks_of(h) for c, h in histories.items()}
        recording = [
            t
            for t in tasks[a]
            if t.kind == RECORD_EVENTS and t.attempt > 1 and t.queue == centre_queue
        ]
        assert [(t.identity, t.attempt) for t in recording] == [(centre_2.identity, 2)], recording
        assert "timeout" in recording[0].last_failure.lower(), recording[0].last_failure
        handoffs = [t for t in tasks[b] if t.kind == RECEIVE_HANDOFF]
        assert [(t.identity, t.attempt, t.queue) for t in handoffs] == [
            (police_2.identity, 2, police_queue)
        ], handoffs
        assert "timeout" in handoffs[0].last_failure.lower(), handoffs[0].last_failure
        # Nothing else had to be retried, but for another activity that was in flight on
        # a killed process when it died (under load, B's recording can be): retried after
        # its timeout, by a replacement. A retry for any other reason fails the test.
        retries = [t for ts in tasks.values() for t in ts if t.attempt > 1]
        held = [*recording, *handoffs]
        assert all(any(t is r for r in retries) for t in held)
        for t in retries:
            if any(t is h for h in held):
                continue
            assert t.attempt == 2 and "timeout" in t.last_failure.lower(), t
            assert t.identity in (centre_2.identity, police_2.identity), t
        # The killed processes completed nothing after they died.
        for victim in (centre_1, police_1):
            assert victim.exited_at is not None
            late = [
                t
                for ts in tasks.values()
                for t in ts
                if t.identity == victim.identity and t.at > victim.exited_at
            ]
            assert not late, late

        # -- the read model: everything exactly once
        emitted = assert_read_model_holds_exactly(
            engine,
            histories,
            results,
            public_base_url=PUBLIC_BASE_URL,
            store=FolderStore(state / "documents"),
        )
        assert {o.id for o in rows(engine, OutboxRow) if o.dossier_code == a} >= partial_outbox
        receipts = rows(engine, HandoffInboxRow)
        assert sorted(r.dossier_code for r in receipts) == [a, b], "one receipt per dossier"
        assert {r.id: r.worker_identity for r in receipts} == {
            str(ack["inbox_id"]): ack["worker"] for ack in emitted.handoff_acks
        }
        assert {r.worker_identity.rsplit(":", 1)[-1] for r in receipts} == {str(police_2.pid)}

    print(
        f"\nworkers ready in {ready - started:.1f} s; killed mid-activity at "
        f"{killed - started:.1f} s; replacements polling after {replaced - killed:.1f} s; "
        f"both activities retried and recorded {retried - killed:.1f} s after the kill; "
        f"walked in {walked - retried:.1f} s; total {time.monotonic() - started:.1f} s"
    )
