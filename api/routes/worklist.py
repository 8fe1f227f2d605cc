"""The officer's worklist: what the caller's roles and agency must act on now, most
urgent first. The web console's queue is this list."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import OFFICER_ROLES, CurrentPrincipal
from api.deps import Context, record_user
from api.errors import ERROR_RESPONSES, ApiError
from api.privacy import row_shows_personal_data, shown_name
from api.schemas import Worklist, WorklistItem
from store import repository

router = APIRouter(
    tags=["dossiers"], responses=ERROR_RESPONSES, dependencies=[Depends(record_user)]
)


@router.get(
    "/worklist",
    response_model=Worklist,
    summary="The dossiers the caller's roles and agency must act on now, most urgent first",
)
async def worklist(
    principal: CurrentPrincipal,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> Worklist:
    roles = [r.value for r in principal.roles if r in OFFICER_ROLES]
    if not roles or principal.agency is None:
        raise ApiError(403, "forbidden", "only officers of an agency have a worklist")
    items, total = await asyncio.to_thread(
        repository.worklist, ctx.engine, principal.agency, roles, limit=limit
    )
    out = []
    for row in items:
        item = WorklistItem.model_validate(row, from_attributes=True)
        item.applicant_name = shown_name(
            row.applicant_name, row_shows_personal_data(principal, row)
        )
        if row.current_step_id:
            item.current_step_name = ctx.catalog.step_name(
                row.procedure_code, row.procedure_version, row.current_step_id
            )
        out.append(item)
    return Worklist(agency=principal.agency, roles=roles, items=out, total=total)
