"""The centre's worker: runs DossierWorkflow and the centre's activities (read
model projection with its forms, calendar extension, the seal on results) on the
centre's task queue."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Interceptor, Worker

from activities.calendar import CalendarActivities
from activities.documents import DocumentServices, SigningActivities
from activities.read_model import ReadModelActivities
from infra import telemetry
from infra.settings import Settings
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

# What workers (and a replayer) run workflows and activities with: tracing. A worker
# whose client already has it (infra.temporal.connect) inherits it from the client.
# Tracing adds no commands to histories; on replay it makes no spans.
INTERCEPTORS: list[Interceptor] = [telemetry.TRACING]
# On SIGTERM (a rolling deploy) a worker stops taking tasks and lets the activities it is
# running finish, for up to this long, before cancelling them (a cancelled one is retried
# by another worker): a read-model recording's start-to-close timeout. Without it the SDK
# cancels them at once, raising into their threads in the middle of a database write.
DRAIN_TIMEOUT = timedelta(seconds=30)


def centre_worker(
    client: Client,
    settings: Settings,
    engine: Engine,
    executor: ThreadPoolExecutor,
    docs: DocumentServices,
) -> Worker:
    read_model = ReadModelActivities(engine, docs)
    calendar = CalendarActivities(settings.calendar_overrides)
    # The centre's seal goes on every result after the signer's signature.
    signing = SigningActivities(docs)
    return Worker(
        client,
        task_queue=settings.centre_task_queue,
        workflows=WORKFLOWS,
        activities=[
            read_model.record_dossier_events,
            calendar.extend_calendar,
            signing.seal_result,
        ],
        activity_executor=executor,
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=telemetry.worker_interceptors(client),
        graceful_shutdown_timeout=DRAIN_TIMEOUT,
    )
