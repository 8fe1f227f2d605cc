"""Dossier histories kept beyond Temporal's retention.

Temporal deletes a closed run's history after the namespace's retention (72 hours by
default); auditors come years later. Every closed run of a DossierWorkflow (completed,
continued as new, terminated, ...) is archived: its history JSON goes into the document
store under its SHA-256 and a row in the append-only `history_archive` table names it.
`archive_closed` sweeps Temporal's visibility for runs not archived yet (the centre's
worker runs it every `MOTCUA_ARCHIVE_INTERVAL_SECONDS`; `motcua audit archive` once).
`load_histories` gives every run of a dossier, from the archive and from Temporal.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.service import RPCError

from infra.docstore import DocumentNotFound, DocumentStore
from store import repository
from store.models import HistoryArchiveRow

log = logging.getLogger(__name__)

CLOSED = 'WorkflowType = "DossierWorkflow" AND ExecutionStatus != "Running"'


class ArchiveTampered(Exception):
    """An archived history whose bytes are not the ones archived (its SHA-256 or size is
    not the one recorded in `history_archive`), or whose file is gone. Never read as if
    intact: export, replay and verify report it."""

    def __init__(self, code: str, run_id: str, expected: str, actual: str | None) -> None:
        self.code, self.run_id, self.expected, self.actual = code, run_id, expected, actual
        found = (
            f"nội dung hiện có SHA-256 {actual}"
            if actual is not None
            else "tệp không còn trong kho tài liệu"
        )
        super().__init__(
            f"Lịch sử lưu trữ của hồ sơ {code} (lượt chạy {run_id}) không còn nguyên vẹn: "
            f"SHA-256 ghi nhận khi lưu trữ là {expected}, {found}. "
            "Bản này không được dùng để xuất, phát lại hay kiểm tra."
        )


def read_archived(store: DocumentStore, code: str, row: HistoryArchiveRow) -> bytes:
    """The archived file `row` names, checked against its recorded SHA-256 and size."""
    try:
        data = store.get(row.sha256)
    except DocumentNotFound:
        raise ArchiveTampered(code, row.run_id, row.sha256, None) from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != row.sha256 or len(data) != row.size:
        raise ArchiveTampered(code, row.run_id, row.sha256, actual)
    return data


@dataclass(frozen=True)
class Run:
    """One run of a dossier's workflow, and where its history came from."""

    run_id: str
    status: str
    started_at: datetime
    history: WorkflowHistory
    source: Literal["archive", "temporal"]
    sha256: str | None = None


def _status(value: WorkflowExecutionStatus | None) -> str:
    return value.name.lower() if value is not None else "unknown"


async def archive_run(
    client: Client, engine: Engine, store: DocumentStore, workflow_id: str, run_id: str
) -> bool:
    """Archive one closed run (a no-op if it is archived already)."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    described = await handle.describe()
    if described.status is WorkflowExecutionStatus.RUNNING:
        raise ValueError(f"{workflow_id} run {run_id} is still running; archive closed runs")
    history = await handle.fetch_history()
    data = history.to_json().encode()
    sha = await asyncio.to_thread(store.put, data)
    row = HistoryArchiveRow(
        workflow_id=workflow_id,
        run_id=run_id,
        status=_status(described.status),
        started_at=described.start_time,
        closed_at=described.close_time,
        events=len(history.events),
        sha256=sha,
        size=len(data),
        archived_at=datetime.now(UTC),
    )
    return await asyncio.to_thread(repository.archive_run, engine, row)


async def archive_closed(
    client: Client, engine: Engine, store: DocumentStore, *, query: str = CLOSED
) -> int:
    """Archive every closed dossier run Temporal still has and the archive has not;
    returns how many were archived now."""
    archived = 0
    async for _ in archive_sweep(client, engine, store, query=query):
        archived += 1
    return archived


async def archive_sweep(
    client: Client, engine: Engine, store: DocumentStore, *, query: str = CLOSED
) -> AsyncIterator[tuple[str, str]]:
    """`archive_closed`, yielding each run (workflow id, run id) once it is archived
    here (not by another process first)."""
    pending: list[tuple[str, str]] = []
    async for wf in client.list_workflows(query):
        pending.append((wf.id, wf.run_id))
    done = await asyncio.to_thread(repository.archived_run_ids, engine, [r for _, r in pending])
    for workflow_id, run_id in pending:
        if run_id in done:
            continue
        if await archive_run(client, engine, store, workflow_id, run_id):
            yield workflow_id, run_id


async def archive_forever(
    client: Client,
    engine: Engine,
    store: DocumentStore,
    interval: float,
    *,
    logger: logging.Logger = log,
) -> None:
    """The centre worker's archiver: a sweep every `interval` seconds, errors logged.
    Each sweep logs how many runs it archived, also when it failed or was stopped part
    way (a worker shutting down): every archived run is in some process's log."""
    while True:
        archived = 0
        try:
            async for _ in archive_sweep(client, engine, store):
                archived += 1
        except Exception:
            logger.exception("history archive sweep failed; retrying in %.0f s", interval)
        finally:
            if archived:
                logger.info("archived %d dossier history run(s)", archived)
        await asyncio.sleep(interval)


async def load_histories(
    client: Client | None, engine: Engine, store: DocumentStore, code: str
) -> list[Run]:
    """Every run of the dossier's workflow, first run first: archived runs from the
    archive (verified against their hash: ArchiveTampered if one was changed), the
    others from Temporal while it has them."""
    runs: dict[str, Run] = {}
    for row in await asyncio.to_thread(repository.archived_runs, engine, code):
        data = await asyncio.to_thread(read_archived, store, code, row)
        history = WorkflowHistory.from_json(code, data.decode())
        runs[row.run_id] = Run(
            row.run_id, row.status, row.started_at, history, "archive", row.sha256
        )
    if client is not None:
        try:
            async for wf in client.list_workflows(f'WorkflowId = "{_quoted(code)}"'):
                if wf.run_id in runs:
                    continue
                history = await client.get_workflow_handle(code, run_id=wf.run_id).fetch_history()
                runs[wf.run_id] = Run(
                    wf.run_id, _status(wf.status), wf.start_time, history, "temporal"
                )
        except RPCError as exc:
            log.warning("Temporal did not answer for %s (%s): archive only", code, exc)
    return sorted(runs.values(), key=lambda r: r.started_at)


def _quoted(code: str) -> str:
    if '"' in code or "\\" in code:
        raise ValueError(f"not a dossier code: {code!r}")
    return code


def export(code: str, runs: list[Run]) -> dict[str, Any]:
    """The export format: the dossier's runs in order, each with its full history."""
    return {
        "dossier_code": code,
        "exported_at": datetime.now(UTC).isoformat(),
        "runs": [
            {
                "run_id": r.run_id,
                "status": r.status,
                "started_at": r.started_at.isoformat(),
                "source": r.source,
                "sha256": r.sha256,
                "events": len(r.history.events),
                "history": json.loads(r.history.to_json()),
            }
            for r in runs
        ],
    }
