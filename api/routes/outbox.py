"""The notification outbox for administrators: what is pending, failed or sent, with
attempts and last errors (recipients masked); the same view as `motcua outbox list`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.auth import Principal, require_roles
from api.deps import Context, record_user
from api.errors import ERROR_RESPONSES
from domain.catalog import Role
from services.notify.status import OutboxStatus, outbox_status

router = APIRouter(
    tags=["notifications"], responses=ERROR_RESPONSES, dependencies=[Depends(record_user)]
)
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


@router.get(
    "/outbox",
    response_model=OutboxStatus,
    summary="Notifications (email, SMS, portal) by delivery state: administrators",
)
async def list_outbox(
    _principal: Admin,
    ctx: Context,
    state: Annotated[
        Literal["pending", "failed", "sent", "all"],
        Query(description="pending (neither sent nor given up), failed, sent, or all"),
    ] = "pending",
    channel: Annotated[str | None, Query(max_length=32, description="one channel")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="most notifications listed")] = 100,
) -> OutboxStatus:
    return await asyncio.to_thread(outbox_status, ctx.engine, state, channel=channel, limit=limit)
