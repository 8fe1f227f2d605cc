"""GET /v1/worklist: the dossiers an officer's roles and agency must act on now, most
urgent first; and GET /v1/agencies, the names the web console shows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from api.auth import issue_token
from domain.catalog import Role
from tests.api.support import (
    AUDITOR,
    CENTRE,
    INTAKE,
    LEADER,
    POLICE,
    SPECIALIST,
    TAX,
    Api,
    act,
    caught_up,
    error_of,
    submit,
    wait_for_step,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


async def worklist(
    api: Api, http: httpx.AsyncClient, who: tuple[Role, str | None]
) -> dict[str, Any]:
    r = await http.get("/v1/worklist", params={"limit": 200}, headers=api.headers(*who))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def codes(body: dict[str, Any]) -> set[str]:
    return {item["code"] for item in body["items"]}


async def test_a_dossier_moves_from_the_counters_list_to_the_specialists(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person("worklist")
    code = await submit(api, http, person)
    await caught_up(api, http, code)

    counter = await worklist(api, http, INTAKE)
    assert counter["agency"] == CENTRE and counter["roles"] == ["intake_officer"]
    assert code in codes(counter)
    item = next(i for i in counter["items"] if i["code"] == code)
    assert item["current_step_name"] == "Tiếp nhận, kiểm tra hồ sơ, thu phí và hẹn trả kết quả"
    assert item["status_label"] == "Mới đăng ký"
    assert item["step_due_at"] is not None
    assert code not in codes(await worklist(api, http, SPECIALIST))

    r = await act(api, http, code, INTAKE, "accept")
    assert r.status_code == 200, r.text
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    await caught_up(api, http, code)

    assert code in codes(await worklist(api, http, SPECIALIST))
    assert code not in codes(await worklist(api, http, INTAKE))
    # The police's leader has nothing to do until the appraisal is done (no escalation yet),
    # and another agency's specialist never sees it.
    assert code not in codes(await worklist(api, http, LEADER))
    assert code not in codes(await worklist(api, http, (Role.SPECIALIST, TAX)))

    r = await act(api, http, code, SPECIALIST, "appraise", data={"opinion": "Không có án tích"})
    assert r.status_code == 200, r.text
    await wait_for_step(api, http, code, "phe_duyet")
    await caught_up(api, http, code)
    assert code in codes(await worklist(api, http, LEADER))
    assert code not in codes(await worklist(api, http, SPECIALIST))


async def test_the_most_urgent_come_first(api: Api, http: httpx.AsyncClient) -> None:
    submitted = [await submit(api, http, api.person("urgent")) for _ in range(2)]
    await caught_up(api, http, *submitted)
    body = await worklist(api, http, INTAKE)
    assert body["total"] >= len(body["items"]) >= 2
    keys = [
        (not i["overdue"], i["step_due_at"] is None, i["step_due_at"] or "") for i in body["items"]
    ]
    assert keys == sorted(keys)


async def test_only_officers_of_an_agency_have_a_worklist(
    api: Api, http: httpx.AsyncClient
) -> None:
    for who in (AUDITOR, (Role.APPLICANT, None), (Role.ADMIN, None)):
        message = error_of(
            await http.get("/v1/worklist", headers=api.headers(*who)), 403, "forbidden"
        )
        assert "Chỉ cán bộ của một cơ quan" in message
        english = error_of(
            await http.get("/v1/worklist", headers=api.headers(*who) | {"Accept-Language": "en"}),
            403,
            "forbidden",
        )
        assert english == "only officers of an agency have a worklist"
    error_of(await http.get("/v1/worklist"), 401)
    error_of(await http.get("/v1/worklist", params={"limit": 0}, headers=api.headers(*INTAKE)), 422)


async def test_agencies_names(api: Api, http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/agencies", headers=api.headers(Role.APPLICANT, None, "citizen-x"))
    assert r.status_code == 200, r.text
    by_code = {a["code"]: a for a in r.json()}
    assert by_code[POLICE]["name"] == "Công an tỉnh"
    assert by_code[CENTRE]["kind"] == "centre"
    assert set(by_code) == set(api.catalog.agencies)
    error_of(await http.get("/v1/agencies"), 401)


async def test_the_queue_filters_sorts_pages_and_searches(
    api: Api, http: httpx.AsyncClient
) -> None:
    """Three dossiers at the centre's counter, found by their applicants' shared tag: paged
    with the total, sorted by code either way, narrowed by procedure and by assignment,
    searched by code, name and exact ID number (never answered with the ID number), and
    the leader's whole unit."""
    tag = f"hàng đợi {uuid.uuid4().hex[:6]}"
    people = [api.person(tag) for _ in range(3)]
    submitted = [await submit(api, http, p) for p in people]
    await caught_up(api, http, *submitted)

    async def queue(who: dict[str, str], **params: Any) -> dict[str, Any]:
        r = await http.get("/v1/worklist", params={"q": tag, **params}, headers=who)
        assert r.status_code == 200, r.text
        for person in people:
            assert person.id_number not in r.text  # the queue never shows an ID number
        body: dict[str, Any] = r.json()
        return body

    counter = api.headers(*INTAKE)
    body = await queue(counter, sort="code")
    assert body["total"] == 3 and codes(body) == set(submitted)
    in_order = [i["code"] for i in body["items"]]
    assert in_order == sorted(submitted)
    first = await queue(counter, sort="-code", limit=2)
    assert [i["code"] for i in first["items"]] == in_order[::-1][:2]
    assert (first["total"], first["offset"], first["next_offset"]) == (3, 0, 2)
    rest = await queue(counter, sort="-code", limit=2, offset=first["next_offset"])
    assert [i["code"] for i in rest["items"]] == in_order[::-1][2:]
    assert (rest["total"], rest["next_offset"]) == (3, None)

    assert (await queue(counter, procedure="2.000635"))["total"] == 0
    assert (await queue(counter, procedure="3.000333"))["total"] == 3
    assert (await queue(counter, status="in_progress"))["total"] == 0
    assert (await queue(counter, due="overdue"))["total"] == 0
    for item in (await queue(counter, due="today"))["items"]:
        today = datetime.now(VN).date()
        dues = [item["step_due_at"], item["appointment_at"]]
        assert any(d and datetime.fromisoformat(d).astimezone(VN).date() == today for d in dues)

    # Search: a code, an applicant's name, an applicant's whole ID number (only).
    r = await http.get("/v1/worklist", params={"q": submitted[1]}, headers=counter)
    assert codes(r.json()) == {submitted[1]}
    r = await http.get("/v1/worklist", params={"q": people[2].name}, headers=counter)
    assert codes(r.json()) == {submitted[2]}
    r = await http.get("/v1/worklist", params={"q": people[0].id_number}, headers=counter)
    assert codes(r.json()) == {submitted[0]}
    assert people[0].id_number not in r.text
    r = await http.get("/v1/worklist", params={"q": people[0].id_number[:-1]}, headers=counter)
    assert submitted[0] not in codes(r.json())

    # Assigned to me, or to nobody: the centre's leader gives one intake to a named officer.
    sub = f"tn-{uuid.uuid4().hex[:6]}"
    token = issue_token(
        api.settings, sub=sub, roles=[Role.INTAKE_OFFICER], agency=CENTRE, name="Cán bộ Một cửa"
    )
    named = {"Authorization": f"Bearer {token}"}
    assert (await queue(named, assigned="me"))["total"] == 0  # now in the directory
    r = await act(api, http, submitted[0], (Role.LEADER, CENTRE), "assign", data={"assignee": sub})
    assert r.status_code == 200, r.text
    await caught_up(api, http, submitted[0])
    mine = await queue(named, assigned="me")
    assert codes(mine) == {submitted[0]} and mine["items"][0]["assignee_name"] == "Cán bộ Một cửa"
    assert codes(await queue(named, assigned="unassigned")) == set(submitted[1:])
    assert (await queue(counter, assigned="me"))["total"] == 0

    # The unit: a leader sees every dossier at the agency, whatever the step's role.
    leader = api.headers(Role.LEADER, CENTRE)
    assert (await queue(leader))["total"] == 0
    assert codes(await queue(leader, scope="unit")) == set(submitted)
    error_of(
        await http.get("/v1/worklist", params={"scope": "unit"}, headers=counter), 403, "forbidden"
    )
    for bad in ({"sort": "name"}, {"due": "tomorrow"}, {"assigned": "you"}, {"offset": -1}):
        error_of(await http.get("/v1/worklist", params=bad, headers=counter), 422)


async def test_an_id_number_finds_a_dossier_only_for_who_may_read_it(
    api: Api, http: httpx.AsyncClient
) -> None:
    """GET /v1/dossiers?q=<ID number>: an auditor finds the dossier; an administrator, who
    sees personal data masked, finds nothing (a search must not confirm an ID number)."""
    person = api.person("định danh")
    code = await submit(api, http, person)
    await caught_up(api, http, code)
    params = {"q": person.id_number}
    r = await http.get("/v1/dossiers", params=params, headers=api.headers(*AUDITOR))
    assert [i["code"] for i in r.json()["items"]] == [code]
    assert person.id_number not in r.text
    r = await http.get("/v1/dossiers", params=params, headers=api.headers(Role.ADMIN, None))
    assert r.status_code == 200 and r.json()["items"] == []
