"""One error shape for every failure: {"error": {"code": "...", "message": "..."}}.

Bad input is always a 4xx that says which field and why; an unexpected fault
is a 500 that says nothing about internals (it is logged with the request id).
The message is Vietnamese unless the caller's Accept-Language prefers English
(api/language.py); messages are `Text`s of the catalogues (api/messages.py,
services/messages.py, domain/machine/messages.py), the code never changes.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.language import request_lang
from api.messages import T
from api.validation import describe
from domain.i18n import DEFAULT_LANG, Lang, Text, render

log = logging.getLogger("motcua.api")


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: Text | str,
        headers: dict[str, str] | None = None,
    ) -> None:
        # `text`: the message by key, rendered in the caller's language; `message`: its
        # Vietnamese, or a message from outside the catalogues (answered as it is).
        self.text = message if isinstance(message, Text) else None
        self.message = str(message)
        super().__init__(self.message)
        self.status = status
        self.code = code
        self.headers = headers or {}


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


# Refusal codes from the workflow validators and the service, and their HTTP status.
STATUS_FOR_CODE = {
    "forbidden": 403,
    "wrong_step": 409,
    "incomplete": 409,  # an online dossier missing a required component, at intake
    "handoff_in_flight": 409,
    "already_taken": 409,
    "closed": 409,
    "invalid": 422,
    "not_found": 404,
    "unavailable": 503,
    "conflict": 409,
    "expired": 409,  # a payment request past its expiry (api/routes/payments.py)
    "not_offered": 409,  # no online payment gateway is configured
    "signing_failed": 503,
    "too_large": 413,
    "unsupported_media_type": 415,
    # An archived history whose bytes are not the ones archived: never read as intact.
    "tampered": 500,
}

# For the OpenAPI document: every route may answer with these.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (400, "Malformed request"),
        (401, "No or bad bearer token"),
        (403, "Wrong role or agency"),
        (404, "Unknown dossier or procedure"),
        (409, "Action not valid at this step"),
        (413, "Request body over MOTCUA_MAX_REQUEST_BYTES, or a file over MOTCUA_MAX_UPLOAD_BYTES"),
        (422, "Invalid field (the message names it)"),
        (429, "Rate limited"),
        (503, "A service the request needs (Temporal, signing) did not answer"),
    )
}


def reason_of(exc: BaseException) -> Text | str:
    """An exception's message as a `Text` when it was raised with one (rendered in the
    caller's language), else as it is."""
    first = exc.args[0] if exc.args else None
    return first if isinstance(first, Text) else str(exc)


def error_json(
    status: int,
    code: str,
    message: Text | str,
    headers: dict[str, str] | None = None,
    lang: Lang = DEFAULT_LANG,
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": render(message, lang)}},
        headers=headers,
    )


def localised_error(
    status: int,
    code: str,
    message: Text | str,
    lang: Lang,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """`error_json` in `lang`, with Vary: Accept-Language (a cache must not answer one
    caller in another's language)."""
    return error_json(status, code, message, {"Vary": "Accept-Language"} | (headers or {}), lang)


def _http_message(exc: StarletteHTTPException, method: str) -> Text | str:
    text = getattr(exc, "text", None)  # api.security.BodyTooLarge
    if isinstance(text, Text):
        return text
    # Starlette's own words for 404 and 405 (its default detail is the status phrase).
    if exc.status_code == 404 and exc.detail == "Not Found":
        return T("not_found")
    if exc.status_code == 405:
        return T("method_not_allowed", method=method)
    return exc.detail if isinstance(exc.detail, str) else T("request_failed")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return localised_error(
            exc.status,
            exc.code,
            exc.text or exc.message,
            request_lang(request),
            headers | exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = request_lang(request)
        return localised_error(422, "invalid", describe(exc.errors(), lang), lang)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            400: "bad_request",
            413: "too_large",
        }.get(exc.status_code, "error")
        message = _http_message(exc, request.method)
        return localised_error(
            exc.status_code, code, message, request_lang(request), dict(exc.headers or {})
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return localised_error(500, "internal", T("internal"), request_lang(request))
