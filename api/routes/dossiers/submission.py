"""Submitting a dossier (POST /dossiers), once per Idempotency-Key."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.auth import CurrentPrincipal, Principal
from api.bodies import body_policy
from api.deps import AppContext, Context, limit_submissions
from api.errors import ApiError
from api.messages import T
from api.routes.dossiers._common import _service_error, _store_documents, router
from api.schemas import DataConsentIn, DossierCreated, Link, SubmitDossier
from api.uploads import Uploads, read_body, request_body_doc
from domain.catalog import Role
from domain.datasources import DataConsent
from domain.dossier import Actor, DossierView
from domain.i18n import Text
from services.dossiers import ServiceError, SubmitRequest
from store import repository
from store.schemas import IdempotencyState

# A key claimed this long ago whose request never named a dossier (its process died
# between the claim and reserving the code) is taken over by the next request with it.
IDEMPOTENCY_CLAIM_STALE = timedelta(seconds=10)


def _created(view: DossierView) -> DossierCreated:
    base = f"/v1/dossiers/{view.code}"
    return DossierCreated(
        code=view.code,
        status=view.status,
        status_code=view.status_code,
        submitted_at=view.submitted_at,
        appointment_at=view.appointment_at,
        checklist=view.checklist,
        links={
            "self": Link(href=base),
            "actions": Link(href=f"{base}/actions", method="POST"),
            "events": Link(href=f"{base}/events"),
            "track": Link(href=f"/v1/track/{view.code}"),
            # The procedure as it was when the dossier was filed: the version it runs.
            "procedure": Link(
                href=f"/v1/procedures/{view.procedure_code}?version={view.procedure_version}"
            ),
        },
    )


log = logging.getLogger(__name__)


def _invalid(exc: ValueError) -> Text:
    """A ValueError's message from the catalogue: its own when it carries one, else the
    catalogue's sentence for an invalid submission (the detail goes to the log)."""
    message = exc.args[0] if exc.args else None
    if isinstance(message, Text):
        return message
    log.info("submission refused: %s", exc)
    return T("submission_invalid")


def _consent(c: DataConsentIn, actor: Actor) -> DataConsent:
    """Who consented: the applicant's own account online; at the counter the applicant
    named on the dossier, as the intake officer confirms."""
    at_counter = actor.role is Role.INTAKE_OFFICER
    return DataConsent(
        component=c.component,
        subject_ids=c.subject_ids,
        declared=c.declared,
        consented_by="applicant" if at_counter else actor.id,
        consented_at=datetime.now(UTC),
        confirmed_by=actor.id if at_counter else None,
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
        raise ApiError(403, "forbidden", T("who_submits"))
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
            return_agency=body.return_agency,
            return_by_post=body.return_by_post,
            remote_area=body.remote_area,
            data_consents=[_consent(c, actor) for c in body.data_consents],
        )
        ctx.service.validate_submission(req, actor)
    except ServiceError as exc:
        raise _service_error(exc) from None
    except ValidationError as exc:
        # The body passed its schema but not the dossier's own model: said like any 422,
        # field by field, in the caller's language (api/validation.py).
        raise RequestValidationError(exc.errors()) from None
    except ValueError as exc:
        raise ApiError(422, "invalid", _invalid(exc)) from None

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
        raise ApiError(422, "invalid", T("key_other_body"))
    if claim.state is IdempotencyState.IN_PROGRESS:
        raise ApiError(409, "conflict", T("key_in_progress"))
    if claim.state is IdempotencyState.COMPLETED:
        response.status_code = status.HTTP_200_OK
        return await _started(ctx, req, actor, body, claim.dossier_code, principal, uploads)
    try:
        await asyncio.to_thread(_store_documents, ctx, body.documents, principal, uploads)
        code = await ctx.service.allocate_code(req, actor)
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
        raise ApiError(409, "conflict", T("key_in_progress"))
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
