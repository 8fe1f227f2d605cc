"""The intake checklist over HTTP: which file satisfies each component of the procedure,
which required ones are missing; an online dossier missing one is held at intake (its
`accept` refused, recorded) until the applicant supplements it, and a complete one passes."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from tests.api.support import (
    AUDITOR,
    INTAKE,
    SPECIALIST,
    Api,
    act,
    b64,
    caught_up,
    document,
    error_of,
    submission,
    wait_for_step,
)
from tests.files import jpeg


def by_kind(checklist: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["kind"]: i for i in checklist["items"]}


async def test_an_incomplete_online_dossier_waits_at_intake_with_the_component_flagged(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person("thiếu")
    mine = api.applicant(person)
    body = submission(person, channel="online")
    body["documents"] = [d for d in body["documents"] if d["kind"] == "to_khai"]
    body["documents"].append(document("cccd", "cccd.pdf"))  # names no component: kept apart
    r = await http.post("/v1/dossiers", json=body, headers=mine)
    assert r.status_code == 201, r.text
    created = r.json()
    code = created["code"]
    assert created["checklist"]["complete"] is False
    assert [i["kind"] for i in created["checklist"]["items"] if i["missing"]] == [
        "giay_to_tuy_than"
    ]

    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*INTAKE))
    assert r.status_code == 200, r.text
    view = r.json()
    items = by_kind(view["checklist"])
    assert items["to_khai"]["files"][0]["filename"] == "to-khai-03.pdf"
    assert (items["to_khai"]["required"], items["to_khai"]["original"]) == (True, True)
    identity = items["giay_to_tuy_than"]
    assert identity["missing"] is True and identity["files"] == [] and not identity["original"]
    assert items["giay_to_cu_tru"]["required"] is False and not items["giay_to_cu_tru"]["missing"]
    assert [f["filename"] for f in view["checklist"]["unmatched"]] == ["cccd.pdf"]
    offered = {a["action"] for a in view["allowed_actions"] if a["role"] == "intake_officer"}
    assert "accept" not in offered and {"request_supplement", "refuse"} <= offered

    # Held: the intake officer cannot receive it; the refusal names what is missing.
    r = await act(api, http, code, INTAKE, "accept", comment="Hồ sơ đầy đủ")
    message = error_of(r, 409, "incomplete")
    assert identity["name"] in message
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
    assert r.json()["status"] == "submitted" and r.json()["current_step"]["step_id"] == "tiep_nhan"

    # One complete supplement request, then the applicant's supplement completes it.
    r = await act(
        api, http, code, INTAKE, "request_supplement", data={"missing": [identity["name"]]}
    )
    assert r.status_code == 200, r.text
    supplement = {
        "kind": "giay_to_tuy_than",
        "filename": "can-cuoc.jpg",
        "content_base64": b64(jpeg(f"can cuoc {person.id_number}")),
    }
    r = await http.post(
        f"/v1/dossiers/{code}/supplements", json={"documents": [supplement]}, headers=mine
    )
    assert r.status_code == 200, r.text
    assert r.json()["checklist"]["complete"] is True
    assert "accept" in {a["action"] for a in r.json()["allowed_actions"]}
    r = await act(api, http, code, INTAKE, "accept")
    assert r.status_code == 200, r.text
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")

    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    refused = [(a["action"], a["code"]) for a in r.json()["refused_attempts"]]
    assert refused == [("accept", "incomplete")]


async def test_a_complete_online_dossier_passes_intake(api: Api, http: httpx.AsyncClient) -> None:
    person = api.person("đủ")
    mine = api.applicant(person)
    r = await http.post("/v1/dossiers", json=submission(person, channel="online"), headers=mine)
    assert r.status_code == 201, r.text
    first = r.json()["code"]
    assert r.json()["checklist"]["complete"] is True
    await caught_up(api, http, first)

    # A second dossier reuses the identity card the centre already holds from the first.
    identity = hashlib.sha256(jpeg(f"can cuoc {person.id_number}")).hexdigest()
    body = submission(person, channel="online")
    body["documents"] = [d for d in body["documents"] if d["kind"] == "to_khai"]
    body["documents"].append(
        {"kind": "giay_to_tuy_than", "filename": "cccd.jpg", "sha256": identity}
    )
    r = await http.post("/v1/dossiers", json=body, headers=mine)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    reused = by_kind(r.json()["checklist"])["giay_to_tuy_than"]
    assert reused["files"] == [
        {"kind": "giay_to_tuy_than", "filename": "cccd.jpg", "sha256": identity, "reused": True}
    ]
    assert r.json()["checklist"]["complete"] is True

    for dossier in (first, code):
        r = await act(api, http, dossier, INTAKE, "accept")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "received" and r.json()["appointment_at"]
        view = await wait_for_step(api, http, dossier, "tra_cuu_xac_minh")
        assert view["holder"]["role"] == SPECIALIST[0].value


async def test_an_online_submission_without_any_document_is_held_with_all_flagged(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person("trống")
    body = submission(person, channel="online")
    body["documents"] = []
    r = await http.post("/v1/dossiers", json=body, headers=api.applicant(person))
    assert r.status_code == 201, r.text
    missing = [i["kind"] for i in r.json()["checklist"]["items"] if i["missing"]]
    assert missing == ["to_khai", "giay_to_tuy_than"]
    r = await act(api, http, r.json()["code"], INTAKE, "accept")
    error_of(r, 409, "incomplete")
