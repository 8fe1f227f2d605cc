"""The national portal's pull: a durable poller that asks the portal, round after round,
for the dossiers filed since its cursor, and starts each (the activity does, once per
portal code: services/portal_intake.py).

The cursor lives in this workflow's state, so it survives worker and server restarts; a
round that fails (the portal answers 500, or not at all) is retried by Temporal with
backoff, from the same cursor, and only a round that succeeded moves it. Deliveries are
idempotent, so a round retried after it started some dossiers starts nothing twice.
Between rounds it sleeps the configured interval (the activity reports the setting's
current value), unless the portal said more are waiting or `pull_now` wakes it. Every
`rounds_per_run` rounds, or when Temporal suggests it, it continues as new with the
cursor, so its history stays short however long it runs."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

from activities.contracts import PULL_PORTAL, PortalPullInput, PortalPullResult

# The portal may be down for hours: keep asking, never give up, at most once a minute.
PULL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2,
    maximum_interval=timedelta(seconds=60),
)
# A round lists a page and fetches its files: generous, a hung portal is cut off here.
PULL_TIMEOUT = timedelta(minutes=5)


class PortalPollerInput(BaseModel):
    cursor: str | None = None
    rounds_per_run: int = 200


@workflow.defn(name="PortalPullWorkflow")
class PortalPullWorkflow:
    @workflow.init
    def __init__(self, inp: PortalPollerInput) -> None:
        self.cursor = inp.cursor
        self.last: PortalPullResult | None = None
        self.woken = False

    @workflow.run
    async def run(self, inp: PortalPollerInput) -> None:
        for _ in range(inp.rounds_per_run):
            result = await workflow.execute_activity(
                PULL_PORTAL,
                PortalPullInput(cursor=self.cursor),
                result_type=PortalPullResult,
                start_to_close_timeout=PULL_TIMEOUT,
                retry_policy=PULL_RETRY,
                summary="pull the portal's new dossiers",
            )
            self.last, self.cursor = result, result.cursor
            if workflow.info().is_continue_as_new_suggested():
                break
            if not result.more:
                self.woken = False
                with suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: self.woken,
                        timeout=timedelta(seconds=result.wait_seconds),
                        timeout_summary="until the next pull",
                    )
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            PortalPollerInput(cursor=self.cursor, rounds_per_run=inp.rounds_per_run)
        )

    @workflow.signal
    def pull_now(self) -> None:
        """Pull at once (an operator, or a test, does not wait for the interval)."""
        self.woken = True

    @workflow.query
    def position(self) -> PortalPullResult | None:
        """The last round's outcome; its `cursor` is where the next round asks from."""
        return self.last
