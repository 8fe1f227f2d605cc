"""Acting on a dossier: actions, supplements, withdrawal, each once per Idempotency-Key."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Header, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, DisconnectionError

from api.auth import CurrentPrincipal, Principal
from api.bodies import body_policy
from api.deps import AppContext, Context
from api.errors import ApiError
from api.messages import T
from api.routes.dossiers._common import (
    Attempt,
    _document_refs,
    _not_visible,
    _readable_by_row,
    _record_not_visible,
    _service_error,
    _store_documents,
    _visible_state,
    log,
    router,
)
from api.schemas import ActionRequest, DocumentIn, SupplementRequest, WithdrawRequest
from api.uploads import Uploads, read_body, request_body_doc
from domain.catalog import Role
from domain.dossier import Action, DocumentRef, DossierView
from services.dossiers import ServiceError
from store import repository


def _acting_role(
    principal: Principal, body_role: Role | None, action: Action, view: DossierView
) -> Role:
    if body_role is not None:
        if not principal.has(body_role):
            raise ApiError(403, "forbidden", T("token_lacks_role", role=body_role.value))
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
    {"forbidden", "wrong_step", "incomplete", "handoff_in_flight", "closed", "invalid", "not_found"}
)


def _may_take(principal: Principal, action: Action, view: DossierView) -> bool:
    """Does the dossier, as `view` shows it, let `principal` take `action` in some role of
    theirs (the engine's `allowed_actions`; the engine decides again when it is taken)?"""
    return any(
        a.action is action
        and principal.has(a.role)
        and (a.agency is None or a.agency == principal.agency)
        for a in view.allowed_actions
    )


def _document_refs_of_uploads(
    ctx: AppContext, docs: list[DocumentIn], principal: Principal, uploads: Uploads | None
) -> list[DocumentRef]:
    """`_document_refs`, with the signature of `_store_documents`: files staged as
    multipart parts stay staged (discarded with the request) unless stored after."""
    return _document_refs(ctx, docs, principal)


def _role_without_reading(principal: Principal, body_role: Role | None) -> Role | None:
    """The role a caller acts in when the dossier's state is not needed to tell it: the
    one named in the request, or the token's only role."""
    if body_role is not None:
        return body_role if principal.has(body_role) else None
    return principal.roles[0] if len(principal.roles) == 1 else None


async def _visible_state_or_record(
    ctx: AppContext, code: str, principal: Principal, attempt: Attempt
) -> DossierView:
    """`_visible_state` (the row asked already), recording the attempt of a caller who
    may not see the dossier."""
    try:
        return await _visible_state(ctx, code, principal, row_checked=True)
    except ApiError as exc:
        if exc.status == 403:
            await _record_not_visible(ctx, code, principal, attempt)
        raise


async def _act(
    ctx: AppContext,
    code: str,
    principal: Principal,
    attempt: Attempt,
    view: DossierView | None = None,
    *,
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

    `attempt.expected_step` goes to the workflow's validator (refused there, atomically with the
    action, when the dossier is no longer at that step); `update_id` (from the request's
    Idempotency-Key) lets Temporal run the action once however often it is sent."""
    action, role = attempt.action, attempt.role
    if view is None and readable is None:
        readable = await _readable_by_row(ctx, code, principal)
    if readable is False:
        await _record_not_visible(ctx, code, principal, attempt)
        raise _not_visible(code, principal)
    request_id = update_id
    if view is None and (direct := _role_without_reading(principal, role)) is not None:
        cmd = attempt.command(principal, direct, request_id)
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
        view = await _visible_state_or_record(ctx, code, principal, attempt)
        # A handoff the workflow gave up waiting for may have landed since: ask again.
        if refusal.code != "handoff_in_flight" and not view.handoff_pending:
            await ctx.service.record_refusal(code, action, cmd, refusal.code, refusal.message)
            raise _service_error(refusal)
        # The update under `update_id` completed (refused in its handler): asking again
        # is another update.
        update_id = None if update_id is None else f"{update_id}:again"
    view = view or await _visible_state_or_record(ctx, code, principal, attempt)
    view = await _past_automatic_handoff(ctx, code, view)
    cmd = attempt.command(principal, _acting_role(principal, role, action, view), request_id)
    try:
        return await ctx.service.act(code, action, cmd, update_id=update_id)
    except ServiceError as exc:
        if exc.code == "already_taken":
            return await _taken_already(ctx, code)
        raise _service_error(exc) from None


async def _with_assignee_from_directory(
    ctx: AppContext, data: dict[str, object]
) -> dict[str, object]:
    """`assign` names the officer by login id (`data.assignee`); the engine is given what
    the directory of users seen says of them (name, roles, agency), never the caller's
    word, and judges whether they are of the step's role and agency. Unknown: only the id
    goes, and the engine refuses it (after deciding whether the caller may assign)."""
    named = data.get("assignee")
    ident = named.get("id") if isinstance(named, dict) else named
    if not isinstance(ident, str) or not ident.strip():
        return data
    ident = ident.strip()
    user = await asyncio.to_thread(repository.get_user, ctx.engine, ident)
    entry: dict[str, object] = {"id": ident}
    if user is not None:
        entry.update(name=user.name, roles=list(user.roles), agency=user.agency)
    return {**data, "assignee": entry}


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
        raise ApiError(503, "unavailable", T("key_unrecorded")) from None
    if claim.request_sha256 != digest:
        raise ApiError(422, "invalid", T("key_other_request", key=key, code=code))
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


async def _act_once(
    ctx: AppContext,
    code: str,
    principal: Principal,
    key: str | None,
    route: str,
    body: BaseModel,
    attempt: Attempt,
) -> DossierView | JSONResponse:
    """`_act` under the request's Idempotency-Key (`_once`): the kept answer is the
    route's and body's."""

    async def run(update_id: str | None) -> DossierView:
        return await _act(ctx, code, principal, attempt, update_id=update_id)

    return await _once(ctx, code, principal, key, [route, body.model_dump(mode="json")], run)


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
    data = body.data
    if body.action is Action.ASSIGN:
        data = await _with_assignee_from_directory(ctx, data)
    attempt = Attempt(body.action, body.comment, data, body.role, body.expected_step)
    view = await _act_once(ctx, code, principal, idempotency_key, "actions", body, attempt)
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
        await _record_not_visible(ctx, code, principal, Attempt(Action.SUPPLEMENT))
        raise _not_visible(code, principal)
    # The files are stored only when the dossier, as it stands, lets the caller supplement:
    # a refused supplement leaves nothing in the store (docs/authorization.md, D2). The
    # engine still decides, on the references alone when it is expected to refuse; should
    # it accept after all (the dossier moved since it was read), the files are stored then.
    view = await _visible_state_or_record(ctx, code, principal, Attempt(Action.SUPPLEMENT))
    expected = _may_take(principal, Action.SUPPLEMENT, view)
    body, uploads = await read_body(request, SupplementRequest, ctx.settings, ctx.documents)

    async def run(update_id: str | None) -> DossierView:
        keep = _store_documents if expected else _document_refs_of_uploads
        refs = await asyncio.to_thread(keep, ctx, body.documents, principal, uploads)
        documents: dict[str, object] = {"documents": [r.model_dump() for r in refs]}
        taken = await _act(
            ctx,
            code,
            principal,
            Attempt(Action.SUPPLEMENT, body.comment, documents, expected_step=body.expected_step),
            view=view,
            update_id=update_id,
            readable=readable,
        )
        if not expected:
            await asyncio.to_thread(_store_documents, ctx, body.documents, principal, uploads)
        return taken

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
    attempt = Attempt(Action.WITHDRAW, body.comment, expected_step=body.expected_step)
    return await _act_once(ctx, code, principal, idempotency_key, "withdraw", body, attempt)
