"""The archive's file format: a run's history as Temporal's protobuf `History` message, and
the JSON of runs archived before the change still read, to the same events and the same
replay (tests/devserver/test_audit.py archives real runs and tampers with them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf.message import DecodeError
from temporalio.client import WorkflowHistory

from services.audit.archive import archived_bytes, parse_archived
from services.audit.replay import replay_histories
from tests.payload_keys import DATA_CONVERTER

GOLDEN = Path(__file__).parent.parent / "histories"


def golden(name: str) -> WorkflowHistory:
    path = GOLDEN / name
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["happy_path.json", "linked_group.json"])
def test_a_history_comes_back_from_its_archived_bytes_event_for_event(name: str) -> None:
    history = golden(name)
    data = archived_bytes(history)
    assert data[:1] == b"\n" and not data.startswith(b"{")
    back = parse_archived("HS-1", data)
    assert back.workflow_id == "HS-1"
    assert back.events == history.events
    assert archived_bytes(back) == data  # deterministic: the same run, the same hash


def test_a_run_archived_as_json_before_the_change_reads_the_same() -> None:
    history = golden("happy_path.json")
    old = history.to_json().encode()
    assert (
        parse_archived("HS-1", old).events == parse_archived("HS-1", archived_bytes(history)).events
    )


async def test_both_forms_replay_against_today_s_workflow() -> None:
    history = golden("happy_path.json")
    forms = [parse_archived(history.workflow_id, archived_bytes(history)), history]
    results = await replay_histories(
        ((h, f"run-{i}", "archive") for i, h in enumerate(forms)), converter=DATA_CONVERTER
    )
    assert [r.deterministic for r in results] == [True, True], [r.error for r in results]


def test_garbage_is_not_taken_for_a_history() -> None:
    with pytest.raises(DecodeError):
        parse_archived("HS-1", b"\x00\xffkh\xf4ng ph\xe1i l\xe1\xbb\x8bch s\xe1\xbb\xad")
