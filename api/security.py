"""HTTP hardening around the whole app: security headers on every response, a body-size
limit enforced before a body is read, and strict CORS (none unless origins are listed).

Pure ASGI middlewares (not BaseHTTPMiddleware): they see every response, the error
answers of the other middlewares (429, 413) and the static files included, and they
never buffer a body.

Order, outermost first: security headers, CORS, body limit, then the app's own
middleware (rate limits) and the routes.
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.language import scope_lang
from api.messages import T
from domain.i18n import Text
from infra.settings import Settings

# JSON answers are never rendered as a page: nothing may load or frame them.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
# No page of motcua uses these browser features. Only features browsers know: an unknown
# one (e.g. the retired interest-cohort) is a console error on every page.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# Routes whose answers may be cached: versioned static files, and the API's own description.
CACHEABLE_PREFIXES = ("/ui/static/", "/openapi.json", "/docs/static/")
# /docs and /redoc send their own policy (api/apidocs.py: this site only, no CDN).
NO_CSP_PREFIXES = ("/ui/",)

# Headers a CORS request may send, and those its script may read.
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "Accept"]
CORS_EXPOSE_HEADERS = ["Location", "Retry-After", "Server-Timing"]


def security_headers(settings: Settings, path: str) -> list[tuple[str, str]]:
    """The headers every answer to `path` carries (a route's own value wins)."""
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
    ]
    if not path.startswith(NO_CSP_PREFIXES):
        headers.append(("Content-Security-Policy", API_CONTENT_SECURITY_POLICY))
    if not path.startswith(CACHEABLE_PREFIXES):
        # Answers carry personal data or a caller's view: no shared or browser cache.
        headers.append(("Cache-Control", "no-store"))
    if settings.hsts_max_age_seconds > 0:
        headers.append(("Strict-Transport-Security", f"max-age={settings.hsts_max_age_seconds}"))
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(self.settings, scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in raw}
                for name, value in extra:
                    if name.lower().encode() not in present:
                        raw.append((name.lower().encode(), value.encode()))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(StarletteHTTPException):
    """A body went over the limit while being read (answered 413 by the error handler)."""

    def __init__(self, limit: int) -> None:
        self.text = too_large_message(limit)
        super().__init__(413, str(self.text))


def too_large_message(limit: int) -> Text:
    return T("body_too_large", limit=limit)


async def _send_json(scope: Scope, send: Send, status: int, code: str, message: Text) -> None:
    shown = message.render(scope_lang(scope))
    body = json.dumps({"error": {"code": code, "message": shown}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                (b"vary", b"Accept-Language"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for a body over `limit`: at once when Content-Length says so (nothing read),
    else as soon as the chunks read so far exceed it (chunked bodies have no length)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                declared = value
                break
        if declared is not None:
            if not declared.strip().isdigit():
                await _send_json(scope, send, 400, "bad_request", T("content_length"))
                return
            if int(declared) > self.limit:
                await _send_json(scope, send, 413, "too_large", too_large_message(self.limit))
                return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Read outside a route's error handling (a route reads it in a handler that
            # answers 413 itself): answer here if nothing was sent yet.
            if started:
                raise
            await _send_json(scope, send, 413, "too_large", too_large_message(self.limit))


def install_http_hardening(app: FastAPI, settings: Settings) -> None:
    """Add the middlewares (call after every other `add_middleware`/`@app.middleware`:
    the last added runs first)."""
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_bytes)
    if settings.cors_origins:
        # Bearer tokens travel in a header, never in cookies: no credentials mode, so
        # browsers never send cookies cross-site; "*" is refused by the settings.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
