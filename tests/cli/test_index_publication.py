"""`motcua index publish/show`, as a centre's leader runs it at the start of a month: a past
month published once, a correction as the next revision, what was published shown back
(summary, JSON, CSV), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from infra.settings import get_settings
from motcua.cli import app

runner = CliRunner()


@pytest.fixture
def database(operator_env: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    # No Temporal here (a closed port of this test's range): an empty month asks it nothing.
    monkeypatch.setenv("MOTCUA_TEMPORAL_ADDRESS", "127.0.0.1:18799")
    return operator_env


def index(*args: str):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    return runner.invoke(app, ["index", *args])


def test_a_month_is_published_once_and_corrected_by_revision(database: Engine) -> None:
    who = ["--as", "ld-trung-tam", "--name", "Trần Thị Lãnh Đạo"]
    first = index("publish", "--period", "2025-06", *who)
    assert first.exit_code == 0, first.output
    assert "tháng 2025-06, lần 1" in first.stdout and "Trần Thị Lãnh Đạo" in first.stdout

    again = index("publish", "--period", "2025-06", *who)
    assert again.exit_code == 1 and "đã được công bố" in again.output

    fixed = index("publish", "--period", "2025-06", "--reason", "Đồng bộ lại", *who)
    assert fixed.exit_code == 0, fixed.output
    assert "lần 2" in fixed.stdout and "Đồng bộ lại" in fixed.stdout

    shown = index("show", "--period", "2025-06")
    assert shown.exit_code == 0, shown.output
    assert "lần 1:" in shown.stdout and "lần 2:" in shown.stdout
    as_json = json.loads(index("show", "--period", "2025-06", "--format", "json").stdout)
    assert [r["revision"] for r in as_json["revisions"]] == [1, 2]
    assert as_json["current"]["intact"] is True
    first_json = json.loads(
        index("show", "--period", "2025-06", "--revision", "1", "--format", "json").stdout
    )
    assert first_json["current"]["reason"] == ""
    csv = index("show", "--period", "2025-06", "--format", "csv").stdout
    assert csv.startswith("agency,procedure_code,procedure_name,received,on_time")

    missing = index("show", "--period", "2025-05")
    assert missing.exit_code == 1 and "Chưa có bản công bố" in missing.output
    running = index("publish", "--period", "2999-01", *who)
    assert running.exit_code == 1 and "chưa kết thúc" in running.output
