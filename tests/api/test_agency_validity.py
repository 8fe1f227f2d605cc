"""Agencies with validity dates and successors (issue 24 item 5), as the API shows and
applies them: `GET /v1/agencies` says which agencies are in operation, since and until
when, and who took over; a centre past its last day receives no new dossier and returns
no result (422, in Vietnamese, naming its successor), while the dossiers it received
still read. And D3 (docs/authorization.md): an intake officer of a commune's People's
Committee files at their commune's centre, where the result returns by default. Over
HTTP against the dev server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from domain.catalog import Role
from store import repository
from tests.api.support import (
    AUDITOR,
    CENTRE,
    COMMUNE_CENTRE,
    POLICE,
    Api,
    error_of,
    submission,
)

BINH_LONG_CENTRE = "000.32.01.H99"  # Trung tâm Phục vụ hành chính công xã Bình Long
BINH_LONG_NAME = "Trung tâm Phục vụ hành chính công xã Bình Long"
HOA_AN_CENTRE_NAME = "Trung tâm Phục vụ hành chính công xã Hòa An"
COMMUNE = "000.31.00.H99"  # Ủy ban nhân dân xã Hòa An: no centre
TAX = "000.00.21.H99"  # Thuế tỉnh: a provincial agency, no centre
BINH_LONG_INTAKE = (Role.INTAKE_OFFICER, BINH_LONG_CENTRE)
COMMUNE_INTAKE = (Role.INTAKE_OFFICER, COMMUNE_CENTRE)


async def agencies(api: Api, http: httpx.AsyncClient, query: str = "") -> dict[str, dict[str, Any]]:
    r = await http.get(f"/v1/agencies{query}", headers=api.headers(Role.APPLICANT, None, "x"))
    assert r.status_code == 200, r.text
    return {a["code"]: a for a in r.json()}


async def until_listed(
    api: Api, http: httpx.AsyncClient, code: str, ok: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The agency as the API lists it, once the API has reloaded the catalog."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        listed = (await agencies(api, http))[code]
        if ok(listed):
            return listed
        assert asyncio.get_running_loop().time() < deadline, listed
        await asyncio.sleep(0.25)


async def test_a_centre_past_its_last_day_neither_receives_nor_returns(
    api: Api, http: httpx.AsyncClient
) -> None:
    listed = await agencies(api, http)
    centre = listed[BINH_LONG_CENTRE]
    assert centre["in_operation"] is True
    assert (centre["valid_to"], centre["successor"], centre["current_successor"]) == (
        None,
        None,
        None,
    )
    assert centre["place"] == "Bình Long"

    # Received at Bình Long's centre before the merger.
    r = await http.post(
        "/v1/dossiers",
        json=submission(api.person("trước sáp nhập")),
        headers=api.headers(*BINH_LONG_INTAKE),
    )
    assert r.status_code == 201, r.text
    old = r.json()["code"]

    # The merger resolution: Bình Long's centre existed until yesterday; Hòa An's takes over.
    yesterday = datetime.now(UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date() - timedelta(
        days=1
    )
    catalog_agency = api.catalog.agencies[BINH_LONG_CENTRE]
    ended = catalog_agency.model_copy(update={"valid_to": yesterday, "successor": COMMUNE_CENTRE})
    await asyncio.to_thread(repository.save_agencies, api.engine, [ended])
    try:
        centre = await until_listed(
            api, http, BINH_LONG_CENTRE, lambda a: a["in_operation"] is False
        )
        assert (centre["valid_to"], centre["successor"], centre["current_successor"]) == (
            yesterday.isoformat(),
            COMMUNE_CENTRE,
            COMMUNE_CENTRE,
        )
        assert BINH_LONG_CENTRE not in await agencies(api, http, "?in_operation=true")
        assert set(await agencies(api, http, "?in_operation=false")) == {BINH_LONG_CENTRE}

        # No new dossier there: its own officer is told why and where to go instead.
        r = await http.post(
            "/v1/dossiers", json=submission(api.person()), headers=api.headers(*BINH_LONG_INTAKE)
        )
        message = error_of(r, 422, "invalid")
        assert "centre_agency" in message and "đã thôi hoạt động" in message, message
        assert f"{yesterday:%d/%m/%Y}" in message and HOA_AN_CENTRE_NAME in message, message
        # Nor is the result returned there, whoever files.
        body = submission(api.person()) | {"return_agency": BINH_LONG_CENTRE}
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*COMMUNE_INTAKE))
        message = error_of(r, 422, "invalid")
        assert message.startswith("return_agency:") and "đã thôi hoạt động" in message, message
        r = await http.post(
            "/v1/dossiers",
            json=body,
            headers=api.headers(*COMMUNE_INTAKE) | {"Accept-Language": "en"},
        )
        assert "ceased operating" in error_of(r, 422, "invalid")

        # What it received still reads, for its officers and for the auditor.
        for who in (BINH_LONG_INTAKE, AUDITOR):
            r = await http.get(f"/v1/dossiers/{old}", headers=api.headers(*who))
            assert r.status_code == 200, r.text
            assert r.json()["centre_agency"] == BINH_LONG_CENTRE
        r = await http.get(f"/v1/dossiers/{old}/events", headers=api.headers(*AUDITOR))
        assert r.status_code == 200, r.text
    finally:
        await asyncio.to_thread(repository.save_agencies, api.engine, [catalog_agency])
        await until_listed(api, http, BINH_LONG_CENTRE, lambda a: a["in_operation"] is True)


async def test_a_commune_officer_files_at_the_commune_centre_and_the_result_returns_there(
    api: Api, http: httpx.AsyncClient
) -> None:
    """D3: an intake officer of Hòa An's People's Committee (no centre) files for a citizen
    at their commune's centre, where the result returns unless the citizen chose another
    centre or the post; not at the province's centre."""
    officer = api.headers(Role.INTAKE_OFFICER, COMMUNE)
    r = await http.post("/v1/dossiers", json=submission(api.person("xã nộp")), headers=officer)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    view = (await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))).json()
    assert (view["centre_agency"], view["competent_agency"]) == (COMMUNE_CENTRE, POLICE)
    assert view["steps"][0]["agency"] == COMMUNE_CENTRE
    assert view["steps"][-1]["agency"] == COMMUNE_CENTRE  # returned where it was filed
    assert view["return_agency"] is None and view["return_by_post"] is False

    # The citizen chose another centre, or the post.
    body = submission(api.person("xã nộp, nhận nơi khác")) | {"return_agency": BINH_LONG_CENTRE}
    r = await http.post("/v1/dossiers", json=body, headers=officer)
    assert r.status_code == 201, r.text
    view = (
        await http.get(f"/v1/dossiers/{r.json()['code']}", headers=api.headers(*AUDITOR))
    ).json()
    assert view["centre_agency"] == COMMUNE_CENTRE
    assert (view["return_agency"], view["steps"][-1]["agency"]) == (BINH_LONG_CENTRE,) * 2
    body = submission(api.person("xã nộp, bưu chính")) | {"return_by_post": True}
    r = await http.post("/v1/dossiers", json=body, headers=officer)
    assert r.status_code == 201, r.text
    view = (
        await http.get(f"/v1/dossiers/{r.json()['code']}", headers=api.headers(*AUDITOR))
    ).json()
    assert (view["centre_agency"], view["return_by_post"]) == (COMMUNE_CENTRE, True)

    # An officer of a provincial agency with no centre: the deployment's centre.
    r = await http.post(
        "/v1/dossiers",
        json=submission(api.person("tỉnh nộp")),
        headers=api.headers(Role.INTAKE_OFFICER, TAX),
    )
    assert r.status_code == 201, r.text
    view = (
        await http.get(f"/v1/dossiers/{r.json()['code']}", headers=api.headers(*AUDITOR))
    ).json()
    assert view["centre_agency"] == CENTRE == api.settings.centre_agency
