"""Submission with an Idempotency-Key; what applicants do themselves (submit online,
supplement, withdraw); public tracking."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime
from pathlib import Path

import httpx

from infra.docstore import FolderStore
from tests.api.support import (
    AUDITOR,
    CENTRE,
    INTAKE,
    SPECIALIST,
    Api,
    act,
    b64,
    caught_up,
    error_of,
    submission,
    submit,
    wait_closed,
    wait_for_step,
)
from tests.files import pdf

# --------------------------------------------------------------------------- idempotency


async def _count(api: Api, http: httpx.AsyncClient, name: str) -> int:
    r = await http.get("/v1/dossiers", params={"q": name}, headers=api.headers(*AUDITOR))
    assert r.status_code == 200, r.text
    return len(r.json()["items"])


async def test_same_idempotency_key_gives_the_same_dossier(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person()
    key = f"counter-{uuid.uuid4()}"
    headers = {**api.headers(*INTAKE), "Idempotency-Key": key}
    first = await http.post("/v1/dossiers", json=submission(person), headers=headers)
    assert first.status_code == 201, first.text
    code = first.json()["code"]
    for _ in range(2):
        again = await http.post("/v1/dossiers", json=submission(person), headers=headers)
        assert again.status_code == 200, again.text
        assert again.json()["code"] == code
        assert again.json()["submitted_at"] == first.json()["submitted_at"]

    # The same key with another body is refused.
    other = submission(person)
    other["applicant"]["address"] = "Cẩm Phả, Quảng Ninh"
    r = await http.post("/v1/dossiers", json=other, headers=headers)
    assert "Idempotency-Key" in error_of(r, 422, "invalid")

    await caught_up(api, http, code)
    assert await _count(api, http, person.name) == 1

    # Keys belong to their caller: another officer's identical key is another request.
    other_officer = {**api.headers(INTAKE[0], CENTRE, "intake-2"), "Idempotency-Key": key}
    r = await http.post("/v1/dossiers", json=submission(person), headers=other_officer)
    assert r.status_code == 201, r.text
    assert r.json()["code"] != code


async def test_concurrent_duplicates_never_make_a_second_dossier(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person()
    headers = {**api.headers(*INTAKE), "Idempotency-Key": f"double-click-{uuid.uuid4()}"}
    answers = await asyncio.gather(
        *(http.post("/v1/dossiers", json=submission(person), headers=headers) for _ in range(4))
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(201) == 1, [(r.status_code, r.text) for r in answers]
    assert set(statuses) <= {200, 201, 409}, statuses
    codes = {r.json()["code"] for r in answers if r.status_code in (200, 201)}
    assert len(codes) == 1
    for r in answers:
        if r.status_code == 409:
            error_of(r, 409, "conflict")
    r = await http.post("/v1/dossiers", json=submission(person), headers=headers)
    assert r.status_code == 200 and r.json()["code"] in codes
    await caught_up(api, http, *codes)
    assert await _count(api, http, person.name) == 1


async def test_refused_submission_does_not_burn_the_key(api: Api, http: httpx.AsyncClient) -> None:
    person = api.person()
    headers = {**api.headers(*INTAKE), "Idempotency-Key": f"k-{uuid.uuid4()}"}
    r = await http.post(
        "/v1/dossiers", json=submission(person, procedure="8.888888"), headers=headers
    )
    error_of(r, 404, "not_found")
    r = await http.post("/v1/dossiers", json=submission(person), headers=headers)
    assert r.status_code == 201, r.text


# --------------------------------------------------------------------------- applicants


async def test_applicant_submits_online_supplements_and_withdraws(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person()
    mine = api.applicant(person)
    r = await http.post("/v1/dossiers", json=submission(person, channel="online"), headers=mine)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    await caught_up(api, http, code)

    r = await http.get(f"/v1/dossiers/{code}", headers=mine)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["channel"] == "online" and view["status"] == "submitted"
    assert view["applicant_account"] == person.sub
    assert {"action": "withdraw", "role": "applicant", "agency": None} in [
        {k: a[k] for k in ("action", "role", "agency")} for a in view["allowed_actions"]
    ]

    # Another citizen sees nothing of it and cannot act on it (the attempt is recorded).
    stranger = api.applicant(api.person())
    for method, path, body in (
        ("GET", f"/v1/dossiers/{code}", None),
        ("GET", f"/v1/dossiers/{code}/events", None),
        ("POST", f"/v1/dossiers/{code}/withdraw", {"comment": "rút hộ"}),
    ):
        r = await http.request(method, path, json=body, headers=stranger)
        error_of(r, 403, "forbidden")

    # Nothing to supplement yet.
    docs = [
        {
            "kind": "giay_to_cu_tru",
            "filename": "xac-nhan-cu-tru.pdf",
            "content_base64": b64(pdf(f"cu tru {person.id_number}")),
        }
    ]
    r = await http.post(f"/v1/dossiers/{code}/supplements", json={"documents": docs}, headers=mine)
    error_of(r, 409, "wrong_step")

    # Intake asks for a supplement (Form 02), listing every missing document at once.
    r = await act(
        api,
        http,
        code,
        INTAKE,
        "request_supplement",
        comment="Thiếu giấy tờ cư trú",
        data={"missing": ["Giấy xác nhận cư trú"]},
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "supplement_requested" and view["status_code"] == 5
    assert view["supplement_requests"] == 1
    assert ("supplement", "applicant", None) in {
        (a["action"], a["role"], a["agency"]) for a in view["allowed_actions"]
    }

    # The applicant supplements with the document's content; the centre keeps the file.
    r = await http.post(
        f"/v1/dossiers/{code}/supplements",
        json={"comment": "Bổ sung giấy xác nhận cư trú", "documents": docs},
        headers=mine,
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "submitted", view["status"]
    assert view["current_step"]["step_id"] == "tiep_nhan"
    digest = hashlib.sha256(pdf(f"cu tru {person.id_number}")).hexdigest()
    assert FolderStore(Path(api.settings.resolved_document_store)).has(digest)
    # ... and the documents given at submission are kept too.
    first = hashlib.sha256(pdf(person.id_number)).hexdigest()
    assert FolderStore(Path(api.settings.resolved_document_store)).has(first)

    # A second supplement now is at the wrong step.
    r = await http.post(f"/v1/dossiers/{code}/supplements", json={"documents": docs}, headers=mine)
    error_of(r, 409, "wrong_step")

    # Withdrawal needs a reason; then the dossier stops (Form 05).
    r = await http.post(f"/v1/dossiers/{code}/withdraw", json={"comment": ""}, headers=mine)
    assert "comment" in error_of(r, 422, "invalid")
    r = await http.post(
        f"/v1/dossiers/{code}/withdraw", json={"comment": "Không còn nhu cầu"}, headers=mine
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["status"] == "stopped" and view["status_code"] == 8
    assert view["outcome"] == "withdrawn" and view["allowed_actions"] == []

    await wait_closed(api, code)
    r = await http.post(f"/v1/dossiers/{code}/withdraw", json={"comment": "Lần nữa"}, headers=mine)
    error_of(r, 409, "closed")

    r = await http.get(f"/v1/dossiers/{code}/events", headers=mine)
    assert r.status_code == 200, r.text
    record = r.json()
    kinds = [e["kind"] for e in record["events"]]
    for kind in ("submitted", "request_supplement", "supplement", "withdraw"):
        assert kind in kinds, kinds
    supplement = next(e for e in record["events"] if e["kind"] == "supplement")
    assert (supplement["role"], supplement["actor_id"]) == ("applicant", person.sub)
    assert [(a["action"], a["code"]) for a in record["refused_attempts"]] == [
        ("withdraw", "forbidden"),  # the other citizen's: not visible to them
        ("supplement", "wrong_step"),
        ("supplement", "wrong_step"),
        ("withdraw", "closed"),
    ]


async def test_applicant_may_withdraw_during_appraisal_but_not_act_for_officers(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person()
    mine = api.applicant(person)
    code = await submit(api, http, person, as_applicant=True, channel="online")
    # The token names the applicant, not any officer: refused, and recorded.
    r = await http.post(f"/v1/dossiers/{code}/actions", json={"action": "accept"}, headers=mine)
    error_of(r, 403, "forbidden")
    r = await http.post(
        f"/v1/dossiers/{code}/actions",
        json={"action": "accept", "role": "intake_officer"},
        headers=mine,
    )
    error_of(r, 403, "forbidden")

    r = await act(api, http, code, INTAKE, "accept")
    assert r.status_code == 200, r.text
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    r = await http.post(
        f"/v1/dossiers/{code}/withdraw", json={"comment": "Đã có Phiếu khác"}, headers=mine
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "stopped"
    await wait_closed(api, code)
    r = await act(api, http, code, SPECIALIST, "appraise", data={"opinion": "x"})
    error_of(r, 409, "closed")


async def test_an_applicant_submits_only_for_themself(api: Api, http: httpx.AsyncClient) -> None:
    """The account of a dossier an applicant submits is the token's subject."""
    person = api.person()
    code = await submit(api, http, person, as_applicant=True, channel="online")
    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
    assert r.json()["applicant_account"] == person.sub
    # A dossier filed at the counter belongs to no account: its applicant cannot read it.
    counter = await submit(api, http, person)
    r = await http.get(f"/v1/dossiers/{counter}", headers=api.applicant(person))
    error_of(r, 403, "forbidden")


# --------------------------------------------------------------------------- tracking


async def test_tracking_with_the_right_id_number_shows_status_step_appointment_only(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person()
    code = await submit(api, http, person)
    r = await act(api, http, code, INTAKE, "accept")
    assert r.status_code == 200, r.text
    view = await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    await caught_up(api, http, code)

    r = await http.get(f"/v1/track/{code}", params={"id_number": person.id_number})
    assert r.status_code == 200, r.text
    tracked = r.json()
    assert set(tracked) == {
        "code",
        "procedure_name",
        "status",
        "status_code",
        "status_label",
        "step",
        "appointment_at",
        "time_left",  # in working time, the clock's own units
    }
    assert tracked["code"] == code
    assert (tracked["status"], tracked["status_code"]) == ("in_progress", 4)
    assert tracked["status_label"] == "Đang xử lý"
    assert tracked["step"] == view["current_step"]["name"]
    assert tracked["appointment_at"] is not None
    assert datetime.fromisoformat(tracked["appointment_at"]) == datetime.fromisoformat(
        view["appointment_at"]
    )
    text = r.text
    for secret in (person.name, person.id_number, "0912345678", "thu@example.vn", "Hạ Long"):
        assert secret not in text, secret

    # A wrong ID number and an unknown code get the very same answer.
    wrong = await http.get(f"/v1/track/{code}", params={"id_number": "999999999999"})
    unknown = await http.get(f"/v1/track/{code[:-4]}9999", params={"id_number": person.id_number})
    error_of(wrong, 404, "not_found")
    error_of(unknown, 404, "not_found")
    assert wrong.json() == unknown.json()
    assert person.id_number not in wrong.text and code not in wrong.text

    # The ID number is required and must look like one.
    for params in ({}, {"id_number": "12"}, {"id_number": "abcdefghijk"}):
        r = await http.get(f"/v1/track/{code}", params=params)
        assert "id_number" in error_of(r, 422, "invalid")
