"""Fixtures for the read-model tests: an ``engine`` on SQLite and on PostgreSQL.

PostgreSQL: each test gets its own freshly created database on the server at
``MOTCUA_TEST_PG_URL`` (default: the local server's ``test`` database), dropped
afterwards. When the server is unreachable the PostgreSQL cases are skipped,
unless the ``CI`` environment variable is set, in which case they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from store.db import init_db, make_engine

PG_ADMIN_URL = os.environ.get(
    "MOTCUA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


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
def fresh_pg_database(prefix: str) -> Iterator[Engine]:
    """A new, migrated PostgreSQL database dropped afterwards; skip when the server is
    unreachable, fail under CI (where it must be there)."""
    reason = _pg_unavailable_reason()
    if reason:
        if os.environ.get("CI"):
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
        init_db(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    with fresh_pg_database("motcua_test") as engine:
        yield engine


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'motcua.db'}")
    try:
        init_db(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request) -> Engine:
    return request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")
