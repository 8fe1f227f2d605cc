"""The audit log is hash-chained, on SQLite and PostgreSQL: `motcua audit verify` (without a
dossier) names a row that was edited, deleted or moved by someone with database access who
dropped the append-only trigger first, and exits 1; an intact log exits 0. Writers running
at once never fork the chain, and the migration chains the rows written before it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from services.audit.integrity import verify_audit_log
from store import repository
from store.db import alembic_config, make_engine
from store.models import AuditLogRow
from tests.conftest import fresh_pg_database

T0 = datetime(2026, 12, 1, 2, 3, 4, 567891, tzinfo=UTC)


def write(engine: Engine, n: int, actor: str = "kt-01") -> None:
    for i in range(n):
        repository.log_audit_read(
            engine,
            AuditLogRow(
                at=T0 + timedelta(minutes=i),
                actor_id=actor,
                actor_name="Đỗ Thanh Giang",
                roles=["auditor"],
                application="cli",
                action="verify",
                dossier_code=f"H99.01-261201-{i:04d}",
                detail={"intact": True, "n": i, "ghi chú": "đọc"},
            ),
        )


def drop_trigger(engine: Engine) -> None:
    """What an attacker with database access does first: lift the append-only trigger."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def verify(engine: Engine, tmp_path: Path) -> Any:
    """`motcua audit verify` on this database (Temporal is not needed for the log)."""
    from infra.settings import get_settings
    from motcua.cli import app

    env = {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "MOTCUA_TEMPORAL_ADDRESS": "127.0.0.1:21599",  # nothing listens: archive-only mode
        "MOTCUA_STATE_DIR": str(tmp_path),
        "MOTCUA_DOCUMENT_STORE": str(tmp_path / "documents"),
    }
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, ["audit", "verify", "--as", "kt-09"], env=env)
    finally:
        get_settings.cache_clear()


def test_an_intact_log_verifies_and_the_check_is_itself_logged(
    engine: Engine, tmp_path: Path
) -> None:
    write(engine, 4)
    rows, head = repository.audit_log_chain(engine)
    assert [r.seq for r in rows] == [1, 2, 3, 4] and head is not None and head.seq == 4
    assert rows[0].prev_hash == "" and rows[1].prev_hash == rows[0].hash == rows[1].prev_hash
    assert verify_audit_log(rows, head).intact
    result = verify(engine, tmp_path)
    assert result.exit_code == 0, result.output
    assert "audit_log: NGUYÊN VẸN — 4 dòng" in result.output
    rows, head = repository.audit_log_chain(engine)
    assert (rows[-1].seq, rows[-1].action, rows[-1].actor_id) == (5, "verify_audit_log", "kt-09")
    assert verify(engine, tmp_path).exit_code == 0  # the check's own row chains too


def test_an_edited_row_is_named(engine: Engine, tmp_path: Path) -> None:
    write(engine, 5)
    drop_trigger(engine)
    sql(engine, "UPDATE audit_log SET actor_id = 'ai-do' WHERE seq = 3")
    result = verify(engine, tmp_path)
    assert result.exit_code == 1, result.output
    assert "KHÔNG NGUYÊN VẸN" in result.output
    assert "dòng #3 (id=3, verify của ai-do) của audit_log đã bị sửa" in result.output


def test_every_field_of_a_row_is_in_its_hash(engine: Engine) -> None:
    """Field by field, from the model itself (a field added later is covered too)."""
    write(engine, 3)
    rows, head = repository.audit_log_chain(engine)
    changed = {
        "at": T0 - timedelta(days=1),
        "seq": 7,
        "roles": ["auditor", "leader"],
        "detail": {"intact": False},
        "dossier_code": None,
    }
    fields = set(AuditLogRow.model_fields) - {"id", "hash"}
    for field in fields:
        value = changed.get(field, "khác")
        edited = rows[1].model_copy(update={field: value})
        assert edited.content_hash(edited.prev_hash) != rows[1].hash, field
        report = verify_audit_log([rows[0], edited, rows[2]], head)
        assert not report.intact and any(p.seq in (2, 3, 7) for p in report.problems), field


def test_a_deleted_row_is_named_in_the_middle_and_at_the_end(
    engine: Engine, tmp_path: Path
) -> None:
    write(engine, 6)
    drop_trigger(engine)
    sql(engine, "DELETE FROM audit_log WHERE seq = 3")
    result = verify(engine, tmp_path)
    assert result.exit_code == 1, result.output
    assert "dòng #3 của audit_log đã bị xóa" in result.output
    # The last rows too (the head remembers how far the chain went). The verify run above
    # wrote row #7: delete it and #6.
    sql(engine, "DELETE FROM audit_log WHERE seq >= 6")
    rows, head = repository.audit_log_chain(engine)
    messages = [p.message for p in verify_audit_log(rows, head).problems]
    assert "dòng #6 đến #7 ở cuối audit_log đã bị xóa" in messages, messages


def test_a_moved_row_is_named(engine: Engine, tmp_path: Path) -> None:
    """Rows 2 and 3 trade places (their ids swapped), each still matching its own hash."""
    write(engine, 4)
    drop_trigger(engine)
    sql(engine, "UPDATE audit_log SET id = 100 WHERE seq = 2")
    sql(engine, "UPDATE audit_log SET id = 2 WHERE seq = 3")
    sql(engine, "UPDATE audit_log SET id = 3 WHERE seq = 2")
    result = verify(engine, tmp_path)
    assert result.exit_code == 1, result.output
    assert "dòng #2 (id=3) của audit_log bị đổi chỗ: nằm sau dòng #3 (id=2)" in result.output


def test_a_row_written_around_the_application_is_named(engine: Engine, tmp_path: Path) -> None:
    write(engine, 2)
    sql(
        engine,
        "INSERT INTO audit_log (at, actor_id, actor_name, roles, application, action, detail)"
        " VALUES ('2026-12-01 05:00:00+00:00', 'ai-do', '', '[]', 'cli', 'history', '{}')",
    )
    result = verify(engine, tmp_path)
    assert result.exit_code == 1, result.output
    assert "(history, ai-do) không thuộc chuỗi băm" in result.output


def test_writers_at_once_do_not_fork_the_chain(engine: Engine) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda who: write(engine, 8, who), ["a", "b", "c", "d"]))
    rows, head = repository.audit_log_chain(engine)
    assert sorted(r.seq or 0 for r in rows) == list(range(1, 33))
    report = verify_audit_log(rows, head)
    assert report.intact, report.problems


@pytest.fixture(params=["sqlite", "postgresql"])
def before_the_chain(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A database migrated to the revision before the audit log's chain."""
    chain = ScriptDirectory.from_config(alembic_config()).get_revision("0005_audit_log_chain")
    assert chain is not None and isinstance(chain.down_revision, str)
    below: str = chain.down_revision

    def upgraded(engine: Engine) -> Engine:
        command.upgrade(alembic_config(engine.url.render_as_string(hide_password=False)), below)
        return engine

    if request.param == "postgresql":
        with fresh_pg_database("motcua_auditchain", migrated=False) as engine:
            yield upgraded(engine)
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        yield upgraded(engine)
    finally:
        engine.dispose()


def test_the_migration_chains_the_rows_written_before_it(
    before_the_chain: Engine, tmp_path: Path
) -> None:
    engine = before_the_chain
    for i in range(3):
        sql(
            engine,
            "INSERT INTO audit_log (at, actor_id, actor_name, roles, application, action,"
            " dossier_code, detail) VALUES (:at, 'kt-01', 'Giang', '[\"auditor\"]', 'api',"
            " 'history', 'D', :detail)",
            at=T0 + timedelta(seconds=i),
            detail='{"runs": 1, "ghi chú": "cũ"}',
        )
    command.upgrade(alembic_config(engine.url.render_as_string(hide_password=False)), "head")
    rows, head = repository.audit_log_chain(engine)
    assert [r.seq for r in rows] == [1, 2, 3]
    assert verify_audit_log(rows, head).intact, verify_audit_log(rows, head).problems
    write(engine, 1)  # new rows chain after them
    result = verify(engine, tmp_path)
    assert result.exit_code == 0, result.output
    with pytest.raises(Exception, match="append-only"):  # the trigger is back
        sql(engine, "DELETE FROM audit_log")
