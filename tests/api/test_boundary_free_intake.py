"""Boundary-free intake (Decree 118/2025, issue 24 item 1): a commune centre receives a
province procedure (the judicial record certificate, 3.000333, decided by the provincial
police), its officers take the intake step and return the result; the police decide.
A procedure the province has not listed boundary-free is refused at a commune centre
before anything starts. Over HTTP against the dev server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from domain.catalog import Role
from store import repository
from tests.api.support import (
    AUDITOR,
    CENTRE,
    COMMUNE_CENTRE,
    LEADER,
    POLICE,
    PROCEDURE,
    SIGNER,
    SPECIALIST,
    Api,
    act,
    b64,
    caught_up,
    error_of,
    pay_fee,
    submission,
    wait_for_step,
)
from tests.files import pdf

COMMUNE_INTAKE = (Role.INTAKE_OFFICER, COMMUNE_CENTRE)
COMMUNE_RETURN = (Role.RETURN_OFFICER, COMMUNE_CENTRE)
PROVINCE_INTAKE = (Role.INTAKE_OFFICER, CENTRE)
OTHER_COMMUNE_CENTRE = "000.32.01.H99"  # Bình Long's centre (agencies.yaml)
BUSINESS = "2.001610"  # business registration: a province procedure not boundary-free


def holder(view: dict[str, Any]) -> tuple[str, str, str | None]:
    h = view["holder"]
    return (h["action"], h["role"], h["agency"])


async def test_a_commune_centre_receives_accepts_and_returns_a_province_procedure(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person("liên xã")
    # -- the commune centre's intake officer files it for the citizen, naming no centre
    r = await http.post(
        "/v1/dossiers", json=submission(person), headers=api.headers(*COMMUNE_INTAKE)
    )
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    # Circular 03/2025: the code carries the resolving agency's identifier.
    assert code.startswith(f"{POLICE}-"), code

    # Not orphaned: the officer who filed it sees it and holds its intake step.
    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*COMMUNE_INTAKE))
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["centre_agency"], view["competent_agency"]) == (COMMUNE_CENTRE, POLICE)
    assert holder(view) == ("accept", "intake_officer", COMMUNE_CENTRE)
    assert view["steps"][-1]["agency"] == COMMUNE_CENTRE  # returned where it was filed
    assert view["return_agency"] is None and view["return_by_post"] is False
    # The provincial centre does not hold it.
    r = await act(api, http, code, PROVINCE_INTAKE, "accept")
    error_of(r, 403, "forbidden")

    # -- the commune officer asks for a supplement, brings it for the citizen, accepts
    r = await act(
        api,
        http,
        code,
        COMMUNE_INTAKE,
        "request_supplement",
        comment="Thiếu giấy tờ cư trú",
        data={"missing": ["Giấy tờ chứng minh nơi cư trú"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "supplement_requested"
    docs = [
        {
            "kind": "giay_to_cu_tru",
            "filename": "cu-tru.pdf",
            "content_base64": b64(pdf(f"cu tru {person.id_number}")),
        }
    ]
    r = await http.post(
        f"/v1/dossiers/{code}/supplements",
        json={"comment": "Công dân nộp bổ sung tại quầy xã", "documents": docs},
        headers=api.headers(*COMMUNE_INTAKE),
    )
    assert r.status_code == 200, r.text
    r = await act(api, http, code, COMMUNE_INTAKE, "accept", comment="Hồ sơ đầy đủ")
    assert r.status_code == 200, r.text
    assert r.json()["appointment_at"] is not None

    # -- handed off to the police, who decide
    view = await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    assert [a["agency"] for a in view["handoff_acks"]] == [POLICE]
    r = await act(
        api,
        http,
        code,
        SPECIALIST,
        "appraise",
        data={"opinion": "Không có án tích", "recommendation": "grant"},
    )
    assert r.status_code == 200, r.text
    r = await act(api, http, code, LEADER, "approve", comment="Đồng ý cấp Phiếu")
    assert r.status_code == 200, r.text
    r = await act(api, http, code, SIGNER, "sign", data={"document": "phieu-lltp-so-1.pdf"})
    assert r.status_code in (200, 202), r.text
    view = await wait_for_step(api, http, code, "tra_ket_qua")

    # -- the result comes back to the commune centre, whose return officer hands it over
    assert holder(view) == ("return", "return_officer", COMMUNE_CENTRE)
    r = await act(api, http, code, (Role.RETURN_OFFICER, CENTRE), "return")
    error_of(r, 403, "forbidden")
    await pay_fee(api, http, code, COMMUNE_RETURN)  # the fee, collected where it returns
    r = await act(
        api,
        http,
        code,
        COMMUNE_RETURN,
        "return",
        data={"channel": "counter", "received_by": person.name},
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["status"], view["outcome"]) == ("returned", "granted")

    # The record names who did what where.
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*COMMUNE_INTAKE))
    assert r.status_code == 200, r.text
    by_kind = {(e["kind"], e["agency"]) for e in r.json()["events"]}
    assert {
        ("request_supplement", COMMUNE_CENTRE),
        ("accept", COMMUNE_CENTRE),
        ("approve", POLICE),
        ("return", COMMUNE_CENTRE),
    } <= by_kind
    row = await asyncio.to_thread(repository.get_dossier, api.engine, code)
    assert row is not None and (row.centre_agency, row.competent_agency) == (
        COMMUNE_CENTRE,
        POLICE,
    )


async def test_the_result_goes_to_the_centre_the_citizen_chose_and_refusal_stays_local(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person("nhận nơi khác")
    body = submission(person) | {"return_agency": OTHER_COMMUNE_CENTRE}
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*COMMUNE_INTAKE))
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = await http.get(
        f"/v1/dossiers/{code}", headers=api.headers(Role.RETURN_OFFICER, OTHER_COMMUNE_CENTRE)
    )
    assert r.status_code == 200, r.text  # the centre that will return it reads it
    view = r.json()
    assert view["return_agency"] == OTHER_COMMUNE_CENTRE
    assert view["steps"][0]["agency"] == COMMUNE_CENTRE
    assert view["steps"][-1]["agency"] == OTHER_COMMUNE_CENTRE

    # The receiving commune refuses it (Form 03): the dossier ends there.
    r = await act(api, http, code, COMMUNE_INTAKE, "refuse", comment="Không thuộc đối tượng")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["outcome"]) == ("not_received", "not_received")

    # By post, or to a centre that does not exist: checked before anything starts.
    r = await http.post(
        "/v1/dossiers",
        json=submission(api.person()) | {"return_agency": POLICE},
        headers=api.headers(*COMMUNE_INTAKE),
    )
    assert "return_agency" in error_of(r, 422, "invalid")
    r = await http.post(
        "/v1/dossiers",
        json=submission(api.person()) | {"return_by_post": True},
        headers=api.headers(*COMMUNE_INTAKE),
    )
    assert r.status_code == 201, r.text
    assert r.json()["code"].startswith(f"{POLICE}-")


async def test_a_procedure_not_boundary_free_is_refused_at_a_commune_centre(
    api: Api, http: httpx.AsyncClient
) -> None:
    before = await asyncio.to_thread(repository.dossier_codes, api.engine, procedure=BUSINESS)
    person = api.person("không liên xã")
    r = await http.post(
        "/v1/dossiers",
        json=submission(person, procedure=BUSINESS),
        headers=api.headers(*COMMUNE_INTAKE),
    )
    message = error_of(r, 422, "invalid")
    assert BUSINESS in message and COMMUNE_CENTRE in message and CENTRE in message, message
    # An applicant online naming the commune centre: the same answer.
    body = submission(person, procedure=BUSINESS, channel="online") | {
        "centre_agency": COMMUNE_CENTRE
    }
    r = await http.post("/v1/dossiers", json=body, headers=api.applicant(person))
    error_of(r, 422, "invalid")
    # An officer of one centre filing for another: refused, so nothing is orphaned.
    body = submission(api.person(), procedure=PROCEDURE) | {"centre_agency": CENTRE}
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*COMMUNE_INTAKE))
    assert COMMUNE_CENTRE in error_of(r, 403, "forbidden")
    # A police agency is no centre.
    body = submission(api.person(), channel="online") | {"centre_agency": POLICE}
    r = await http.post("/v1/dossiers", json=body, headers=api.applicant(person))
    assert "centre_agency" in error_of(r, 422, "invalid")
    after = await asyncio.to_thread(repository.dossier_codes, api.engine, procedure=BUSINESS)
    assert after == before
    # The provincial centre receives it.
    r = await http.post(
        "/v1/dossiers",
        json=submission(api.person(), procedure=BUSINESS),
        headers=api.headers(*PROVINCE_INTAKE),
    )
    assert r.status_code == 201, r.text
    r = await http.get(f"/v1/dossiers/{r.json()['code']}", headers=api.headers(*AUDITOR))
    assert r.json()["centre_agency"] == CENTRE
