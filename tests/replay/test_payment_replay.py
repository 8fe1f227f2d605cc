"""Replay the golden histories of PaymentWorkflow (tests/histories/payment/) with today's
code: an order paid by a callback the gateway sent twice, and one that was never paid
and expired after its reconciliation queries. Recorded by tests/api/test_online_payment.py
with MOTCUA_RECORD_HISTORIES=1; re-record only on purpose (see tests/histories/record.py:
an incompatible change goes behind `workflow.patched`, and a new history is added)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from tests.payload_keys import DATA_CONVERTER
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

HISTORIES = Path(__file__).resolve().parent.parent / "histories" / "payment"
FILES = sorted(HISTORIES.glob("*.json"))
EXPECTED = {"paid_by_duplicate_callbacks", "expired"}


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


def test_every_payment_scenario_is_recorded() -> None:
    assert {p.stem for p in FILES} >= EXPECTED


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_payment_history_replays_with_the_current_workflow(
    path: Path, sandboxed: bool
) -> None:
    history = load(path)
    kinds = [EventType.Name(e.event_type) for e in history.events]
    assert kinds[0] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    assert kinds[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    # The link (update-with-start) was accepted and the gateway was asked.
    assert "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED" in kinds
    assert "EVENT_TYPE_ACTIVITY_TASK_COMPLETED" in kinds
    if path.stem == "expired":
        assert "EVENT_TYPE_TIMER_FIRED" in kinds  # the reconciliation rounds and the expiry
    result = await Replayer(
        workflows=WORKFLOWS,
        data_converter=DATA_CONVERTER,
        workflow_runner=WORKFLOW_RUNNER if sandboxed else UnsandboxedWorkflowRunner(),
    ).replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
