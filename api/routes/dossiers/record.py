"""A dossier's record in the read model: who may read it, and its events."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from api.auth import CurrentPrincipal, Principal
from api.deps import AppContext, Context
from api.privacy import can_see_personal_data, row_shows_personal_data, shown_attempt, shown_event
from api.routes.dossiers._common import (
    _may_read,
    _not_visible,
    _row_agencies,
    _sees_personal_data,
    _visible_state,
    router,
)
from api.schemas import EventOut, EventsOut, RefusedAttemptOut
from store import repository


@dataclass(frozen=True)
class RecordAccess:
    """What a caller who may read a dossier's record gets."""

    in_read_model: bool  # False: just submitted, not projected yet
    personal_data: bool  # the applicant's personal data in clear (else masked)


async def record_access(ctx: AppContext, code: str, principal: Principal) -> RecordAccess:
    """May `principal` read the dossier's record, and its personal data in clear? Raises
    403/404 when it may not read it at all."""
    row = await asyncio.to_thread(repository.get_dossier, ctx.engine, code)
    agencies = None if row is None else _row_agencies(row)
    if row is not None and agencies is not None:
        # The row names every agency on the dossier: it decides, the engine is not asked.
        if not _may_read(principal, row.applicant_account, agencies):
            raise _not_visible(code, principal)
        return RecordAccess(
            in_read_model=True,
            personal_data=can_see_personal_data(
                principal, applicant_account=row.applicant_account, agencies=agencies
            ),
        )
    if row is not None:
        if row_shows_personal_data(principal, row):
            return RecordAccess(in_read_model=True, personal_data=True)
        agencies = {row.centre_agency, row.competent_agency, row.current_agency or ""}
        if _may_read(principal, row.applicant_account, agencies):  # an administrator
            return RecordAccess(in_read_model=True, personal_data=False)
    # Just submitted (not projected yet: the workflow decides, 404 if it does not exist),
    # or not by the row's three agencies: the workflow knows every step's, and decides.
    view = await _visible_state(ctx, code, principal, row_checked=True)
    return RecordAccess(
        in_read_model=row is not None, personal_data=_sees_personal_data(principal, view)
    )


async def readable_record(ctx: AppContext, code: str, principal: Principal) -> bool:
    """May `principal` read the dossier's record? Raises 403/404; False when the
    dossier exists but has not reached the read model yet."""
    return (await record_access(ctx, code, principal)).in_read_model


@router.get(
    "/{code}/events",
    response_model=EventsOut,
    summary="Every event, and every refused attempt (who tried what, and why it was refused)",
)
async def events(code: str, principal: CurrentPrincipal, ctx: Context) -> EventsOut:
    access = await record_access(ctx, code, principal)
    if not access.in_read_model:
        return EventsOut(code=code, events=[], refused_attempts=[])
    evs = await asyncio.to_thread(repository.list_events, ctx.engine, code)
    refused = await asyncio.to_thread(repository.list_refused_attempts, ctx.engine, code)
    return EventsOut(
        code=code,
        events=[
            shown_event(EventOut.model_validate(e, from_attributes=True), access.personal_data)
            for e in evs
        ],
        refused_attempts=[
            shown_attempt(
                RefusedAttemptOut.model_validate(r, from_attributes=True), access.personal_data
            )
            for r in refused
        ],
    )
