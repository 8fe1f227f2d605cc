"""Golden histories (tests/replay/test_replay.py replays each with today's code).

DossierWorkflow's are recorded by `python -m tests.histories.record` on a dev server.
The PAKN and personal-data workflows wait weeks for their statutory times, so theirs come
from their time-skipping tests (tests/workflow/test_feedback.py, test_data_request.py), into
tests/histories/citizen/ (the top level holds DossierWorkflow's only: the timeline, privacy
and codec tests read each of those as a dossier): `MOTCUA_RECORD_HISTORIES=1 pytest -p
no:xdist tests/workflow/test_feedback.py tests/workflow/test_data_request.py` writes them.
Record again only on purpose (a patched change adds a history, never replaces one)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from temporalio.client import WorkflowHistory

HERE = Path(__file__).resolve().parent


def keep(history: WorkflowHistory, name: str) -> None:
    """Write `history` as tests/histories/citizen/<name>.json when recording is asked for."""
    if os.environ.get("MOTCUA_RECORD_HISTORIES"):
        text = json.dumps(json.loads(history.to_json()), indent=2, ensure_ascii=False)
        (HERE / "citizen" / f"{name}.json").write_text(text + "\n", encoding="utf-8")
