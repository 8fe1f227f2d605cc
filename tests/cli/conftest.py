"""What the CLI tests share."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from infra.settings import get_settings


@pytest.fixture
def operator_env(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Engine]:
    """The read model named by DATABASE_URL as an operator sets it, and no other motcua
    setting from the environment the tests run in."""
    for name in list(os.environ):
        if name.startswith("MOTCUA_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("MOTCUA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()
