"""The citizen's voice (phản ánh, kiến nghị — PAKN): filing feedback or a complaint about a
dossier or the service, signed in or not (a counter tablet); the routed agency's officers
answering it; leaders' open list with countdowns; the published answers, the filer's
personal data masked (docs/authorization.md: the filer and the agency it is routed to
read it in clear; the public reads the answer only)."""

from __future__ import annotations

import asyncio
import hmac
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import Field

from api.auth import OFFICER_ROLES, AuthError, Principal, bearer_token, verify_request_token
from api.deps import Context, limit_tracking
from api.errors import ERROR_RESPONSES, STATUS_FOR_CODE, ApiError
from api.messages import T
from api.schemas import ApiModel
from domain.calendar import VIETNAM_TZ, TimeUnit
from domain.catalog import Role
from domain.feedback import ANSWERING_ROLES, FeedbackKind, FeedbackStatus, Filer
from domain.working_time import TimeLeft, left_until
from infra.privacy import mask_name
from services.dossiers import ServiceError
from services.feedback import FeedbackService
from services.working_time import reading_calendar
from store import repository
from store.models import DossierRow, FeedbackRow
from store.repository.feedback import feedback_events, get_feedback, list_feedback

router = APIRouter(tags=["feedback"], responses=ERROR_RESPONSES)
VN = ZoneInfo(VIETNAM_TZ)
ID_NUMBER = r"^\d{9,12}$"


async def optional_principal(request: Request) -> Principal | None:
    """The caller when a token (or the web session) comes with the request; None for a
    citizen who did not sign in (a counter tablet). A token that is not valid is refused."""
    token = bearer_token(request)
    if not token:
        return None
    try:
        return verify_request_token(request, token)
    except AuthError as e:
        raise ApiError(401, "unauthenticated", e.text) from None


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


class FeedbackFile(ApiModel):
    kind: FeedbackKind
    text: str = Field(min_length=1, max_length=5000)
    dossier_code: str | None = Field(
        default=None, max_length=40, description="the dossier it is about (none: the service)"
    )
    id_number: str | None = Field(
        default=None,
        pattern=ID_NUMBER,
        description="the filer's ID number; without signing in, the dossier applicant's "
        "(as tracking asks)",
    )
    name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=20, pattern=r"^\+?\d{8,15}$")
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    channel: Literal["online", "counter", "post"] = "online"
    received_at: datetime | None = Field(
        default=None,
        description="an item received by post or on paper, entered by the centre's intake "
        "officer: the day it was received (its deadline counts from then); with an offset",
    )


class FeedbackEventOut(ApiModel):
    kind: str
    at: datetime
    actor_id: str
    actor_role: str
    agency: str | None
    comment: str


class FeedbackOut(ApiModel):
    code: str
    kind: FeedbackKind
    kind_label: str
    text: str
    dossier_code: str | None
    agency: str
    status: FeedbackStatus
    status_label: str
    channel: str | None
    filed_at: datetime
    due_at: datetime
    time_left: TimeLeft | None = Field(description="to the deadline, while open")
    escalated_at: datetime | None
    answer: str | None
    answered_by_name: str | None
    answered_at: datetime | None
    published_at: datetime | None
    late: bool
    filer_name: str
    filer_masked: bool
    events: list[FeedbackEventOut] = Field(default_factory=list)


class PublishedFeedback(ApiModel):
    code: str
    kind: FeedbackKind
    kind_label: str
    text: str
    dossier_code: str | None
    agency: str
    filer_name: str = Field(description="masked")
    filed_at: datetime
    answer: str
    answered_at: datetime
    published_at: datetime


class AnswerIn(ApiModel):
    text: str = Field(min_length=1, max_length=10_000)


def _vn(at: datetime | None) -> datetime | None:
    return at.astimezone(VN) if at is not None else None


def _item(row: FeedbackRow) -> tuple[str, str, datetime]:
    assert row.code and row.agency and row.due_at
    return row.code, row.agency, row.due_at


def _out(ctx: Context, row: FeedbackRow, *, clear: bool, events: bool = False) -> FeedbackOut:
    code, agency, due = _item(row)
    now = ctx.clock()
    state = FeedbackStatus(row.status or FeedbackStatus.OPEN)
    left = None
    if state is FeedbackStatus.OPEN:
        left = left_until(reading_calendar(ctx.settings, now), now, TimeUnit.WORKING_DAYS, due)
    late = (row.answered_at or now) > due
    history = []
    if events:
        history = [
            FeedbackEventOut.model_validate(e, from_attributes=True)
            for e in feedback_events(ctx.engine, code)
        ]
    return FeedbackOut(
        code=code,
        kind=FeedbackKind(row.kind),
        kind_label=FeedbackKind(row.kind).label_vi,
        text=row.text,
        dossier_code=row.dossier_code,
        agency=agency,
        status=state,
        status_label=state.label_vi,
        channel=row.channel,
        filed_at=row.at.astimezone(VN),
        due_at=due.astimezone(VN),
        time_left=left,
        escalated_at=_vn(row.escalated_at),
        answer=row.answer,
        answered_by_name=row.answered_by_name,
        answered_at=_vn(row.answered_at),
        published_at=_vn(row.published_at),
        late=late,
        filer_name=row.filer_name if clear else mask_name(row.filer_name),
        filer_masked=not clear,
        events=history,
    )


def _officer_of(principal: Principal | None, agency: str) -> bool:
    return (
        principal is not None
        and principal.agency == agency
        and any(principal.has(r) for r in OFFICER_ROLES)
    )


def _filer(principal: Principal | None, row: FeedbackRow) -> bool:
    return principal is not None and bool(row.filer_account) and row.filer_account == principal.sub


def _service(ctx: Context) -> FeedbackService:
    return FeedbackService(ctx.service.client, ctx.engine, ctx.settings)


# How far back a paper item may be entered: its deadline has long passed by then.
PAPER_MAX_AGE = timedelta(days=366)


def _received_at(ctx: Context, body: FeedbackFile, principal: Principal | None) -> datetime | None:
    """The receipt day of an item that came on paper: only the centre's intake officer
    enters one, never in the future nor more than a year back."""
    if body.received_at is None:
        return None
    if (
        principal is None
        or not principal.has(Role.INTAKE_OFFICER)
        or principal.agency != ctx.settings.centre_agency
    ):
        raise ApiError(403, "forbidden", T("feedback_paper"))
    at = body.received_at
    now = ctx.clock()
    if at.tzinfo is None:
        raise ApiError(422, "invalid", T("instant_offset", name="received_at"))
    if at > now or at < now - PAPER_MAX_AGE:
        raise ApiError(422, "invalid", T("feedback_paper_day"))
    return at


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=status.HTTP_201_CREATED,
    summary="File feedback or a complaint (phản ánh, kiến nghị) about a dossier or the "
    "service, signed in or not",
    dependencies=[Depends(limit_tracking)],
)
async def file_feedback(body: FeedbackFile, ctx: Context, principal: MaybePrincipal) -> FeedbackOut:
    applicant = principal if principal is not None and principal.has(Role.APPLICANT) else None
    received_at = _received_at(ctx, body, principal)
    dossier: DossierRow | None = None
    if body.dossier_code is not None:
        dossier = await asyncio.to_thread(repository.get_dossier, ctx.engine, body.dossier_code)
        own = (
            dossier is not None
            and applicant is not None
            and dossier.applicant_account == applicant.sub
        )
        proved = (
            dossier is not None
            and body.id_number is not None
            and hmac.compare_digest(dossier.applicant_id_number.encode(), body.id_number.encode())
        )
        if not (own or proved):
            # One answer for "no such dossier" and "wrong ID number", as tracking gives.
            raise ApiError(404, "not_found", T("feedback_identity"))
    assert dossier is not None or body.dossier_code is None
    name = (
        body.name
        or (dossier.applicant_name if dossier else "")
        or (applicant.name if applicant else "")
    )
    id_number = body.id_number or (dossier.applicant_id_number if dossier else "")
    if applicant is None and not (name and id_number):
        raise ApiError(422, "invalid", T("feedback_contact"))
    filer = Filer(
        account=applicant.sub if applicant else None,
        name=name,
        id_number=id_number,
        phone=body.phone,
        email=body.email,
    )
    view = await _service(ctx).file(
        kind=body.kind,
        text=body.text,
        filer=filer,
        dossier=dossier,
        channel=body.channel,
        now=received_at,
    )
    row = await asyncio.to_thread(get_feedback, ctx.engine, view.code)
    if row is None:  # not recorded yet (a slow worker): the item is durable all the same
        raise ApiError(503, "unavailable", T("feedback_not_found", code=view.code))
    return _out(ctx, row, clear=True)


@router.get(
    "/feedback",
    response_model=list[FeedbackOut],
    summary="PAKN items: an agency's officers see theirs (open ones by deadline, with "
    "countdowns), an applicant their own, auditors every agency's",
)
async def list_items(
    ctx: Context,
    principal: MaybePrincipal,
    status_: Annotated[
        FeedbackStatus | None, Query(alias="status", description="open or answered")
    ] = FeedbackStatus.OPEN,
    agency: Annotated[str | None, Query(description="auditors: one agency")] = None,
) -> list[FeedbackOut]:
    if principal is None:
        raise ApiError(401, "unauthenticated", T("token_missing"))
    state = status_.value if status_ else None
    if principal.is_auditor:
        rows = await asyncio.to_thread(list_feedback, ctx.engine, agency=agency, status=state)
    elif any(principal.has(r) for r in OFFICER_ROLES) and principal.agency:
        rows = await asyncio.to_thread(
            list_feedback, ctx.engine, agency=principal.agency, status=state
        )
    elif principal.has(Role.APPLICANT):
        rows = await asyncio.to_thread(
            list_feedback, ctx.engine, filer_account=principal.sub, status=state
        )
    else:
        raise ApiError(403, "forbidden", T("feedback_leaders"))
    return [_out(ctx, r, clear=True) for r in rows]


@router.get(
    "/public/feedback",
    response_model=list[PublishedFeedback],
    tags=["public"],
    summary="The published answers to PAKN items, the filer's name masked and no contacts",
)
async def published(ctx: Context) -> list[PublishedFeedback]:
    rows = await asyncio.to_thread(list_feedback, ctx.engine, published=True)
    out = []
    for r in rows:
        code, agency, _ = _item(r)
        assert r.answer is not None and r.answered_at and r.published_at
        out.append(
            PublishedFeedback(
                code=code,
                kind=FeedbackKind(r.kind),
                kind_label=FeedbackKind(r.kind).label_vi,
                text=r.text,
                dossier_code=r.dossier_code,
                agency=agency,
                filer_name=mask_name(r.filer_name),
                filed_at=r.at.astimezone(VN),
                answer=r.answer,
                answered_at=r.answered_at.astimezone(VN),
                published_at=r.published_at.astimezone(VN),
            )
        )
    return out


@router.get(
    "/feedback/{code}",
    response_model=FeedbackOut,
    summary="One PAKN item with its history: its filer (signed in, or with their ID "
    "number), the routed agency's officers, auditors",
)
async def read_item(
    code: str,
    ctx: Context,
    request: Request,
    principal: MaybePrincipal,
    id_number: Annotated[str | None, Query(pattern=ID_NUMBER)] = None,
) -> FeedbackOut:
    if principal is None:
        # Without a token, as tracking: counted per address (it slows guessing).
        await limit_tracking(ctx, request)
    row = await asyncio.to_thread(get_feedback, ctx.engine, code)
    if row is None or row.agency is None:
        raise ApiError(404, "not_found", T("feedback_not_found", code=code))
    proved = id_number is not None and hmac.compare_digest(
        row.filer_id_number.encode(), id_number.encode()
    )
    auditor = principal is not None and principal.is_auditor
    if not (proved or auditor or _filer(principal, row) or _officer_of(principal, row.agency)):
        raise ApiError(404, "not_found", T("feedback_not_found", code=code))
    return await asyncio.to_thread(_out, ctx, row, clear=True, events=True)


@router.post(
    "/feedback/{code}/answer",
    response_model=FeedbackOut,
    summary="A specialist or leader of the agency the item is routed to answers it; the "
    "answer is published and sent to the filer",
)
async def answer_item(
    code: str, body: AnswerIn, ctx: Context, principal: MaybePrincipal
) -> FeedbackOut:
    if principal is None:
        raise ApiError(401, "unauthenticated", T("token_missing"))
    row = await asyncio.to_thread(get_feedback, ctx.engine, code)
    if row is None or row.agency is None:
        raise ApiError(404, "not_found", T("feedback_not_found", code=code))
    role = next((r for r in reversed(ANSWERING_ROLES) if principal.has(r)), None)
    if role is None or principal.agency != row.agency:
        if not (_officer_of(principal, row.agency) or _filer(principal, row)):
            raise ApiError(404, "not_found", T("feedback_not_found", code=code))
        raise ApiError(403, "forbidden", T("feedback_answerer", agency=row.agency))
    if row.status == FeedbackStatus.ANSWERED:
        raise ApiError(409, "wrong_step", T("feedback_answered", code=code))
    try:
        await _service(ctx).answer(code, principal.actor_for(role), body.text)
    except ServiceError as exc:
        if exc.code == "forbidden":
            raise ApiError(403, "forbidden", T("feedback_answerer", agency=row.agency)) from None
        if exc.code == "wrong_step":
            raise ApiError(409, "wrong_step", T("feedback_answered", code=code)) from None
        raise ApiError(STATUS_FOR_CODE.get(exc.code, 400), exc.code, exc.message) from None
    fresh = await asyncio.to_thread(get_feedback, ctx.engine, code)
    assert fresh is not None
    return await asyncio.to_thread(_out, ctx, fresh, clear=True, events=True)
