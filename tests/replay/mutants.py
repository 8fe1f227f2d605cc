"""Deliberately incompatible versions of DossierWorkflow, for the guard tests in
test_replay.py. They register under the same workflow name and keep every
handler, but decide differently from the recorded histories: the kind of
innocent-looking change that breaks dossiers already running. Replaying a
history whose path they change must fail with a nondeterminism error.

Kept out of the test module so the workflow sandbox imports only this and
workflows.dossier, as it does for the real workflow.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.dossier import DossierInput, DossierView

from workflows.dossier import DossierWorkflow


@workflow.defn(name="DossierWorkflow")
class DossierWorkflowWithGracePeriod(DossierWorkflow):
    """Adds a "grace period" timer before the first recording: every history diverges
    at its first workflow task."""

    @workflow.run
    async def run(self, inp: DossierInput) -> DossierView:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(inp)


@workflow.defn(name="DossierWorkflow")
class DossierWorkflowSkippingFinalRecord(DossierWorkflow):
    """Forgets to record the events that close a dossier: the change shows only at the
    very end of a closed dossier's history, and not at all in an open one's."""

    @workflow.run
    async def run(self, inp: DossierInput) -> DossierView:
        return await super().run(inp)

    async def _record(self) -> None:
        if self.m.closed:
            self.m.drain()
            return
        await super()._record()
