"""A simulated next release of DossierWorkflow, for the upgrade test.

It changes what the workflow does (a short durable pause after it records
events, standing in for any new step), behind `workflow.patched`, the way every
change to a workflow with running dossiers must ship. Importable by the sandbox."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.dossier import DossierInput, DossierView
    from workflows.dossier import DossierWorkflow

RELEASE_PATCH = "release-2-pause-after-record"


@workflow.defn(name="DossierWorkflow")
class DossierWorkflowV2(DossierWorkflow):
    @workflow.run
    async def run(self, inp: DossierInput) -> DossierView:
        return await super().run(inp)

    async def _record(self) -> None:
        await super()._record()
        if workflow.patched(RELEASE_PATCH):
            await workflow.sleep(timedelta(milliseconds=10))


@workflow.defn(name="DossierWorkflow")
class DossierWorkflowV2Unpatched(DossierWorkflow):
    """The same change shipped carelessly, without the patch."""

    @workflow.run
    async def run(self, inp: DossierInput) -> DossierView:
        return await super().run(inp)

    async def _record(self) -> None:
        await super()._record()
        await workflow.sleep(timedelta(milliseconds=10))
