"""The read model's database unavailable for a while: dossiers keep moving, and once it
is back the read model catches up, every event once, in order, without gaps (issue 10,
item 2).

PostgreSQL only: the fault is the database server going away underneath running
processes (a restart, a failover, a network cut), which a server reached over TCP has
and an SQLite file opened by each process does not (its failure is a locked file, which
the repository already waits out with busy_timeout and retries).

The worker processes (`motcua worker centre`, `motcua worker agency --agency <police>`)
and the officers' DossierService reach PostgreSQL through a TCP proxy in the test
process; the test checks the read model directly. With dossiers at the police's
appraisal and one at the counter, the proxy is cut (open connections reset, new ones
refused) for OUTAGE seconds. Meanwhile the officers appraise, approve, sign and return
three dossiers to the applicant and accept the fourth: every action is accepted by the
workflows (they do not need the read model), while every recording of their events
fails and is retried, and the read model stays behind. Then the proxy is restored.

The recording activity's retry policy (workflows/dossier.py RECORD_RETRY): first retry
after 1 s, backing off x2 to at most 1 minute between attempts, no limit on attempts
and no schedule-to-close timeout (each attempt 30 s start-to-close): any outage is
outlasted; the read model catches up at the first attempt after the database is back,
at most a minute later. OUTAGE (12 s) is far inside it, and CATCH_UP allows for the
backoff reached by then (attempts at 1, 3, 7, 15, 31 s after the first failure).
The handoff receipt (HANDOFF_RETRY: 2 s, x2, at most 5 minutes, unlimited) waits the
same way, after the recording of the accept.

Then: every workflow completed once; the read model holds each event once, numbered
1..n without gaps and in order, each dossier row at its final status (returned); the
recordings were retried (the history shows attempts beyond the first, each after a
failure, started once the database was back); the actions taken in the outage are
recorded at the instants they were taken.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine, make_url
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import FailureError

from activities.contracts import RECORD_EVENTS
from domain.dossier import Action, ActionInput, Status
from infra.docstore import FolderStore
from motcua.devserver import DevServer
from services.dossiers import DossierService
from store import repository
from store.db import make_engine
from tests.devserver.conftest import new_namespace
from tests.devserver.journeys import shipped_catalog
from tests.exactly_once import assert_read_model_holds_exactly, tasks_of
from tests.faults.proxy import TcpProxy
from tests.faults.support import (
    CENTRE,
    INTAKE,
    POLICE,
    PUBLIC_BASE_URL,
    caught_up,
    pay_at_counter,
    pending_activity,
    request,
    service_settings,
    wait_for_step,
    walk,
)
from tests.harness import pki_manifest_for_tests
from tests.processes import motcua_env, running_fleet, wait_polling
from workflows.dossier import RECORD_RETRY, DossierWorkflow

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

OUTAGE = 12  # seconds the database is unreachable
CATCH_UP = 45  # seconds after it is back for the read model to hold every event


def longest_wait_after(outage: float) -> float:
    """Under RECORD_RETRY, the longest a failing recording may wait for its next attempt
    once the database is back after `outage` seconds: the backoff interval reached."""
    assert RECORD_RETRY.maximum_interval is not None
    ceiling = RECORD_RETRY.maximum_interval.total_seconds()
    at, interval = 0.0, RECORD_RETRY.initial_interval.total_seconds()
    while at + interval <= outage:
        at += interval
        interval = min(interval * RECORD_RETRY.backoff_coefficient, ceiling)
    return interval


async def test_read_model_down_dossiers_move_on_and_the_read_model_catches_up(
    devserver: DevServer, devserver_client: Client, shared_database: Engine, tmp_path: Path
) -> None:
    # The outage must be inside what the recording's retry policy tolerates (no limit on
    # attempts or time), and the read model catch up within CATCH_UP of the restore.
    assert RECORD_RETRY.maximum_attempts == 0
    assert longest_wait_after(OUTAGE) + 10 < CATCH_UP

    started = time.monotonic()
    direct = shared_database  # the test's own view of the read model, never cut
    url = make_url(direct.url.render_as_string(hide_password=False))
    assert url.host and url.port
    proxy = TcpProxy(url.host, url.port)
    await proxy.start()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = make_engine(through_proxy)  # what the officers' service writes with
    client = await new_namespace(devserver_client, devserver.address, "dbdown")
    centre_queue = f"centre-dbdown-{client.namespace[-12:]}"
    state = tmp_path / "state"
    (state / "documents").mkdir(parents=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    env = motcua_env(
        temporal_address=devserver.address,
        namespace=client.namespace,
        centre_queue=centre_queue,
        centre_agency=CENTRE,
        database_url=through_proxy,
        state=state,
        pki_manifest=pki_manifest_for_tests(),
        public_base_url=PUBLIC_BASE_URL,
    )
    service = DossierService(
        client, engine, shipped_catalog(), service_settings(state, centre_queue)
    )
    observer = DossierService(client, direct, shipped_catalog(), service.settings)

    try:
        async with running_fleet(env, logs, centre_queue) as fleet:
            fleet.start_centre("centre")
            fleet.start_agency("police", POLICE)
            await wait_polling(client, fleet.workers)
            ready = time.monotonic()

            # -- three dossiers at the police's appraisal, one at the counter
            async def to_appraisal(n: int) -> str:
                code = (await service.submit(request(n), INTAKE)).code
                await pay_at_counter(service, code)
                await service.act(code, Action.ACCEPT, ActionInput(actor=INTAKE))
                await wait_for_step(service, code, "tra_cuu_xac_minh")
                return code

            moving = list(await asyncio.gather(*(to_appraisal(n) for n in (1, 2, 3))))
            waiting = (await service.submit(request(4), INTAKE)).code
            codes = [*moving, waiting]
            before = {c: (await caught_up(observer, c)).event_seq for c in codes}

            # -- the outage: the officers go on working
            await proxy.cut()
            cut_at = datetime.now(UTC)
            went_down = time.monotonic()
            views = await asyncio.gather(*(walk(service, c) for c in moving))
            accepted = await service.act(waiting, Action.ACCEPT, ActionInput(actor=INTAKE))
            for view in views:
                assert (view.status, view.outcome) == (Status.RETURNED, "granted"), view.code
            assert accepted.status is Status.RECEIVED
            walked_in_outage = time.monotonic()
            # Whatever is left of the outage: recordings keep failing, and are retried.
            await asyncio.sleep(max(0.0, OUTAGE - (walked_in_outage - went_down)))
            for code in codes:
                row = repository.get_dossier(direct, code)
                assert row is not None and row.last_event_seq == before[code], (code, row)
                pending = await pending_activity(client, code, RECORD_EVENTS)
                assert pending.attempt > 1, (code, pending)
                # The cause in a line the Temporal UI can show (not a stack trace past
                # the failure size limit).
                # (Its message travels encrypted, infra/codec.py: decrypted here as the UI's
                # codec server would.)
                message = await failure_message(client, pending.last_failure)
                assert message.startswith(f"recording {code}: database unavailable"), message
                assert "OperationalError" in message and len(message) < 400, message
            failure = await failure_message(client, pending.last_failure)
            await proxy.start()
            back_at = datetime.now(UTC)
            came_back = time.monotonic()

            # -- the read model catches up; the last dossier goes on to its end
            for code in codes:
                await caught_up(observer, code, limit=CATCH_UP)
            caught = time.monotonic()
            final = await walk(service, waiting)
            assert (final.status, final.outcome) == (Status.RETURNED, "granted")

            results = {
                c: await client.get_workflow_handle_for(DossierWorkflow.run, c).result()
                for c in codes
            }
            executions = [wf async for wf in client.list_workflows()]
            assert Counter(wf.id for wf in executions) == Counter(codes)
            assert {wf.status for wf in executions} == {WorkflowExecutionStatus.COMPLETED}
            histories = {c: await client.get_workflow_handle(c).fetch_history() for c in codes}
            await fleet.stop_all()

            emitted = assert_read_model_holds_exactly(
                direct,
                histories,
                results,
                public_base_url=PUBLIC_BASE_URL,
                store=FolderStore(state / "documents"),
            )
            for code in codes:
                # Recorded by attempts beyond the first, after the failures of the outage,
                # completing once the database was back. (An attempt may start a moment
                # before the restore and reach the database just after it: its start is
                # no evidence either way, its completion is.)
                retried = [t for t in tasks_of(histories[code]) if t.kind == RECORD_EVENTS]
                assert any(t.attempt > 1 and t.last_failure for t in retried), retried
                assert all(
                    t.ended is not None and t.ended >= back_at for t in retried if t.attempt > 1
                ), retried
            # The actions taken in the outage are recorded as taken then.
            in_outage = [
                e
                for code in codes
                for e in emitted.events[code]
                if e.kind in ("appraise", "approve", "sign", "return", "accept")
                and cut_at <= e.at <= back_at
            ]
            assert Counter(e.kind for e in in_outage) == Counter(
                {"appraise": 3, "approve": 3, "sign": 3, "return": 3, "accept": 1}
            ), in_outage
    finally:
        engine.dispose()
        await proxy.cut()

    print(
        f"\nworkers ready in {ready - started:.1f} s; database away {came_back - went_down:.1f} s "
        f"(3 dossiers walked to the applicant in its first {walked_in_outage - went_down:.1f} s, "
        f"a 4th accepted); last failure: {failure.splitlines()[0][:120]!r}; read model caught "
        f"up {caught - came_back:.1f} s after it came back; total {time.monotonic() - started:.1f} s"
    )


async def failure_message(client: Client, failure: Failure) -> str:
    """A failure's message, decrypted (motcua encodes messages with the payloads)."""
    error = await client.data_converter.decode_failure(failure)
    return error.message if isinstance(error, FailureError) else str(error)
