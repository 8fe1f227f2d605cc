"""Publishing a month of the Decision 766 index: a leader of the centre (or an
administrator) publishes it once; a correction is a new revision with its reason. The
published month is public (no token): JSON, the portal's CSV, and the late list's CSV."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import Field

from api.auth import CurrentPrincipal
from api.deps import Context, record_user
from api.errors import ERROR_RESPONSES, ApiError
from api.messages import T
from api.schemas import ApiModel
from domain.catalog import Role
from services.audit.service import AuditService
from services.index_publication import (
    NotPublished,
    Publication,
    PublicationError,
    PublicationSummary,
    PublishedMonth,
    month_bounds,
    publish_month,
    published_month,
    snapshot_month,
)
from store.publications import publications

router = APIRouter(tags=["index"], responses=ERROR_RESPONSES, dependencies=[Depends(record_user)])
public_router = APIRouter(tags=["public"], responses=ERROR_RESPONSES)
PERIOD = Field(pattern=r"^\d{4}-\d{2}$", description="the month, YYYY-MM")
READERS = (Role.LEADER, Role.AUDITOR, Role.ADMIN)


class PublishIn(ApiModel):
    period: str = PERIOD
    reason: str | None = Field(
        default=None,
        max_length=2000,
        description="a correction's reason: publishes the next revision of a published month",
    )


def _period(value: str) -> str:
    try:
        month_bounds(value)
    except ValueError:
        raise ApiError(422, "invalid", T("period", value=value)) from None
    return value


@router.post(
    "/index/publications",
    response_model=Publication,
    status_code=status.HTTP_201_CREATED,
    summary="Publish a past month's index and late list, frozen; with a reason, a correction "
    "(the next revision)",
)
async def publish(body: PublishIn, principal: CurrentPrincipal, ctx: Context) -> Publication:
    centre_leader = principal.has(Role.LEADER) and principal.agency == ctx.settings.centre_agency
    if not (centre_leader or principal.has(Role.ADMIN)):
        raise ApiError(403, "forbidden", T("publish_roles"))
    period = _period(body.period)
    start, end = month_bounds(period)
    audit = AuditService(ctx.service.client, ctx.engine, ctx.documents, ctx.trust_roots)
    late = await audit.late_in_period(since=start, until=end)
    snapshot = await asyncio.to_thread(snapshot_month, ctx.engine, ctx.catalog, period, late)
    try:
        return await asyncio.to_thread(
            publish_month,
            ctx.engine,
            snapshot,
            by=principal.sub,
            by_name=principal.name or principal.sub,
            reason=body.reason,
        )
    except PublicationError as exc:
        raise ApiError(409, exc.code, exc.args[0]) from None


@router.get(
    "/index/publications",
    response_model=list[PublicationSummary],
    summary="The revisions of a month's publication, the first first (empty: never published)",
)
async def revisions(
    principal: CurrentPrincipal,
    ctx: Context,
    period: Annotated[str, Query(description="the month, YYYY-MM")],
) -> list[PublicationSummary]:
    if not any(principal.has(r) for r in READERS):
        raise ApiError(403, "forbidden", T("index_roles"))
    rows = await asyncio.to_thread(publications, ctx.engine, _period(period))
    return [PublicationSummary.model_validate(r, from_attributes=True) for r in rows]


async def _published(ctx: Context, period: str, revision: int | None) -> PublishedMonth:
    try:
        return await asyncio.to_thread(published_month, ctx.engine, _period(period), revision)
    except NotPublished as exc:
        raise ApiError(404, "not_found", exc.args[0]) from None


REVISION = Query(ge=1, description="a revision (default: the latest)")


@public_router.get(
    "/public/index/{period}",
    response_model=PublishedMonth,
    summary="A published month of the service index (no token): the index, the late list with "
    "the responsible units and officials, every revision with its reason",
)
async def public_month(
    period: str, ctx: Context, revision: Annotated[int | None, REVISION] = None
) -> PublishedMonth:
    return await _published(ctx, period, revision)


@public_router.get(
    "/public/index/{period}/index.csv",
    responses={200: {"content": {"text/csv": {}}}},
    response_class=Response,
    summary="A published month's index as the portal's CSV (no token)",
)
async def public_index_csv(
    period: str, ctx: Context, revision: Annotated[int | None, REVISION] = None
) -> Response:
    month = await _published(ctx, period, revision)
    return _csv(
        month.current.snapshot.index_csv, f"chi-so-766-{period}-lan-{month.current.revision}"
    )


@public_router.get(
    "/public/index/{period}/late.csv",
    responses={200: {"content": {"text/csv": {}}}},
    response_class=Response,
    summary="A published month's late list as CSV (no token)",
)
async def public_late_csv(
    period: str, ctx: Context, revision: Annotated[int | None, REVISION] = None
) -> Response:
    month = await _published(ctx, period, revision)
    name = f"ho-so-tre-han-{period}-lan-{month.current.revision}"
    return _csv(month.current.snapshot.late_csv, name)


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
