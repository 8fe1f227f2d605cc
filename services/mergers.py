"""Mergers of agencies (two-level local government, from 01/7/2025): the open dossiers
that still have work at a merged agency move to its successor, each by the `move_agency`
update of its workflow (recorded as an `agency_moved` event, history kept, the centre that
received it unchanged). Run again after a failure, it moves what is left: a dossier
already moved has no work left at the old agency and is counted as such."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from domain.catalog import Catalog
from domain.dossier import Actor, MoveAgencyInput
from store import repository
from workflows.dossier import DossierWorkflow

# The updates sent at once: a province merges dozens of communes with a few thousand open
# dossiers; the workers are not flooded.
CONCURRENT_MOVES = 8


class MergeRefused(ValueError):
    """The merger cannot start (unknown agency, a successor that is no longer valid...)."""


@dataclass
class MergeReport:
    from_agency: str
    to_agency: str
    moved: list[str] = field(default_factory=list)
    nothing_left: list[str] = field(default_factory=list)  # only finished work there
    failed: dict[str, str] = field(default_factory=dict)  # code -> reason


def check_merger(catalog: Catalog, old: str, new: str | None) -> str:
    """The successor of `old` (`new`, else the catalog's `successor`), after checking both."""
    if old not in catalog.agencies:
        raise MergeRefused(f"không có cơ quan {old}")
    target = new or catalog.successor_of(old)
    if target is None:
        raise MergeRefused(f"{old} không có cơ quan kế thừa: chỉ rõ --into")
    if target not in catalog.agencies:
        raise MergeRefused(f"không có cơ quan {target}")
    if target == old:
        raise MergeRefused(f"cơ quan kế thừa phải khác {old}")
    successor = catalog.agencies[target]
    if successor.valid_to is not None:
        raise MergeRefused(f"{target} cũng hết hiệu lực ngày {successor.valid_to:%d/%m/%Y}")
    return target


def record_merger(engine: Engine, catalog: Catalog, old: str, target: str, last_day: date) -> None:
    """The merger resolution in the catalog: `old` exists until `last_day` and `target`
    takes over its work. From the day after, `old` receives no new dossier and returns no
    result (services/dossiers.py); the processes holding the catalog reload it."""
    agency = catalog.agencies[old]
    if agency.valid_from is not None and last_day < agency.valid_from:
        raise MergeRefused(
            f"--last-day {last_day:%d/%m/%Y} trước ngày {old} bắt đầu hoạt động "
            f"({agency.valid_from:%d/%m/%Y})"
        )
    ended = agency.model_copy(update={"valid_to": last_day, "successor": target})
    repository.save_agencies(engine, [ended])
    catalog.agencies[old] = ended


async def merge_agency(
    client: Client,
    engine: Engine,
    catalog: Catalog,
    old: str,
    new: str | None,
    *,
    actor: Actor,
    decision: str = "",
    last_day: date | None = None,
) -> MergeReport:
    """Move every open dossier's work at `old` to its successor; the report says which.
    `last_day`: the last day `old` exists, recorded in the catalog with its successor
    before anything moves."""
    target = check_merger(catalog, old, new)
    if last_day is not None:
        await asyncio.to_thread(record_merger, engine, catalog, old, target, last_day)
    codes = await asyncio.to_thread(repository.open_dossiers_at, engine, old)
    report = MergeReport(from_agency=old, to_agency=target)
    gate = asyncio.Semaphore(CONCURRENT_MOVES)

    async def move(code: str) -> None:
        cmd = MoveAgencyInput(
            actor=actor,
            from_agency=old,
            to_agency=target,
            decision=decision,
            # the same merger sent twice moves a dossier once
            request_id=f"merge:{old}:{target}",
        )
        handle = client.get_workflow_handle_for(DossierWorkflow.run, code)
        async with gate:
            try:
                await handle.execute_update(
                    DossierWorkflow.move_agency, cmd, id=f"merge-{old}-{target}"
                )
            except WorkflowUpdateFailedError as exc:
                cause = exc.cause
                kind = cause.type if isinstance(cause, ApplicationError) else None
                if kind in ("invalid", "closed", "already_taken"):
                    report.nothing_left.append(code)
                else:
                    report.failed[code] = str(cause or exc)
                return
            except RPCError as exc:
                report.failed[code] = exc.message
                return
        report.moved.append(code)

    await asyncio.gather(*(move(c) for c in codes))
    report.moved.sort()
    report.nothing_left.sort()
    return report


__all__ = ["MergeRefused", "MergeReport", "check_merger", "merge_agency", "record_merger"]
