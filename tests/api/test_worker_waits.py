"""What an officer gets while a worker the request needs is late or absent.

- Acting right after acceptance, while the automatic handoff to the receiving agency is
  still in flight, waits for the handoff instead of answering 409 (the receiving
  agency's worker, the police, starts only after the specialist has asked to appraise;
  under load a handoff takes seconds: the benchmarks' officers got `wrong_step` here).
- A dossier whose worker does not answer (down, or overloaded) gives a 503 naming the
  dossier within the query timeout, never a 500; once a worker is back, it answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio import client as temporal
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    ResetStickyTaskQueueRequest,
)
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from api.routes.dossiers import actions as dossier_actions
from domain.catalog import Role
from domain.dossier import Action, ActionInput, Actor, ChildSignal, DossierView
from motcua.devserver import DevServer
from motcua.stack import api_serving, workers_running
from services import dossiers as service
from store import repository
from store.db import init_db, make_engine
from tests.api.conftest import settings_for
from tests.api.support import (
    AUDITOR,
    CENTRE,
    INTAKE,
    LEADER,
    POLICE,
    RETURNER,
    SIGNER,
    SPECIALIST,
    Api,
    caught_up,
    error_of,
    submission,
    wait_closed,
    wait_for_step,
)
from tests.devserver.conftest import devserver, devserver_client, new_namespace  # noqa: F401
from tests.devserver.journeys import shipped_catalog
from workflows.dossier import DossierWorkflow

pytestmark = pytest.mark.devserver


@asynccontextmanager
async def api_without(
    server: DevServer,
    admin: Client,
    tmp_path: Path,
    *,
    centre: bool,
    agencies_but: str | None,
    api_interceptors: Sequence[temporal.Interceptor] = (),
) -> AsyncIterator[Api]:
    """The API and the workers of every agency but `agencies_but` (and the centre's
    worker only if `centre`), on a namespace and SQLite read model of their own; the
    API's Temporal client with `api_interceptors`."""
    client = await new_namespace(admin, server.address, "worker-waits")
    config = client.config()
    config["interceptors"] = [*config["interceptors"], *api_interceptors]
    api_client = temporal.Client(**config)
    engine = make_engine(f"sqlite:///{tmp_path / 'motcua.db'}")
    init_db(engine)
    catalog = shipped_catalog()
    await asyncio.to_thread(repository.sync_catalog, engine, catalog)
    settings = settings_for(tmp_path / "state")
    agencies = sorted(a for a in catalog.agencies if a != agencies_but)
    try:
        async with (
            workers_running(client, settings, engine, centre=centre, agencies=agencies),
            api_serving(settings, api_client, engine, catalog) as url,
        ):
            yield Api(
                db="sqlite",
                url=url,
                settings=settings,
                engine=engine,
                client=client,
                catalog=catalog,
            )
    finally:
        engine.dispose()


async def accepted(api: Api, http: httpx.AsyncClient) -> dict[str, Any]:
    """A new dossier submitted and accepted at the counter: its state, at the handoff."""
    r = await http.post("/v1/dossiers", json=submission(api.person()), headers=api.headers(*INTAKE))
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = await http.post(
        f"/v1/dossiers/{code}/actions", json={"action": "accept"}, headers=api.headers(*INTAKE)
    )
    assert r.status_code == 200, r.text
    view: dict[str, Any] = r.json()
    assert view["current_step"]["kind"] == "handoff", view["current_step"]
    assert view["handoff_pending"]  # not acknowledged yet: the API waits on this
    return view


async def test_action_waits_for_an_automatic_handoff_in_flight(
    devserver: DevServer,  # noqa: F811
    devserver_client: Client,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The API serves in this process: a longer wait than in production, so that the test
    # does not depend on how fast this machine starts a worker.
    monkeypatch.setattr(dossier_actions, "HANDOFF_WAIT_SECONDS", 40.0)
    async with (
        api_without(devserver, devserver_client, tmp_path, centre=True, agencies_but=POLICE) as api,
        api.http() as http,
    ):
        view = await accepted(api, http)
        code = view["code"]
        assert view["holder"] is None or view["holder"]["role"] == "system", view["holder"]

        appraise = asyncio.create_task(
            http.post(
                f"/v1/dossiers/{code}/actions",
                json={"action": "appraise", "data": {"opinion": "Không có án tích"}},
                headers=api.headers(*SPECIALIST),
            )
        )
        await asyncio.sleep(8)  # longer than the API used to wait (30 polls: 3-6 s)
        assert not appraise.done(), appraise.result().text  # waiting, not refused
        async with workers_running(
            api.client, api.settings, api.engine, centre=False, agencies=[POLICE]
        ):
            r = await appraise
            assert r.status_code == 200, r.text
            assert r.json()["current_step"]["step_id"] != view["current_step"]["step_id"]


class _RefusalHeldBack(temporal.Interceptor):
    """On the API's Temporal client: the first refusal of an `update` reaches the API
    only after `meanwhile` has run (the engine's answer overtaken by events)."""

    def __init__(self, update: str, meanwhile: Callable[[], Awaitable[None]]) -> None:
        self.update = update
        self.meanwhile: Callable[[], Awaitable[None]] | None = meanwhile
        self.refusals: list[str] = []

    def intercept_client(self, next: temporal.OutboundInterceptor) -> temporal.OutboundInterceptor:
        return _HoldingBack(next, self)


class _HoldingBack(temporal.OutboundInterceptor):
    def __init__(self, next: temporal.OutboundInterceptor, held: _RefusalHeldBack) -> None:
        super().__init__(next)
        self._held = held

    async def start_workflow_update(
        self, input: temporal.StartWorkflowUpdateInput
    ) -> temporal.WorkflowUpdateHandle[Any]:
        handle = await super().start_workflow_update(input)
        if input.update == self._held.update and self._held.meanwhile is not None:
            try:
                await handle.result()
            except temporal.WorkflowUpdateFailedError as exc:
                assert isinstance(exc.cause, ApplicationError)
                self._held.refusals.append(str(exc.cause.type))
                meanwhile, self._held.meanwhile = self._held.meanwhile, None
                await meanwhile()
        return handle


async def test_an_action_refused_while_a_handoff_lands_is_taken_once_it_has(
    devserver: DevServer,  # noqa: F811
    devserver_client: Client,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The workflow waits a moment for a handoff in flight, then refuses the action as
    `handoff_in_flight`; if the handoff lands before the API has read the state, the
    API asks again (it used to answer 409 `wrong_step` for a step already over)."""
    code = ""
    police = AsyncExitStack()

    async def the_police_acknowledge() -> None:
        await police.enter_async_context(
            workers_running(api.client, api.settings, api.engine, centre=False, agencies=[POLICE])
        )
        await wait_for_step(api, http, code, "tra_cuu_xac_minh")

    held = _RefusalHeldBack("appraise", the_police_acknowledge)
    async with (
        api_without(
            devserver,
            devserver_client,
            tmp_path,
            centre=True,
            agencies_but=POLICE,
            api_interceptors=[held],
        ) as api,
        api.http() as http,
        police,  # stopped first
    ):
        code = (await accepted(api, http))["code"]
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "appraise", "data": {"opinion": "Không có án tích"}},
            headers=api.headers(*SPECIALIST),
        )
        assert held.refusals == ["handoff_in_flight"]
        assert r.status_code == 200, r.text
        assert r.json()["current_step"]["kind"] == "approval", r.json()["current_step"]
        refused = await asyncio.to_thread(repository.list_refused_attempts, api.engine, code)
        assert refused == []


async def test_a_dossier_whose_worker_does_not_answer_is_503_not_500(
    devserver: DevServer,  # noqa: F811
    devserver_client: Client,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "QUERY_TIMEOUT", service.timedelta(seconds=3))
    # An action goes straight to the workflow as an update: no worker takes it up in time.
    monkeypatch.setattr(service, "UPDATE_TIMEOUT", service.timedelta(seconds=2))
    async with (
        api_without(devserver, devserver_client, tmp_path, centre=False, agencies_but=None) as api,
        api.http() as http,
    ):
        # Submitted: the workflow starts, but no centre worker answers its first query.
        r = await http.post(
            "/v1/dossiers", json=submission(api.person()), headers=api.headers(*INTAKE)
        )
        message = error_of(r, 503, "unavailable")
        code = message.split()[2]
        assert f"Hồ sơ {code} đã được nhận" in message and f"/v1/dossiers/{code}" in message
        r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*INTAKE))
        assert code in error_of(r, 503, "unavailable")
        keyed = {**api.headers(*INTAKE), "Idempotency-Key": "nhan-ho-so-1"}
        accept = {"action": "accept", "expected_step": "tiep_nhan"}
        r = await http.post(f"/v1/dossiers/{code}/actions", json=accept, headers=keyed)
        assert "cùng Idempotency-Key" in error_of(r, 503, "unavailable")
        # The service says so to its other callers too (the CLI, the demo).
        direct = service.DossierService(api.client, api.engine, api.catalog, api.settings)
        intake = Actor(id="tn-01", name="Tiếp nhận", role=Role.INTAKE_OFFICER, agency=CENTRE)
        with pytest.raises(service.ServiceError) as refused:  # (no reason: refused later)
            await direct.act(code, Action.REFUSE, ActionInput(actor=intake))
        assert refused.value.code == "unavailable" and "xem lại hồ sơ" in str(refused.value)

        # Nothing was lost, nothing doubled: once the centre's worker runs, the same dossier
        # answers, and the accept that timed out (as its message warned) was taken, once.
        async with workers_running(api.client, api.settings, api.engine, agencies=[]):
            r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*INTAKE))
            assert r.status_code == 200, r.text
            assert r.json()["status"] in ("received", "in_progress"), r.json()["status"]
            r = await http.post(
                f"/v1/dossiers/{code}/actions",
                json={"action": "accept"},
                headers=api.headers(*INTAKE),
            )
            error_of(r, 409, "wrong_step")
            # The retry the 503 asked for, under the same key: the accept's own answer.
            r = await http.post(f"/v1/dossiers/{code}/actions", json=accept, headers=keyed)
            assert r.status_code == 200, r.text
            assert r.json()["received_at"] is not None
            await caught_up(api, http, code)
            r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*INTAKE))
            assert [e["kind"] for e in r.json()["events"]].count("accept") == 1


async def test_a_closed_dossier_reads_as_it_closed_without_its_worker(
    devserver: DevServer,  # noqa: F811
    devserver_client: Client,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Most dossiers are closed. Reading one needs no worker: no query (on a closed
    workflow a query is a replay of its whole history on a worker), but the workflow's
    result and input. With its worker stopped, the API answers a closed dossier as the
    workflow itself answered while it ran, and refuses an action on it as closed."""
    monkeypatch.setattr(service, "QUERY_TIMEOUT", service.timedelta(seconds=3))
    centre = AsyncExitStack()
    async with (
        api_without(devserver, devserver_client, tmp_path, centre=False, agencies_but=None) as api,
        api.http() as http,
    ):
        async with centre:
            await centre.enter_async_context(
                workers_running(api.client, api.settings, api.engine, agencies=[])
            )
            person = api.person()
            r = await http.post(
                "/v1/dossiers", json=submission(person), headers=api.headers(*INTAKE)
            )
            assert r.status_code == 201, r.text
            code = r.json()["code"]
            steps: list[tuple[tuple[Role, str | None], dict[str, Any], str | None]] = [
                (
                    INTAKE,
                    {"action": "pay", "data": {"amount_vnd": 200_000, "method": "cash"}},
                    None,
                ),
                (INTAKE, {"action": "accept"}, "tra_cuu_xac_minh"),
                (SPECIALIST, {"action": "appraise", "data": {"opinion": "Không có án tích"}}, None),
                (LEADER, {"action": "approve", "comment": "Đồng ý"}, None),
                (SIGNER, {"action": "sign"}, "tra_ket_qua"),
                (RETURNER, {"action": "return", "data": {"channel": "counter"}}, None),
            ]
            for who, body, then in steps:
                r = await http.post(
                    f"/v1/dossiers/{code}/actions", json=body, headers=api.headers(*who)
                )
                assert r.status_code in (200, 202), r.text
                if then:
                    await wait_for_step(api, http, code, then)
            await wait_closed(api, code)
            await caught_up(api, http, code)
            handle = api.client.get_workflow_handle_for(DossierWorkflow.run, code)
            queried = await handle.query(DossierWorkflow.detail)
            direct = service.DossierService(api.client, api.engine, api.catalog, api.settings)
            assert await direct.closed_detail(code) == queried
        # The centre's worker, the dossier's, is stopped.
        r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
        assert r.status_code == 200, r.text
        shown = r.json()
        # As the workflow answered, but `forms`: the API lists the issued forms the read
        # model holds (with their links), where the engine's view has none of its own.
        fields = set(DossierView.model_fields) - {"forms"}
        assert {k: shown[k] for k in fields} == queried.view.model_dump(mode="json", include=fields)
        assert sorted(f["form"] for f in shown["forms"]) == ["01", "06"]
        assert shown["status"] == "returned" and shown["applicant"]["name"] == person.name
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "return", "data": {"channel": "counter"}},
            headers=api.headers(*RETURNER),
        )
        error_of(r, 409, "closed")
        # An open dossier, by contrast, is a query that no worker answers.
        r = await http.post(
            "/v1/dossiers", json=submission(api.person()), headers=api.headers(*INTAKE)
        )
        error_of(r, 503, "unavailable")


async def test_a_busy_dossier_answers_every_reader_at_once(
    devserver: DevServer,  # noqa: F811
    devserver_client: Client,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Temporal holds back a query that reaches a dossier while a workflow task of it is
    in flight, and holds back one at a time (the server's history.MaxBufferedQueryCount
    is 1 by default): any other concurrent reader is turned away with "consistent query
    buffer is full" (RESOURCE_EXHAUSTED, BusyWorkflow), which the SDK retries for some
    seconds only. Officers opening one dossier while its worker is busy with it must each
    get it, not 503: the service asks again, within the query's time, until it answers.

    The dossier is kept busy longer than the SDK's own retries last (two workflow-task
    timeouts): this test takes the dossier's workflow tasks itself, as a worker would,
    and holds each until it times out."""
    monkeypatch.setattr(service, "QUERY_TIMEOUT", service.timedelta(seconds=60))
    centre = AsyncExitStack()
    async with (
        api_without(devserver, devserver_client, tmp_path, centre=False, agencies_but=None) as api,
        api.http() as http,
    ):
        async with centre:
            await centre.enter_async_context(
                workers_running(api.client, api.settings, api.engine, agencies=[])
            )
            r = await http.post(
                "/v1/dossiers", json=submission(api.person()), headers=api.headers(*INTAKE)
            )
            assert r.status_code == 201, r.text
            code = r.json()["code"]
            await caught_up(api, http, code)
        # The centre's worker is away, its sticky queue forgotten; a signal (a child's
        # progress, which a dossier without children takes as nothing) makes a task.
        handle = api.client.get_workflow_handle_for(DossierWorkflow.run, code)
        await api.client.workflow_service.reset_sticky_task_queue(
            ResetStickyTaskQueueRequest(
                namespace=api.client.namespace, execution=WorkflowExecution(workflow_id=code)
            )
        )
        await handle.signal(
            DossierWorkflow.child_progress, ChildSignal(code="000.00.00.X", at=datetime.now(UTC))
        )

        async def hold_a_task() -> None:
            task = await api.client.workflow_service.poll_workflow_task_queue(
                PollWorkflowTaskQueueRequest(
                    namespace=api.client.namespace,
                    task_queue=TaskQueue(name=api.settings.centre_task_queue),
                    identity="a busy worker",
                )
            )
            assert task.workflow_execution.workflow_id == code

        await hold_a_task()
        readers = [
            asyncio.create_task(
                http.get(f"/v1/dossiers/{code}", headers=api.headers(*INTAKE), timeout=90)
            )
            for _ in range(5)
        ]
        await hold_a_task()  # the server's next attempt, once the first timed out
        assert not any(r.done() for r in readers)  # none answered (nor turned away) yet
        async with workers_running(api.client, api.settings, api.engine, agencies=[]):
            answers = await asyncio.gather(*readers)
        assert [r.status_code for r in answers] == [200] * 5, [r.text for r in answers]
        assert {r.json()["code"] for r in answers} == {code}
