"""Audit: for auditors only, and every read is itself logged (append-only audit_log).
Any dossier, however old: its whole history (from Temporal or the archive), a replay
against today's workflow code, the proof that the record is intact (hash chain and
history, signatures), its timeline and its audit trail."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth import CurrentPrincipal, Principal
from api.deps import AppContext, Context, record_user
from api.errors import ERROR_RESPONSES, ApiError, reason_of
from api.messages import T
from domain.catalog import Role
from services.audit.archive import ArchiveTampered
from services.audit.integrity import AuditLogReport
from services.audit.service import (
    Auditor,
    AuditService,
    DossierReplay,
    DossierVerification,
    LateReport,
    NoHistory,
)
from services.audit.timeline import DelayAttribution, TimelineState, state_at, timeline
from services.audit.trail import TrailEntry, trail
from store import repository

router = APIRouter(
    prefix="/audit",
    tags=["audit"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(record_user)],
)


def _auditor(principal: Principal) -> Auditor:
    if not principal.has(Role.AUDITOR):
        raise ApiError(403, "forbidden", T("audit_role"))
    return Auditor(
        id=principal.sub,
        name=principal.name,
        roles=[r.value for r in principal.roles],
        application="api",
    )


def service(ctx: AppContext) -> AuditService:
    return AuditService(ctx.service.client, ctx.engine, ctx.documents, ctx.trust_roots)


async def _answer(coro: Any) -> Any:
    try:
        return await coro
    except NoHistory as exc:
        raise ApiError(404, "not_found", reason_of(exc)) from None
    except ArchiveTampered as exc:
        # The stored history is not the one archived: answered, never read as intact.
        raise ApiError(409, "archive_tampered", str(exc)) from None


@router.get(
    "/dossiers/{code}/history",
    summary="Every run of the dossier's workflow history (Temporal's JSON), from Temporal "
    "while it has it and from the archive after",
)
async def history(code: str, principal: CurrentPrincipal, ctx: Context) -> dict[str, Any]:
    who = _auditor(principal)
    s = service(ctx)
    data: dict[str, Any] = await _answer(s.export(code))
    await s.log(who, "history", code, runs=len(data["runs"]))
    return data


@router.get(
    "/dossiers/{code}/replay",
    response_model=DossierReplay,
    summary="Replay the dossier's history against today's workflow code",
)
async def replay(code: str, principal: CurrentPrincipal, ctx: Context) -> DossierReplay:
    who = _auditor(principal)
    s = service(ctx)
    result: DossierReplay = await _answer(s.replay(code))
    await s.log(who, "replay", code, deterministic=result.deterministic)
    return result


@router.get(
    "/dossiers/{code}/verify",
    response_model=DossierVerification,
    summary="Is the read model's record the workflow's? Hash chain, every event against the "
    "history, and the signatures of the dossier's documents",
)
async def verify(code: str, principal: CurrentPrincipal, ctx: Context) -> DossierVerification:
    who = _auditor(principal)
    s = service(ctx)
    result: DossierVerification = await _answer(s.verify(code))
    await s.log(who, "verify", code, intact=result.intact)
    return result


@router.get(
    "/dossiers/{code}/timeline",
    response_model=list[TimelineState],
    summary="The dossier's state after each recorded change, or as of one instant (?at=)",
)
async def dossier_timeline(
    code: str,
    principal: CurrentPrincipal,
    ctx: Context,
    at: Annotated[datetime | None, Query(description="an instant (ISO 8601 with offset)")] = None,
) -> list[TimelineState]:
    who = _auditor(principal)
    s = service(ctx)
    record = await _answer(s.record(code))
    if at is not None and at.tzinfo is None:
        raise ApiError(422, "invalid", T("instant_offset", name="at"))
    try:
        states = [state_at(record, at)] if at is not None else timeline(record)
    except ValueError as exc:
        raise ApiError(
            422, "invalid", T("where_reason", where="at", reason=reason_of(exc))
        ) from None
    await s.log(who, "timeline", code, at=at.isoformat() if at else None)
    return states


@router.get(
    "/dossiers/{code}/trail",
    response_model=list[TrailEntry],
    summary="The audit trail: who, through which application, what action, old → new "
    "values, the reason, when; refused attempts included",
)
async def dossier_trail(code: str, principal: CurrentPrincipal, ctx: Context) -> list[TrailEntry]:
    who = _auditor(principal)
    events = await asyncio.to_thread(repository.list_events, ctx.engine, code)
    refused = await asyncio.to_thread(repository.list_refused_attempts, ctx.engine, code)
    if not events and not refused:
        raise ApiError(404, "not_found", T("audit_no_dossier", code=code))
    await service(ctx).log(who, "trail", code)
    return trail(events, refused)


@router.get(
    "/dossiers/{code}/late",
    response_model=LateReport,
    summary="Planned against actual time per step, who acted, and who made it late",
)
async def dossier_late(code: str, principal: CurrentPrincipal, ctx: Context) -> LateReport:
    who = _auditor(principal)
    s = service(ctx)
    report: LateReport = await _answer(s.late(code))
    await s.log(who, "late", code, overdue=report.delay is not None)
    return report


@router.get(
    "/delays",
    response_model=list[DelayAttribution],
    summary="Every overdue dossier submitted in a period, with the step, agency and "
    "officer that consumed the time (Decision 766/QĐ-TTg's monthly list)",
)
async def delays(
    principal: CurrentPrincipal,
    ctx: Context,
    since: Annotated[datetime | None, Query(description="submitted at or after")] = None,
    until: Annotated[datetime | None, Query(description="submitted before")] = None,
) -> list[DelayAttribution]:
    who = _auditor(principal)
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ApiError(422, "invalid", T("instant_offset", name=name))
    s = service(ctx)
    found: list[DelayAttribution] = await _answer(s.late_in_period(since=since, until=until))
    await s.log(
        who,
        "delays",
        None,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        found=len(found),
    )
    return found


@router.get(
    "/log/verify",
    response_model=AuditLogReport,
    summary="Is the audit log whole? Its hash chain: every row edited, deleted or moved is named",
)
async def verify_log(principal: CurrentPrincipal, ctx: Context) -> AuditLogReport:
    who = _auditor(principal)
    s = service(ctx)
    report = await s.verify_log()
    await s.log(who, "verify_audit_log", None, intact=report.intact)
    return report


@router.get("/log", summary="The audit log: who read what, when (auditors)")
async def log(
    principal: CurrentPrincipal,
    ctx: Context,
    dossier: Annotated[str | None, Query(description="one dossier's reads only")] = None,
) -> list[dict[str, Any]]:
    who = _auditor(principal)
    rows = await asyncio.to_thread(repository.audit_log, ctx.engine, dossier_code=dossier)
    await service(ctx).log(who, "audit_log", dossier)
    return [r.model_dump(mode="json") for r in rows]
