"""Bad requests over HTTP: every one is a 4xx with {"error": {"code", "message"}} naming
what is wrong (never a 500); unknown dossiers and procedures are 404; a missing or bad
token is 401 with WWW-Authenticate."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from api.auth import issue_token
from domain.catalog import Role
from store import repository
from tests.api.support import (
    AUDITOR,
    INTAKE,
    POLICE,
    Api,
    Person,
    caught_up,
    error_of,
    submission,
)

UNKNOWN = f"{POLICE}-250101-9999"


def body_with(person: Person, path: str, value: Any) -> dict[str, Any]:
    """The valid submission of `person` with the field at dotted `path` set to `value`."""
    body = submission(person)
    *parents, last = path.split(".")
    node: Any = body
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("applicant.id_number", "12345", "applicant.id_number"),
        ("applicant.id_number", "0010900000ab", "applicant.id_number"),
        ("applicant.name", "", "applicant.name"),
        ("applicant.phone", "call me", "applicant.phone"),
        ("applicant.email", "not-an-address", "applicant.email"),
        ("procedure_code", "judicial-record", "procedure_code"),
        ("procedure_code", 3000333, "procedure_code"),
        ("channel", "pigeon", "channel"),
        ("documents.0.content_base64", "%%% not base64 %%%", "documents.0"),
        ("documents.0.kind", "Tờ khai", "documents.0.kind"),
        ("documents.1.sha256", "abc", "documents.1.sha256"),
        ("documents", "none", "documents"),
        ("applicant", None, "applicant"),
        ("surprise", 1, "surprise"),
    ],
)
async def test_malformed_submission_is_422_naming_the_field(
    api: Api, http: httpx.AsyncClient, path: str, value: Any, named: str
) -> None:
    body = body_with(api.person(), path, value)
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
    message = error_of(r, 422, "invalid")
    assert named in message, message
    if path == "documents.0.content_base64":
        assert "content_base64" in message, message


async def test_a_document_needs_exactly_one_of_content_and_sha256(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person()
    body = submission(person)
    body["documents"][0]["sha256"] = "0" * 64  # does not match the content
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
    message = error_of(r, 422, "invalid")
    assert "documents.0" in message and "sha256" in message, message
    del body["documents"][0]["sha256"]
    del body["documents"][0]["content_base64"]
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
    message = error_of(r, 422, "invalid")
    assert "documents.0" in message and "content_base64" in message, message


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"procedure_code": "3.000333",', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"a string"', "application/json"),
        (b"null", "application/json"),
        (b"", "application/json"),
        (b"procedure_code=3.000333", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"<dossier/>", "application/xml"),
    ],
)
async def test_wrong_json_is_a_4xx_never_a_500(
    api: Api, http: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    headers = {**api.headers(*INTAKE), "Content-Type": content_type}
    r = await http.post("/v1/dossiers", content=content, headers=headers)
    assert r.status_code in (400, 422), (r.status_code, r.text)
    error_of(r, r.status_code)
    code = await _some_dossier(api, http)
    r = await http.post(f"/v1/dossiers/{code}/actions", content=content, headers=headers)
    assert r.status_code in (400, 422), (r.status_code, r.text)
    error_of(r, r.status_code)


async def _some_dossier(api: Api, http: httpx.AsyncClient) -> str:
    r = await http.post("/v1/dossiers", json=submission(api.person()), headers=api.headers(*INTAKE))
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    return code


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"action": "fly"}, "action"),
        ({}, "action"),
        ({"action": "accept", "role": "king"}, "role"),
        ({"action": "accept", "data": [1, 2]}, "data"),
        ({"action": "accept", "comment": 42}, "comment"),
        ({"action": "accept", "extra": True}, "extra"),
        ({"action": "accept", "comment": "x" * 4001}, "comment"),
    ],
)
async def test_malformed_action_is_422_naming_the_field(
    api: Api, http: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    code = await _some_dossier(api, http)
    r = await http.post(f"/v1/dossiers/{code}/actions", json=body, headers=api.headers(*INTAKE))
    message = error_of(r, 422, "invalid")
    assert named in message, message


async def test_action_data_refused_by_the_workflow_is_422(
    api: Api, http: httpx.AsyncClient
) -> None:
    code = await _some_dossier(api, http)
    headers = api.headers(*INTAKE)
    r = await http.post(
        f"/v1/dossiers/{code}/actions",
        json={"action": "request_supplement", "data": {"missing": []}},
        headers=headers,
    )
    assert "data.missing" in error_of(r, 422, "invalid")
    r = await http.post(
        f"/v1/dossiers/{code}/actions", json={"action": "refuse", "comment": " "}, headers=headers
    )
    assert "comment" in error_of(r, 422, "invalid")
    r = await http.post(
        f"/v1/dossiers/{code}/supplements",
        json={"documents": [{"kind": "x", "filename": "x.pdf", "content_base64": "***"}]},
        headers=headers,
    )
    message = error_of(r, 422, "invalid")
    assert "documents.0" in message and "content_base64" in message
    r = await http.post(f"/v1/dossiers/{code}/supplements", json={"documents": []}, headers=headers)
    assert "documents" in error_of(r, 422, "invalid")
    r = await http.post(f"/v1/dossiers/{code}/withdraw", json={}, headers=headers)
    assert "comment" in error_of(r, 422, "invalid")


async def test_unknown_dossier_is_404_everywhere(api: Api, http: httpx.AsyncClient) -> None:
    for headers in (api.headers(*INTAKE), api.headers(*AUDITOR)):
        for method, path, body in (
            ("GET", f"/v1/dossiers/{UNKNOWN}", None),
            ("GET", f"/v1/dossiers/{UNKNOWN}/events", None),
            ("POST", f"/v1/dossiers/{UNKNOWN}/actions", {"action": "accept"}),
            ("POST", f"/v1/dossiers/{UNKNOWN}/withdraw", {"comment": "rút hồ sơ"}),
            (
                "POST",
                f"/v1/dossiers/{UNKNOWN}/supplements",
                {"documents": [{"kind": "x", "filename": "x.pdf", "content_base64": "eA=="}]},
            ),
        ):
            r = await http.request(method, path, json=body, headers=headers)
            assert UNKNOWN in error_of(r, 404, "not_found"), (method, path)
    r = await http.get("/v1/nothing-here", headers=api.headers(*INTAKE))
    error_of(r, 404, "not_found")
    r = await http.delete(f"/v1/dossiers/{UNKNOWN}", headers=api.headers(*INTAKE))
    error_of(r, 405, "method_not_allowed")


async def test_unknown_procedure_is_404(api: Api, http: httpx.AsyncClient) -> None:
    body = submission(api.person(), procedure="8.888888")
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
    assert "8.888888" in error_of(r, 404, "not_found")
    r = await http.get("/v1/procedures/8.888888", headers=api.headers(*INTAKE))
    assert "8.888888" in error_of(r, 404, "not_found")
    # An unknown agency named as the centre is bad data, not a missing resource.
    body = {**submission(api.person()), "centre_agency": "000.99.99.H99"}
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
    assert "centre_agency" in error_of(r, 422, "invalid")


async def test_procedures_are_listed_and_described(api: Api, http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/procedures", headers=api.headers(*AUDITOR))
    assert r.status_code == 200, r.text
    codes = {p["code"] for p in r.json()}
    assert codes == {p.code for p in api.catalog.latest()} and "3.000333" in codes
    r = await http.get("/v1/procedures/3.000333", headers=api.headers(Role.APPLICANT, None, "c"))
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["competent_agency"] == POLICE
    assert detail["steps"][0]["id"] == "tiep_nhan"
    assert detail["statutory_time"]["value"] == 10
    r = await http.post("/v1/dossiers", json=submission(api.person()), headers=api.headers(*INTAKE))
    assert r.status_code == 201, r.text
    link = r.json()["links"]["procedure"]["href"]
    pinned = await http.get(f"/v1/dossiers/{r.json()['code']}", headers=api.headers(*AUDITOR))
    assert link == f"/v1/procedures/3.000333?version={pinned.json()['procedure_version']}", link
    # A version is read as asked (a dossier links to the one it runs), never silently
    # another: a version the catalog does not hold is a 404 that names those it holds.
    held = [p.version for p in api.catalog.procedures["3.000333"]]
    r = await http.get(f"/v1/procedures/3.000333?version={held[0]}", headers=api.headers(*AUDITOR))
    assert r.status_code == 200 and r.json()["version"] == held[0], r.text
    r = await http.get("/v1/procedures/3.000333?version=99", headers=api.headers(*AUDITOR))
    message = error_of(r, 404, "not_found")
    assert "phiên bản 99" in message and f"các phiên bản: {held[0]}" in message, message


def _routes(code: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", "/v1/procedures", None),
        ("GET", "/v1/procedures/3.000333", None),
        ("GET", "/v1/dossiers", None),
        ("POST", "/v1/dossiers", {"procedure_code": "3.000333"}),
        ("GET", f"/v1/dossiers/{code}", None),
        ("GET", f"/v1/dossiers/{code}/events", None),
        ("POST", f"/v1/dossiers/{code}/actions", {"action": "accept"}),
        ("POST", f"/v1/dossiers/{code}/withdraw", {"comment": "x"}),
        ("POST", f"/v1/dossiers/{code}/supplements", {"documents": []}),
    ]


async def test_no_token_is_401_with_www_authenticate(api: Api, http: httpx.AsyncClient) -> None:
    code = await _some_dossier(api, http)
    await caught_up(api, http, code)
    for method, path, body in _routes(code):
        for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}):
            r = await http.request(method, path, json=body, headers=headers)
            message = error_of(r, 401, "unauthenticated")
            assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), (path, r.headers)
            assert "token" in message
    # Nothing was done on the dossier.
    r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    assert r.json()["refused_attempts"] == []


async def test_bad_token_is_401(api: Api, http: httpx.AsyncClient) -> None:
    code = await _some_dossier(api, http)
    s = api.settings
    good = api.token(*INTAKE)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_claims = {**claims, "roles": ["admin"]}
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()
    )
    bad_tokens = {
        "garbage": "not-a-jwt",
        "tampered": f"{header}.{forged_payload}.{signature}",
        "other secret": jwt.encode(claims, "another-secret-of-sufficient-length!!", "HS256"),
        "expired": issue_token(
            s,
            sub="x",
            roles=[Role.INTAKE_OFFICER],
            agency=INTAKE[1],
            ttl=timedelta(minutes=1),
            now=datetime.now(UTC) - timedelta(hours=2),
        ),
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "wrong audience": jwt.encode(
            {**claims, "aud": "someone-else"}, s.jwt_secret.get_secret_value(), "HS256"
        ),
        "unknown role": jwt.encode(
            {**claims, "roles": ["king"]}, s.jwt_secret.get_secret_value(), "HS256"
        ),
        "system role": jwt.encode(
            {**claims, "roles": ["system"]}, s.jwt_secret.get_secret_value(), "HS256"
        ),
        "officer without agency": jwt.encode(
            {k: v for k, v in claims.items() if k != "agency"},
            s.jwt_secret.get_secret_value(),
            "HS256",
        ),
        "huge": "a" * 20_000,
    }
    for why, token in bad_tokens.items():
        for method, path, body in _routes(code):
            r = await http.request(
                method, path, json=body, headers={"Authorization": f"Bearer {token}"}
            )
            message = error_of(r, 401, "unauthenticated")
            assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), why
            if len(token) > 20:
                assert token not in message and signature not in message, why
    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
    assert r.json()["status"] == "submitted"


# --------------------------------------------------------------------------- NUL characters
#
# PostgreSQL text cannot hold U+0000 (psycopg raises DataError), SQLite can. The API
# refuses NUL anywhere in a path, a query or a body with a 422 naming where it was, on both
# databases, so nothing reaches the read model that one of them could not store.


@pytest.mark.parametrize("param", ["q", "agency", "procedure"])
async def test_nul_in_a_list_filter_is_not_a_500(
    request: pytest.FixtureRequest, api: Api, http: httpx.AsyncClient, param: str
) -> None:
    # api/routes/dossiers.py list_dossiers -> store.repository.list_dossiers
    r = await http.get("/v1/dossiers", params={param: "a\x00b"}, headers=api.headers(*AUDITOR))
    assert r.status_code < 500, r.text
    if r.status_code != 200:
        assert param in error_of(r, 422, "invalid")


@pytest.mark.parametrize("path", ["/v1/track/{code}", "/v1/dossiers/{code}/events"])
async def test_nul_in_a_dossier_code_is_404(
    request: pytest.FixtureRequest, api: Api, http: httpx.AsyncClient, path: str
) -> None:
    # api/routes/public.py track and api/routes/dossiers.py events -> repository.get_dossier
    r = await http.get(
        path.format(code=f"{POLICE}-250101-00%001"),
        params={"id_number": "001090000001"},
        headers=api.headers(*AUDITOR),
    )
    assert r.status_code in (404, 422), r.text


@pytest.mark.parametrize(
    "body",
    [{"action": "sign", "comment": "x\x00y"}, {"action": "sign", "data": {"note": "x\x00y"}}],
    ids=["comment", "data"],
)
async def test_nul_in_a_refused_action_is_still_refused_and_recorded(
    request: pytest.FixtureRequest, api: Api, http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    # services/dossiers.py DossierService._refused -> repository.record_refused_attempt
    code = await _some_dossier(api, http)
    r = await http.post(f"/v1/dossiers/{code}/actions", json=body, headers=api.headers(*INTAKE))
    assert r.status_code in (409, 422), r.text
    if r.status_code == 409:
        await caught_up(api, http, code)
        r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
        assert [a["action"] for a in r.json()["refused_attempts"]] == ["sign"]


async def test_nul_in_an_applicants_name_never_stalls_the_read_model(
    request: pytest.FixtureRequest, api: Api, http: httpx.AsyncClient
) -> None:
    # Accepted with 201 (api/schemas.py ApplicantIn.name has no character check), the
    # projection activity (activities/, store.repository) then fails on every retry on
    # PostgreSQL: the dossier never appears in lists, events or tracking.
    person = api.person()
    body = body_with(person, "applicant.name", "Nguyễn\x00An")
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
    if r.status_code == 422:
        assert "applicant.name" in error_of(r, 422, "invalid")
        return
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    try:
        for _ in range(60):
            if await asyncio.to_thread(repository.get_dossier, api.engine, code) is not None:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"{code} never reached the read model")
    finally:
        # Stop a stalled dossier's retries (they would go on for the rest of the session).
        await api.client.get_workflow_handle(code).terminate("test finished")
