"""The Decision 766/QĐ-TTg service index for directors (JSON or CSV), its late list,
and what applicants say about their dossier: the rating at return and complaints."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import Field

from api.auth import CurrentPrincipal
from api.deps import Context, record_user
from api.errors import ERROR_RESPONSES, ApiError
from api.messages import T
from api.routes.dossiers import _visible_state
from api.schemas import ApiModel
from domain.calendar import VIETNAM_TZ
from domain.catalog import Role
from domain.dossier import Status
from domain.feedback import FeedbackKind, Filer
from domain.machine.messages import status as status_text
from services.audit.service import AuditService
from services.audit.timeline import DelayAttribution
from services.feedback import FeedbackService
from services.index import ServiceIndex, service_index, to_csv
from store import repository
from store.models import RatingRow

router = APIRouter(tags=["index"], responses=ERROR_RESPONSES, dependencies=[Depends(record_user)])
PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
READERS = (Role.LEADER, Role.AUDITOR, Role.ADMIN)


def month(value: str) -> tuple[datetime, datetime]:
    """A period YYYY-MM as [first instant, first instant of the next month), local time."""
    m = PERIOD.match(value)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ApiError(422, "invalid", T("period", value=value))
    y, mo = int(m.group(1)), int(m.group(2))
    tz = ZoneInfo(VIETNAM_TZ)
    start = datetime.combine(date(y, mo, 1), time(0), tz)
    end = datetime.combine(date(y + mo // 12, mo % 12 + 1, 1), time(0), tz)
    return start, end


def _reader(principal: CurrentPrincipal) -> None:
    if not any(principal.has(r) for r in READERS):
        raise ApiError(403, "forbidden", T("index_roles"))


@router.get(
    "/index",
    response_model=ServiceIndex,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
    summary="The Decision 766 service index for a month, per agency and procedure",
)
async def index(
    principal: CurrentPrincipal,
    ctx: Context,
    period: Annotated[str, Query(description="the month, YYYY-MM")],
    agency: Annotated[str | None, Query(description="one agency (deciding or receiving)")] = None,
    procedure: Annotated[str | None, Query(description="one procedure code")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> ServiceIndex | Response:
    _reader(principal)
    start, end = month(period)
    result = await asyncio.to_thread(
        service_index, ctx.engine, ctx.catalog, start, end, agency=agency, procedure=procedure
    )
    if format == "csv":
        return Response(
            to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="chi-so-766-{period}.csv"'},
        )
    return result


@router.get(
    "/index/late",
    response_model=list[DelayAttribution],
    summary="The month's late list: every overdue dossier with the step, agency and officer "
    "that consumed the time (published monthly by the centre), a page at a time, oldest "
    "first; X-Total-Count: how many the index counts late",
)
async def late(
    principal: CurrentPrincipal,
    ctx: Context,
    response: Response,
    period: Annotated[str, Query(description="the month, YYYY-MM")],
    limit: Annotated[int, Query(ge=1, le=500, description="most dossiers, oldest first")] = 100,
    offset: Annotated[int, Query(ge=0, description="dossiers skipped (the page's start)")] = 0,
) -> list[DelayAttribution]:
    _reader(principal)
    start, end = month(period)
    audit = AuditService(ctx.service.client, ctx.engine, ctx.documents, ctx.trust_roots)
    now = datetime.now(UTC)  # the page and its total judged at the same instant
    total = await audit.late_total(since=start, until=end, now=now)
    response.headers["X-Total-Count"] = str(total)
    return await audit.late_in_period(since=start, until=end, now=now, limit=limit, offset=offset)


class RatingIn(ApiModel):
    rating: Literal["like", "neutral", "dislike"]
    comment: str = Field(default="", max_length=2000)


class FeedbackIn(ApiModel):
    kind: Literal["complaint", "suggestion"]
    text: str = Field(min_length=1, max_length=5000)


class Recorded(ApiModel):
    dossier_code: str
    at: datetime


async def _own_dossier(ctx: Context, code: str, principal: CurrentPrincipal) -> Status:
    view = await _visible_state(ctx, code, principal)
    if not principal.has(Role.APPLICANT) or view.applicant_account != principal.sub:
        raise ApiError(403, "forbidden", T("rate_applicant", code=code))
    return view.status


@router.post(
    "/dossiers/{code}/rating",
    response_model=Recorded,
    status_code=status.HTTP_201_CREATED,
    summary="The applicant rates the service when the result is returned",
)
async def rate(code: str, body: RatingIn, principal: CurrentPrincipal, ctx: Context) -> Recorded:
    state = await _own_dossier(ctx, code, principal)
    if state is not Status.RETURNED:
        raise ApiError(
            409, "wrong_step", T("rate_not_returned", code=code, status=status_text(state))
        )
    at = datetime.now(UTC)
    row = RatingRow(
        dossier_code=code, rating=body.rating, comment=body.comment, by=principal.sub, at=at
    )
    await asyncio.to_thread(repository.rate_dossier, ctx.engine, row)
    return Recorded(dossier_code=code, at=at)


class FeedbackRecorded(Recorded):
    code: str = Field(description="the PAKN item's code: its answer is tracked by it")
    agency: str = Field(description="the agency that answers it")
    due_at: datetime = Field(description="the answer's deadline")


@router.post(
    "/dossiers/{code}/feedback",
    response_model=FeedbackRecorded,
    status_code=status.HTTP_201_CREATED,
    summary="The applicant's complaint or suggestion about the dossier (phản ánh, kiến nghị): "
    "a PAKN item routed to the agency handling it (as POST /v1/feedback)",
)
async def feedback(
    code: str, body: FeedbackIn, principal: CurrentPrincipal, ctx: Context
) -> FeedbackRecorded:
    await _own_dossier(ctx, code, principal)
    row = await asyncio.to_thread(repository.get_dossier, ctx.engine, code)
    if row is None:  # visible to the workflow, not yet in the read model
        raise ApiError(409, "wrong_step", T("feedback_not_found", code=code))
    filer = Filer(account=principal.sub, name=row.applicant_name, id_number=row.applicant_id_number)
    service = FeedbackService(ctx.service.client, ctx.engine, ctx.settings)
    item = await service.file(
        kind=FeedbackKind(body.kind), text=body.text, filer=filer, dossier=row, channel="online"
    )
    return FeedbackRecorded(
        dossier_code=code,
        at=datetime.now(UTC),
        code=item.code,
        agency=item.agency,
        due_at=item.due_at.astimezone(ZoneInfo(VIETNAM_TZ)),
    )
