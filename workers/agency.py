"""An agency's worker: listens on that agency's own task queue and acknowledges
dossiers handed to it. In production each agency runs its own; in development
`motcua worker all` runs one per agency in the catalog in a single process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.handoff import AgencyActivities
from domain.catalog import agency_task_queue


def agency_worker(
    client: Client, agency_code: str, engine: Engine, executor: ThreadPoolExecutor
) -> Worker:
    agency = AgencyActivities(engine, agency_code)
    return Worker(
        client,
        task_queue=agency_task_queue(agency_code),
        activities=[agency.receive_handoff],
        activity_executor=executor,
    )
