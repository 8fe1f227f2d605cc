"""The codec server: the Temporal web UI (and `temporal workflow show --codec-endpoint`)
shows encrypted payloads decrypted to those allowed to read them, auditors and
administrators, and only while they ask. Temporal's remote codec protocol: the client
POSTs `{"payloads": [...]}` (proto3 JSON of `temporal.api.common.v1.Payloads`: metadata
values and data in base64) to `<endpoint>/decode` with its namespace in `X-Namespace`,
and gets the payloads back decrypted. Payloads not encrypted come back as they were.

There is no `/encode`: the UI needs it only to send new input (start, signal), which
motcua's officers do through the API. Every decode is written to the audit log.

The UI calls from the browser, on another origin: `install_codec_cors` answers the CORS
preflight for the origins of MOTCUA_CODEC_CORS_ORIGINS (none by default) and allows
them credentials. Docs: docs/personal-data.md ("Encrypted payloads in Temporal")."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Response
from pydantic import BaseModel, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.common.v1 import Payload

from api.auth import Principal, require_roles
from api.bodies import body_policy
from api.deps import Context, record_user
from api.errors import ERROR_RESPONSES, ApiError, localised_error
from api.language import scope_lang
from api.messages import T
from domain.catalog import Role
from infra.codec import PayloadDecryptionError, PayloadKeyError, is_encrypted, payload_json
from store import repository
from store.models import AuditLogRow

PREFIX = "/v1/codec/"
MAX_PAYLOADS = 1000
MAX_METADATA = 64
# A batch of a history's payloads (Temporal refuses a payload over 2 MB): more than the
# JSON limit of the other routes; the caller's token is checked before it is read.
CODEC_MAX_JSON_BYTES = 8 * 1024 * 1024
ALLOWED_HEADERS = "authorization, content-type, x-namespace"

router = APIRouter(
    prefix="/codec",
    tags=["codec"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(record_user)],
)

Reader = Annotated[Principal, Depends(require_roles(Role.AUDITOR, Role.ADMIN))]


class CodecPayload(BaseModel):
    """One `temporal.api.common.v1.Payload` in proto3 JSON."""

    metadata: dict[str, str] = Field(default_factory=dict, description="metadata values, base64")
    data: str = Field(default="", description="the payload's bytes, base64")


class CodecPayloads(BaseModel):
    payloads: list[CodecPayload] = Field(description=f"at most {MAX_PAYLOADS}")


def _bytes(value: str, where: str) -> bytes:
    """Proto3 JSON bytes: standard or URL-safe base64, padded or not."""
    text = value.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid", T("codec_base64", where=where)) from None


def _payloads(body: CodecPayloads) -> list[Payload]:
    # Limits checked here rather than in the schema, whose generated examples they would
    # make huge.
    if len(body.payloads) > MAX_PAYLOADS:
        raise ApiError(422, "invalid", T("codec_max_payloads", count=MAX_PAYLOADS))
    out = []
    for i, p in enumerate(body.payloads):
        if len(p.metadata) > MAX_METADATA:
            raise ApiError(422, "invalid", T("codec_max_metadata", index=i, count=MAX_METADATA))
        metadata = {
            k: _bytes(v, f"payloads[{i}].metadata[{k[:40]!r}]") for k, v in p.metadata.items()
        }
        try:
            payload = Payload(metadata=metadata, data=_bytes(p.data, f"payloads[{i}].data"))
        except (ValueError, TypeError):  # e.g. a metadata key that is not valid UTF-8
            raise ApiError(422, "invalid", T("codec_not_payload", index=i)) from None
        out.append(payload)
    return out


def _answer(payloads: Sequence[Payload]) -> CodecPayloads:
    return CodecPayloads.model_validate({"payloads": [payload_json(p) for p in payloads]})


@router.post(
    "/decode",
    response_model=CodecPayloads,
    summary="Decrypt Temporal payloads (the remote codec protocol of the Temporal web UI "
    "and CLI): auditors and administrators",
)
@body_policy(json_bytes=CODEC_MAX_JSON_BYTES)
async def decode(
    body: CodecPayloads,
    principal: Reader,
    ctx: Context,
    x_namespace: Annotated[str | None, Header(max_length=256)] = None,
) -> CodecPayloads:
    codec = ctx.service.client.data_converter.payload_codec
    payloads = _payloads(body)
    encrypted = sum(1 for p in payloads if is_encrypted(p))
    if codec is None:
        decoded: Sequence[Payload] = payloads
    else:
        try:
            decoded = await codec.decode(payloads)
        except (PayloadKeyError, PayloadDecryptionError) as exc:
            raise ApiError(422, "invalid", exc.text) from None
    if encrypted:  # who read personal data, when, through what
        row = AuditLogRow(
            at=datetime.now(UTC),
            actor_id=principal.sub,
            actor_name=principal.name,
            roles=[r.value for r in principal.roles],
            application="codec",
            action="decode",
            dossier_code=None,
            detail={"namespace": x_namespace, "payloads": len(payloads), "encrypted": encrypted},
        )
        await asyncio.to_thread(repository.log_audit_read, ctx.engine, row)
    return _answer(decoded)


def install_codec_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """CORS for /v1/codec/ only, and only for `origins`: the preflight is answered
    without a token (browsers send none), and every answer, errors included, names the
    origin so that the page can read it."""
    app.add_middleware(CodecCors, origins=origins)


class CodecCors:
    """A pure ASGI middleware: Starlette's `@app.middleware("http")` would run every
    route in a task group, where the body limit's 413 (api/security.py) becomes a 400."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.allowed = {o.rstrip("/") for o in origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        preflight = scope["method"] == "OPTIONS"
        if origin not in self.allowed:
            if preflight:
                refusal = localised_error(
                    403,
                    "forbidden",
                    T("codec_origin", origin=repr(origin[:100])),
                    scope_lang(scope),
                )
                await refusal(scope, receive, send)
            else:  # no CORS headers: the browser hides the answer
                await self.app(scope, receive, send)
            return

        def allow(headers: MutableHeaders) -> None:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Allow-Credentials"] = "true"
            headers["Vary"] = "Origin"

        if preflight:
            response = Response(status_code=204)
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
            allow(response.headers)
            await response(scope, receive, send)
            return

        async def send_allowed(message: Message) -> None:
            if message["type"] == "http.response.start":
                allow(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_allowed)
