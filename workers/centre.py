"""The centre's worker: runs DossierWorkflow, FeedbackWorkflow, PaymentWorkflow and the
centre's activities (read model projection with its forms, calendar extension, the seal
on results, components taken from national databases, online payment, and the national
portal's pull when it is configured) on the centre's task queue."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Interceptor, Worker

from activities.calendar import CalendarActivities
from activities.data_requests import DataRequestActivities
from activities.datasources import DataSourceActivities
from activities.documents import DocumentServices, SigningActivities
from activities.feedback import FeedbackActivities
from activities.read_model import ReadModelActivities
from infra import telemetry
from infra.settings import Settings
from services.catalog import CatalogCache
from services.payments import PaymentActivities
from services.portal_intake import PortalPullActivities, portal_intake_for
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


class _FollowingTheCatalog(Worker):
    """A worker whose catalog is refreshed from the database while it runs, and no longer:
    the refresh thread is started by `run()` and stopped when `run()` ends, however the
    worker is run (`async with`, or the supervisor's `run()` and `shutdown()`). A restarted
    worker does not leave its predecessor's thread refreshing (as it did until 07/12/2026)."""

    def __init__(self, *args: Any, catalog: CatalogCache, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = catalog

    async def run(self) -> None:
        stop = self.catalog.refresh_in_background()
        try:
            await super().run()
        finally:
            stop.set()


def activity_slots(executor: ThreadPoolExecutor) -> int:
    """A worker takes no more activity tasks than its executor has threads (the SDK's
    default is 100 whatever the executor): a task taken and not yet running waits in the
    executor's queue on its start-to-close clock, where in the server's queue it waits on
    its schedule-to-close alone and another worker may take it. Give each worker an
    executor of its own; one shared by several is over-subscribed again."""
    return executor._max_workers


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
    token = settings.data_source_token
    data = DataSourceActivities(
        settings.data_source_url,
        token.get_secret_value() if token else None,
        settings.data_source_timeout_seconds,
    )
    activities: list[Callable[..., Any]] = [
        read_model.record_dossier_events,
        calendar.extend_calendar,
        signing.seal_result,
        data.fetch_component,
        # The citizen's voice: each PAKN item's FeedbackWorkflow records through this.
        FeedbackActivities(engine).record_feedback,
    ]
    # Personal-data requests (DataRequestWorkflow runs here too).
    requests = DataRequestActivities(
        engine, docs.store, settings.calendar_overrides, settings.data_request_working_days
    )
    activities += [
        requests.open_data_request,
        requests.export_personal_data,
        requests.escalate_data_request,
        requests.decide_data_request,
    ]
    # Online payment (each request's PaymentWorkflow runs here too): the gateway, the
    # dossier's `pay` as the gateway, the request's row.
    payments = PaymentActivities(client, engine, settings)
    activities += [
        payments.open_payment,
        payments.query_payment,
        payments.refund_payment,
        payments.settle_payment,
        payments.record_payment,
    ]
    options: dict[str, Any] = {
        "task_queue": settings.centre_task_queue,
        "workflows": WORKFLOWS,
        "activity_executor": executor,
        "max_concurrent_activities": activity_slots(executor),
        "workflow_runner": WORKFLOW_RUNNER,
        "interceptors": telemetry.worker_interceptors(client),
        "graceful_shutdown_timeout": DRAIN_TIMEOUT,
    }
    if not settings.portal_pull_url:
        return Worker(client, activities=activities, **options)
    # The national portal's pull (its poller, PortalPullWorkflow, runs here too).
    # The catalog the database holds (services/catalog.py), as the API's: a version
    # published there reaches this worker's intake within catalog_refresh_seconds.
    catalog = CatalogCache(engine, settings.catalog_refresh_seconds)
    intake = portal_intake_for(client, engine, catalog.catalog, settings, docs.store)
    catalog.on_change(lambda new: setattr(intake.service, "catalog", new))
    activities.append(PortalPullActivities(intake, settings).pull_portal_dossiers)
    return _FollowingTheCatalog(client, activities=activities, catalog=catalog, **options)
