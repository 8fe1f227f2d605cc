"""Fixtures for the HTTP API tests: a real uvicorn serving `create_app()` over the real
Temporal dev server, with the centre's worker and every agency worker of the catalog
running, on a SQLite read model and on a fresh PostgreSQL database.

A namespace, a database, the workers and uvicorn take a moment to start, so one stack per
database serves the whole session (`api`, parametrized "sqlite" / "postgresql"). Tests
keep out of each other's way with their own applicants (`Api.person()`: unique accounts,
ID numbers and names) and by filtering lists on them.

The dev server is tests/devserver/conftest.py's session `devserver` (imported: a run of
both folders starts one per folder). PostgreSQL: skipped when unreachable, failed when
the CI variable is set (tests/conftest.py's `fresh_pg_database`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client

from infra.settings import Settings
from motcua.devserver import DevServer, find_free_port
from motcua.stack import api_serving, workers_running
from store import repository
from store.db import init_db, make_engine
from tests.api.support import Api
from tests.conftest import fresh_pg_database
from tests.datasource_server import DataSourceServer, data_source
from tests.devserver.conftest import devserver, devserver_client, new_namespace  # noqa: F401
from tests.devserver.journeys import shipped_catalog
from tests.harness import pki_manifest_for_tests


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "api" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.devserver)


# The Temporal web UI's origin, allowed to call the codec server from the browser.
UI_ORIGIN = "http://temporal-ui.test:8080"


def settings_for(state_dir: Path, **kw: Any) -> Settings:
    """Settings of an API under test: its own centre task queue, state dir and port."""
    values: dict[str, Any] = {
        "centre_task_queue": f"centre-api-{uuid.uuid4().hex[:8]}",
        "state_dir": state_dir,
        "rate_limit_per_minute": 100_000,
        "rate_limit_submit_per_minute": 100_000,
        "rate_limit_track_per_minute": 100_000,
        "rate_limit_search_per_minute": 100_000,
        "api_port": find_free_port(),
        "pki_manifest": pki_manifest_for_tests(),
        "document_store": str(state_dir / "documents"),
        "codec_cors_origins": [UI_ORIGIN],
    }
    values.update(kw)
    return Settings(**values)


async def wait_ready(url: str, seconds: float = 30) -> None:
    """Until /v1/readyz says ready (the workers have polled their queues)."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        deadline = asyncio.get_running_loop().time() + seconds
        while (r := await http.get("/v1/readyz")).status_code != 200:
            assert asyncio.get_running_loop().time() < deadline, r.text
            await asyncio.sleep(0.1)


async def _namespace(server: DevServer, admin: Client) -> Client:
    return await new_namespace(admin, server.address, "api")


@pytest.fixture(scope="session")
def api_engine_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('api-sqlite') / 'motcua.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def api_engine_postgresql() -> Iterator[Engine]:
    """A fresh PostgreSQL database for the session's API, dropped afterwards."""
    with fresh_pg_database("motcua_api") as engine:
        yield engine


@pytest.fixture(scope="session")
def api_state_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-state-sqlite")


@pytest.fixture(scope="session")
def api_state_postgresql(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-state-postgresql")


# The bearer token the centre presents to the test data source.
DATA_SOURCE_TOKEN = "test-data-source-token"


@pytest.fixture(scope="session")
def data_source_server() -> Iterator[DataSourceServer]:
    """The national databases (a real local HTTP server) every API stack asks for
    components taken instead of papers; tests add the records they need."""
    with data_source(DATA_SOURCE_TOKEN) as server:
        yield server


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def api(
    request: pytest.FixtureRequest,
    devserver: DevServer,  # noqa: F811
    devserver_client: Client,  # noqa: F811
) -> AsyncIterator[Api]:
    """A real uvicorn serving the API, with every worker of the catalog, per database.

    pytest keeps one value of a parametrized fixture at a time: when the tests it is
    given switch between the databases (pytest-xdist hands a process its tests as it goes),
    it stops this stack and starts it again. The database outlives the stack, and so must
    the document store its rows name, so the state folder is the database's."""
    engine: Engine = request.getfixturevalue(f"api_engine_{request.param}")
    state: Path = request.getfixturevalue(f"api_state_{request.param}")
    client = await _namespace(devserver, devserver_client)
    databases: DataSourceServer = request.getfixturevalue("data_source_server")
    settings = settings_for(
        state, data_source_url=databases.url, data_source_token=DATA_SOURCE_TOKEN
    )
    async with serving(request.param, client, settings, engine) as api:
        yield api


@asynccontextmanager
async def serving(
    db: str, client: Client, settings: Settings, engine: Engine
) -> AsyncIterator[Api]:
    """uvicorn serving the API with `settings`, the centre's worker and every agency
    worker of the shipped catalog, on `engine`, until the block exits."""
    catalog = shipped_catalog()
    await asyncio.to_thread(repository.sync_catalog, engine, catalog)
    async with (
        workers_running(client, settings, engine, agencies=sorted(catalog.agencies)),
        api_serving(settings, client, engine, catalog) as url,
    ):
        await wait_ready(url)
        yield Api(db=db, url=url, settings=settings, engine=engine, client=client, catalog=catalog)


@pytest.fixture
async def http(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    async with api.http() as client:
        yield client
