"""`motcua retention list`: closed dossiers past their retention period, as an archives
officer runs it, on both databases; it lists, never deletes, and shows no personal data."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from infra.settings import get_settings
from motcua.cli import app
from store.models import DossierRow
from tests.store.test_retention import ID_NUMBER, PERSON, seed

runner = CliRunner()


@pytest.fixture
def database(operator_env: Engine) -> Engine:
    """The seeded read model, named by DATABASE_URL as an operator sets it."""
    seed(operator_env)
    return operator_env


def invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    return runner.invoke(app, ["retention", "list", *args], env=env)


def count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(DossierRow)).scalar_one())


def test_json_lists_the_dossiers_past_retention(database: Engine) -> None:
    before = count(database)
    result = invoke("--as-of", "2024-03-10", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["as_of"] == "2024-03-10" and out["default_years"] == 10
    by_code = {d["code"]: d for d in out["dossiers"]}
    assert sorted(by_code) == [
        "A-granted-5y",
        "B-vn-evening",
        "E-refused-5y",
        "F-withdrawn-default",
        "H-unknown-procedure",
        "I-leap-day",
        "K-old-version",
    ]
    assert by_code["A-granted-5y"] == {
        "code": "A-granted-5y",
        "procedure_code": "2.000815",
        "procedure_version": 1,
        "result_type": "granted",
        "closed_on": "2019-03-10",
        "retention_years": 5,
        "retention_end": "2024-03-10",
        "period_from": "catalog",
    }
    assert by_code["F-withdrawn-default"]["period_from"] == "default"
    assert PERSON not in result.output and ID_NUMBER not in result.output
    assert count(database) == before  # listed, nothing deleted


def test_the_default_period_comes_from_the_settings(database: Engine) -> None:
    result = invoke("--as-of", "2024-03-10", "--json", env={"MOTCUA_RETENTION_DEFAULT_YEARS": "11"})
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    codes = {d["code"] for d in out["dossiers"]}
    # Withdrawn on 01/02/2014: past 10 years on 01/02/2024, not yet past 11.
    assert out["default_years"] == 11 and "F-withdrawn-default" not in codes
    assert "A-granted-5y" in codes  # the catalog's own periods do not change


def test_text_output(database: Engine) -> None:
    result = invoke("--as-of", "2024-03-10")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "7 hồ sơ đã hết thời hạn lưu trữ vào ngày 10/03/2024"
    a = next(line for line in lines if line.startswith("A-granted-5y"))
    assert "2.000815" in a and "granted" in a and "10/03/2019" in a and "10/03/2024" in a
    f = next(line for line in lines if line.startswith("F-withdrawn-default"))
    assert "(mặc định)" in f
    assert PERSON not in result.output and ID_NUMBER not in result.output
    early = invoke("--as-of", "2000-01-01")
    assert (
        early.exit_code == 0
        and early.stdout.strip() == "0 hồ sơ đã hết thời hạn lưu trữ vào ngày 01/01/2000"
    )


def test_today_is_the_default_day(database: Engine) -> None:
    result = invoke("--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert date.fromisoformat(out["as_of"]) >= date(2026, 1, 1)
    assert {"A-granted-5y", "C-vn-next-day", "G-withdrawn-young"} <= {
        d["code"] for d in out["dossiers"]
    }


@pytest.mark.parametrize("bad", ["10/03/2024", "2024-02-30", "tomorrow", ""])
def test_a_bad_date_is_exit_2(database: Engine, bad: str) -> None:
    result = invoke("--as-of", bad)
    assert result.exit_code == 2, result.output
    assert "--as-of" in result.output and "YYYY-MM-DD" in result.output


def test_bad_settings_are_exit_2(database: Engine) -> None:
    result = invoke("--json", env={"MOTCUA_RETENTION_DEFAULT_YEARS": "0"})
    assert result.exit_code == 2, result.output
    assert "MOTCUA_RETENTION_DEFAULT_YEARS" in result.output


def test_schedule_shows_each_procedure_period(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in list(os.environ):
        if name.startswith("MOTCUA_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("MOTCUA_STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    result = runner.invoke(
        app, ["retention", "schedule", "--json"], env={"MOTCUA_RETENTION_DEFAULT_YEARS": "12"}
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["default_years"] == 12
    birth = next(p for p in out["procedures"] if p["code"] == "1.001193")
    assert birth["retention"]["granted"] == {"period": "permanent", "from": "catalog"}
    assert birth["retention"]["refused"] == {"period": 5, "from": "catalog"}
    assert birth["retention"]["withdrawn"] == {"period": 12, "from": "default"}
    get_settings.cache_clear()
    text = runner.invoke(app, ["retention", "schedule"])
    assert text.exit_code == 0, text.output
    line = next(x for x in text.stdout.splitlines() if x.startswith("1.001193 v1"))
    assert line.split()[2:6] == ["vĩnh", "viễn", "5", "năm"], line
    assert "10 năm*" in line and text.stdout.rstrip().endswith("MOTCUA_RETENTION_DEFAULT_YEARS=10")
