"""Engine construction for the read model: SQLite (default) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

SQLITE_BUSY_TIMEOUT_MS = 15_000

# Execution option read by the SQLite "begin" hook: "IMMEDIATE" takes the write
# lock at BEGIN (waiting on busy_timeout) instead of failing on lock upgrade.
SQLITE_BEGIN_OPTION = "sqlite_begin"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC, read back as aware UTC on every backend.

    SQLite has no timezone type and would silently drop offsets; PostgreSQL uses
    ``timestamptz``. Naive inputs are taken to be UTC; ISO strings are accepted.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        utc = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        result: datetime = value
        if result.tzinfo is None:
            return result.replace(tzinfo=UTC)
        return result.astimezone(UTC)


def _is_memory_sqlite(database: str | None) -> bool:
    return not database or database == ":memory:" or database.startswith("file::memory:")


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()
        # Take transaction control away from the sqlite3 module (its legacy mode
        # does not BEGIN before SELECT/DDL); the "begin" hook below emits BEGIN.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = str(conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "")).upper()
        if mode in ("IMMEDIATE", "EXCLUSIVE"):
            conn.exec_driver_sql(f"BEGIN {mode}")
        else:
            conn.exec_driver_sql("BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the read-model engine for a SQLAlchemy URL.

    SQLite: creates the file's parent directory, enables WAL and busy_timeout,
    allows use from several threads, and emits real BEGINs (see ``SQLITE_BEGIN_OPTION``).
    PostgreSQL: psycopg 3 (``postgresql://`` / ``postgres://`` are mapped onto it), pool_pre_ping.
    Extra keyword arguments go to ``sqlalchemy.create_engine``.
    """
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        memory = _is_memory_sqlite(u.database)
        connect_args = {"check_same_thread": False, **kwargs.pop("connect_args", {})}
        if memory:
            kwargs.setdefault("poolclass", StaticPool)
        else:
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
        engine = create_engine(u, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, wal=not memory)
        return engine
    if backend in ("postgresql", "postgres") and u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(u, **kwargs)


def engine_from_settings(settings: Any = None) -> Engine:
    """``make_engine`` for ``Settings.resolved_database_url`` (default settings when None)."""
    if settings is None:
        from motcua.settings import get_settings

        settings = get_settings()
    return make_engine(settings.resolved_database_url)


def init_db(engine: Engine) -> None:
    """Create every read-model table that does not exist yet (Alembic comes later)."""
    import store.models  # noqa: F401  (registers the tables on SQLModel.metadata)

    SQLModel.metadata.create_all(engine)


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """A SQLModel session committed on success, rolled back on error.

    Objects stay readable after the block (expire_on_commit=False).
    """
    with Session(engine, expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
