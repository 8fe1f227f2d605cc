"""Liveness, readiness, the OpenAPI document, and rate limiting (a second, small uvicorn
with rate_limit_per_minute=5)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from motcua.devserver import find_free_port
from motcua.stack import api_serving
from store.db import init_db, make_engine
from tests.api.conftest import settings_for
from tests.api.support import INTAKE, Api, error_of
from tests.devserver.journeys import shipped_catalog


async def test_healthz_and_readyz(api: Api, http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/healthz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok"
    r = await http.get("/v1/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ok",
        "checks": {"database": "ok", "read_model": "ok", "temporal": "ok", "workers": "ok"},
        "failing": [],
        "message": None,
    }


async def test_readyz_says_which_dependency_is_down(tmp_path: Path) -> None:
    """An API whose Temporal is unreachable still starts, is alive, and is not ready."""
    engine = make_engine(f"sqlite:///{tmp_path / 'motcua.db'}")
    init_db(engine)
    settings = settings_for(tmp_path, temporal_address=f"127.0.0.1:{find_free_port()}")
    try:
        async with (
            api_serving(settings, None, engine, shipped_catalog()) as url,  # type: ignore[arg-type]
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            r = await http.get("/v1/healthz")
            assert r.status_code == 200, r.text
            r = await http.get("/v1/readyz")
            assert r.status_code == 503, r.text
            body = r.json()
            assert body["status"] == "unavailable"
            assert body["checks"]["database"] == "ok"
            assert body["checks"]["temporal"].startswith("unavailable")
    finally:
        engine.dispose()


async def test_openapi_document(api: Api, http: httpx.AsyncClient) -> None:
    r = await http.get("/openapi.json")
    assert r.status_code == 200, r.text
    doc = r.json()
    paths = doc["paths"]
    for path in (
        "/v1/dossiers",
        "/v1/dossiers/{code}",
        "/v1/dossiers/{code}/actions",
        "/v1/dossiers/{code}/supplements",
        "/v1/dossiers/{code}/withdraw",
        "/v1/dossiers/{code}/events",
        "/v1/track/{code}",
        "/v1/procedures",
        "/v1/healthz",
        "/v1/readyz",
    ):
        assert path in paths, path
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values()), schemes
    assert "422" in paths["/v1/dossiers"]["post"]["responses"]
    r = await http.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()


async def test_rate_limit_answers_429_with_retry_after(api: Api, tmp_path: Path) -> None:
    # The session's workers poll its centre queue: readiness is theirs.
    settings = settings_for(
        tmp_path, rate_limit_per_minute=5, centre_task_queue=api.settings.centre_task_queue
    )
    async with (
        api_serving(settings, api.client, api.engine, api.catalog) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        headers = api.headers(*INTAKE)
        for i in range(5):
            r = await http.get("/v1/procedures", headers=headers)
            assert r.status_code == 200, (i, r.text)
        r = await http.get("/v1/procedures", headers=headers)
        message = error_of(r, 429, "rate_limited")
        retry_after = int(r.headers["Retry-After"])
        assert 1 <= retry_after <= 60, retry_after
        assert re.search(rf"\b{retry_after} giây\b", message), message
        # Every route under /v1 counts; health checks never do.
        r = await http.get("/v1/dossiers", headers=headers)
        error_of(r, 429, "rate_limited")
        r = await http.post("/v1/dossiers", json={}, headers=headers)
        error_of(r, 429, "rate_limited")
        for _ in range(3):
            assert (await http.get("/v1/healthz")).status_code == 200
            assert (await http.get("/v1/readyz")).status_code == 200

    # The API under test has its own limiter, far from its limit.
    async with api.http() as http:
        r = await http.get("/v1/procedures", headers=api.headers(*INTAKE))
        assert r.status_code == 200, r.text
        assert "app;dur=" in r.headers.get("Server-Timing", "")


async def test_behind_the_proxy_anonymous_callers_are_limited_per_client(
    api: Api, tmp_path: Path
) -> None:
    """With the proxy's address trusted (MOTCUA_FORWARDED_ALLOW_IPS), tracking requests
    count per X-Forwarded-For client; from an untrusted address the header is ignored."""
    code = "000.00.00.H99-991231-9999"  # no such dossier: 404, but each request counts

    async def track(http: httpx.AsyncClient, client_ip: str) -> int:
        r = await http.get(
            f"/v1/track/{code}",
            params={"id_number": "001099012345"},
            headers={"X-Forwarded-For": client_ip},
        )
        return r.status_code

    trusted = settings_for(tmp_path, rate_limit_per_minute=3, forwarded_allow_ips="127.0.0.1")
    async with (
        api_serving(trusted, api.client, api.engine, api.catalog) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        assert [await track(http, "203.0.113.7") for _ in range(4)] == [404, 404, 404, 429]
        # Another citizen behind the same proxy has a bucket of their own.
        assert await track(http, "203.0.113.8") == 404

    untrusted = settings_for(tmp_path, rate_limit_per_minute=3, forwarded_allow_ips="10.9.9.9")
    async with (
        api_serving(untrusted, api.client, api.engine, api.catalog) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        statuses = [await track(http, f"203.0.113.{i}") for i in range(4)]
        assert statuses == [404, 404, 404, 429]  # one bucket: the header is not believed
