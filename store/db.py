"""Engine construction and schema migrations for the read model: SQLite (default) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 15_000

# Execution option read by the SQLite "begin" hook: "IMMEDIATE" takes the write
# lock at BEGIN (waiting on busy_timeout) instead of failing on lock upgrade.
SQLITE_BEGIN_OPTION = "sqlite_begin"

# Alembic scripts ship inside the package (store/migrations), so migrating needs no alembic.ini.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Key of the PostgreSQL advisory lock that serialises concurrent migrations
# (several workers starting at once); any constant unique to this application.
MIGRATION_LOCK_KEY = 0x6D6F7463  # "motc"


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

    A failed statement's error never carries its bound parameters (``hide_parameters``):
    they hold applicants' names and ID numbers, and the error reaches logs and, through
    an activity's failure, the Temporal history (docs/personal-data.md).
    """
    kwargs.setdefault("hide_parameters", True)
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
        from infra.settings import get_settings

        settings = get_settings()
    return make_engine(settings.resolved_database_url)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` for the read-model migrations, built in code.

    ``script_location`` points inside the installed package. Give ``url`` to use
    the Alembic commands directly, e.g. to write a new revision::

        from alembic import command
        command.revision(alembic_config("sqlite:///.state/dev.db"), "add x", autogenerate=True)

    (without ``url`` and without a connection in ``config.attributes["connection"]``,
    env.py uses the configured ``Settings.resolved_database_url``).
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class MigrationError(RuntimeError):
    """The database cannot be brought to the current schema by the migrations."""


def migrate(engine: Engine) -> None:
    """Upgrade the read-model schema to the newest revision (``alembic upgrade head``).

    A no-op when the database is already current. The whole upgrade runs in one
    transaction, serialised across processes (PostgreSQL: an advisory lock;
    SQLite: ``BEGIN IMMEDIATE``), so workers starting together migrate once.
    A database made by the pre-Alembic ``create_all`` is refused with a clear error.
    """
    from alembic import command

    cfg = alembic_config()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            tables = set(inspect(conn).get_table_names())
            if "alembic_version" not in tables and "dossiers" in tables:
                raise MigrationError(
                    f"{engine.url.render_as_string(hide_password=True)}: the read model was "
                    "created without migrations (no alembic_version table); recreate it, or "
                    "stamp it with alembic once its tables match revision 0001"
                )
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")


def current_revision(engine: Engine) -> str | None:
    """The database's current Alembic revision (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with the package."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def init_db(engine: Engine) -> None:
    """Bring the read-model schema up to date (``migrate``; kept for existing callers)."""
    migrate(engine)


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
