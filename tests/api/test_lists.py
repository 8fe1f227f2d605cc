"""GET /v1/dossiers: filters, cursor pagination, and who sees what (officers their
agency's dossiers, applicants their own, auditors everything)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from domain.catalog import Role
from tests.api.support import (
    AUDITOR,
    CENTRE,
    CIVIL_STATUS,
    COMMUNE,
    COMMUNE_CENTRE,
    INTAKE,
    POLICE,
    PROCEDURE,
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


async def listing(
    api: Api, http: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """Every item of a list, following the cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        query = {k: v for k, v in params.items() if v is not None}
        if cursor:
            query["cursor"] = cursor
        r = await http.get("/v1/dossiers", params=query, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


async def codes_of(api: Api, http: httpx.AsyncClient, who: Any, **params: Any) -> set[str]:
    headers = who if isinstance(who, dict) else api.headers(*who)
    return {i["code"] for i in await listing(api, http, headers, **params)}


@pytest.fixture
async def five(api: Api, http: httpx.AsyncClient) -> dict[str, Any]:
    """Five dossiers whose applicants share a tag: four judicial record certificates
    (two accepted and handed off to the police, one refused at intake, one waiting) and
    one civil status extract of the commune (waiting)."""
    tag = f"Lọc{uuid.uuid4().hex[:6]}"
    people = [api.person(tag) for _ in range(5)]
    codes = []
    for i, person in enumerate(people):
        procedure = CIVIL_STATUS if i == 4 else PROCEDURE
        codes.append(await submit(api, http, person, procedure=procedure))
    accepted, refused, waiting, civil = codes[:2], codes[2], codes[3], codes[4]
    for code in accepted:
        r = await act(api, http, code, INTAKE, "accept")
        assert r.status_code == 200, r.text
    r = await act(api, http, refused, INTAKE, "refuse", comment="Không thuộc thẩm quyền")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "not_received"
    for code in accepted:
        await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    await caught_up(api, http, *codes)
    return {
        "tag": tag,
        "codes": codes,
        "accepted": accepted,
        "refused": refused,
        "waiting": waiting,
        "civil": civil,
    }


async def test_filters(api: Api, http: httpx.AsyncClient, five: dict[str, Any]) -> None:
    tag, codes = five["tag"], five["codes"]
    auditor = AUDITOR

    items = await listing(api, http, api.headers(*auditor), q=tag)
    assert {i["code"] for i in items} == set(codes)
    assert all(tag in i["applicant_name"] for i in items)
    # q is case-insensitive, and also matches the code.
    assert await codes_of(api, http, auditor, q=tag.upper()) == set(codes)
    assert await codes_of(api, http, auditor, q=five["civil"]) == {five["civil"]}

    by = {i["code"]: i for i in items}
    assert by[five["accepted"][0]]["status"] == "in_progress"
    assert by[five["accepted"][0]]["current_agency"] == POLICE
    assert by[five["refused"]]["status_code"] == 3

    async def where(**params: Any) -> set[str]:
        return await codes_of(api, http, auditor, q=tag, **params)

    assert await where(status="submitted") == {five["waiting"], five["civil"]}
    assert await where(status="in_progress") == set(five["accepted"])
    assert await where(status="not_received") == {five["refused"]}
    assert await where(status="returned") == set()
    assert await where(procedure=PROCEDURE) == set(codes) - {five["civil"]}
    assert await where(procedure=CIVIL_STATUS) == {five["civil"]}
    assert await where(agency=POLICE) == set(codes) - {five["civil"]}
    assert await where(agency=COMMUNE) == {five["civil"]}
    assert await where(agency=CENTRE) == set(codes)
    assert await where(agency=TAX) == set()
    assert await where(overdue="false") == set(codes)
    assert await where(overdue="true") == set()
    assert await where(status="in_progress", agency=POLICE, procedure=PROCEDURE) == set(
        five["accepted"]
    )

    # The receipt window: days in Vietnam, both bounds inclusive.
    received = {
        datetime.fromisoformat(by[c]["received_at"]).astimezone(VN).date() for c in five["accepted"]
    }
    assert all(by[c]["received_at"] is None for c in (five["waiting"], five["civil"]))
    first, last = min(received), max(received)
    assert await where(received_from=first.isoformat(), received_to=last.isoformat()) == set(
        five["accepted"]
    )
    assert await where(received_from=first.isoformat()) == set(five["accepted"])
    assert await where(received_to=last.isoformat()) == set(five["accepted"])
    assert await where(received_from=(last + timedelta(days=1)).isoformat()) == set()
    assert await where(received_to=(first - timedelta(days=1)).isoformat()) == set()


async def test_cursor_pagination(api: Api, http: httpx.AsyncClient, five: dict[str, Any]) -> None:
    headers = api.headers(*AUDITOR)
    pages: list[list[str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": five["tag"], "limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await http.get("/v1/dossiers", params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        pages.append([i["code"] for i in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10
    assert [len(p) for p in pages] == [2, 2, 1]
    flat = [c for p in pages for c in p]
    assert sorted(flat) == sorted(five["codes"]) and len(set(flat)) == 5
    # Newest first: the same order as one big page.
    r = await http.get("/v1/dossiers", params={"q": five["tag"], "limit": 200}, headers=headers)
    whole = r.json()
    assert [i["code"] for i in whole["items"]] == flat and whole["next_cursor"] is None
    submitted = [i["submitted_at"] for i in whole["items"]]
    assert submitted == sorted(submitted, reverse=True)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "lost"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "two"}, "limit"),
        ({"overdue": "maybe"}, "overdue"),
        ({"received_from": "yesterday"}, "received_from"),
        ({"received_to": "2026-02-30"}, "received_to"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"q": "x" * 101}, "q"),
    ],
)
async def test_bad_filters_are_422(
    api: Api, http: httpx.AsyncClient, params: dict[str, Any], named: str
) -> None:
    r = await http.get("/v1/dossiers", params=params, headers=api.headers(*INTAKE))
    assert named in error_of(r, 422, "invalid")


async def test_officers_see_their_agencys_dossiers_only(
    api: Api, http: httpx.AsyncClient, five: dict[str, Any]
) -> None:
    tag, codes = five["tag"], five["codes"]
    police = set(codes) - {five["civil"]}
    assert await codes_of(api, http, INTAKE, q=tag) == set(codes)
    assert await codes_of(api, http, SPECIALIST, q=tag) == police
    assert await codes_of(api, http, (Role.SPECIALIST, COMMUNE), q=tag) == {five["civil"]}
    assert await codes_of(api, http, (Role.INTAKE_OFFICER, COMMUNE_CENTRE), q=tag) == set()
    assert await codes_of(api, http, (Role.LEADER, TAX), q=tag) == set()
    # An administrator lists every dossier but sees names masked (docs/personal-data.md):
    # `q` matches codes only, so a search cannot confirm a name.
    assert await codes_of(api, http, (Role.ADMIN, None), q=tag) == set()
    for code in codes:
        assert await codes_of(api, http, (Role.ADMIN, None), q=code) == {code}
    # Filtering by another agency does not widen an officer's scope.
    assert await codes_of(api, http, (Role.LEADER, TAX), q=tag, agency=POLICE) == set()

    # Nor can the other agency's officer read one directly.
    code = five["accepted"][0]
    for who in ((Role.INTAKE_OFFICER, COMMUNE_CENTRE), (Role.LEADER, TAX)):
        for path in (f"/v1/dossiers/{code}", f"/v1/dossiers/{code}/events"):
            r = await http.get(path, headers=api.headers(*who))
            error_of(r, 403, "forbidden")
        r = await act(api, http, code, who, "appraise", data={"opinion": "x"})
        error_of(r, 403, "forbidden")


async def test_applicants_see_only_their_own(api: Api, http: httpx.AsyncClient) -> None:
    tag = f"Riêng{uuid.uuid4().hex[:6]}"
    a, b = api.person(tag), api.person(tag)
    mine = [await submit(api, http, a, as_applicant=True, channel="online") for _ in range(2)]
    theirs = await submit(api, http, b, as_applicant=True, channel="online")
    counter = await submit(api, http, a)  # filed by an officer: no account
    await caught_up(api, http, *mine, theirs, counter)

    assert await codes_of(api, http, api.applicant(a)) == set(mine)
    assert await codes_of(api, http, api.applicant(b)) == {theirs}
    assert await codes_of(api, http, api.applicant(a), q=tag) == set(mine)
    assert await codes_of(api, http, api.applicant(a), q=theirs) == set()
    assert await codes_of(api, http, api.applicant(api.person())) == set()
    assert await codes_of(api, http, AUDITOR, q=tag) == {*mine, theirs, counter}

    r = await http.get(f"/v1/dossiers/{theirs}", headers=api.applicant(a))
    error_of(r, 403, "forbidden")
    r = await http.get(f"/v1/dossiers/{mine[0]}", headers=api.applicant(a))
    assert r.status_code == 200 and r.json()["code"] == mine[0]


async def test_auditor_lists_every_agency(api: Api, http: httpx.AsyncClient) -> None:
    tag = f"KiểmTra{uuid.uuid4().hex[:6]}"
    police = await submit(api, http, api.person(tag))
    civil = await submit(api, http, api.person(tag), procedure=CIVIL_STATUS)
    await caught_up(api, http, police, civil)
    assert await codes_of(api, http, AUDITOR, q=tag) == {police, civil}
    assert await codes_of(api, http, AUDITOR, q=tag, agency=COMMUNE) == {civil}
    items = await listing(api, http, api.headers(*AUDITOR), limit=200)
    assert {police, civil} <= {i["code"] for i in items}


async def test_list_is_consistent_under_concurrent_submissions(
    api: Api, http: httpx.AsyncClient
) -> None:
    tag = f"Song{uuid.uuid4().hex[:6]}"
    people = [api.person(tag) for _ in range(6)]
    codes = await asyncio.gather(*(submit(api, http, p) for p in people))
    assert len(set(codes)) == 6
    await caught_up(api, http, *codes)
    assert await codes_of(api, http, AUDITOR, q=tag, limit=4) == set(codes)
    sequence = sorted(int(c.rsplit("-", 1)[1]) for c in codes)
    assert len(set(sequence)) == 6
