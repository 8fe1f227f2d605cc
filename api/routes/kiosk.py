"""The counter's kiosk: a tablet at each counter where an applicant who came in person
rates the service, without a login (Decision 766 index, satisfaction figure).

What binds a rating to its dossier is the receipt (Form 01): it prints the dossier code
and the rating code (domain/ratings.py), an HMAC of the code that only the receipt's
holder has, so a stranger who knows a dossier code cannot rate it. A wrong rating code and
an unknown dossier get the same answer, and the routes count against the public tracking
limit per client address (which also slows guessing). As for a signed-in applicant, a
rating is taken once the result is returned; every rating is kept, the latest counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import Field

from api.deps import Context, limit_tracking
from api.errors import ERROR_RESPONSES, ApiError
from api.messages import T
from api.schemas import ApiModel
from domain.dossier import Status
from domain.machine.messages import status as status_text
from domain.ratings import matches
from store import repository
from store.models import DossierRow, RatingRow

router = APIRouter(
    prefix="/kiosk",
    tags=["public"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(limit_tracking)],
)

KIOSK = "kiosk"  # who rated: the counter's tablet (the person is not known by name)


class KioskDossier(ApiModel):
    code: str
    procedure_name: str
    status: str
    status_label: str
    can_rate: bool = Field(description="the result has been returned: a rating is taken")
    ratings: int = Field(description="ratings given so far (the latest counts)")


class KioskRatingIn(ApiModel):
    code: str = Field(min_length=1, max_length=64, description="the dossier code")
    rating_code: str = Field(
        min_length=1, max_length=32, description="the rating code printed on the receipt"
    )
    rating: Literal["like", "neutral", "dislike"]
    comment: str = Field(default="", max_length=2000)


class KioskRated(ApiModel):
    dossier_code: str
    at: datetime
    ratings: int = Field(description="ratings of the dossier kept, this one included")


async def _dossier(ctx: Context, code: str, rating_code: str) -> DossierRow:
    row = await asyncio.to_thread(repository.get_dossier, ctx.engine, code)
    key = ctx.settings.rating_key()
    if row is None or not matches(key, code, rating_code):
        raise ApiError(404, "not_found", T("kiosk_no_match"))
    return row


@router.get(
    "/dossiers/{code}",
    response_model=KioskDossier,
    summary="The kiosk: the dossier a receipt names (its code and rating code), to rate it",
)
async def kiosk_dossier(
    code: str,
    ctx: Context,
    rating_code: Annotated[str, Query(min_length=1, max_length=32, description="on the receipt")],
) -> KioskDossier:
    row = await _dossier(ctx, code, rating_code)
    state = Status(row.status)
    history = await asyncio.to_thread(repository.rating_history, ctx.engine, code)
    return KioskDossier(
        code=row.code,
        procedure_name=row.procedure_name,
        status=state.value,
        status_label=state.label_vi,
        can_rate=state is Status.RETURNED,
        ratings=len(history),
    )


@router.post(
    "/ratings",
    response_model=KioskRated,
    status_code=status.HTTP_201_CREATED,
    summary="The kiosk: rate the service of a returned dossier with its receipt's codes",
)
async def kiosk_rate(body: KioskRatingIn, ctx: Context) -> KioskRated:
    row = await _dossier(ctx, body.code, body.rating_code)
    state = Status(row.status)
    if state is not Status.RETURNED:
        raise ApiError(
            409, "wrong_step", T("rate_not_returned", code=row.code, status=status_text(state))
        )
    at = datetime.now(UTC)
    rating = RatingRow(
        dossier_code=row.code, rating=body.rating, comment=body.comment, by=KIOSK, at=at
    )
    await asyncio.to_thread(repository.rate_dossier, ctx.engine, rating, source=KIOSK)
    history = await asyncio.to_thread(repository.rating_history, ctx.engine, row.code)
    return KioskRated(dossier_code=row.code, at=at, ratings=len(history))
