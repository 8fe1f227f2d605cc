"""The Temporal server stopped and restarted with dossiers in flight: every dossier
completes, and every timer that fell due while the server was down fires after it is
back (issue 10, item 2).

The server is the test's own `temporal server start-dev` (motcua.devserver.DevServer)
persisted to a SQLite file in the test's folder, on free ports, so the test can stop
and restart it without disturbing the session's. The workers are `motcua worker`
processes (the centre's and the provincial police's), configured by environment
variables as in production: they are not restarted, so they must find the server again
on their own, which is what a real deployment relies on (the same processes, pids
unchanged, are polling again after the restart). The test process's own client (the
officers' DossierService) is not reconnected either.

Timers that fall due within seconds, with real rules and a real calendar:

- the office is open around the clock (a calendar overrides file with one session
  00:00-23:59:59 and today and its neighbours working days), so the office time the
  rules count is real time whatever the hour the test runs;
- two dossiers wait for an on-site inspection that their specialist scheduled a few
  seconds ahead (`schedule_inspection`): the workflow wakes at that instant and emits
  `inspection_due`;
- two dossiers of a procedure whose intake step has a budget of one working minute
  (the judicial record certificate with that one change) were received at the counter
  60 s minus a few seconds before they are registered (the workflow input's
  `submitted_at`, from which the intake step's budget counts): nobody accepts them, so
  the step-budget timer fires and emits an escalation to the centre's leader.

All four timers fall due while the server is down (it stays down for a few seconds
past them). Two more dossiers wait on officers (approval, return). After the restart,
each timer's event is in the workflow's history (TimerFired after the restart, for a
timer started before the stop and due inside the outage) and in the read model, at an
instant after the restart; then every dossier is walked to its end, each workflow
completed once, and the read model holds exactly what the workflows emitted.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.common import WorkflowIDReusePolicy

from domain.calendar import TimeUnit
from domain.catalog import Catalog, Procedure, Role
from domain.dossier import Action, ActionInput, Actor, DossierView, Status
from infra.docstore import FolderStore
from motcua.devserver import DevServer, find_free_port
from services.dossiers import TZ, DossierService, SubmitRequest
from store import repository
from store.models import EventRow
from tests.devserver.journeys import SPECIALIST, shipped_catalog
from tests.exactly_once import assert_read_model_holds_exactly, rows
from tests.faults.support import (
    CENTRE,
    INTAKE,
    POLICE,
    PROCEDURE,
    PUBLIC_BASE_URL,
    caught_up,
    pay_at_counter,
    request,
    service_settings,
    wait_for_step,
    walk,
)
from tests.harness import pki_manifest_for_tests
from tests.payload_keys import DATA_CONVERTER
from tests.processes import motcua_env, running_fleet, wait_polling
from workflows.dossier import PROJECTION_PATIENCE, DossierWorkflow

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

LEAD = 10  # seconds from setting the timers to their falling due (the server stops meanwhile)
DOWN_PAST_DUE = 4  # seconds the server stays down after the timers fell due
FIRE_LIMIT = 60  # seconds after the restart for every timer's event to be recorded
RECEIPT_BUDGET_MINUTES = 1  # the intake step's budget in the quick variant of the procedure


# --------------------------------------------------------------------------- set-up


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[DevServer]:
    """A dev server of this test's own, persisted in its folder, on free ports."""
    port = find_free_port()
    ui_port = find_free_port()
    server = DevServer(tmp_path / "temporal", port=port, ui_port=ui_port, ui=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def office_around_the_clock(path: Path, today: date) -> Path:
    """Calendar overrides: one office session 00:00-23:59:59, and the days around today
    working days (a weekend or a holiday too), so office time is real time."""
    days = [today + timedelta(days=n) for n in range(-2, 3)]
    path.write_text(
        yaml.safe_dump(
            {
                "source": "faults-24h",
                "sessions": [{"start": "00:00:00", "end": "23:59:59"}],
                "working_days": [{"day": d, "name": "Ngày làm việc (kiểm thử)"} for d in days],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return path


def quick_catalog() -> Catalog:
    """The shipped catalog, with the judicial record certificate's intake step given a
    budget of one working minute (everything else as shipped)."""
    shipped = shipped_catalog()
    data = shipped.procedure(PROCEDURE).model_dump(mode="json")
    data["steps"][0]["budget"] = {
        "value": RECEIPT_BUDGET_MINUTES / 60,
        "unit": TimeUnit.WORKING_HOURS.value,
    }
    quick = Procedure.model_validate(data)
    return Catalog(agencies=shipped.agencies, procedures={**shipped.procedures, PROCEDURE: [quick]})


async def register_received_at(
    service: DossierService, req: SubmitRequest, actor: Actor, received_at: datetime
) -> str:
    """What DossierService.submit does (a code from the read model's sequence, the
    workflow input with the procedure and calendar frozen, the workflow started on the
    centre's queue), for a dossier received at the counter at `received_at`, earlier."""
    day = received_at.astimezone(TZ).date()
    procedure = service.catalog.procedure(req.procedure_code, on=day)
    code = await asyncio.to_thread(
        repository.allocate_dossier_code, service.engine, procedure.competent_agency, day
    )
    inp = service.build_input(req, actor, code, received_at)
    await service.client.start_workflow(
        DossierWorkflow.run,
        inp,
        id=code,
        task_queue=service.settings.centre_task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    return code


async def act(
    service: DossierService, code: str, action: Action, actor: Actor, **data: object
) -> DossierView:
    return await service.act(code, action, ActionInput(actor=actor, data=dict(data)))


def timers(history: WorkflowHistory) -> list[tuple[datetime, datetime, datetime | None]]:
    """Each timer the workflow started: (started at, due at, fired at or None)."""
    started: dict[int, tuple[datetime, datetime]] = {}
    fired: dict[int, datetime] = {}
    for e in history.events:
        at = e.event_time.ToDatetime(tzinfo=UTC)
        if e.HasField("timer_started_event_attributes"):
            after = e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
            started[e.event_id] = (at, at + after)
        elif e.HasField("timer_fired_event_attributes"):
            fired[e.timer_fired_event_attributes.started_event_id] = at
    return [(s, due, fired.get(eid)) for eid, (s, due) in started.items()]


async def clear_of_midnight() -> None:
    """The office's one closed second (23:59:59 to midnight, local) must not fall inside
    a receipt's minute or the outage: when it is near, wait until it is a minute past."""
    now = datetime.now(TZ)
    since = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    margin = RECEIPT_BUDGET_MINUTES * 60 + 5
    if since < margin:
        await asyncio.sleep(margin - since)
    elif 24 * 3600 - since < LEAD + DOWN_PAST_DUE + 5:
        await asyncio.sleep(24 * 3600 - since + margin)


# --------------------------------------------------------------------------- the test


async def test_server_restart_every_dossier_completes_and_every_timer_fires(
    own_server: DevServer, shared_database: Engine, tmp_path: Path
) -> None:
    started = time.monotonic()
    server, engine = own_server, shared_database
    client = await Client.connect(
        server.address, namespace=server.namespace, data_converter=DATA_CONVERTER
    )
    centre_queue = "centre-restart"
    state = tmp_path / "state"
    (state / "documents").mkdir(parents=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    calendar = office_around_the_clock(tmp_path / "calendar.yaml", datetime.now(TZ).date())
    env = motcua_env(
        temporal_address=server.address,
        namespace=server.namespace,
        centre_queue=centre_queue,
        centre_agency=CENTRE,
        database_url=engine.url.render_as_string(hide_password=False),
        state=state,
        pki_manifest=pki_manifest_for_tests(),
        public_base_url=PUBLIC_BASE_URL,
        MOTCUA_CALENDAR_OVERRIDES=str(calendar),
    )
    settings = service_settings(state, centre_queue, calendar_overrides=calendar)
    service = DossierService(client, engine, quick_catalog(), settings)

    async with running_fleet(env, logs, centre_queue) as fleet:
        centre = fleet.start_centre("centre")
        police = fleet.start_agency("police", POLICE)
        await wait_polling(client, fleet.workers)
        ready = time.monotonic()

        # -- dossiers waiting on officers: two at appraisal (to inspect), one at
        #    approval, one at the return counter
        async def to_appraisal(n: int) -> str:
            code = (await service.submit(request(n), INTAKE)).code
            await pay_at_counter(service, code)
            await act(service, code, Action.ACCEPT, INTAKE)
            await wait_for_step(service, code, "tra_cuu_xac_minh")
            return code

        inspected = list(await asyncio.gather(to_appraisal(1), to_appraisal(2)))
        at_approval, at_return = await asyncio.gather(to_appraisal(3), to_appraisal(4))
        await act(service, at_approval, Action.APPRAISE, SPECIALIST, opinion="Không có án tích")
        await walk(service, at_return, until="tra_ket_qua")

        # -- timers due in LEAD seconds: the inspections, and the receipts' budgets
        await clear_of_midnight()
        due = (datetime.now(UTC) + timedelta(seconds=LEAD)).replace(microsecond=0)
        for code in inspected:
            await act(
                service,
                code,
                Action.SCHEDULE_INSPECTION,
                SPECIALIST,
                at=due.astimezone(TZ).isoformat(),
                place="Trụ sở Công an tỉnh",
            )
        received_at = due - timedelta(minutes=RECEIPT_BUDGET_MINUTES)
        unaccepted = [
            await register_received_at(service, request(n), INTAKE, received_at) for n in (5, 6)
        ]
        codes = [*inspected, *unaccepted, at_approval, at_return]
        views = {c: await caught_up(service, c) for c in codes}
        for code, view in views.items():
            assert not view.escalations, f"{code} escalated before the outage"
            assert view.calendar_version.endswith("+faults-24h"), view.calendar_version
        for code in inspected:
            assert [i.at for i in views[code].inspections] == [due], views[code].inspections
        for code in unaccepted:
            step = views[code].current_step
            assert step is not None and (step.step_id, step.due_at) == ("tiep_nhan", due), step

        # -- the outage: the server goes down before the timers fall due, comes back after
        await asyncio.to_thread(server.stop)
        stopped_at = datetime.now(UTC)
        assert stopped_at < due, f"the server took until {stopped_at} to stop; due {due}"
        await asyncio.sleep((due - stopped_at).total_seconds() + DOWN_PAST_DUE)
        for p in fleet.workers:
            p.check_alive()  # the workers waited for the server, they did not give up
        # Down until now: whatever fires from here on fired after the outage.
        restarting_at = datetime.now(UTC)
        restarting = time.monotonic()
        await asyncio.to_thread(server.start)
        restarted = time.monotonic()
        # The same processes find the server again and poll, on their own.
        await wait_polling(client, [centre, police])
        polling = time.monotonic()

        # -- every timer that fell due in the outage fires now: its event recorded
        fired: dict[str, EventRow] = {}
        deadline = time.monotonic() + FIRE_LIMIT
        while len(fired) < 4:
            assert time.monotonic() < deadline, f"timers fired so far: {sorted(fired)}"
            for code in [*inspected, *unaccepted]:
                kind = "inspection_due" if code in inspected else "escalated"
                for e in repository.list_events(engine, code):
                    if e.kind == kind:
                        fired[code] = e
            await asyncio.sleep(0.2)
        all_fired = time.monotonic()
        for code, e in fired.items():
            assert e.at >= restarting_at > due, (code, e.at, restarting_at, due)
            if code in unaccepted:
                assert e.data["escalation"] == "step_budget" and e.step_id == "tiep_nhan", e
                assert e.data["to_role"] == Role.LEADER.value and e.data["to_agency"] == CENTRE
            else:
                assert datetime.fromisoformat(e.data["inspection_at"]) == due, e

        # -- then every dossier goes on to its end
        await asyncio.gather(*(act(service, c, Action.ACCEPT, INTAKE) for c in unaccepted))
        finals = await asyncio.gather(*(walk(service, c) for c in codes))
        walked = time.monotonic()
        for view in finals:
            assert (view.status, view.outcome) == (Status.RETURNED, "granted"), view.code

        results = {
            c: await client.get_workflow_handle_for(DossierWorkflow.run, c).result() for c in codes
        }
        executions = [wf async for wf in client.list_workflows()]
        assert Counter(wf.id for wf in executions) == Counter(codes)
        assert {wf.status for wf in executions} == {WorkflowExecutionStatus.COMPLETED}
        histories = {c: await client.get_workflow_handle(c).fetch_history() for c in codes}
        await fleet.stop_all()

        # -- the histories: a timer started before the stop, due in the outage, fired after
        for code in [*inspected, *unaccepted]:
            across = [
                (s, d, f)
                for s, d, f in timers(histories[code])
                if s < stopped_at
                and stopped_at <= d <= restarting_at
                # not an action's bounded wait for the read model (read-your-writes)
                and d - s != PROJECTION_PATIENCE
            ]
            assert len(across) == 1, (code, timers(histories[code]))
            fired_at = across[0][2]
            assert fired_at is not None and fired_at >= restarting_at, (code, across)

        emitted = assert_read_model_holds_exactly(
            engine,
            histories,
            results,
            public_base_url=PUBLIC_BASE_URL,
            store=FolderStore(state / "documents"),
        )
        # Each timer's event once, in the histories and the read model alike.
        for code in codes:
            kinds = Counter(e.kind for e in emitted.events[code])
            assert kinds["inspection_due"] == (code in inspected), (code, kinds)
            assert kinds["escalated"] == (code in unaccepted), (code, kinds)
        assert {r.id for r in rows(engine, EventRow)} >= {e.id for e in fired.values()}

    print(
        f"\nworkers ready in {ready - started:.1f} s; server down "
        f"{(restarting_at - stopped_at).total_seconds():.1f} s (timers due "
        f"{(due - stopped_at).total_seconds():.1f} s into it); back in {restarted - restarting:.1f} s; "
        f"workers polling again {polling - restarted:.1f} s after; every timer's event recorded "
        f"{all_fired - restarted:.1f} s after it; walked in {walked - all_fired:.1f} s; "
        f"total {time.monotonic() - started:.1f} s"
    )
