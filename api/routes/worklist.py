"""The officer's worklist: what the caller's roles and agency must act on now, filtered
(procedure, status, due today, overdue, assigned to me or to nobody, the leader's whole
unit), sorted (most urgent first by default), paged with the total, and searched (code,
applicant's name, exact ID number); and the agency's officers, whom a leader assigns a
step to. The web console's queue is this list."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.auth import OFFICER_ROLES, CurrentPrincipal, Principal
from api.deps import Context, record_user
from api.errors import ERROR_RESPONSES, ApiError
from api.messages import T
from api.privacy import can_see_personal_data, row_shows_personal_data, shown_name
from api.schemas import OfficerOut, Officers, Worklist, WorklistItem
from domain.catalog import Role
from domain.dossier import Status
from services.working_time import Countdowns
from store import repository
from store.schemas import WorklistQuery, WorklistSort

router = APIRouter(
    tags=["dossiers"], responses=ERROR_RESPONSES, dependencies=[Depends(record_user)]
)


@router.get(
    "/worklist",
    response_model=Worklist,
    summary="The dossiers the caller's roles and agency must act on now: filtered, sorted "
    "(most urgent first by default) and paged, with the total",
)
async def worklist(
    principal: CurrentPrincipal,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=200, description="dossiers on this page")] = 100,
    offset: Annotated[int, Query(ge=0, description="how many to skip (the page's start)")] = 0,
    procedure: Annotated[str | None, Query(max_length=50, description="procedure code")] = None,
    status: Annotated[Status | None, Query()] = None,
    due: Annotated[
        Literal["today", "overdue"] | None,
        Query(
            description="today: the step's due time or the appointment is later today "
            "(Vietnam); overdue: past the appointment, or the step past its due time"
        ),
    ] = None,
    assigned: Annotated[
        Literal["me", "unassigned"] | None,
        Query(description="me: the step is assigned to the caller; unassigned: to nobody"),
    ] = None,
    scope: Annotated[
        Literal["mine", "unit"],
        Query(
            description="mine: the steps of the caller's roles; unit (leaders): every open "
            "dossier whose current step is at the caller's agency, whatever its role"
        ),
    ] = "mine",
    sort: Annotated[
        WorklistSort,
        Query(
            description="urgency (overdue, then the step's due time, then the appointment), "
            "due (the step's), appointment, received, code; '-' before it: descending"
        ),
    ] = "urgency",
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="part of the dossier code or of the applicant's name, or the "
            "applicant's whole ID number (9 or 12 digits)",
        ),
    ] = None,
) -> Worklist:
    roles = [r.value for r in principal.roles if r in OFFICER_ROLES]
    if not roles or principal.agency is None:
        raise ApiError(403, "forbidden", T("worklist_officers"))
    if scope == "unit" and not principal.has(Role.LEADER):
        raise ApiError(403, "forbidden", T("worklist_unit_leaders"))
    # Every dossier on an officer's worklist is at their agency (its current step's, or
    # the centre's handoff), so they may read its applicant's name and ID number: the
    # search matches them (api/privacy.py, the same rule as each row's name below).
    personal = can_see_personal_data(principal, applicant_account=None, agencies=[principal.agency])
    query = WorklistQuery(
        procedure=procedure,
        status=status,
        due_today=due == "today",
        overdue=due == "overdue",
        assignee=principal.sub if assigned == "me" else None,
        unassigned=assigned == "unassigned",
        unit=scope == "unit",
        q=q,
        q_matches_personal=personal,
        sort=sort,
    )
    items, total = await asyncio.to_thread(
        repository.worklist,
        ctx.engine,
        principal.agency,
        roles,
        limit=limit,
        offset=offset,
        query=query,
    )
    out = []
    countdowns = Countdowns(ctx.settings, ctx.catalog, ctx.clock())
    for row in items:
        item = WorklistItem.model_validate({**row.model_dump(), **countdowns.of_row(row)})
        item.applicant_name = shown_name(
            row.applicant_name, row_shows_personal_data(principal, row)
        )
        if row.current_step_id:
            item.current_step_name = ctx.catalog.step_name(
                row.procedure_code, row.procedure_version, row.current_step_id
            )
        out.append(item)
    after = offset + len(out)
    return Worklist(
        agency=principal.agency,
        roles=roles,
        items=out,
        total=total,
        offset=offset,
        limit=limit,
        next_offset=after if after < total else None,
    )


def _officer_agency(principal: Principal) -> str:
    if principal.agency is None or not any(principal.has(r) for r in OFFICER_ROLES):
        raise ApiError(403, "forbidden", T("officers_list_officers"))
    return principal.agency


@router.get(
    "/officers",
    response_model=Officers,
    summary="The officers of the caller's agency (those who have signed in), by name: "
    "whom a leader may assign a step to",
)
async def officers(
    principal: CurrentPrincipal,
    ctx: Context,
    role: Annotated[Role | None, Query(description="only officers with this role")] = None,
) -> Officers:
    agency = _officer_agency(principal)
    rows = await asyncio.to_thread(
        repository.officers_of, ctx.engine, agency, role.value if role else None
    )
    people = [
        OfficerOut(sub=r.sub, name=r.name, roles=list(r.roles))
        for r in rows
        if any(x in {o.value for o in OFFICER_ROLES} for x in r.roles)
    ]
    return Officers(agency=agency, officers=people)
