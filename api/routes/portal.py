"""The national portal's push: a dossier filed on Cổng DVCQG, delivered to motcua (the
back office), which starts it once under the portal's code (services/portal_intake.py).
A delivery again (a retry, or the dossier also pulled) answers with the same dossier.

Authenticated by the shared secret MOTCUA_PORTAL_PUSH_SECRET, as
MOTCUA_PORTAL_PUSH_AUTH says: `hmac` (the default) signs the timestamp and the raw body,
`X-Portal-Signature: hex(HMAC-SHA256(secret, "<X-Portal-Timestamp>.<body>"))`, with the
timestamp (Unix seconds) within MOTCUA_PORTAL_PUSH_MAX_SKEW_SECONDS of now; `token`
expects `Authorization: Bearer <secret>` (for a gateway that terminates mutual TLS in
front of motcua and forwards a fixed token)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from api.auth import Principal, require_roles
from api.deps import AppContext, Context, record_user
from api.errors import ERROR_RESPONSES, STATUS_FOR_CODE, ApiError
from api.messages import T
from domain.catalog import Role
from infra.portal_client import PortalDossier, PortalRefused, PortalUnavailable
from services.dossiers import ServiceError
from services.portal_intake import PortalIntake, portal_client
from store import repository

router = APIRouter(prefix="/portal", tags=["portal"], responses=ERROR_RESPONSES)


class PortalReceipt(BaseModel):
    portal_code: str = Field(description="MaHoSo on the national portal")
    dossier_code: str = Field(description="the dossier's code in motcua")
    duplicate: bool = Field(description="delivered before: this delivery started nothing")
    deliveries: int = Field(description="how many times the portal has delivered it")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _authenticate(
    ctx: AppContext,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    authorization: str | None,
) -> None:
    settings = ctx.settings
    if settings.portal_push_secret is None:
        raise ApiError(404, "not_found", T("portal_push_off"))
    secret = settings.portal_push_secret.get_secret_value()
    if settings.portal_push_auth == "token":
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), secret.encode()):
            raise ApiError(401, "bad_signature", T("portal_bad_token"))
        return
    if signature is None or timestamp is None:
        raise ApiError(401, "bad_signature", T("portal_unsigned"))
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError:
        raise ApiError(401, "bad_signature", T("portal_bad_timestamp")) from None
    if skew > settings.portal_push_max_skew_seconds:
        raise ApiError(
            401, "bad_signature", T("portal_stale", seconds=settings.portal_push_max_skew_seconds)
        )
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.lower()):
        raise ApiError(401, "bad_signature", T("portal_bad_signature"))


@router.post(
    "/dossiers",
    response_model=PortalReceipt,
    status_code=status.HTTP_201_CREATED,
    summary="A dossier filed on the national portal (pushed by the portal, signed)",
    responses={200: {"model": PortalReceipt, "description": "Delivered before: the same dossier"}},
)
async def receive_portal_dossier(
    request: Request,
    ctx: Context,
    response: Response,
    signature: Annotated[str | None, Header(alias="X-Portal-Signature", max_length=200)] = None,
    timestamp: Annotated[str | None, Header(alias="X-Portal-Timestamp", max_length=20)] = None,
    authorization: Annotated[str | None, Header(max_length=2000)] = None,
) -> PortalReceipt:
    body = await request.body()
    _authenticate(ctx, body, signature, timestamp, authorization)
    try:
        dossier = PortalDossier.model_validate_json(body)
    except ValidationError as exc:
        # Answered like a body FastAPI parsed: each error in the caller's language.
        raise RequestValidationError(exc.errors()) from None
    intake = PortalIntake(ctx.service, ctx.documents, portal_client(ctx.settings))
    try:
        outcome = await intake.receive(dossier, "push")
    except ServiceError as exc:
        # An unknown procedure or agency is the body's fault (422), not a missing route.
        code = "invalid" if exc.code == "not_found" else exc.code
        raise ApiError(STATUS_FOR_CODE.get(code, 400), code, exc.text or exc.message) from None
    except PortalRefused as exc:
        raise ApiError(422, "invalid", T("portal_file_refused", reason=str(exc))) from None
    except PortalUnavailable as exc:
        # The portal retries the push; the dossier's code stays bound meanwhile.
        raise ApiError(503, "unavailable", T("portal_file_unavailable", reason=str(exc))) from None
    if outcome.duplicate:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/dossiers/{outcome.dossier_code}"
    return PortalReceipt.model_validate(outcome.model_dump())


class SkippedPortalDossier(BaseModel):
    portal_code: str = Field(description="MaHoSo on the national portal ('' if it named none)")
    via: str = Field(description="push or pull")
    reason: str = Field(description="why it could not be started")
    unavailable: bool = Field(description="its files or the engine never answered (else refused)")
    first_at: datetime
    last_at: datetime
    times: int = Field(description="how often this fault was met")


@router.get(
    "/skipped",
    response_model=list[SkippedPortalDossier],
    summary="Portal dossiers the pull went past, unstarted: administrators",
    dependencies=[Depends(record_user)],
)
async def list_skipped_portal_dossiers(
    _principal: Annotated[Principal, Depends(require_roles(Role.ADMIN))],
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=1000, description="most rows, latest first")] = 200,
) -> list[SkippedPortalDossier]:
    """What the operators have the portal deliver again, once its fault is fixed (the
    pull's cursor went past these: it will not ask for them again)."""
    rows = await asyncio.to_thread(repository.portal_skipped, ctx.engine, limit=limit)
    return [SkippedPortalDossier.model_validate(r.model_dump()) for r in rows]
