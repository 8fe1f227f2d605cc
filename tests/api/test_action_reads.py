"""An officer's action goes straight to the workflow: the update's validator authorises
the actor, so the API reads the dossier's state only when it must: after a refusal (a
caller who may not see the dossier gets 403 "không hiển thị" (not visible), not the engine's reason), and
before acting for an officer with several roles and none named.

The API here is a second uvicorn on the session's stack whose Temporal client counts the
queries and updates it sends; the workers and the read model are the session's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio import client as temporal

from api.auth import issue_token
from api.routes.dossiers import NOT_VISIBLE_REASON
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
    caught_up,
    document,
    error_of,
    submit,
    wait_for_step,
)


@dataclass
class Sent:
    """What the API asked of Temporal: queries and updates, by name."""

    queries: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.queries.clear()
        self.updates.clear()


class _Counter(temporal.Interceptor):
    def __init__(self) -> None:
        self.sent = Sent()

    def intercept_client(self, next: temporal.OutboundInterceptor) -> temporal.OutboundInterceptor:
        return _Counting(next, self.sent)


class _Counting(temporal.OutboundInterceptor):
    def __init__(self, next: temporal.OutboundInterceptor, sent: Sent) -> None:
        super().__init__(next)
        self._sent = sent

    async def query_workflow(self, input: temporal.QueryWorkflowInput) -> Any:
        self._sent.queries.append(input.query)
        return await super().query_workflow(input)

    async def start_workflow_update(
        self, input: temporal.StartWorkflowUpdateInput
    ) -> temporal.WorkflowUpdateHandle[Any]:
        self._sent.updates.append(input.update)
        return await super().start_workflow_update(input)


@pytest.fixture
async def counted(api: Api) -> AsyncIterator[tuple[Api, Sent]]:
    counter = _Counter()
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
            counter.sent,
        )


async def test_an_officer_acts_without_the_state_being_read_first(
    counted: tuple[Api, Sent],
) -> None:
    api, sent = counted
    async with api.http() as http:
        code = await submit(api, http, api.person())
        sent.clear()
        r = await http.post(
            f"/v1/dossiers/{code}/actions", json={"action": "accept"}, headers=api.headers(*INTAKE)
        )
        assert r.status_code == 200, r.text
        assert r.json()["current_step"]["kind"] == "handoff"
        assert sent.queries == []
        # (Right after the acceptance the automatic handoff to the police may still be in
        # flight: the workflow waits for it a moment, then the API the careful way:
        # tests/api/test_worker_waits.py. Here the police have it.)
        await wait_for_step(api, http, code, "tra_cuu_xac_minh")
        sent.clear()
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "appraise", "data": {"opinion": "Không có án tích"}},
            headers=api.headers(*SPECIALIST),
        )
        assert r.status_code == 200, r.text
        assert r.json()["current_step"]["kind"] == "approval", r.json()["current_step"]
        assert sent.queries == []
        assert await asyncio.to_thread(repository.list_refused_attempts, api.engine, code) == []


async def test_a_refusal_is_explained_as_before_and_recorded_once(
    counted: tuple[Api, Sent],
) -> None:
    api, sent = counted
    async with api.http() as http:
        code = await submit(api, http, api.person())
        # An officer of an agency the dossier never goes to, with the right role: 403 for
        # a dossier they may not see (the engine's reason, which names the step and its
        # agency, is not shown), recorded for the auditors (whether the read model or,
        # the dossier just submitted, the engine turned them away).
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "accept"},
            headers=api.headers(Role.INTAKE_OFFICER, TAX),
        )
        assert "không hiển thị với" in error_of(r, 403, "forbidden")
        [stranger] = await asyncio.to_thread(repository.list_refused_attempts, api.engine, code)
        assert (stranger.action, stranger.code, stranger.agency) == ("accept", "forbidden", TAX)
        assert stranger.reason == NOT_VISIBLE_REASON
        # One of the police, who may see it but not accept it: the engine's reason.
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "accept"},
            headers=api.headers(Role.INTAKE_OFFICER, POLICE),
        )
        assert "phải do cán bộ tiếp nhận (intake_officer) của" in error_of(r, 403, "forbidden")
        # The right officer at the wrong step: 409, asked once and recorded once (the API
        # reads the state after the refusal, to know whom it may tell).
        sent.clear()
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "approve", "comment": "Đồng ý"},
            headers=api.headers(*INTAKE),
        )
        error_of(r, 409, "wrong_step")
        assert sent.queries, "a refusal is explained from the state"
        assert sent.updates == ["approve"]  # refused once, not asked again
        refused = await asyncio.to_thread(repository.list_refused_attempts, api.engine, code)
        assert [(a.action, a.code, a.agency) for a in refused] == [
            ("accept", "forbidden", TAX),
            ("accept", "forbidden", POLICE),
            ("approve", "wrong_step", CENTRE),
        ]


async def test_a_stranger_is_turned_away_by_the_read_model_without_the_engine(
    counted: tuple[Api, Sent],
) -> None:
    """A caller who may not see the dossier costs the engine nothing: the read model's row
    (the dossier's agencies and applicant) answers 403, for actions and for reads, and the
    attempts are recorded."""
    api, sent = counted
    async with api.http() as http:
        owner = api.person()
        code = await submit(api, http, owner, as_applicant=True)
        await caught_up(api, http, code)
        officer = api.headers(Role.INTAKE_OFFICER, TAX)
        citizen = api.applicant(api.person())
        sent.clear()
        for headers, path, body in (
            (officer, "actions", {"action": "accept", "comment": "thử"}),
            (
                officer,
                "actions",
                {"action": "withdraw", "comment": "thử", "role": "intake_officer"},
            ),
            (citizen, "withdraw", {"comment": "Không cần nữa"}),
            (citizen, "supplements", {"documents": [document("bo_sung", "bo-sung.pdf")]}),
        ):
            r = await http.post(f"/v1/dossiers/{code}/{path}", json=body, headers=headers)
            assert "không hiển thị với" in error_of(r, 403, "forbidden"), path
        for headers in (officer, citizen):
            for path in ("", "/events", "/documents", "/control-slip"):
                r = await http.get(f"/v1/dossiers/{code}{path}", headers=headers)
                assert "không hiển thị với" in error_of(r, 403, "forbidden"), path
        assert (sent.queries, sent.updates) == ([], []), "the engine was asked"
        refused = await asyncio.to_thread(repository.list_refused_attempts, api.engine, code)
        assert [(a.action, a.role, a.agency, a.code, a.reason) for a in refused] == [
            ("accept", "intake_officer", TAX, "forbidden", NOT_VISIBLE_REASON),
            ("withdraw", "intake_officer", TAX, "forbidden", NOT_VISIBLE_REASON),
            ("withdraw", "applicant", None, "forbidden", NOT_VISIBLE_REASON),
            ("supplement", "applicant", None, "forbidden", NOT_VISIBLE_REASON),
        ]
        # The dossier's own applicant and its officers still read it.
        r = await http.get(f"/v1/dossiers/{code}", headers=api.applicant(owner))
        assert r.status_code == 200, r.text
        r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*INTAKE))
        assert r.status_code == 200, r.text


async def test_an_officer_with_two_roles_acts_in_the_one_the_step_needs(
    counted: tuple[Api, Sent],
) -> None:
    api, sent = counted
    token = issue_token(
        api.settings,
        sub="two-roles@centre",
        roles=[Role.RETURN_OFFICER, Role.INTAKE_OFFICER],
        agency=CENTRE,
        name="Tiếp nhận và trả kết quả",
    )
    async with api.http() as http:
        code = await submit(api, http, api.person())
        sent.clear()
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "accept"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        assert sent.queries, "the role is picked from the dossier's state"
        # With the role named, no reading first.
        code = await submit(api, http, api.person())
        sent.clear()
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "accept", "role": "intake_officer"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        assert sent.queries == []
