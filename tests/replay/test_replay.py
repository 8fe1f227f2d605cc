"""Replay every golden history in tests/histories/ against the current workflows
(DossierWorkflow's, and the PAKN and personal-data workflows').

A history records the decisions an earlier version of the workflow made; replaying
it with the worker's own data converter and sandbox runner proves the current code
makes the same decisions, so dossiers already running keep working after a deploy.
When this fails, the change needs ``workflow.patched`` (see TEMPORAL.md 2.5), not a
re-recorded history. Record new histories with ``python -m tests.histories.record``.

No server is needed: the Replayer runs the workflow code against the JSON alone.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from services.audit.replay import ReplayPool, replay_histories
from tests.payload_keys import DATA_CONVERTER, converter_for_tests
from tests.replay.mutants import DossierWorkflowSkippingFinalRecord, DossierWorkflowWithGracePeriod
from workflows.dossier import DossierWorkflow
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
FILES = sorted(HISTORIES.glob("*.json"))  # DossierWorkflow's
# The PAKN and personal-data workflows' (FeedbackWorkflow, DataRequestWorkflow): recorded by
# their time-skipping tests (tests/histories/__init__.py).
CITIZEN_FILES = sorted((HISTORIES / "citizen").glob("*.json"))
# The scenarios tests/histories/record.py records; "in_flight" and "merged_during_handoff"
# are left running.
EXPECTED = {
    "happy_path",
    "intake_supplement_restart",
    "appraisal_supplement_extension",
    "withdrawal",
    "refused_at_intake",
    "in_flight",
    # Recorded after the signed-results-v1 patch (results rendered, signed and sealed).
    "signed_result",
    "signed_refusal",
    # Recorded after the data-sources-v1 patch (a component asked of a national database).
    "data_from_database",
    # Recorded after the assignment-v1 patch (assign, reassign, claim).
    "assigned_and_claimed",
    # Recorded after the agency-moves-handoff-v1 patch (a merger while a handoff to the
    # merged agency was in flight: cancelled, sent to the successor, acknowledged there).
    "merged_during_handoff",
}
# A PAKN item escalated when its time ran out, then answered late; a personal-data
# correction escalated, then decided.
CITIZEN_EXPECTED = {"feedback_escalated_answered", "data_request_escalated_decided"}
RUNNING = {"in_flight", "merged_during_handoff"}


def load(path: Path) -> WorkflowHistory:
    # The workflow id only labels the replay: DossierWorkflow never reads it.
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


def replayer(*workflows: type, sandboxed: bool = True) -> Replayer:
    """Configured like the centre's worker (workers/centre.py); or without the sandbox,
    as an auditor's bulk replay may run (services/audit/replay.py)."""
    return Replayer(
        workflows=list(workflows) or [DossierWorkflow],
        data_converter=DATA_CONVERTER,
        workflow_runner=WORKFLOW_RUNNER if sandboxed else UnsandboxedWorkflowRunner(),
    )


SANDBOX = pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])


def event_types(history: WorkflowHistory) -> list[str]:
    return [EventType.Name(e.event_type) for e in history.events]


def test_every_recorded_scenario_is_present() -> None:
    assert {p.stem for p in FILES} >= EXPECTED
    assert {p.stem for p in CITIZEN_FILES} >= CITIZEN_EXPECTED


@SANDBOX
@pytest.mark.parametrize("path", CITIZEN_FILES, ids=[p.stem for p in CITIZEN_FILES])
async def test_a_citizen_workflows_history_replays(path: Path, sandboxed: bool) -> None:
    history = load(path)
    kinds = event_types(history)
    assert "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED" in kinds
    assert "EVENT_TYPE_TIMER_FIRED" in kinds  # its statutory time ran out: escalated
    assert kinds[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    result = await replayer(*WORKFLOWS, sandboxed=sandboxed).replay_workflow(
        history, raise_on_replay_failure=True
    )
    assert result.replay_failure is None


@SANDBOX
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_history_replays_with_the_current_workflow(path: Path, sandboxed: bool) -> None:
    history = load(path)
    kinds = event_types(history)
    # A real dossier, not an empty file: updates were accepted and activities ran.
    assert kinds[0] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    assert "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED" in kinds
    assert "EVENT_TYPE_ACTIVITY_TASK_COMPLETED" in kinds
    completed = kinds[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    assert completed == (path.stem not in RUNNING), kinds[-1]

    result = await replayer(*WORKFLOWS, sandboxed=sandboxed).replay_workflow(
        history, raise_on_replay_failure=True
    )
    assert result.replay_failure is None


def tampered_happy_path() -> WorkflowHistory:
    data = json.loads((HISTORIES / "happy_path.json").read_text(encoding="utf-8"))
    renamed = 0
    for event in data["events"]:
        attrs = event.get("activityTaskScheduledEventAttributes")
        if attrs and attrs["activityType"]["name"] == "record_dossier_events":
            attrs["activityType"]["name"] = "record_dossier_events_v0"
            renamed += 1
    assert renamed > 0
    return WorkflowHistory.from_json("happy_path-tampered", data)


@SANDBOX
async def test_replay_fails_for_a_renamed_activity(sandboxed: bool) -> None:
    """Guard: the replay test can fail. The history says the dossier's events were
    recorded by activity ``record_dossier_events``; pretend the workflow had asked for
    another activity, and the current code no longer matches the history."""
    tampered = tampered_happy_path()
    with pytest.raises(NondeterminismError, match="record_dossier_events"):
        await replayer(sandboxed=sandboxed).replay_workflow(tampered, raise_on_replay_failure=True)
    result = await replayer(sandboxed=sandboxed).replay_workflow(
        tampered, raise_on_replay_failure=False
    )
    assert isinstance(result.replay_failure, NondeterminismError)


@SANDBOX
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_replay_fails_for_an_incompatible_workflow_change(
    path: Path, sandboxed: bool
) -> None:
    """Guard: every history replayed with a changed DossierWorkflow (a timer added
    before the first recording) is reported as nondeterministic."""
    with pytest.raises(NondeterminismError, match="Timer"):
        await replayer(DossierWorkflowWithGracePeriod, sandboxed=sandboxed).replay_workflow(
            load(path), raise_on_replay_failure=True
        )


@SANDBOX
async def test_a_bulk_replay_names_each_history_and_only_the_broken_one(sandboxed: bool) -> None:
    """services.audit.replay.replay_histories (the auditor's bulk replay: one Replayer for
    all) gives a verdict for every history, in order, under the caller's run id."""
    good = [load(p) for p in FILES]
    runs = [(h, f"run-{i}", "temporal") for i, h in enumerate(good)]
    runs.insert(2, (tampered_happy_path(), "run-tampered", "archive"))
    verdicts = await replay_histories(runs, converter=DATA_CONVERTER, sandboxed=sandboxed)
    assert [v.run_id for v in verdicts] == [run_id for _, run_id, _ in runs]
    assert [v.events for v in verdicts] == [len(h.events) for h, _, _ in runs]
    broken = [v for v in verdicts if not v.deterministic]
    assert [(v.run_id, v.source) for v in broken] == [("run-tampered", "archive")]
    assert "record_dossier_events" in (broken[0].error or "")
    assert all(v.error is None for v in verdicts if v.deterministic)


@pytest.mark.parametrize("processes", [1, 2, 3])
async def test_a_replay_pool_keeps_the_order_and_the_verdicts(processes: int) -> None:
    """ReplayPool (`motcua audit replay --processes N`): the histories dealt to child
    processes, the verdicts put back in the order given, in batch after batch."""
    runs = [(load(p), f"run-{i}", "temporal") for i, p in enumerate(FILES)]
    runs.insert(3, (tampered_happy_path(), "run-tampered", "archive"))
    before = set(multiprocessing.active_children())
    with ReplayPool(processes, converter_for_tests, sandboxed=False) as pool:
        for batch in (runs, runs[:2]):  # the same processes for a second, smaller batch
            verdicts = await pool.replay(batch)
            # The shares ran in child processes (none with one process), kept for the next.
            children = set(multiprocessing.active_children()) - before
            assert len(children) == (processes if processes > 1 else 0)
            assert [v.run_id for v in verdicts] == [run_id for _, run_id, _ in batch]
            assert [v.events for v in verdicts] == [len(h.events) for h, _, _ in batch]
            assert [v.run_id for v in verdicts if not v.deterministic] == [
                r for _, r, _ in batch if r == "run-tampered"
            ]
    with pytest.raises(ValueError, match="at least 1"):
        ReplayPool(0, converter_for_tests, sandboxed=True)


async def test_replay_checks_a_history_to_its_end() -> None:
    """Guard: a change that shows only when a dossier closes is caught in a closed
    dossier's history (so replay reaches the last workflow task), and, as Temporal
    intends, not in the history of a dossier that has not reached that point."""
    closing = await replayer(DossierWorkflowSkippingFinalRecord).replay_workflow(
        load(HISTORIES / "happy_path.json"), raise_on_replay_failure=False
    )
    assert isinstance(closing.replay_failure, NondeterminismError), closing.replay_failure
    still_open = await replayer(DossierWorkflowSkippingFinalRecord).replay_workflow(
        load(HISTORIES / "in_flight.json"), raise_on_replay_failure=False
    )
    assert still_open.replay_failure is None


@dataclass(frozen=True)
class DyingReplayProcess:
    """A ReplayPool converter factory whose process dies (os._exit, as when killed or out
    of memory) when it starts on a share: always while `folder/always` exists; with
    `folder/once`, only the first process to get there."""

    folder: Path

    def __call__(self) -> DataConverter:
        if (self.folder / "always").exists():
            os._exit(9)
        if (self.folder / "once").exists():
            try:
                os.close(os.open(self.folder / "died", os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                pass
            else:
                os._exit(9)
        return converter_for_tests()


@pytest.mark.slow  # four pools of two spawned processes, each importing the workflows
async def test_a_replay_pool_outlives_a_replay_process_that_dies(tmp_path: Path) -> None:
    """A child that dies breaks a process pool for good: the batch is replayed again in a
    fresh pool; a batch whose processes die twice is reported as not replayed, run by run,
    and the next batch still gets its verdicts."""
    runs = [(load(p), f"run-{i}", "temporal") for i, p in enumerate(FILES[:4])]
    with ReplayPool(2, DyingReplayProcess(tmp_path), sandboxed=False) as pool:
        (tmp_path / "once").touch()
        verdicts = await pool.replay(runs)
        assert (tmp_path / "died").exists()  # a process did die
        assert [v.run_id for v in verdicts] == [run_id for _, run_id, _ in runs]
        assert all(v.deterministic and v.error is None for v in verdicts)

        (tmp_path / "always").touch()
        lost = await pool.replay(runs[:3])
        assert [v.run_id for v in lost] == ["run-0", "run-1", "run-2"]
        assert [v.events for v in lost] == [len(h.events) for h, _, _ in runs[:3]]
        assert not any(v.deterministic for v in lost)
        assert all("not replayed: the replay process died" in (v.error or "") for v in lost)

        (tmp_path / "always").unlink()
        again = await pool.replay(runs[:3])
        assert all(v.deterministic for v in again)
