"""/v1/readyz on the real stack: it fails (503), naming the check, when the read model
cannot be written (SQLite: another connection holds the write lock; PostgreSQL: the API's
role loses its write permission) and when no worker polls the centre's task queue."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from temporalio.client import Client

from motcua.devserver import DevServer
from motcua.stack import api_serving, workers_running
from store import repository
from store.db import make_engine
from tests.api.conftest import settings_for
from tests.devserver.conftest import new_namespace
from tests.devserver.journeys import shipped_catalog

pytestmark = pytest.mark.devserver


@pytest.fixture
async def ns_client(devserver: DevServer, devserver_client: Client) -> Client:
    return await new_namespace(devserver_client, devserver.address, "ready")


async def readyz(http: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    r = await http.get("/v1/readyz")
    return r.status_code, r.json()


async def until(http: httpx.AsyncClient, want: int, seconds: float = 15) -> dict[str, Any]:
    """readyz until it answers `want` (its verdicts are cached for a moment)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        status, body = await readyz(http)
        if status == want:
            return body
        assert asyncio.get_running_loop().time() < deadline, (status, body)
        await asyncio.sleep(0.25)


async def test_readyz_names_workers_when_no_worker_polls(
    ns_client: Client, sqlite_engine: Engine, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)  # a centre task queue of its own: nobody polls it
    catalog = shipped_catalog()
    async with (
        api_serving(settings, ns_client, sqlite_engine, catalog) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        status, body = await readyz(http)
        assert status == 503, body
        assert body["status"] == "unavailable"
        assert body["failing"] == ["workers"]
        assert body["checks"]["workers"].startswith("unavailable"), body
        assert {k: body["checks"][k] for k in ("database", "read_model", "temporal")} == {
            "database": "ok",
            "read_model": "ok",
            "temporal": "ok",
        }
        assert "worker" in body["message"] and "(workers)" in body["message"], body
        # The centre's worker starts polling: ready.
        async with workers_running(ns_client, settings, sqlite_engine):
            body = await until(http, 200)
            assert body["failing"] == [] and body["message"] is None, body
            assert set(body["checks"].values()) == {"ok"}, body


@pytest.fixture
async def writable_stack(
    ns_client: Client, engine: Engine, tmp_path: Path
) -> AsyncIterator[tuple[Engine, httpx.AsyncClient]]:
    """The API on `engine`'s database (PostgreSQL: through a role of its own, which the
    test can take write permission from), with the centre's worker polling."""
    settings = settings_for(tmp_path)
    catalog = shipped_catalog()
    await asyncio.to_thread(repository.sync_catalog, engine, catalog)
    role = None
    api_engine = engine
    if engine.dialect.name == "postgresql":
        role = f"ready_{uuid.uuid4().hex[:10]}"
        with engine.begin() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN"))
            conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"))
            conn.execute(text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        url = make_url(engine.url.render_as_string(hide_password=False)).set(username=role)
        api_engine = make_engine(url.render_as_string(hide_password=False))
    try:
        async with (
            workers_running(ns_client, settings, engine),
            api_serving(settings, ns_client, api_engine, catalog) as url_,
            httpx.AsyncClient(base_url=url_, timeout=30) as http,
        ):
            yield api_engine, http
    finally:
        if role is not None:
            api_engine.dispose()
            with engine.begin() as conn:
                conn.execute(text(f"DROP OWNED BY {role}"))
                conn.execute(text(f"DROP ROLE {role}"))


async def test_readyz_names_read_model_when_the_database_cannot_be_written(
    writable_stack: tuple[Engine, httpx.AsyncClient], engine: Engine
) -> None:
    api_engine, http = writable_stack
    body = await until(http, 200)
    assert body["checks"]["read_model"] == "ok", body

    if engine.dialect.name == "sqlite":
        # Another connection holds the write lock: nothing can be written.
        database = engine.url.database
        assert database is not None
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        unblock = blocker.close
    else:
        role = api_engine.url.username
        with engine.begin() as conn:
            conn.execute(text(f"REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public FROM {role}"))  # fmt: skip

        def unblock() -> None:
            with engine.begin() as conn:
                conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"))

    try:
        body = await until(http, 503)
        assert body["failing"] == ["read_model"], body
        assert body["checks"]["database"] == "ok", body  # it still answers reads
        assert body["checks"]["read_model"].startswith("unavailable"), body
        assert "không ghi được" in body["message"] and "(read_model)" in body["message"], body
    finally:
        unblock()
    body = await until(http, 200)
    assert body["failing"] == [], body
