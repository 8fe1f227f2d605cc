"""What an officer gets while a worker the request needs is late or absent.

- Acting right after acceptance, while the automatic handoff to the receiving agency is
  still in flight, waits for the handoff instead of answering 409 (the receiving
  agency's worker, the police, starts only after the specialist has asked to appraise;
  under load a handoff takes seconds: the benchmarks' officers got `wrong_step` here).
- A dossier whose worker does not answer (down, or overloaded) gives a 503 naming the
  dossier within the query timeout, never a 500; once a worker is back, it answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.client import Client

from api.routes import dossiers
from domain.catalog import Role
from domain.dossier import Action, ActionInput, Actor
from motcua import service
from motcua.devserver import DevServer
from motcua.stack import api_serving, workers_running
from store import repository
from store.db import init_db, make_engine
from tests.api.conftest import settings_for
from tests.api.support import CENTRE, INTAKE, POLICE, SPECIALIST, Api, error_of, submission
from tests.devserver.conftest import devserver, devserver_client, new_namespace  # noqa: F401
from tests.devserver.journeys import shipped_catalog

pytestmark = pytest.mark.devserver


@asynccontextmanager
async def api_without(
    server: DevServer, admin: Client, tmp_path: Path, *, centre: bool, agencies_but: str | None
) -> AsyncIterator[Api]:
    """The API and the workers of every agency but `agencies_but` (and the centre's
    worker only if `centre`), on a namespace and SQLite read model of their own."""
    client = await new_namespace(admin, server.address, "worker-waits")
    engine = make_engine(f"sqlite:///{tmp_path / 'motcua.db'}")
    init_db(engine)
    catalog = shipped_catalog()
    await asyncio.to_thread(repository.sync_catalog, engine, catalog)
    settings = settings_for(tmp_path / "state")
    agencies = sorted(a for a in catalog.agencies if a != agencies_but)
    try:
        async with (
            workers_running(client, settings, engine, centre=centre, agencies=agencies),
            api_serving(settings, client, engine, catalog) as url,
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


async def test_action_waits_for_an_automatic_handoff_in_flight(
    devserver: DevServer,  # noqa: F811
    devserver_client: Client,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The API serves in this process: a longer wait than in production, so that the test
    # does not depend on how fast this machine starts a worker.
    monkeypatch.setattr(dossiers, "HANDOFF_WAIT_SECONDS", 40.0)
    async with (
        api_without(devserver, devserver_client, tmp_path, centre=True, agencies_but=POLICE) as api,
        api.http() as http,
    ):
        r = await http.post(
            "/v1/dossiers", json=submission(api.person()), headers=api.headers(*INTAKE)
        )
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        r = await http.post(
            f"/v1/dossiers/{code}/actions", json={"action": "accept"}, headers=api.headers(*INTAKE)
        )
        assert r.status_code == 200, r.text
        view = r.json()
        assert view["current_step"]["kind"] == "handoff", view["current_step"]
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


async def test_a_dossier_whose_worker_does_not_answer_is_503_not_500(
    devserver: DevServer,  # noqa: F811
    devserver_client: Client,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "QUERY_TIMEOUT", service.timedelta(seconds=3))
    async with (
        api_without(devserver, devserver_client, tmp_path, centre=False, agencies_but=None) as api,
        api.http() as http,
    ):
        # Submitted: the workflow starts, but no centre worker answers its first query.
        r = await http.post(
            "/v1/dossiers", json=submission(api.person()), headers=api.headers(*INTAKE)
        )
        message = error_of(r, 503, "unavailable")
        code = message.split()[1]
        assert f"dossier {code} was received" in message and f"/v1/dossiers/{code}" in message
        r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*INTAKE))
        assert code in error_of(r, 503, "unavailable")
        r = await http.post(
            f"/v1/dossiers/{code}/actions", json={"action": "accept"}, headers=api.headers(*INTAKE)
        )
        error_of(r, 503, "unavailable")
        # An update that no worker takes up in time (past the API's own query) either.
        monkeypatch.setattr(service, "UPDATE_TIMEOUT", service.timedelta(seconds=2))
        direct = service.DossierService(api.client, api.engine, api.catalog, api.settings)
        intake = Actor(id="tn-01", name="Tiếp nhận", role=Role.INTAKE_OFFICER, agency=CENTRE)
        with pytest.raises(service.ServiceError) as refused:
            await direct.act(code, Action.ACCEPT, ActionInput(actor=intake))
        assert refused.value.code == "unavailable" and "read the dossier" in str(refused.value)

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
