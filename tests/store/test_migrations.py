"""Alembic manages the read-model schema: the migrations build exactly store.models."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import store.models  # noqa: F401  (registers the tables)
from store.db import (
    MIGRATIONS_DIR,
    MigrationError,
    current_revision,
    head_revision,
    init_db,
    make_engine,
    migrate,
)


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, SQLModel.metadata))


def test_head_is_the_index_revision():
    assert head_revision() == "0004"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()


def test_fixture_database_is_at_head(engine):
    assert current_revision(engine) == head_revision()


def test_migrated_schema_matches_the_models(engine):
    assert schema_diff(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) | {"alembic_version"} == tables


def test_comparison_notices_a_missing_index(engine):
    # guards the test above: the comparison does look at indexes
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_dossiers_submitted_at_code"))
    diff = schema_diff(engine)
    assert [d[0] for d in diff] == ["add_index"]  # type: ignore[index]


def test_migrating_twice_is_a_no_op(engine):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO dossier_sequences VALUES ('X', '250101', 7)"))
    migrate(engine)
    init_db(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT last_seq FROM dossier_sequences")).scalar_one() == 7
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    assert schema_diff(engine) == []


def test_fresh_database_has_no_revision_until_migrated(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_in_memory_sqlite_migrates():
    engine = make_engine("sqlite://")
    try:
        init_db(engine)
        assert current_revision(engine) == head_revision()
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def test_database_from_create_all_is_refused(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        SQLModel.metadata.create_all(engine)
        with pytest.raises(MigrationError, match="without migrations"):
            migrate(engine)
    finally:
        engine.dispose()


def test_concurrent_migrations_apply_once(engine):
    """Workers starting together on a fresh database: one migrates, the others wait and see head."""
    with engine.begin() as conn:
        for table in [*reversed(SQLModel.metadata.sorted_tables)]:
            conn.execute(text(f"DROP TABLE {table.name}"))
        conn.execute(text("DROP TABLE alembic_version"))
    assert current_revision(engine) is None
    url = engine.url.render_as_string(hide_password=False)
    threads = 4
    barrier = threading.Barrier(threads)

    def worker(_: int) -> None:
        eng = make_engine(url)
        try:
            barrier.wait()
            migrate(eng)
        finally:
            eng.dispose()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    assert current_revision(engine) == head_revision()
    assert schema_diff(engine) == []


def test_documents_revision_upgrades_and_downgrades_keeping_rows(engine):
    """0001 -> 0002 keeps the HTML forms written before documents became files, and
    0002 -> 0001 -> 0002 round-trips to the models' schema."""
    from alembic import command

    from store.db import alembic_config

    url = engine.url.render_as_string(hide_password=False)
    command.downgrade(alembic_config(url), "0001")
    assert current_revision(engine) == "0001"
    assert "filename" not in {c["name"] for c in inspect(engine).get_columns("documents")}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO documents (id, dossier_code, form, title, media_type, content,"
                " sha256, created_at) VALUES ('D:1:form-01', 'D', '01', 'Giấy tiếp nhận',"
                " 'text/html', '<p>x</p>', 'ab', '2026-11-20 01:00:00+00:00')"
            )
        )
    command.upgrade(alembic_config(url), "head")
    assert current_revision(engine) == head_revision()
    assert schema_diff(engine) == []
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT content, filename, size, source FROM documents WHERE id = 'D:1:form-01'")
        ).one()
    assert tuple(row) == ("<p>x</p>", "", 0, "form")


@pytest.mark.parametrize("table", ["history_archive", "audit_log"])
def test_archive_and_audit_log_are_append_only(engine, table):
    row = {
        "history_archive": "(workflow_id, run_id, status, started_at, events, sha256, size,"
        " archived_at) VALUES ('D', 'r1', 'completed', '2026-11-20 01:00:00+00:00', 5, 'ab',"
        " 10, '2026-11-21 01:00:00+00:00')",
        "audit_log": "(at, actor_id, actor_name, roles, application, action, detail) VALUES"
        " ('2026-11-20 01:00:00+00:00', 'kt-01', '', '[]', 'cli', 'history', '{}')",
    }[table]
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {table} {row}"))
    for statement in (f"UPDATE {table} SET id = id + 100", f"DELETE FROM {table}"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1
