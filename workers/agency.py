"""An agency's worker: listens on that agency's own task queue. It acknowledges
dossiers handed to it, and runs the child dossiers of linked groups that the
agency resolves (their workflow and their activities), so an agency that is down
delays only its own part. In production each agency runs its own; in development
`motcua worker all` runs one per agency in the catalog in a single process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.calendar import CalendarActivities
from activities.documents import DocumentServices, SigningActivities
from activities.handoff import AgencyActivities
from activities.read_model import ReadModelActivities
from domain.catalog import agency_task_queue
from infra import telemetry
from workers.centre import DRAIN_TIMEOUT, activity_slots
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS


def agency_worker(
    client: Client,
    agency_code: str,
    engine: Engine,
    executor: ThreadPoolExecutor,
    docs: DocumentServices,
    calendar_overrides: Path | None = None,
) -> Worker:
    agency = AgencyActivities(engine, agency_code)
    read_model = ReadModelActivities(engine, docs)
    calendar = CalendarActivities(calendar_overrides)
    # The agency's signers sign results here, with keys that stay at the agency; the
    # seal is for the sub-dossiers it runs as their own centre.
    signing = SigningActivities(docs)
    return Worker(
        client,
        task_queue=agency_task_queue(agency_code),
        workflows=WORKFLOWS,
        activities=[
            agency.receive_handoff,
            read_model.record_dossier_events,
            calendar.extend_calendar,
            signing.sign_result,
            signing.seal_result,
        ],
        activity_executor=executor,
        max_concurrent_activities=activity_slots(executor),
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=telemetry.worker_interceptors(client),
        graceful_shutdown_timeout=DRAIN_TIMEOUT,
    )
