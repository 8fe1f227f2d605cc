"""Dossier histories kept beyond Temporal's retention.

Temporal deletes a closed run's history after the namespace's retention (72 hours by
default); auditors come years later. Every closed run of a DossierWorkflow (completed,
continued as new, terminated, ...) is archived: its history goes into the document store
under its SHA-256 and a row in the append-only `history_archive` table names it.

The file is the history as Temporal itself serializes it: a `temporal.api.history.v1.History`
protobuf message (its payloads encrypted, as in Temporal). Runs archived before 07/12/2026
were kept as Temporal's history JSON and are read as such: `parse_archived` tells them
apart by their first byte. Protobuf, because an audit reads the archive: parsing one
dossier's history JSON took 14-20 ms of Python (protobuf's json_format), a large part of
what replaying a thousand closed dossiers cost beyond the replay itself; the same history
in protobuf parses in well under a millisecond (docs/benchmarks.md). `motcua audit export`
gives the JSON for a person to read.

`archive_closed` sweeps Temporal's visibility for runs not archived yet (the centre's
worker runs it every `MOTCUA_ARCHIVE_INTERVAL_SECONDS`; `motcua audit archive` once).
`load_histories` gives every run of a dossier, from the archive and from Temporal.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.engine import Engine
from temporalio.api.history.v1 import History
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowHistory,
)
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


def archived_bytes(history: WorkflowHistory) -> bytes:
    """What is archived for a run: its history as a protobuf `History` message."""
    return History(events=history.events).SerializeToString(deterministic=True)


def parse_archived(code: str, data: bytes) -> WorkflowHistory:
    """An archived file's history: protobuf, or JSON for runs archived before the change (a
    JSON object opens with `{`; a `History` message with its first field's tag, 0x0A)."""
    if data[:1] == b"{":
        return WorkflowHistory.from_json(code, data.decode())
    return WorkflowHistory(code, list(History.FromString(data).events))


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
    data = archived_bytes(history)
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
    archived = await asyncio.to_thread(repository.archived_runs, engine, code)
    listed = await _listed(client, [code])
    return await _runs(client, store, code, archived, listed.get(code, []), asyncio.Semaphore(1))


# Dossiers named in one visibility query (`WorkflowId IN (...)`) by `load_histories_many`.
LISTED_TOGETHER = 50


async def load_histories_many(
    client: Client | None,
    engine: Engine,
    store: DocumentStore,
    codes: Sequence[str],
    *,
    fetching: int = 16,
) -> AsyncIterator[tuple[str, list[Run] | ArchiveTampered]]:
    """`load_histories` of many dossiers, in `codes`' order: their archived runs read in
    one query, their runs listed by Temporal `LISTED_TOGETHER` dossiers a query (not one
    query a dossier), the histories Temporal still has fetched
    `fetching` at a time. A dossier whose archive was tampered with comes with its
    ArchiveTampered instead of its runs."""
    archived = await asyncio.to_thread(repository.archived_runs_of, engine, codes)
    listed: dict[str, list[WorkflowExecution]] = {}
    for first in range(0, len(codes), LISTED_TOGETHER):
        listed |= await _listed(client, codes[first : first + LISTED_TOGETHER])
    gate = asyncio.Semaphore(fetching)

    async def one(code: str) -> list[Run] | ArchiveTampered:
        try:
            return await _runs(
                client, store, code, archived.get(code, []), listed.get(code, []), gate
            )
        except ArchiveTampered as exc:
            return exc

    loaded = await asyncio.gather(*(one(c) for c in codes))
    for code, runs in zip(codes, loaded, strict=True):
        yield code, runs


async def _listed(
    client: Client | None, codes: Sequence[str]
) -> dict[str, list[WorkflowExecution]]:
    """The runs Temporal lists for these dossiers (none without a client, or when it does
    not answer: the archive alone is read, and the warning logged)."""
    if client is None or not codes:
        return {}
    ids = ", ".join(f'"{_quoted(c)}"' for c in codes)
    query = f"WorkflowId = {ids}" if len(codes) == 1 else f"WorkflowId IN ({ids})"
    out: dict[str, list[WorkflowExecution]] = {}
    try:
        async for wf in client.list_workflows(query):
            out.setdefault(wf.id, []).append(wf)
    except RPCError as exc:
        log.warning("Temporal did not answer for %s (%s): archive only", ", ".join(codes), exc)
        return {}
    return out


async def _runs(
    client: Client | None,
    store: DocumentStore,
    code: str,
    archived: list[HistoryArchiveRow],
    listed: list[WorkflowExecution],
    gate: asyncio.Semaphore,
) -> list[Run]:
    runs: dict[str, Run] = {}
    for row in archived:
        data = await asyncio.to_thread(read_archived, store, code, row)
        runs[row.run_id] = Run(
            row.run_id,
            row.status,
            row.started_at,
            parse_archived(code, data),
            "archive",
            row.sha256,
        )
    for wf in listed:
        if wf.run_id in runs or client is None:
            continue
        try:
            async with gate:
                history = await client.get_workflow_handle(code, run_id=wf.run_id).fetch_history()
        except RPCError as exc:
            log.warning("Temporal did not answer for %s (%s): archive only", code, exc)
            continue
        runs[wf.run_id] = Run(wf.run_id, _status(wf.status), wf.start_time, history, "temporal")
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
