"""Fixtures for the fault tests: the session's real Temporal dev server (each test on a
namespace of its own) and a fresh PostgreSQL read model shared by every process of a
test. Every test here runs real processes against real servers, so each is marked
``devserver``; the slow ones are marked ``slow`` in their modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.conftest import fresh_pg_database
from tests.devserver.conftest import devserver, devserver_client  # noqa: F401

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.devserver)


@pytest.fixture
def shared_database() -> Iterator[Engine]:
    """A fresh PostgreSQL read model, shared by every process of the test (as in
    production); skipped when PostgreSQL is unreachable, failed under CI."""
    with fresh_pg_database("motcua_faults") as engine:
        yield engine
