"""Dossiers: submission, live state, lists from the read model, actions, events."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError

from api.auth import CurrentPrincipal, Principal
from api.bodies import body_policy
from api.deps import AppContext, Context, limit_submissions, record_user
from api.errors import ERROR_RESPONSES, STATUS_FOR_CODE, ApiError
from api.privacy import (
    can_see_personal_data,
    row_shows_personal_data,
    shown_applicant,
    shown_attempt,
    shown_event,
    shown_name,
)
from api.schemas import (
    ActionRequest,
    DocumentIn,
    DossierCreated,
    DossierList,
    DossierListItem,
    DossierOut,
    EventOut,
    EventsOut,
    Link,
    RefusedAttemptOut,
    SubmitDossier,
    SupplementRequest,
    WithdrawRequest,
)
from api.uploads import Uploads, read_body, request_body_doc
from domain.catalog import Role
from domain.dossier import (
    Action,
    ActionInput,
    Actor,
    DocumentRef,
    DossierDetail,
    DossierView,
    Status,
)
from motcua.docstore import UploadRefused, validate_upload
from motcua.service import ServiceError, SubmitRequest
from store import repository
from store.models import DossierRow
from store.schemas import DossierQuery, IdempotencyState

log = logging.getLogger("motcua.api")

router = APIRouter(
    prefix="/dossiers",
    tags=["dossiers"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(record_user)],
)

# A key claimed this long ago whose request never named a dossier (its process died
# between the claim and reserving the code) is taken over by the next request with it.
IDEMPOTENCY_CLAIM_STALE = timedelta(seconds=10)

OFFICER_ROLES = {
    Role.INTAKE_OFFICER,
    Role.SPECIALIST,
    Role.LEADER,
    Role.SIGNER,
    Role.RETURN_OFFICER,
}


def _service_error(exc: ServiceError) -> ApiError:
    return ApiError(STATUS_FOR_CODE.get(exc.code, 400), exc.code, exc.message)


def _may_read(principal: Principal, applicant_account: str | None, agencies: set[str]) -> bool:
    # Whoever sees the dossier's personal data reads it; so do administrators, who see
    # the personal data masked (api/privacy.py, docs/personal-data.md).
    return principal.has(Role.ADMIN) or can_see_personal_data(
        principal, applicant_account=applicant_account, agencies=agencies
    )


def _view_agencies(view: DossierView) -> set[str]:
    return {view.centre_agency, view.competent_agency, *(s.agency for s in view.steps)}


def _not_visible(code: str, principal: Principal) -> ApiError:
    return ApiError(
        403,
        "forbidden",
        f"dossier {code} is not visible to {principal.sub}: "
        "officers see their agency's dossiers, applicants their own",
    )


def _refuse_unless_readable(principal: Principal, view: DossierView) -> None:
    if not _may_read(principal, view.applicant_account, _view_agencies(view)):
        raise _not_visible(view.code, principal)


def _row_agencies(row: DossierRow) -> set[str] | None:
    """Every agency on the dossier, from its read-model row: the same set as
    `_view_agencies` (None: a row projected before it kept its steps' agencies)."""
    if row.step_agencies is None:
        return None
    return {row.centre_agency, row.competent_agency, *row.step_agencies}


async def _readable_by_row(ctx: AppContext, code: str, principal: Principal) -> bool | None:
    """May `principal` read the dossier, decided from its read-model row alone, without
    asking the engine? None when the row cannot tell: not projected yet (just
    submitted), projected before it kept its steps' agencies, or the database is away:
    then the engine decides, for everyone, as before."""
    try:
        row = await asyncio.to_thread(repository.get_dossier, ctx.engine, code)
    except (DBAPIError, DisconnectionError):
        return None
    if row is None:
        return None
    agencies = _row_agencies(row)
    if agencies is None:
        return None
    return _may_read(principal, row.applicant_account, agencies)


# The reason recorded for an attempt refused because its caller may not see the dossier
# (the caller is told only "not visible", as before).
NOT_VISIBLE_REASON = "hồ sơ không thuộc phạm vi được xem của cơ quan (hoặc tài khoản) người gửi"


async def _record_not_visible(
    ctx: AppContext,
    code: str,
    principal: Principal,
    action: Action,
    role: Role | None,
    comment: str,
    data: dict[str, object],
) -> None:
    """Record an attempt by a caller who may not see the dossier, for the auditors: who,
    in which role, what, when (docs/authorization.md, Refusals)."""
    if not principal.roles:
        return
    acting = role if role is not None and principal.has(role) else principal.roles[0]
    cmd = ActionInput(actor=principal.actor_for(acting), comment=comment, data=data)
    try:
        await ctx.service.record_refusal(code, action, cmd, "forbidden", NOT_VISIBLE_REASON)
    except (DBAPIError, DisconnectionError):
        # The answer is the same 403 either way; the database is away (logged).
        log.warning("refused attempt of %s on %s not recorded: database away", principal.sub, code)


def _sees_personal_data(principal: Principal, view: DossierView) -> bool:
    return can_see_personal_data(
        principal, applicant_account=view.applicant_account, agencies=_view_agencies(view)
    )


async def _visible_state(
    ctx: AppContext, code: str, principal: Principal, *, row_checked: bool = False
) -> DossierView:
    """The dossier's state, for a caller who may read it: one who may not is turned
    away by the read model when its row can tell (`_readable_by_row`), before the engine
    is asked; else by the state. `row_checked`: the caller asked the row already."""
    if not row_checked and await _readable_by_row(ctx, code, principal) is False:
        raise _not_visible(code, principal)
    try:
        view = await ctx.service.state(code)
    except ServiceError as exc:
        raise _service_error(exc) from None
    _refuse_unless_readable(principal, view)
    return view


def _may_reference(ctx: AppContext, principal: Principal, sha256: str) -> bool:
    """May `principal` name the file `sha256` by its hash, instead of sending it? Only a
    file they may already read: a document (upload, form, result) of a dossier they may
    read, by the rule that lets them read it (`_may_read` over every agency on the
    dossier, from its read-model row): the applicant's own dossiers, those of an
    officer's agency. Else anyone who learnt a hash (events, audit views and logs show
    them) would get the file it names (documents of their own dossier are theirs to
    download)."""
    everyone = principal.is_admin or principal.is_auditor
    account = principal.sub if principal.has(Role.APPLICANT) else None
    officer = any(principal.has(r) for r in OFFICER_ROLES)
    if not everyone and account is None and not officer:
        return False
    # An officer's agency may be any step's, which the row keeps as a list: judged here.
    rows = repository.dossiers_holding(
        ctx.engine, sha256, account=account if not (everyone or officer) else None
    )
    return any(
        _may_read(
            principal,
            row.applicant_account,
            _row_agencies(row)
            or {row.centre_agency, row.competent_agency, row.current_agency or ""},
        )
        for row in rows
    )


def _check_documents(ctx: AppContext, docs: list[DocumentIn], principal: Principal) -> None:
    """Size, then type and content of each file sent (`validate_upload`), and that a
    document named by its hash is a file the caller may already read (`_may_reference`);
    all checked before anything is stored or submitted. A hash the caller may not read
    is answered exactly as one the centre does not hold."""
    limit = ctx.settings.max_upload_bytes
    allowed = ctx.settings.upload_media_types
    for i, d in enumerate(docs):
        size = len(d.content()) if d.content_base64 is not None else 0
        if size > limit:
            raise ApiError(
                413,
                "too_large",
                f"documents.{i} ({d.filename}): tệp {_count(size)} byte, quá giới hạn "
                f"{_count(limit)} byte mỗi tệp",
            )
    for i, d in enumerate(docs):
        where = f"documents.{i} ({d.filename})"
        if d.content_base64 is None:
            assert d.sha256 is not None
            if not (_may_reference(ctx, principal, d.sha256) and ctx.documents.has(d.sha256)):
                raise ApiError(
                    422,
                    "invalid",
                    f"{where}: không có tệp nào có sha256 {d.sha256} mà bạn được phép "
                    "dùng lại (chỉ dùng lại được tệp thuộc hồ sơ mà bạn được xem); "
                    "hãy gửi nội dung tệp trong content_base64",
                )
            continue
        try:
            validate_upload(d.content(), d.filename, allowed)
        except UploadRefused as exc:
            raise ApiError(exc.status, exc.code, f"{where}: {exc}") from None


def _count(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _store_documents(
    ctx: AppContext, docs: list[DocumentIn], principal: Principal, uploads: Uploads | None = None
) -> list[DocumentRef]:
    # Files sent as multipart parts (api/uploads.py) come last in `docs`, named by the
    # sha256 they were staged under; their size and content were checked as they arrived.
    _check_documents(ctx, [d for d in docs if not d.uploaded], principal)
    if uploads is not None:
        uploads.commit(ctx.documents)
    refs = []
    for d in docs:
        ref = d.ref()
        if d.content_base64 is not None:
            ctx.documents.put(d.content(), ref.sha256)
        refs.append(ref)
    return refs


def _created(view: DossierView) -> DossierCreated:
    base = f"/v1/dossiers/{view.code}"
    return DossierCreated(
        code=view.code,
        status=view.status,
        status_code=view.status_code,
        submitted_at=view.submitted_at,
        appointment_at=view.appointment_at,
        links={
            "self": Link(href=base),
            "actions": Link(href=f"{base}/actions", method="POST"),
            "events": Link(href=f"{base}/events"),
            "track": Link(href=f"/v1/track/{view.code}"),
        },
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DossierCreated,
    summary="Submit a dossier (applicant online, or an intake officer at the counter)",
    dependencies=[Depends(limit_submissions)],
    responses={
        200: {"model": DossierCreated, "description": "Same Idempotency-Key: the same dossier"}
    },
    openapi_extra=request_body_doc(SubmitDossier),
)
@body_policy(multipart=True)
async def submit_dossier(
    request: Request,
    principal: CurrentPrincipal,
    ctx: Context,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> DossierCreated:
    """A SubmitDossier as JSON, or as multipart/form-data: its JSON in the part `dossier`
    and each file in a part named by its document kind (api/uploads.py)."""
    if principal.has(Role.INTAKE_OFFICER):
        role = Role.INTAKE_OFFICER
    elif principal.has(Role.APPLICANT):
        role = Role.APPLICANT
    else:
        raise ApiError(
            403, "forbidden", "only an applicant or an intake officer may submit a dossier"
        )
    actor = principal.actor_for(role)
    # Read once the caller may submit at all (the token and the limits come first).
    body, uploads = await read_body(request, SubmitDossier, ctx.settings, ctx.documents)
    try:
        return await _submit(ctx, body, uploads, principal, role, actor, response, idempotency_key)
    finally:
        if uploads is not None:
            uploads.discard()  # what was not stored: a refused request keeps nothing


async def _submit(
    ctx: AppContext,
    body: SubmitDossier,
    uploads: Uploads | None,
    principal: Principal,
    role: Role,
    actor: Actor,
    response: Response,
    idempotency_key: str | None,
) -> DossierCreated:
    account = principal.sub if role is Role.APPLICANT else None
    try:
        refs = [d.ref() for d in body.documents]
        req = SubmitRequest(
            procedure_code=body.procedure_code,
            applicant=body.applicant.to_domain(account),
            channel=body.channel,
            documents=refs,
            centre_agency=body.centre_agency,
            remote_area=body.remote_area,
        )
        ctx.service.validate_submission(req, actor)
    except ServiceError as exc:
        raise _service_error(exc) from None
    except ValueError as exc:
        raise ApiError(422, "invalid", str(exc)) from None

    if idempotency_key is None:
        try:
            await asyncio.to_thread(_store_documents, ctx, body.documents, principal, uploads)
            view = await ctx.service.submit(req, actor)
        except ServiceError as exc:
            raise _service_error(exc) from None
        response.headers["Location"] = f"/v1/dossiers/{view.code}"
        return _created(view)

    # With a key, the dossier code is bound to the key before the workflow starts, so a
    # request that dies on the way (the process killed) leaves either a key still
    # claimed but no dossier (taken over once stale) or a key naming a code whose
    # workflow a retry starts (if the dead request had not): never a dossier the key
    # does not name, never two.
    digest = hashlib.sha256(
        json.dumps([role.value, body.model_dump(mode="json")], sort_keys=True).encode()
    ).hexdigest()
    key, sub = idempotency_key, principal.sub
    claim = await asyncio.to_thread(
        repository.claim_idempotency_key,
        ctx.engine,
        key,
        sub,
        digest,
        stale_after=IDEMPOTENCY_CLAIM_STALE,
    )
    if claim.state is IdempotencyState.MISMATCH:
        raise ApiError(422, "invalid", "Idempotency-Key was already used with a different body")
    if claim.state is IdempotencyState.IN_PROGRESS:
        raise ApiError(409, "conflict", "a request with this Idempotency-Key is still in progress")
    if claim.state is IdempotencyState.COMPLETED:
        response.status_code = status.HTTP_200_OK
        return await _started(ctx, req, actor, body, claim.dossier_code, principal, uploads)
    try:
        await asyncio.to_thread(_store_documents, ctx, body.documents, principal, uploads)
        code = await ctx.service.allocate_code(req)
    except BaseException as exc:
        await asyncio.to_thread(repository.release_idempotency_key, ctx.engine, key, sub)
        if isinstance(exc, ServiceError):
            raise _service_error(exc) from None
        raise
    try:
        await asyncio.to_thread(repository.complete_idempotency_key, ctx.engine, key, sub, code)
    except (ValueError, LookupError):
        # This request was slow: its claim was taken over meanwhile (and bound to another
        # code, or released); the code it reserved goes unused.
        again = await asyncio.to_thread(
            repository.claim_idempotency_key, ctx.engine, key, sub, digest
        )
        if again.state is IdempotencyState.NEW:  # released: not this request's to take now
            await asyncio.to_thread(repository.release_idempotency_key, ctx.engine, key, sub)
        response.status_code = status.HTTP_200_OK
        return await _started(ctx, req, actor, body, again.dossier_code, principal, uploads)
    try:
        view = await ctx.service.submit(req, actor, code=code)
    except ServiceError as exc:
        raise _service_error(exc) from None
    response.headers["Location"] = f"/v1/dossiers/{code}"
    return _created(view)


async def _started(
    ctx: AppContext,
    req: SubmitRequest,
    actor: Actor,
    body: SubmitDossier,
    code: str | None,
    principal: Principal,
    uploads: Uploads | None = None,
) -> DossierCreated:
    """The dossier a key names: started now if no request has started it yet (the one
    that reserved its code died first); one whose workflow is gone (past Temporal's
    retention: the read model has it) is not started again."""
    if code is None:  # a claim still open: only a request that reserved no code yet
        raise ApiError(409, "conflict", "a request with this Idempotency-Key is still in progress")
    try:
        try:
            return _created(await ctx.service.state(code))
        except ServiceError as exc:
            if exc.code != "not_found":
                raise
            if await asyncio.to_thread(repository.get_dossier, ctx.engine, code) is not None:
                raise
        await asyncio.to_thread(_store_documents, ctx, body.documents, principal, uploads)
        return _created(await ctx.service.submit(req, actor, code=code))
    except ServiceError as exc:
        raise _service_error(exc) from None


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
    q: Annotated[str | None, Query(max_length=100)] = None,
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
        raise ApiError(403, "forbidden", "your roles may not list dossiers")
    try:
        page = await asyncio.to_thread(
            repository.list_dossiers, ctx.engine, query, limit=limit, cursor=cursor
        )
    except ValueError as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    items = []
    for row in page.items:
        item = DossierListItem.model_validate(row, from_attributes=True)
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
    return DossierOut.model_validate({**view.model_dump(), "applicant": applicant})


def _acting_role(
    principal: Principal, body_role: Role | None, action: Action, view: DossierView
) -> Role:
    if body_role is not None:
        if not principal.has(body_role):
            raise ApiError(
                403, "forbidden", f"your token does not carry the role {body_role.value}"
            )
        return body_role
    for allowed in view.allowed_actions:
        if (
            allowed.action is action
            and principal.has(allowed.role)
            and (allowed.agency is None or allowed.agency == principal.agency)
        ):
            return allowed.role
    return principal.roles[0]


# How long an action waits for an automatic handoff in flight (the receiving agency's
# worker acknowledges it within moments; seconds under load) before answering 409.
HANDOFF_WAIT_SECONDS = 15.0


async def _past_automatic_handoff(ctx: AppContext, code: str, view: DossierView) -> DossierView:
    """An automatic handoff is acknowledged by the receiving agency's worker within
    moments; an officer acting right after acceptance should not get a 409 for that.
    Whether one is due or in flight is the engine's own rule (`handoff_pending`, from
    `DossierMachine.pending_handoff`, which the workflow's validators wait on too)."""
    deadline = asyncio.get_running_loop().time() + HANDOFF_WAIT_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        if not view.handoff_pending:
            return view
        await asyncio.sleep(0.1)
        try:
            view = await ctx.service.state(code, open_=True)  # a handoff is pending
        except ServiceError as exc:
            raise _service_error(exc) from None
    return view


# Refusals of an action sent straight to the workflow that `_act` explains from the
# dossier's state (to whom, and whether a handoff in flight is worth waiting out).
_ASK_AGAIN = frozenset(
    {"forbidden", "wrong_step", "handoff_in_flight", "closed", "invalid", "not_found"}
)


def _role_without_reading(principal: Principal, body_role: Role | None) -> Role | None:
    """The role a caller acts in when the dossier's state is not needed to tell it: the
    one named in the request, or the token's only role."""
    if body_role is not None:
        return body_role if principal.has(body_role) else None
    return principal.roles[0] if len(principal.roles) == 1 else None


async def _visible_state_or_record(
    ctx: AppContext,
    code: str,
    principal: Principal,
    action: Action,
    role: Role | None,
    comment: str,
    data: dict[str, object],
) -> DossierView:
    """`_visible_state` (the row asked already), recording the attempt of a caller who
    may not see the dossier."""
    try:
        return await _visible_state(ctx, code, principal, row_checked=True)
    except ApiError as exc:
        if exc.status == 403:
            await _record_not_visible(ctx, code, principal, action, role, comment, data)
        raise


async def _act(
    ctx: AppContext,
    code: str,
    principal: Principal,
    action: Action,
    comment: str,
    data: dict[str, object],
    role: Role | None = None,
    view: DossierView | None = None,
    *,
    expected_step: str | None = None,
    update_id: str | None = None,
    readable: bool | None = None,
) -> DossierView:
    """Take an action for `principal`.

    First the read model: a caller who may not see the dossier (its row names every
    agency on it, and its applicant) gets 403 "not visible", recorded, without the
    engine being asked anything. The row cannot tell only for a dossier not projected
    yet (just submitted): then the engine's state decides, as below. (`readable`: the
    caller already asked the row.)

    Then straight to the workflow, when the caller's role is known without reading
    the dossier: the update's validator authorises the actor (role, agency, the
    applicant's own account), and anyone it lets act may read the dossier, so reading
    the state first would only cost a query (a workflow task and a server round trip;
    docs/benchmarks.md). The workflow also waits for an automatic handoff in flight.

    Refused: the state is read, so that a caller who may not see the dossier gets 403
    "not visible" whatever the engine said (recorded); a caller who may see it gets the
    engine's refusal, recorded, unless an automatic handoff is in flight, or was when the
    engine refused (`handoff_in_flight`: it may have landed since), which the careful way
    below waits out before asking again (the engine refuses in its validator, before
    anything is written, or in its handler, before the action is taken, so asking
    again is safe).

    The role not known so: the careful way, as the action was always taken. Read the
    state, wait out an automatic handoff, pick the role of an officer with several, act,
    and record a refusal.

    `expected_step` goes to the workflow's validator (refused there, atomically with the
    action, when the dossier is no longer at that step); `update_id` (from the request's
    Idempotency-Key) lets Temporal run the action once however often it is sent."""
    if view is None and readable is None:
        readable = await _readable_by_row(ctx, code, principal)
    if readable is False:
        await _record_not_visible(ctx, code, principal, action, role, comment, data)
        raise _not_visible(code, principal)
    request_id = update_id
    if view is None and (direct := _role_without_reading(principal, role)) is not None:
        cmd = ActionInput(
            actor=principal.actor_for(direct),
            comment=comment,
            data=data,
            expected_step=expected_step,
            request_id=request_id,
        )
        try:
            return await ctx.service.act(
                code, action, cmd, record_refusal=False, update_id=update_id
            )
        except ServiceError as exc:
            if exc.code == "already_taken":
                return await _taken_already(ctx, code)
            if exc.code not in _ASK_AGAIN:
                raise _service_error(exc) from None
            refusal = exc
        view = await _visible_state_or_record(ctx, code, principal, action, role, comment, data)
        # A handoff the workflow gave up waiting for may have landed since: ask again.
        if refusal.code != "handoff_in_flight" and not view.handoff_pending:
            await ctx.service.record_refusal(code, action, cmd, refusal.code, refusal.message)
            raise _service_error(refusal)
        # The update under `update_id` completed (refused in its handler): asking again
        # is another update.
        update_id = None if update_id is None else f"{update_id}:again"
    view = view or await _visible_state_or_record(ctx, code, principal, action, role, comment, data)
    view = await _past_automatic_handoff(ctx, code, view)
    actor = principal.actor_for(_acting_role(principal, role, action, view))
    cmd = ActionInput(
        actor=actor,
        comment=comment,
        data=data,
        expected_step=expected_step,
        request_id=request_id,
    )
    try:
        return await ctx.service.act(code, action, cmd, update_id=update_id)
    except ServiceError as exc:
        if exc.code == "already_taken":
            return await _taken_already(ctx, code)
        raise _service_error(exc) from None


async def _taken_already(ctx: AppContext, code: str) -> DossierView:
    """The workflow took this request's action already (its answer was lost, and the
    workflow has continued as new since, so Temporal did not give the update's outcome):
    the dossier as it is now, as a success, for the action was taken, once."""
    try:
        return await ctx.service.state(code)
    except ServiceError as exc:
        raise _service_error(exc) from None


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description=(
            "one key per action the caller means to take, kept across its retries: the same "
            "key and body get the same answer, and the action is taken once"
        ),
    ),
]


async def _once(
    ctx: AppContext,
    code: str,
    principal: Principal,
    key: str | None,
    request: object,
    run: Callable[[str | None], Awaitable[DossierView]],
) -> DossierView | JSONResponse:
    """Run an action under the request's Idempotency-Key (none: just run it).

    The key is claimed in the read model (`action_requests`, per dossier and caller) with
    the body's hash before anything is sent, and the answer is kept there once known: a
    retry with the same key and body gets the kept answer (status and body), one with
    another body 422. A retry that finds no answer yet (the first request is still under
    way, or its API process died, or its answer was a 503) sends the action again as the
    same workflow update id, derived from the key: Temporal runs one update per id in a
    workflow run and gives a retry that update's outcome. The kept answer is what holds
    across API restarts, Temporal's retention and the workflow continuing as new (a new
    run knows no earlier run's update ids); the update id is what holds while no answer
    is kept yet, however many retries run at once."""
    if key is None:
        return await run(None)
    digest = hashlib.sha256(
        json.dumps(request, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()
    sub = principal.sub
    try:
        _, claim = await asyncio.to_thread(
            repository.claim_action_request, ctx.engine, code, sub, key, digest
        )
    except (DBAPIError, DisconnectionError):
        raise ApiError(
            503,
            "unavailable",
            "Chưa ghi nhận được Idempotency-Key (cơ sở dữ liệu không trả lời); thao tác chưa "
            "được thực hiện, hãy gửi lại với cùng Idempotency-Key",
        ) from None
    if claim.request_sha256 != digest:
        raise ApiError(
            422,
            "invalid",
            f"Idempotency-Key '{key}' đã được dùng cho một yêu cầu khác trên hồ sơ {code}; "
            "mỗi thao tác mới cần một khóa mới (chỉ dùng lại khóa khi gửi lại đúng yêu cầu cũ)",
        )
    if claim.status_code is not None and claim.response is not None:
        return JSONResponse(
            claim.response, status_code=claim.status_code, headers={"Idempotent-Replayed": "true"}
        )
    update_id = "act-" + hashlib.sha256(f"{code}\0{sub}\0{key}".encode()).hexdigest()[:40]

    async def keep(status_code: int, body: dict[str, object]) -> None:
        try:
            await asyncio.to_thread(
                repository.answer_action_request, ctx.engine, code, sub, key, status_code, body
            )
        except (DBAPIError, DisconnectionError):
            # Not kept: a retry sends the same update id, and Temporal answers it.
            log.warning("answer to %s's action on %s under its key not kept", sub, code)

    try:
        view = await run(update_id)
    except ApiError as exc:
        # A refusal is an answer (nothing was done); a 5xx or a handoff still in flight
        # is not: a retry asks again (under the same update id).
        if exc.status < 500 and exc.code != "handoff_in_flight":
            await keep(exc.status, {"error": {"code": exc.code, "message": exc.message}})
        raise
    answer = status.HTTP_202_ACCEPTED if view.issuing is not None else status.HTTP_200_OK
    await keep(answer, view.model_dump(mode="json"))
    return view


@router.post(
    "/{code}/actions",
    response_model=DossierView,
    summary="Take an action (accept, appraise, approve, sign, return, ...)",
    responses={
        202: {
            "model": DossierView,
            "description": "Accepted; the result is still being signed (see `issuing`)",
        }
    },
)
async def take_action(
    code: str,
    body: ActionRequest,
    principal: CurrentPrincipal,
    ctx: Context,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DossierView | JSONResponse:
    async def run(update_id: str | None) -> DossierView:
        return await _act(
            ctx,
            code,
            principal,
            body.action,
            body.comment,
            body.data,
            body.role,
            expected_step=body.expected_step,
            update_id=update_id,
        )

    view = await _once(
        ctx, code, principal, idempotency_key, ["actions", body.model_dump(mode="json")], run
    )
    if isinstance(view, DossierView) and view.issuing is not None:
        response.status_code = status.HTTP_202_ACCEPTED
    return view


@router.post(
    "/{code}/supplements",
    response_model=DossierView,
    summary="Supplement the dossier with the documents asked for (applicant)",
    openapi_extra=request_body_doc(SupplementRequest),
)
@body_policy(multipart=True)
async def supplement(
    code: str,
    request: Request,
    principal: CurrentPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
) -> DossierView | JSONResponse:
    """A SupplementRequest as JSON, or as multipart/form-data (its JSON, optional, in the
    part `dossier`; each file in a part named by its document kind)."""
    # Who may see the dossier is decided before the body is read or anything stored: a
    # stranger's attempt is recorded without its body, which is never read.
    readable = await _readable_by_row(ctx, code, principal)
    view = None
    if readable is False:
        await _record_not_visible(ctx, code, principal, Action.SUPPLEMENT, None, "", {})
        raise _not_visible(code, principal)
    if readable is None:
        view = await _visible_state_or_record(ctx, code, principal, Action.SUPPLEMENT, None, "", {})
    body, uploads = await read_body(request, SupplementRequest, ctx.settings, ctx.documents)

    async def run(update_id: str | None) -> DossierView:
        refs = await asyncio.to_thread(_store_documents, ctx, body.documents, principal, uploads)
        return await _act(
            ctx,
            code,
            principal,
            Action.SUPPLEMENT,
            body.comment,
            {"documents": [r.model_dump() for r in refs]},
            view=view,
            expected_step=body.expected_step,
            update_id=update_id,
            readable=readable,
        )

    try:
        return await _once(
            ctx,
            code,
            principal,
            idempotency_key,
            ["supplements", body.model_dump(mode="json")],
            run,
        )
    finally:
        if uploads is not None:
            uploads.discard()


@router.post(
    "/{code}/withdraw",
    response_model=DossierView,
    summary="Withdraw the dossier before the decision (stop notice, Form 05)",
)
async def withdraw(
    code: str,
    body: WithdrawRequest,
    principal: CurrentPrincipal,
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
) -> DossierView | JSONResponse:
    async def run(update_id: str | None) -> DossierView:
        return await _act(
            ctx,
            code,
            principal,
            Action.WITHDRAW,
            body.comment,
            {},
            expected_step=body.expected_step,
            update_id=update_id,
        )

    return await _once(
        ctx, code, principal, idempotency_key, ["withdraw", body.model_dump(mode="json")], run
    )


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
