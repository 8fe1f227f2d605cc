"""`motcua dev`'s worker supervision on the real dev server: a worker that dies (its
`run()` raises: here its namespace does not exist yet) is started again with backoff,
each restart logged, until it serves."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio import workflow
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from motcua.devserver import DevServer
from motcua.supervisor import Backoff, SupervisedWorker
from tests.payload_keys import DATA_CONVERTER


@workflow.defn(sandboxed=False)
class Echo:
    @workflow.run
    async def run(self, text: str) -> str:
        return text


async def test_a_dead_worker_is_restarted_with_backoff_and_logged(
    devserver: DevServer, devserver_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    namespace = f"late-{uuid.uuid4().hex[:12]}"
    client = await Client.connect(
        devserver.address, namespace=namespace, data_converter=DATA_CONVERTER
    )
    queue = f"supervised-{uuid.uuid4().hex[:8]}"
    made: list[Worker] = []

    def make() -> Worker:
        made[:] = [
            Worker(
                client,
                task_queue=queue,
                workflows=[Echo],
                workflow_runner=UnsandboxedWorkflowRunner(),
            )
        ]
        return made[-1]

    caplog.set_level(logging.WARNING, logger="motcua.supervisor")
    supervised = SupervisedWorker("late", make, Backoff(initial=0.2, maximum=1.0))
    async with supervised:
        # No such namespace: every worker dies at start; the supervisor keeps trying.
        for _ in range(200):
            if supervised.restarts >= 2:
                break
            await asyncio.sleep(0.05)
        assert supervised.restarts >= 2, supervised.restarts
        await devserver_client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=namespace,
                workflow_execution_retention_period=Duration(seconds=86400),
            )
        )
        # A later worker serves: a workflow on its queue completes.
        result = None
        for _ in range(20):
            try:
                result = await client.execute_workflow(
                    Echo.run,
                    "xin chào",
                    id=f"echo-{uuid.uuid4().hex[:8]}",
                    task_queue=queue,
                    execution_timeout=timedelta(seconds=5),
                )
                break
            except Exception:  # the namespace reaches the server's caches in a moment
                await asyncio.sleep(0.2)
        assert result == "xin chào"
        assert made[-1].is_running
    assert made[-1].is_shutdown  # leaving the block shut the serving worker down

    restarts = [r for r in caplog.records if getattr(r, "fields", {}).get("event") == "restart_scheduled"]  # fmt: skip
    assert len(restarts) >= 2
    first = restarts[0]
    assert first.getMessage().startswith("Worker late đã dừng"), first.getMessage()
    fields = first.fields  # type: ignore[attr-defined]
    assert fields["component"] == "worker" and fields["worker"] == "late"
    assert fields["attempt"] == 1 and fields["delay_s"] == pytest.approx(0.2)
    assert restarts[1].fields["delay_s"] == pytest.approx(0.4)  # type: ignore[attr-defined]
