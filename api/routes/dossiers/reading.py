"""Searching dossiers in the read model, and one dossier's live state."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated

from fastapi import Query
from sqlalchemy.exc import DBAPIError, DisconnectionError

from api.auth import CurrentPrincipal
from api.deps import AppContext, Context
from api.document_rows import document_out
from api.errors import ApiError
from api.messages import T
from api.privacy import row_shows_personal_data, shown_applicant, shown_name
from api.routes.dossiers._common import (
    OFFICER_ROLES,
    _not_visible,
    _readable_by_row,
    _refuse_unless_readable,
    _sees_personal_data,
    _service_error,
    log,
    router,
)
from api.schemas import DocumentOut, DossierList, DossierListItem, DossierOut
from domain.catalog import Role
from domain.dossier import DossierDetail, Status
from services.dossiers import ServiceError
from services.working_time import Countdowns
from store import repository
from store.schemas import DossierQuery


@router.get("", response_model=DossierList, summary="Search dossiers (from the read model)")
async def list_dossiers(
    principal: CurrentPrincipal,
    ctx: Context,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    procedure: Annotated[str | None, Query(max_length=20)] = None,
    agency: Annotated[str | None, Query(max_length=40)] = None,
    overdue: bool | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="part of the dossier code or of the applicant's name, or the "
            "applicant's whole ID number (names and ID numbers: for callers who may read "
            "them in clear)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> DossierList:
    query = DossierQuery(
        status=status_,
        procedure=procedure,
        agency=agency,
        overdue=overdue,
        received_from=received_from,
        received_to=received_to,
        q=q,
    )
    if principal.has(Role.AUDITOR) or principal.has(Role.ADMIN):
        # An administrator sees names masked: a search by name must not confirm one.
        query.q_matches_names = principal.has(Role.AUDITOR)
    elif any(principal.has(r) for r in OFFICER_ROLES):
        query.scope_agency = principal.agency
    elif principal.has(Role.APPLICANT):
        query.scope_account = principal.sub
    else:
        raise ApiError(403, "forbidden", T("list_forbidden"))
    try:
        page = await asyncio.to_thread(
            repository.list_dossiers, ctx.engine, query, limit=limit, cursor=cursor
        )
    except ValueError as exc:
        # The read model's own words name the query parameter; a bad cursor is the
        # caller's to fix, in their language.
        message = T("bad_cursor") if str(exc).startswith("cursor:") else str(exc)
        raise ApiError(422, "invalid", message) from None
    items = []
    countdowns = Countdowns(ctx.settings, ctx.catalog, ctx.clock())
    for row in page.items:
        item = DossierListItem.model_validate({**row.model_dump(), **countdowns.of_row(row)})
        item.applicant_name = shown_name(
            row.applicant_name, row_shows_personal_data(principal, row)
        )
        items.append(item)
    return DossierList(items=items, next_cursor=page.next_cursor)


@router.get("/{code}", response_model=DossierOut, summary="Live state of a dossier")
async def get_dossier(code: str, principal: CurrentPrincipal, ctx: Context) -> DossierOut:
    if await _readable_by_row(ctx, code, principal) is False:
        raise _not_visible(code, principal)  # without asking the engine
    try:
        found = await ctx.service.detail(code)
    except ServiceError as exc:
        raise _service_error(exc) from None
    view = found.view if isinstance(found, DossierDetail) else found
    _refuse_unless_readable(principal, view)
    applicant = None
    if isinstance(found, DossierDetail):
        applicant = shown_applicant(found.applicant, _sees_personal_data(principal, view))
    forms = await _issued_forms(ctx, code)
    left = Countdowns(ctx.settings, ctx.catalog, ctx.clock()).of_view(view)
    return DossierOut.model_validate(
        {**view.model_dump(), "applicant": applicant, "forms": forms, **left}
    )


async def _issued_forms(ctx: AppContext, code: str) -> list[DocumentOut]:
    """The forms the read model holds for the dossier (rendered, sealed and listed by the
    worker that records its events), for a caller who may read it, and so its documents.
    Empty while the database is away: the live view is the engine's and still answers."""
    try:
        rows = await asyncio.to_thread(repository.list_documents, ctx.engine, code)
    except (DBAPIError, DisconnectionError):
        log.warning("forms of %s not listed: database away", code)
        return []
    return [document_out(r) for r in rows if r.source == "form"]
