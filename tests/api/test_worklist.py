"""GET /v1/worklist: the dossiers an officer's roles and agency must act on now, most
urgent first; and GET /v1/agencies, the names the web console shows."""

from __future__ import annotations

from typing import Any

import httpx

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
        assert "officers" in message
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
