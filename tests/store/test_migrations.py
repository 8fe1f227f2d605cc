"""Alembic manages the read-model schema: the migrations build exactly store.models."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import store.models  # noqa: F401  (registers the tables)
from store.db import (
    MIGRATIONS_DIR,
    MigrationError,
    alembic_config,
    current_revision,
    head_revision,
    init_db,
    make_engine,
    migrate,
)
from tests.conftest import fresh_pg_database


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, SQLModel.metadata))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with nothing in it, not even alembic_version: a new SQLite file, or a
    new PostgreSQL database that is not migrated."""
    if request.param == "postgresql":
        with fresh_pg_database("motcua_migrations", migrated=False) as engine:
            yield engine
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        yield engine
    finally:
        engine.dispose()


def test_head_is_the_index_days_revision():
    assert head_revision() == "0017_index_days"
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


def test_fresh_database_has_no_revision_until_migrated(empty_engine):
    assert current_revision(empty_engine) is None
    migrate(empty_engine)
    assert current_revision(empty_engine) == head_revision()


def test_in_memory_sqlite_migrates():
    # SQLite only: an in-memory database (one shared connection, StaticPool) has no
    # PostgreSQL counterpart.
    engine = make_engine("sqlite://")
    try:
        init_db(engine)
        assert current_revision(engine) == head_revision()
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def test_database_from_create_all_is_refused(empty_engine):
    SQLModel.metadata.create_all(empty_engine)
    with pytest.raises(MigrationError, match="without migrations"):
        migrate(empty_engine)


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


# ----------------------------------------------------------- the whole revision chain

# Rows written at a revision into the tables it creates (SQL both databases accept), so
# that every later downgrade and upgrade runs over data, and every downgrade that drops
# a table drops a table with rows in it.
SEED_ROWS: dict[str, list[str]] = {
    "0001": [
        "INSERT INTO dossiers (code, procedure_code, procedure_version, procedure_name,"
        " status, status_code, channel, centre_agency, competent_agency, submitted_at,"
        " overdue, escalated, applicant_name, applicant_id_number, updated_at,"
        " last_event_seq) VALUES ('D', '1.001', 1, 'Khai sinh', 'received', 2, 'online',"
        " 'C', 'A', '2026-11-20 01:00:00+00:00', false, false, 'Nguyễn Văn An',"
        " '001090000001', '2026-11-20 01:00:00+00:00', 1)",
        "INSERT INTO dossier_events (id, dossier_code, seq, kind, at, actor_id, actor_name,"
        " role, comment, data) VALUES ('D:1', 'D', 1, 'received',"
        " '2026-11-20 01:00:00+00:00', 'io-1', 'Cán bộ', 'intake_officer', '', '{}')",
        "INSERT INTO documents (id, dossier_code, form, title, media_type, content, sha256,"
        " created_at) VALUES ('D:1:form-01', 'D', '01', 'Giấy tiếp nhận', 'text/html',"
        " '<p>x</p>', 'ab', '2026-11-20 01:00:00+00:00')",
        "INSERT INTO dossier_sequences VALUES ('C', '261120', 1)",
    ],
    "0003": [
        "INSERT INTO history_archive (workflow_id, run_id, status, started_at, events, sha256,"
        " size, archived_at) VALUES ('D', 'r1', 'completed', '2026-11-20 01:00:00+00:00', 5,"
        " 'ab', 10, '2026-11-21 01:00:00+00:00')",
        "INSERT INTO audit_log (at, actor_id, actor_name, roles, application, action, detail)"
        " VALUES ('2026-11-20 01:00:00+00:00', 'kt-01', '', '[]', 'cli', 'history', '{}')",
    ],
    "0004": [
        "INSERT INTO dossier_ratings (dossier_code, rating, comment, by, at) VALUES"
        " ('D', 'satisfied', '', 'citizen-001', '2026-11-21 01:00:00+00:00')",
        "INSERT INTO dossier_feedback (dossier_code, kind, text, by, at) VALUES"
        " ('D', 'suggestion', 'x', 'citizen-001', '2026-11-21 01:00:00+00:00')",
    ],
}


def revision_chain() -> list[str]:
    """The shipped revisions, oldest first (one line: no branches, no merges)."""
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1 and len(script.get_bases()) == 1
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def schema_snapshot(engine: Engine) -> dict[str, Any]:
    """What the migrations make, alembic_version aside: every table's columns (name, type,
    nullability, server default), primary key, indexes and unique constraints; and the
    triggers (PostgreSQL: also the functions and sequences of the public schema)."""
    insp = inspect(engine)
    tables = {
        name: (
            [
                (c["name"], repr(c["type"]), c["nullable"], c.get("default"))
                for c in insp.get_columns(name)
            ],
            insp.get_pk_constraint(name)["constrained_columns"],
            sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(name)
            ),
            sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(name)),
        )
        for name in insp.get_table_names()
        if name != "alembic_version"
    }
    if engine.dialect.name == "postgresql":
        queries = {
            "triggers": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
            "functions": "SELECT p.proname FROM pg_proc p JOIN pg_namespace n"
            " ON n.oid = p.pronamespace WHERE n.nspname = 'public'",
            "sequences": "SELECT sequence_name FROM information_schema.sequences"
            " WHERE sequence_schema = 'public'",
        }
    else:
        queries = {"triggers": "SELECT name FROM sqlite_master WHERE type = 'trigger'"}
    with engine.connect() as conn:
        others = {key: sorted(conn.execute(text(q)).scalars()) for key, q in queries.items()}
    return {"tables": tables, **others}


def rows_by_table(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (by primary key), alembic_version aside."""
    insp = inspect(engine)
    rows = {}
    with engine.connect() as conn:
        for name in insp.get_table_names():
            if name == "alembic_version":
                continue
            keys = ", ".join(insp.get_pk_constraint(name)["constrained_columns"])
            result = conn.execute(text(f"SELECT * FROM {name} ORDER BY {keys}"))
            rows[name] = [dict(r._mapping) for r in result]
    return rows


def as_below(rows: dict[str, list[dict[str, Any]]], below: dict[str, Any]) -> dict[str, Any]:
    """``rows`` cut down to the tables and columns of the schema snapshot ``below``."""
    return {
        table: [{c[0]: row[c[0]] for c in below["tables"][table][0]} for row in rows[table]]
        for table in below["tables"]
    }


def seed(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        for statement in SEED_ROWS.get(revision, []):
            conn.execute(text(statement))


def test_every_revision_downgrades_and_upgrades_again_then_all_the_way_down(empty_engine):
    """From base to head one revision at a time; at each step down one and up again (the
    schema below is as it was, the rows of the tables that stay are kept, the schema
    above is as it was); then down to base (nothing of the application is left) and up
    to head in one go (the models' schema, the same as step by step)."""
    engine = empty_engine
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    chain = revision_chain()
    assert chain[-1] == head_revision()
    assert current_revision(engine) is None and schema_snapshot(engine)["tables"] == {}

    previous: str | None = None
    below = schema_snapshot(engine)
    for revision in chain:
        command.upgrade(cfg, revision)
        assert current_revision(engine) == revision
        seed(engine, revision)
        above, rows_above = schema_snapshot(engine), rows_by_table(engine)

        command.downgrade(cfg, previous or "base")
        assert current_revision(engine) == previous, revision
        assert schema_snapshot(engine) == below, f"{revision} downgraded to another schema"
        # the tables that stay keep their rows, less the columns the revision added
        assert rows_by_table(engine) == as_below(rows_above, below), f"{revision} lost rows"

        command.upgrade(cfg, revision)
        assert current_revision(engine) == revision
        assert schema_snapshot(engine) == above, f"{revision} upgraded to another schema"
        seed(engine, revision)  # its tables were dropped with their rows: write them again
        # the same rows as before: the seeds write no column a later revision adds, so
        # those hold their defaults both times
        assert rows_by_table(engine) == rows_above, f"{revision} changed rows"
        previous, below = revision, above

    assert schema_diff(engine) == []
    step_by_step = below

    command.downgrade(cfg, "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    leftover = schema_snapshot(engine)
    assert leftover == {key: {} if key == "tables" else [] for key in leftover}

    command.upgrade(cfg, "head")
    assert current_revision(engine) == head_revision()
    assert schema_diff(engine) == []
    assert set(inspect(engine).get_table_names()) == set(SQLModel.metadata.tables) | {
        "alembic_version"
    }
    assert schema_snapshot(engine) == step_by_step
