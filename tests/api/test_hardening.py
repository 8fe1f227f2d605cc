"""HTTP hardening of the real app (issue 11): the submission and tracking rate limits,
security headers on every route family, strict CORS, and the request body limit.

The app is the real one (`create_app`) on a real SQLite read model; no Temporal server
is needed because every request here is answered before the workflow would be asked
(a 422 submission, a tracking lookup, a page), and the client connects lazily."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.auth import issue_token
from api.security import API_CONTENT_SECURITY_POLICY, BodyLimitMiddleware
from domain.catalog import Role
from infra.settings import Settings, SettingsError, load_settings
from motcua.devserver import find_free_port
from motcua.stack import api_serving
from store.db import init_db, make_engine
from tests.api.conftest import settings_for
from tests.api.support import CENTRE, INTAKE, Api, caught_up, error_of, submission
from tests.devserver.journeys import shipped_catalog

ORIGIN = "https://portal.example.gov.vn"
NO_DOSSIER = "000.00.01.H99-991231-9999"  # well formed, never issued: tracking says 404


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite read model of its own (the API tests' `engine` fixture name is free here)."""
    e = make_engine(f"sqlite:///{tmp_path / 'motcua.db'}")
    init_db(e)
    yield e
    e.dispose()


def hardening_settings(tmp_path: Path, **kw: Any) -> Settings:
    """An API whose Temporal is nowhere (lazy client): only what answers before it."""
    return settings_for(tmp_path, temporal_address=f"127.0.0.1:{find_free_port()}", **kw)


def client_for(settings: Settings, engine: Engine) -> TestClient:
    app = create_app(settings, engine=engine, catalog=shipped_catalog())
    return TestClient(app, base_url="http://testserver")


def token(settings: Settings, sub: str, role: Role, agency: str | None = None, **kw: Any) -> str:
    return issue_token(settings, sub=sub, roles=[role], agency=agency, name=sub, **kw)


def bearer(t: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"}


def retry_after(r: httpx.Response) -> int:
    seconds = int(r.headers["Retry-After"])
    assert 1 <= seconds <= 60, seconds
    return seconds


# -- rate limits --------------------------------------------------------------------------


def test_submissions_are_limited_per_caller(tmp_path: Path, engine: Engine) -> None:
    settings = hardening_settings(tmp_path, rate_limit_submit_per_minute=3)
    with client_for(settings, engine) as http:
        now = [5000.0]
        http.app.state.ctx.submit_limiter.store.memory.clock = lambda: now[0]  # type: ignore[attr-defined]
        citizen = token(settings, "citizen-1", Role.APPLICANT)
        for _ in range(3):  # each attempt counts, a refused one too (here: an empty body)
            r = http.post("/v1/dossiers", json={}, headers=bearer(citizen))
            error_of(r, 422, "invalid")
            now[0] += 10
        r = http.post("/v1/dossiers", json={}, headers=bearer(citizen))
        message = error_of(r, 429, "rate_limited")
        seconds = retry_after(r)
        assert "lượt nộp hồ sơ" in message and "tối đa 3 mỗi phút" in message, message
        assert f"thử lại sau {seconds} giây" in message, message
        r = http.post("/v1/dossiers", json={}, headers=bearer(citizen) | {"Accept-Language": "en"})
        message = error_of(r, 429, "rate_limited")
        assert "dossier submissions" in message and "at most 3 a minute" in message, message
        assert f"retry in {retry_after(r)} s" in message, message
        # The limit is the caller's, not the token's: a fresh token does not reset it.
        fresh = token(settings, "citizen-1", Role.APPLICANT, ttl=timedelta(hours=1))
        assert fresh != citizen
        error_of(http.post("/v1/dossiers", json={}, headers=bearer(fresh)), 429, "rate_limited")
        # Only submissions: the same caller still reads.
        assert http.get("/v1/procedures", headers=bearer(citizen)).status_code == 200
        # At the counter too, each officer with a limit of their own.
        officer = token(settings, f"intake@{CENTRE}", Role.INTAKE_OFFICER, CENTRE)
        statuses = [
            http.post("/v1/dossiers", json={}, headers=bearer(officer)).status_code
            for _ in range(4)
        ]
        assert statuses == [422, 422, 422, 429]
        # No token: 401 (authentication first), and it counts against nobody.
        error_of(http.post("/v1/dossiers", json={}), 401, "unauthenticated")
        other = token(settings, "citizen-2", Role.APPLICANT)
        error_of(http.post("/v1/dossiers", json={}, headers=bearer(other)), 422, "invalid")
        # The window slides (limits' sliding window counter): the caller's first minute
        # ends in 30 s, and from then on its attempts weigh less as they age; Retry-After
        # rounds up, so a client that waits as told is let in.
        assert seconds == 31
        now[0] += 29
        error_of(http.post("/v1/dossiers", json={}, headers=bearer(citizen)), 429, "rate_limited")
        now[0] += seconds - 29
        error_of(http.post("/v1/dossiers", json={}, headers=bearer(citizen)), 422, "invalid")


def test_submission_limit_zero_turns_it_off(tmp_path: Path, engine: Engine) -> None:
    settings = hardening_settings(tmp_path, rate_limit_submit_per_minute=0)
    with client_for(settings, engine) as http:
        citizen = bearer(token(settings, "citizen-1", Role.APPLICANT))
        assert {
            http.post("/v1/dossiers", json={}, headers=citizen).status_code for _ in range(30)
        } == {422}


async def test_tracking_is_limited_per_client_address_behind_the_proxy(
    tmp_path: Path, engine: Engine
) -> None:
    """Tracking counts per client address: the X-Forwarded-For client when the proxy is
    trusted (MOTCUA_FORWARDED_ALLOW_IPS), whatever bearer token the request carries; the
    general limit is far away."""
    settings = hardening_settings(
        tmp_path,
        rate_limit_per_minute=1000,
        rate_limit_track_per_minute=2,
        forwarded_allow_ips="127.0.0.1",
    )
    citizen = token(settings, "citizen-1", Role.APPLICANT)

    async def track(http: httpx.AsyncClient, ip: str, **headers: str) -> httpx.Response:
        return await http.get(
            f"/v1/track/{NO_DOSSIER}",
            params={"id_number": "001099012345"},
            headers={"X-Forwarded-For": ip, **headers},
        )

    async with (
        api_serving(settings, None, engine, shipped_catalog()) as url,  # type: ignore[arg-type]
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        first = await track(http, "203.0.113.7")
        assert first.status_code == 404
        check_common(first)
        assert "server" not in first.headers  # uvicorn does not say its name
        assert (await track(http, "203.0.113.7")).status_code == 404
        r = await track(http, "203.0.113.7")
        message = error_of(r, 429, "rate_limited")
        assert "lượt tra cứu" in message and f"thử lại sau {retry_after(r)} giây" in message
        # A token does not open a new bucket: tracking is counted by address.
        r = await track(http, "203.0.113.7", Authorization=f"Bearer {citizen}")
        error_of(r, 429, "rate_limited")
        # Another citizen behind the same proxy has a bucket of their own.
        assert (await track(http, "203.0.113.8")).status_code == 404
        # Other routes are not counted against tracking.
        r = await http.get("/v1/procedures", headers={"Authorization": f"Bearer {citizen}"})
        assert r.status_code == 200, r.text


# -- security headers ---------------------------------------------------------------------

COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def check_common(r: httpx.Response) -> None:
    for name, value in COMMON.items():
        assert r.headers.get(name) == value, (r.request.url, name, r.headers.get(name))
    assert "camera=()" in r.headers["permissions-policy"]


def test_security_headers_on_every_route_family(tmp_path: Path, engine: Engine) -> None:
    settings = hardening_settings(tmp_path, rate_limit_per_minute=1000)
    with client_for(settings, engine) as http:
        officer = bearer(token(settings, f"intake@{CENTRE}", Role.INTAKE_OFFICER, CENTRE))
        answers = {
            "authenticated JSON": http.get("/v1/procedures", headers=officer),
            "public tracking": http.get(
                f"/v1/track/{NO_DOSSIER}", params={"id_number": "001099012345"}
            ),
            "health": http.get("/v1/healthz"),
            "401": http.get("/v1/dossiers"),
            "422": http.post("/v1/dossiers", json={}, headers=officer),
            "unknown route": http.get("/v1/nothing-here"),
            "metrics": http.get("/metrics"),
        }
        assert answers["authenticated JSON"].status_code == 200
        assert answers["public tracking"].status_code == 404
        assert answers["401"].status_code == 401
        for family, r in answers.items():
            check_common(r)
            # API answers are data, never a page: nothing loads, nothing frames them;
            # and no cache keeps them (they carry personal data or a caller's view).
            assert r.headers["content-security-policy"] == API_CONTENT_SECURITY_POLICY, family
            assert r.headers["cache-control"] == "no-store", family
            assert "strict-transport-security" not in r.headers, family

        # Pages keep their own policy (scripts from 'self'), with the same headers.
        page = http.get("/ui/track")
        assert page.status_code == 200
        check_common(page)
        assert "script-src" not in page.headers["content-security-policy"]
        assert "form-action 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        # Static files: versioned, so cacheable; still nosniff and no framing.
        static = http.get("/ui/static/app.js")
        assert static.status_code == 200
        check_common(static)
        assert "no-store" not in static.headers.get("cache-control", "")
        # The API's docs pages: every header, and a policy of their own (this site only).
        for path in ("/docs", "/redoc"):
            docs = http.get(path)
            assert docs.status_code == 200, path
            check_common(docs)
            policy = docs.headers["content-security-policy"]
            assert "script-src 'self' " in policy and "http" not in policy, policy


def test_hsts_only_when_configured(tmp_path: Path, engine: Engine) -> None:
    settings = hardening_settings(tmp_path, hsts_max_age_seconds=31_536_000)
    with client_for(settings, engine) as http:
        for path in ("/v1/healthz", "/ui/", "/ui/static/app.js", "/v1/nothing"):
            r = http.get(path)
            assert r.headers["strict-transport-security"] == "max-age=31536000", path
    with pytest.raises(SettingsError, match="MOTCUA_HSTS_MAX_AGE_SECONDS"):
        load_settings(hsts_max_age_seconds=-1)


def test_rate_limited_answers_carry_the_headers_too(tmp_path: Path, engine: Engine) -> None:
    settings = hardening_settings(tmp_path, rate_limit_per_minute=1)
    with client_for(settings, engine) as http:
        assert http.get("/v1/procedures").status_code == 401
        r = http.get("/v1/procedures")
        error_of(r, 429, "rate_limited")
        retry_after(r)
        check_common(r)
        assert r.headers["cache-control"] == "no-store"


# -- CORS ---------------------------------------------------------------------------------


def preflight(http: TestClient, origin: str, method: str = "POST") -> httpx.Response:
    return http.options(
        "/v1/dossiers",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_no_cors_by_default(tmp_path: Path, engine: Engine) -> None:
    settings = hardening_settings(tmp_path)
    assert settings.cors_origins == []
    with client_for(settings, engine) as http:
        r = preflight(http, ORIGIN)
        assert r.status_code == 405, r.text  # no CORS layer at all: OPTIONS is not a route
        assert not [h for h in r.headers if h.lower().startswith("access-control-")]
        r = http.get("/v1/healthz", headers={"Origin": ORIGIN})
        assert r.status_code == 200
        assert not [h for h in r.headers if h.lower().startswith("access-control-")]


def test_cors_allows_only_the_listed_origins(tmp_path: Path, engine: Engine) -> None:
    settings = hardening_settings(tmp_path, cors_origins=[ORIGIN])
    with client_for(settings, engine) as http:
        r = preflight(http, ORIGIN)
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == ORIGIN  # never "*"
        assert "access-control-allow-credentials" not in r.headers  # bearer tokens, no cookies
        allowed = r.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "idempotency-key" in allowed
        assert "POST" in r.headers["access-control-allow-methods"]
        assert "DELETE" not in r.headers["access-control-allow-methods"]
        check_common(r)

        for refused in ("https://evil.example.com", ORIGIN + ".evil.example.com", "null"):
            r = preflight(http, refused)
            assert r.status_code == 400, (refused, r.text)
            assert "access-control-allow-origin" not in r.headers, refused
        # A method the API never takes cross-site: refused (the browser then sends nothing).
        r = preflight(http, ORIGIN, method="DELETE")
        assert r.status_code == 400, r.text
        assert "DELETE" not in r.headers.get("access-control-allow-methods", "")

        # Actual requests: the allowed origin may read the answer (and Retry-After,
        # Location), another origin gets no CORS header, so its script cannot.
        r = http.get("/v1/healthz", headers={"Origin": ORIGIN})
        assert r.headers["access-control-allow-origin"] == ORIGIN
        assert "retry-after" in r.headers["access-control-expose-headers"].lower()
        assert "origin" in r.headers.get("vary", "").lower()
        r = http.get("/v1/healthz", headers={"Origin": "https://evil.example.com"})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize(
    "origins",
    [
        ["*"],
        ["null"],
        ["https://portal.example.gov.vn/"],
        ["https://portal.example.gov.vn/path"],
        ["portal.example.gov.vn"],
        ["https://*.example.gov.vn"],
    ],
)
def test_cors_origins_must_be_plain_origins(origins: list[str]) -> None:
    with pytest.raises(SettingsError, match="MOTCUA_CORS_ORIGINS"):
        load_settings(cors_origins=origins)


def test_cors_origins_are_https_in_production() -> None:
    production: dict[str, Any] = {
        "environment": "production",
        "jwt_secret": "p" * 48,
        "payment_gateway_secret": "g" * 48,
    }
    with pytest.raises(SettingsError, match="không dùng https"):
        load_settings(**production, cors_origins=["http://portal.example.gov.vn"])
    assert load_settings(**production, cors_origins=[ORIGIN]).cors_origins == [ORIGIN]


# -- request size -------------------------------------------------------------------------

LIMIT = 70_000  # the least MOTCUA_MAX_REQUEST_BYTES for 1000-byte uploads (see settings)


def small_settings(tmp_path: Path, **kw: Any) -> Settings:
    return hardening_settings(tmp_path, max_upload_bytes=1000, max_request_bytes=LIMIT, **kw)


def test_the_body_limit_holds_one_file_of_the_upload_limit() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(max_upload_bytes=1000, max_request_bytes=60_000)
    message = str(info.value)
    assert "MOTCUA_MAX_REQUEST_BYTES" in message and "MOTCUA_MAX_UPLOAD_BYTES" in message
    assert "phải ít nhất là 66872" in message  # 4 * ceil(1000 / 3) + 64 KiB
    assert load_settings(max_upload_bytes=1000, max_request_bytes=66_872).max_request_bytes
    defaults = load_settings()
    assert defaults.max_request_bytes >= 4 * defaults.max_upload_bytes // 3 + 65_536
    with pytest.raises(SettingsError, match="MOTCUA_MAX_UPLOAD_BYTES"):
        load_settings(max_upload_bytes=60 * 1024 * 1024, max_request_bytes=200 * 1024 * 1024)


def test_a_declared_length_over_the_limit_is_413_unread(tmp_path: Path, engine: Engine) -> None:
    settings = small_settings(tmp_path)
    with client_for(settings, engine) as http:
        officer = bearer(token(settings, f"intake@{CENTRE}", Role.INTAKE_OFFICER, CENTRE))
        big = b'{"procedure_code": "' + b"1" * LIMIT + b'"}'
        for path in ("/v1/dossiers", "/v1/verify", "/v1/dossiers/X/actions"):
            r = http.post(
                path, content=big, headers={**officer, "Content-Type": "application/json"}
            )
            message = error_of(r, 413, "too_large")
            assert "vượt quá 70.000 byte" in message, message
            r = http.post(
                path,
                content=big,
                headers={**officer, "Content-Type": "application/json", "Accept-Language": "en"},
            )
            assert f"{LIMIT:,} bytes" in error_of(r, 413, "too_large")
            check_common(r)
        # Multipart too (no route takes it today; the limit is the body's, whatever it holds).
        r = http.post("/v1/verify", files={"file": ("big.pdf", b"%PDF-1.7 " + b"0" * LIMIT)})
        assert r.request.headers["content-type"].startswith("multipart/form-data")
        error_of(r, 413, "too_large")
        # Just under the limit: read and judged on its content (here: invalid).
        under = b'{"procedure_code": "' + b"1" * (LIMIT - 100) + b'"}'
        r = http.post(
            "/v1/dossiers", content=under, headers={**officer, "Content-Type": "application/json"}
        )
        error_of(r, 422, "invalid")
        r = http.post(
            "/v1/dossiers",
            content=b"{}",
            headers={**officer, "Content-Type": "application/json", "Content-Length": "x"},
        )
        assert r.status_code == 400, r.text


async def test_a_chunked_body_is_cut_off_at_the_limit(tmp_path: Path, engine: Engine) -> None:
    """No Content-Length: the body is counted as it arrives, 413 once over the limit."""
    settings = small_settings(tmp_path, rate_limit_per_minute=1000)
    officer = bearer(token(settings, f"intake@{CENTRE}", Role.INTAKE_OFFICER, CENTRE))

    async def chunks(total: int) -> AsyncIterator[bytes]:
        yield b'{"procedure_code": "'
        for _ in range(total // 10_000):
            yield b"1" * 10_000
        yield b'"}'

    async with (
        api_serving(settings, None, engine, shipped_catalog()) as url,  # type: ignore[arg-type]
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        r = await http.post(
            "/v1/dossiers",
            content=chunks(150_000),
            headers={**officer, "Content-Type": "application/json"},
        )
        assert "content-length" not in r.request.headers
        assert r.request.headers["transfer-encoding"] == "chunked"
        error_of(r, 413, "too_large")
        r = await http.post(
            "/v1/dossiers",
            content=chunks(30_000),
            headers={**officer, "Content-Type": "application/json"},
        )
        error_of(r, 422, "invalid")


async def test_the_limit_stops_reading_a_stream() -> None:
    """At the ASGI level: a stream over the limit is not read to its end (what the
    server holds is bounded by the limit, not by what the client sends)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": pulled < 1000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:  # reads everything it is given, as a JSON parser would
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        raise AssertionError("read a body over the limit")

    limited = BodyLimitMiddleware(app, limit=10_000)
    scope = {"type": "http", "method": "POST", "path": "/v1/dossiers", "headers": []}
    await limited(scope, receive, send)  # type: ignore[arg-type]
    assert pulled == 11  # 11,000 bytes: one chunk over the limit, then no more
    assert sent[0]["status"] == 413

    # Declared over the limit: answered without a single read.
    pulled, sent = 0, []
    scope["headers"] = [(b"content-length", b"10001")]
    await limited(scope, receive, send)  # type: ignore[arg-type]
    assert pulled == 0 and sent[0]["status"] == 413


# -- against the real stack (Temporal dev server and workers) ---------------------------------


async def test_real_submissions_are_limited_and_every_answer_is_hardened(api: Api) -> None:
    """Accepted submissions count like refused ones; a dossier's live state, events, document
    list and a downloaded file all carry the headers and are never cached."""
    # A second API on the same task queue, read model and document store (the stack's
    # workers run the dossiers it starts), with a submission limit of 2.
    settings = api.settings.model_copy(
        update={"rate_limit_submit_per_minute": 2, "api_port": find_free_port()}
    )
    async with (
        api_serving(settings, api.client, api.engine, api.catalog) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        officer = api.headers(*INTAKE)
        codes = []
        for _ in range(2):
            r = await http.post("/v1/dossiers", json=submission(api.person()), headers=officer)
            assert r.status_code == 201, r.text
            check_common(r)
            assert r.headers["cache-control"] == "no-store"
            codes.append(r.json()["code"])
        r = await http.post("/v1/dossiers", json=submission(api.person()), headers=officer)
        message = error_of(r, 429, "rate_limited")
        assert f"thử lại sau {retry_after(r)} giây" in message

        code = codes[0]
        await caught_up(api, http, code)  # in the read model: events and documents listed
        answers = [
            await http.get(f"/v1/dossiers/{code}", headers=officer),
            await http.get(f"/v1/dossiers/{code}/events", headers=officer),
        ]
        docs = await http.get(f"/v1/dossiers/{code}/documents", headers=officer)
        answers.append(docs)
        assert docs.status_code == 200, docs.text
        uploaded = next(d for d in docs.json()["documents"] if d["form"] == "to_khai")
        answers.append(await http.get(uploaded["href"], headers=officer))
        for r in answers:
            assert r.status_code == 200, (r.request.url, r.text)
            check_common(r)
            assert r.headers["cache-control"] == "no-store", r.request.url
            assert r.headers["content-security-policy"] == API_CONTENT_SECURITY_POLICY
        assert answers[-1].headers["content-type"] == "application/pdf"


# -- bodies at the edge (issue 21): the token and the JSON limits before a body is read --------

# The flood of the issue: 500,000 keys, 6 MB of JSON.
FLOOD = b"{" + b",".join(b'"k%d":0' % i for i in range(500_000)) + b"}"


async def asgi_post(
    app: Any, path: str, chunks: list[bytes], headers: dict[str, str]
) -> tuple[int, dict[str, Any], int]:
    """POST to the ASGI app itself: (status, JSON answer, bytes of the body it pulled)."""
    pulled = 0
    queue = list(chunks)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if not queue:
            return {"type": "http.disconnect"}
        chunk = queue.pop(0)
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(queue)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body), pulled


def in_chunks(body: bytes, size: int = 65_536) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


async def test_a_body_is_not_read_before_its_token_is_checked(
    tmp_path: Path, engine: Engine
) -> None:
    """No token, or a bad one, with a flood behind it: 401 without a byte of it read (it
    was read and parsed first: 3.3 s and +900 MB for 36 MB)."""
    settings = hardening_settings(tmp_path)
    app = create_app(settings, engine=engine, catalog=shipped_catalog())
    json_type = {"Content-Type": "application/json"}
    async with app.router.lifespan_context(app):
        for path in ("/v1/dossiers", "/v1/dossiers/X/actions", "/v1/dossiers/X/supplements"):
            for auth in ({}, {"Authorization": "Bearer not.a.token"}):
                headers = {**json_type, **auth, "Content-Length": str(len(FLOOD))}
                status, answer, pulled = await asgi_post(app, path, in_chunks(FLOOD), headers)
                assert status == 401 and answer["error"]["code"] == "unauthenticated", answer
                assert pulled == 0, (path, auth, pulled)
                # Chunked (no length), or a multipart body: the same.
                for kind in (json_type, {"Content-Type": "multipart/form-data; boundary=x"}):
                    status, _, pulled = await asgi_post(
                        app, path, in_chunks(FLOOD), {**kind, **auth}
                    )
                    assert status == 401 and pulled == 0, (path, auth, kind, pulled)


async def test_a_flood_of_json_is_refused_before_it_is_parsed(
    tmp_path: Path, engine: Engine
) -> None:
    """With an applicant's token: the 6 MB body is 413 unread when its length is declared,
    and read no further than the JSON limit when it is not (it was read and parsed: 16 s)."""
    settings = hardening_settings(tmp_path)
    limit = settings.max_json_bytes
    app = create_app(settings, engine=engine, catalog=shipped_catalog())
    citizen = bearer(token(settings, "citizen-1", Role.APPLICANT))
    headers = {**citizen, "Content-Type": "application/json"}
    async with app.router.lifespan_context(app):
        for path in ("/v1/dossiers", "/v1/dossiers/X/actions", "/v1/dossiers/X/withdraw"):
            status, answer, pulled = await asgi_post(
                app, path, in_chunks(FLOOD), {**headers, "Content-Length": str(len(FLOOD))}
            )
            assert status == 413 and answer["error"]["code"] == "too_large", answer
            assert pulled == 0, (path, pulled)
            message = answer["error"]["message"]
            assert "vượt quá 524.288 byte" in message and "multipart/form-data" in message
            status, answer, pulled = await asgi_post(app, path, in_chunks(FLOOD), headers)
            assert status == 413 and answer["error"]["code"] == "too_large", answer
            assert limit < pulled <= limit + 65_536, pulled


def test_json_nesting_and_keys_are_bounded(tmp_path: Path, engine: Engine) -> None:
    """Within the size limit, a body too deep or with too many keys is 422, said in
    Vietnamese, before the request models see it."""
    settings = hardening_settings(tmp_path, rate_limit_per_minute=1000)
    with client_for(settings, engine) as http:
        officer = bearer(token(settings, f"intake@{CENTRE}", Role.INTAKE_OFFICER, CENTRE))
        many = {f"k{i}": 0 for i in range(settings.max_json_keys + 1)}
        deep: Any = 0
        for _ in range(settings.max_json_depth + 1):
            deep = {"a": deep}
        deepest = b'{"a":' * 50_000 + b"0" + b"}" * 50_000  # past the parser's recursion
        for path in ("/v1/dossiers", "/v1/dossiers/X/actions"):
            r = http.post(path, json=many, headers=officer)
            message = error_of(r, 422, "invalid")
            assert "quá nhiều khóa và phần tử: tối đa 10.000" in message, message
            r = http.post(path, json={"data": deep}, headers=officer)
            message = error_of(r, 422, "invalid")
            assert "lồng nhau quá sâu: tối đa 32 tầng" in message, message
            r = http.post(
                path, content=deepest, headers={**officer, "Content-Type": "application/json"}
            )
            assert "lồng nhau quá sâu" in error_of(r, 422, "invalid")
        # Just within both bounds: judged on its fields as before.
        r = http.post("/v1/dossiers", json={"procedure_code": "x"}, headers=officer)
        message = error_of(r, 422, "invalid")
        assert "applicant" in message, message


# -- /docs and /redoc with no internet ---------------------------------------------------------


def test_the_api_docs_need_no_internet(tmp_path: Path, engine: Engine) -> None:
    """Swagger UI and ReDoc: every script, style and icon from this site (the package
    fastapi-offline ships them), none from a CDN."""
    settings = hardening_settings(tmp_path)
    with client_for(settings, engine) as http:
        for path, kinds in (("/docs", ("js", "css")), ("/redoc", ("js",))):
            r = http.get(path)
            assert r.status_code == 200, path
            urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*["']([^"']+)["']""", r.text)
            assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
            assert "http" not in r.text.lower().replace("http-equiv", ""), r.text
            assets = [u for u in urls if u.rsplit(".", 1)[-1] in (*kinds, "png")]
            assert {u.rsplit(".", 1)[-1] for u in assets} >= set(kinds), urls
            for url in assets:
                asset = http.get(url)
                assert asset.status_code == 200 and len(asset.content) > 1000, url
                check_common(asset)
