"""Routes without a token: public tracking, the citizens' procedure search, liveness and
readiness."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response

from api import readiness
from api.deps import Context, limit_search, limit_tracking
from api.errors import ERROR_RESPONSES, ApiError
from api.messages import T
from api.procedure_search import ProcedureSearchOut, run_search
from api.schemas import Health, TrackingOut
from domain.calendar import VIETNAM_TZ
from domain.dossier import Status
from services.working_time import Countdowns
from store import repository

router = APIRouter(responses=ERROR_RESPONSES)

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
        raise ApiError(404, "not_found", T("no_tracking_match"))
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
        time_left=Countdowns(ctx.settings, ctx.catalog, ctx.clock()).of_row(row)["time_left"],
    )


@router.get(
    "/public/procedures",
    response_model=ProcedureSearchOut,
    tags=["public"],
    summary="Search the procedures in force, for citizens: by words of the name (with or "
    "without diacritics), code, field, agency and level; each with its components, fees, "
    "time, where to file and result",
    dependencies=[Depends(limit_search)],
)
async def search_procedures(
    ctx: Context,
    q: Annotated[
        str,
        Query(
            max_length=200,
            description='Words of the name, field or agency, or a national code: "cap phieu '
            'ly lich tu phap" finds "Cấp Phiếu lý lịch tư pháp"; empty lists every procedure',
        ),
    ] = "",
    field: Annotated[
        str | None,
        Query(max_length=200, description="A field (lĩnh vực), with or without diacritics"),
    ] = None,
    agency: Annotated[
        str | None, Query(max_length=40, description="The competent agency's code")
    ] = None,
    level: Annotated[Literal["province", "commune"] | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=50)] = 10,
) -> ProcedureSearchOut:
    return run_search(
        ctx.catalog,
        on=ctx.clock().astimezone(VN).date(),
        query=q,
        field=field,
        agency=agency,
        level=level,
        page=page,
        page_size=page_size,
        listed=ctx.settings.boundary_free_procedures,
    )


@router.get("/healthz", response_model=Health, tags=["operations"], summary="Liveness")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    tags=["operations"],
    responses={503: {"model": Health, "description": "A check failed; `failing` names it"}},
    summary="Readiness: the database reachable and writable, Temporal reachable, and a "
    "worker polling the centre's task queue",
)
async def readyz(ctx: Context, request: Request, response: Response) -> Health:
    state = request.app.state
    cache: readiness.Readiness | None = getattr(state, "readiness", None)
    if cache is None:
        cache = state.readiness = readiness.Readiness()
    engine, client = ctx.engine, ctx.service.client
    checks: dict[str, str] = {}
    checks["database"] = await readiness.run_check(lambda: readiness.check_database(engine))
    if checks["database"] == readiness.OK:
        checks["read_model"] = await cache.cached(
            "read_model", lambda: readiness.check_read_model(engine)
        )
    else:
        checks["read_model"] = f"{readiness.SKIPPED}: database unavailable"
    checks["temporal"] = await readiness.run_check(lambda: readiness.check_temporal(client))
    if checks["temporal"] == readiness.OK:
        queue = ctx.settings.centre_task_queue
        max_age = ctx.settings.readyz_poller_max_age_seconds
        checks["workers"] = await cache.cached(
            "workers", lambda: readiness.check_workers(client, queue, max_age)
        )
    else:
        checks["workers"] = f"{readiness.SKIPPED}: temporal unavailable"
    failing = readiness.failing(checks)
    if failing:
        response.status_code = 503
    return Health(
        status="unavailable" if failing else "ok",
        checks=checks,
        failing=failing,
        message=readiness.message(checks),
    )
