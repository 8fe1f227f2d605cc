"""Routes without a token: public tracking, liveness and readiness."""

from __future__ import annotations

import asyncio
import hmac
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import text
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from api.deps import Context, limit_tracking
from api.errors import ERROR_RESPONSES, ApiError
from api.schemas import Health, TrackingOut
from domain.calendar import VIETNAM_TZ
from domain.dossier import Status
from store import repository

router = APIRouter(responses=ERROR_RESPONSES)

NOT_FOUND = "no dossier with this code and ID number"
VN = ZoneInfo(VIETNAM_TZ)


@router.get(
    "/track/{code}",
    response_model=TrackingOut,
    tags=["public"],
    summary="Public tracking: status, step and appointment, given the applicant's ID number",
    dependencies=[Depends(limit_tracking)],
)
async def track(
    code: str,
    ctx: Context,
    id_number: Annotated[str, Query(min_length=9, max_length=12, pattern=r"^\d+$")],
) -> TrackingOut:
    row = await asyncio.to_thread(repository.get_dossier, ctx.engine, code)
    # One answer for "no such dossier" and "wrong ID number": tracking reveals nothing else.
    if row is None or not hmac.compare_digest(row.applicant_id_number.encode(), id_number.encode()):
        raise ApiError(404, "not_found", NOT_FOUND)
    status = Status(row.status)
    step = None
    if row.current_step_id:
        step = ctx.catalog.step_name(row.procedure_code, row.procedure_version, row.current_step_id)
    return TrackingOut(
        code=row.code,
        procedure_name=row.procedure_name,
        status=status.value,
        status_code=status.national_code,
        status_label=status.label_vi,
        step=step,
        appointment_at=row.appointment_at.astimezone(VN) if row.appointment_at else None,
    )


@router.get("/healthz", response_model=Health, tags=["operations"], summary="Liveness")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    tags=["operations"],
    responses={503: {"model": Health, "description": "A dependency is unreachable"}},
    summary="Readiness: Temporal and the database reachable",
)
async def readyz(ctx: Context, response: Response) -> Health:
    checks: dict[str, str] = {}

    def db_ok() -> None:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(db_ok), timeout=3)
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        await ctx.service.client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=3)
        )
        checks["temporal"] = "ok"
    except Exception as exc:
        checks["temporal"] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    if not ok:
        response.status_code = 503
    return Health(status="ok" if ok else "unavailable", checks=checks)
