"""The HTTP API's description does not change by accident: a refactoring (moving modules,
splitting routers) must leave `/openapi.json` exactly as it was. A deliberate change of
the API regenerates the snapshot, and the diff of tests/snapshots/openapi.json shows it:

    MOTCUA_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/api/test_openapi_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from api.app import create_app
from infra.settings import Settings

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "openapi.json"


def test_the_openapi_document_is_the_committed_one(tmp_path: Path) -> None:
    document = create_app(Settings(state_dir=tmp_path / "state")).openapi()
    text = json.dumps(document, indent=1, ensure_ascii=False, sort_keys=False) + "\n"
    if os.environ.get("MOTCUA_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text, encoding="utf-8")
    committed = SNAPSHOT.read_text(encoding="utf-8")
    # Compared as text, not as parsed JSON: the order of paths and fields is part of what
    # a client generator and a reader of /docs see.
    assert text == committed, (
        "the OpenAPI document changed; if that is intended, regenerate "
        "tests/snapshots/openapi.json (see this module's docstring) and review its diff"
    )
