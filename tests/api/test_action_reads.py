"""An officer's action goes straight to the workflow: the update's validator authorises
the actor, so the API reads the dossier's state first only when it must (a refusal to
explain to a caller who may not see the dossier, an officer with several roles).

The API here is a second uvicorn on the session's stack whose Temporal client counts the
queries it sends; the workers and the read model are the session's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio import client as temporal

from api.auth import issue_token
from domain.catalog import Role
from motcua.devserver import find_free_port
from motcua.stack import api_serving
from store import repository
from tests.api.support import (
    CENTRE,
    INTAKE,
    POLICE,
    SPECIALIST,
    TAX,
    Api,
    error_of,
    submit,
    wait_for_step,
)


class _CountQueries(temporal.Interceptor):
    def __init__(self) -> None:
        self.queries: list[str] = []

    def intercept_client(self, next: temporal.OutboundInterceptor) -> temporal.OutboundInterceptor:
        return _Counting(next, self.queries)


class _Counting(temporal.OutboundInterceptor):
    def __init__(self, next: temporal.OutboundInterceptor, queries: list[str]) -> None:
        super().__init__(next)
        self._queries = queries

    async def query_workflow(self, input: temporal.QueryWorkflowInput) -> Any:
        self._queries.append(input.query)
        return await super().query_workflow(input)


@pytest.fixture
async def counted(api: Api) -> AsyncIterator[tuple[Api, list[str]]]:
    counter = _CountQueries()
    config = api.client.config()
    config["interceptors"] = [*config["interceptors"], counter]
    client = temporal.Client(**config)
    settings = api.settings.model_copy(update={"api_port": find_free_port()})
    async with api_serving(settings, client, api.engine, api.catalog) as url:
        yield (
            Api(
                db=api.db,
                url=url,
                settings=settings,
                engine=api.engine,
                client=client,
                catalog=api.catalog,
            ),
            counter.queries,
        )


async def test_an_officer_acts_without_the_state_being_read_first(
    counted: tuple[Api, list[str]],
) -> None:
    api, queries = counted
    async with api.http() as http:
        code = await submit(api, http, api.person())
        queries.clear()
        r = await http.post(
            f"/v1/dossiers/{code}/actions", json={"action": "accept"}, headers=api.headers(*INTAKE)
        )
        assert r.status_code == 200, r.text
        assert r.json()["current_step"]["kind"] == "handoff"
        assert queries == []
        # (Right after the acceptance the automatic handoff to the police may still be in
        # flight: the workflow waits for it a moment, then the API the careful way:
        # tests/api/test_worker_waits.py. Here the police have it.)
        await wait_for_step(api, http, code, "tra_cuu_xac_minh")
        queries.clear()
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "appraise", "data": {"opinion": "Không có án tích"}},
            headers=api.headers(*SPECIALIST),
        )
        assert r.status_code == 200, r.text
        assert r.json()["current_step"]["kind"] == "approval", r.json()["current_step"]
        assert queries == []
        assert await asyncio.to_thread(repository.list_refused_attempts, api.engine, code) == []


async def test_a_refusal_is_explained_as_before_and_recorded_once(
    counted: tuple[Api, list[str]],
) -> None:
    api, queries = counted
    async with api.http() as http:
        code = await submit(api, http, api.person())
        # An officer of an agency the dossier never goes to, with the right role: 403 for
        # a dossier they may not see (the engine's reason, which names the step and its
        # agency, is not shown), not recorded.
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "accept"},
            headers=api.headers(Role.INTAKE_OFFICER, TAX),
        )
        assert "is not visible to" in error_of(r, 403, "forbidden")
        assert await asyncio.to_thread(repository.list_refused_attempts, api.engine, code) == []
        # One of the police, who may see it but not accept it: the engine's reason.
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "accept"},
            headers=api.headers(Role.INTAKE_OFFICER, POLICE),
        )
        assert "must be taken by intake_officer of" in error_of(r, 403, "forbidden")
        # The right officer at the wrong step: 409, recorded once (the API asks the
        # careful way after the refusal, and records only then).
        queries.clear()
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "approve", "comment": "Đồng ý"},
            headers=api.headers(*INTAKE),
        )
        error_of(r, 409, "wrong_step")
        assert queries, "a refusal is explained from the state"
        refused = await asyncio.to_thread(repository.list_refused_attempts, api.engine, code)
        assert [(a.action, a.code) for a in refused] == [
            ("accept", "forbidden"),
            ("approve", "wrong_step"),
        ]


async def test_an_officer_with_two_roles_acts_in_the_one_the_step_needs(
    counted: tuple[Api, list[str]],
) -> None:
    api, queries = counted
    token = issue_token(
        api.settings,
        sub="two-roles@centre",
        roles=[Role.RETURN_OFFICER, Role.INTAKE_OFFICER],
        agency=CENTRE,
        name="Tiếp nhận và trả kết quả",
    )
    async with api.http() as http:
        code = await submit(api, http, api.person())
        queries.clear()
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "accept"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        assert queries, "the role is picked from the dossier's state"
        # With the role named, no reading first.
        code = await submit(api, http, api.person())
        queries.clear()
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "accept", "role": "intake_officer"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        assert queries == []
