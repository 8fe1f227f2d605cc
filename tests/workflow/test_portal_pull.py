"""The national portal's pull as a durable poller, on the time-skipping test server: a
round the portal fails is retried from the same cursor, the cursor moves only with a
round that succeeded, the poller sleeps the interval the round reports unless more are
waiting, and continuing as new every few rounds carries the cursor into the next run.

The round itself (listing, fetching, starting dossiers) is tested against a real
portal simulator in tests/api/test_portal_intake.py; here a stand-in round plays a
portal whose feed has six pages, two at a time, whose first answer is an error."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.contracts import PULL_PORTAL, PortalPullInput, PortalPullResult
from workflows.portal_pull import PortalPollerInput, PortalPullWorkflow
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

QUEUE = "portal-pull"


class Portal:
    def __init__(self) -> None:
        self.asked: list[str | None] = []

    @activity.defn(name=PULL_PORTAL)
    async def pull(self, inp: PortalPullInput) -> PortalPullResult:
        self.asked.append(inp.cursor)
        if len(self.asked) == 1:
            raise RuntimeError("the portal answered 500")
        n = int(inp.cursor or 0)
        after = min(n + 1, 6)
        return PortalPullResult(
            cursor=str(after), started=after - n, more=after % 2 == 1, wait_seconds=600
        )


async def test_the_pull_keeps_its_cursor_through_failures_and_new_runs(
    ts_env: WorkflowEnvironment,
) -> None:
    portal = Portal()
    async with Worker(
        ts_env.client,
        task_queue=QUEUE,
        workflows=WORKFLOWS,
        activities=[portal.pull],
        workflow_runner=WORKFLOW_RUNNER,
    ):
        handle = await ts_env.client.start_workflow(
            PortalPullWorkflow.run,
            PortalPollerInput(rounds_per_run=2),
            id="portal-pull:test",
            task_queue=QUEUE,
        )
        for _ in range(40):
            await ts_env.sleep(timedelta(minutes=5))
            if portal.asked.count("6") >= 2:
                break
        position = await handle.query(PortalPullWorkflow.position)
        described = await handle.describe()
    # The failed round was asked again from the same (empty) cursor; each later round
    # from where the one before ended, across runs; at the end it keeps asking from 6.
    assert portal.asked[:8] == [None, None, "1", "2", "3", "4", "5", "6"]
    assert position is not None and position.cursor == "6"
    assert described.status is WorkflowExecutionStatus.RUNNING
    assert described.run_id != handle.first_execution_run_id  # continued as new
