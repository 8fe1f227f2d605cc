"""Assignment (phân công) through the API: a leader of the police assigns the appraisal of
a judicial record dossier to a named specialist, reassigns it, and only the assignee then
acts; an officer claims unassigned work; who holds the step shows by name, in the view,
the events and the worklist."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from api.auth import issue_token
from domain.catalog import Role
from tests.api.support import (
    AUDITOR,
    CENTRE,
    INTAKE,
    POLICE,
    Api,
    act,
    caught_up,
    error_of,
    submit,
    wait_for_step,
)


class Officer:
    """An officer with a name, of one agency, in one role."""

    def __init__(self, api: Api, role: Role, agency: str, name: str) -> None:
        self.sub = f"{role.value}-{uuid.uuid4().hex[:6]}"
        self.name = name
        token = issue_token(api.settings, sub=self.sub, roles=[role], agency=agency, name=name)
        self.headers = {"Authorization": f"Bearer {token}"}

    async def signs_in(self, http: httpx.AsyncClient) -> None:
        """Any call puts the officer in the directory of users seen."""
        r = await http.get("/v1/worklist", headers=self.headers)
        assert r.status_code == 200, r.text

    async def act(
        self, http: httpx.AsyncClient, code: str, action: str, **body: Any
    ) -> httpx.Response:
        return await http.post(
            f"/v1/dossiers/{code}/actions", json={"action": action, **body}, headers=self.headers
        )


async def police_officers(
    api: Api, http: httpx.AsyncClient, leader: str, *specialists: str
) -> list[Officer]:
    """A leader and specialists of the police, by name, each signed in once."""
    people = [Officer(api, Role.LEADER, POLICE, leader)]
    people += [Officer(api, Role.SPECIALIST, POLICE, name) for name in specialists]
    for officer in people:
        await officer.signs_in(http)
    return people


async def events(api: Api, http: httpx.AsyncClient, code: str) -> dict[str, Any]:
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def at_appraisal(api: Api, http: httpx.AsyncClient, tag: str) -> str:
    code = await submit(api, http, api.person(tag))
    r = await act(api, http, code, INTAKE, "accept")
    assert r.status_code == 200, r.text
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    return code


async def test_a_leader_assigns_reassigns_and_only_the_assignee_acts(
    api: Api, http: httpx.AsyncClient
) -> None:
    leader, first, second = await police_officers(
        api, http, "Phạm Minh Đức", "Lê Văn Cường", "Trần Thu Hà"
    )
    code = await at_appraisal(api, http, "phân công")

    # The leader picks from the agency's specialists, by name.
    r = await http.get("/v1/officers", params={"role": "specialist"}, headers=leader.headers)
    assert r.status_code == 200, r.text
    listed = {o["sub"]: o["name"] for o in r.json()["officers"]}
    assert listed[first.sub] == first.name and listed[second.sub] == second.name
    assert leader.sub not in listed and r.json()["agency"] == POLICE

    r = await leader.act(http, code, "assign", data={"assignee": first.sub})
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["assignment"]["officer_id"] == first.sub
    assert view["assignment"]["officer_name"] == first.name
    assert view["assignment"]["by_id"] == leader.sub
    assert (view["holder"]["officer_id"], view["holder"]["officer_name"]) == (
        first.sub,
        first.name,
    )
    assert view["current_step"]["assignment"]["officer_name"] == first.name

    # Another specialist of the same agency may no longer act, nor claim it.
    message = error_of(
        await second.act(http, code, "appraise", data={"opinion": "x"}), 403, "forbidden"
    )
    assert first.sub in message and "phân công" in message
    r = await http.post(
        f"/v1/dossiers/{code}/actions",
        json={"action": "appraise", "data": {"opinion": "x"}},
        headers={**second.headers, "Accept-Language": "en"},
    )
    assert "only the assignee" in error_of(r, 403, "forbidden")
    error_of(await second.act(http, code, "claim"), 409, "wrong_step")

    # Reassigned: the other way round.
    r = await leader.act(http, code, "assign", data={"assignee": second.sub}, comment="Cân đối")
    assert r.status_code == 200, r.text
    error_of(await first.act(http, code, "appraise", data={"opinion": "x"}), 403, "forbidden")

    body = await events(api, http, code)
    assigned = [e for e in body["events"] if e["kind"] == "assign"]
    assert [e["data"]["assignee_id"] for e in assigned] == [first.sub, second.sub]
    assert assigned[1]["data"]["previous_assignee_id"] == first.sub
    assert assigned[1]["actor_id"] == leader.sub and assigned[1]["comment"] == "Cân đối"
    refused = {(a["actor_id"], a["action"], a["code"]) for a in body["refused_attempts"]}
    assert (second.sub, "appraise", "forbidden") in refused
    assert (first.sub, "appraise", "forbidden") in refused

    # The read model knows who holds it.
    r = await http.get("/v1/worklist", params={"limit": 200}, headers=second.headers)
    [item] = [i for i in r.json()["items"] if i["code"] == code]
    assert (item["assignee_id"], item["assignee_name"], item["assigned_by"]) == (
        second.sub,
        second.name,
        leader.sub,
    )

    r = await second.act(http, code, "appraise", data={"opinion": "Không có án tích"})
    assert r.status_code == 200, r.text
    view = await wait_for_step(api, http, code, "phe_duyet")
    assert view["assignment"] is None  # the approval is nobody's by name yet


async def test_who_may_assign_and_to_whom(api: Api, http: httpx.AsyncClient) -> None:
    leader, specialist = await police_officers(api, http, "Lãnh đạo CA", "Chuyên viên CA")
    centre_leader = Officer(api, Role.LEADER, CENTRE, "Lãnh đạo Trung tâm")
    centre_specialist = Officer(api, Role.SPECIALIST, CENTRE, "Chuyên viên Trung tâm")
    for officer in (centre_leader, centre_specialist):
        await officer.signs_in(http)
    code = await at_appraisal(api, http, "ai phân công")

    # Only a leader of the step's agency assigns.
    error_of(
        await centre_leader.act(http, code, "assign", data={"assignee": specialist.sub}),
        403,
        "forbidden",
    )
    error_of(
        await specialist.act(http, code, "assign", data={"assignee": specialist.sub}),
        403,
        "forbidden",
    )
    # Only to an officer of the step's role and agency, whom the directory knows; the
    # caller's word about the officer counts for nothing.
    for data in (
        {},
        {"assignee": "chua-tung-dang-nhap"},
        {"assignee": centre_specialist.sub},
        {"assignee": leader.sub},
        {"assignee": {"id": centre_specialist.sub, "roles": ["specialist"], "agency": POLICE}},
    ):
        error_of(await leader.act(http, code, "assign", data=data), 422, "invalid")
    view = (await events(api, http, code))["events"]
    assert not [e for e in view if e["kind"] == "assign"]

    # The officers list is the caller's agency's, for officers only.
    r = await http.get("/v1/officers", headers=centre_leader.headers)
    assert specialist.sub not in {o["sub"] for o in r.json()["officers"]}
    error_of(await http.get("/v1/officers", headers=api.headers(*AUDITOR)), 403, "forbidden")


async def test_an_officer_claims_unassigned_work_and_a_leader_takes_it_back(
    api: Api, http: httpx.AsyncClient
) -> None:
    leader, mine, other = await police_officers(
        api, http, "Lãnh đạo nhận lại", "Người nhận việc", "Người đến sau"
    )
    code = await at_appraisal(api, http, "nhận việc")

    error_of(await leader.act(http, code, "claim"), 403, "forbidden")  # not a specialist
    error_of(await mine.act(http, code, "claim", data={"assignee": other.sub}), 422, "invalid")
    r = await mine.act(http, code, "claim")
    assert r.status_code == 200, r.text
    assignment = r.json()["assignment"]
    assert (assignment["officer_id"], assignment["claimed"]) == (mine.sub, True)
    error_of(await other.act(http, code, "claim"), 409, "wrong_step")
    error_of(await other.act(http, code, "appraise", data={"opinion": "x"}), 403, "forbidden")

    r = await leader.act(http, code, "assign", data={"assignee": other.sub})
    assert r.status_code == 200, r.text
    r = await other.act(http, code, "appraise", data={"opinion": "Không có án tích"})
    assert r.status_code == 200, r.text
    body = await events(api, http, code)
    kinds = [(e["kind"], e["actor_id"]) for e in body["events"]]
    assert kinds.index(("claim", mine.sub)) < kinds.index(("assign", leader.sub))
    assert ("appraise", other.sub) in kinds
