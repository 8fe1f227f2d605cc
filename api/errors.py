"""One error shape for every failure: {"error": {"code": "...", "message": "..."}}.

Bad input is always a 4xx that says which field and why; an unexpected fault
is a 500 that says nothing about internals (it is logged with the request id).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("motcua.api")


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
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
    "handoff_in_flight": 409,
    "already_taken": 409,
    "closed": 409,
    "invalid": 422,
    "not_found": 404,
    "unavailable": 503,
    "conflict": 409,
    "signing_failed": 503,
    "too_large": 413,
    "unsupported_media_type": 415,
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


def error_json(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"code": code, "message": message}}, headers=headers
    )


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        where = ".".join(loc) or "body"
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return error_json(exc.status, exc.code, exc.message, headers | exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_json(422, "invalid", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            400: "bad_request",
            413: "too_large",
        }.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_json(exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_json(500, "internal", "an unexpected error occurred; it has been logged")
