"""What a worker, and a replayer, runs workflows with: the workflow classes and the
sandbox. Workers (workers/) and the audit's replay (services/audit/replay.py) both take
them from here, so a replay runs the very code and sandbox the workers run."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.data_request import DataRequestWorkflow
from workflows.dossier import DossierWorkflow
from workflows.feedback import FeedbackWorkflow
from workflows.payment import PaymentWorkflow
from workflows.portal_pull import PortalPullWorkflow

# Domain and contract modules are pure and deterministic; passing them through
# the sandbox saves re-importing pydantic models for every workflow run.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "domain", "activities.contracts"
    )
)
WORKFLOWS = [
    DossierWorkflow,
    PortalPullWorkflow,
    FeedbackWorkflow,
    DataRequestWorkflow,
    PaymentWorkflow,
]
