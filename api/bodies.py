"""Request bodies at the edge: nothing of a body is read before its caller is known and
its size is allowed, and no JSON body costs the event loop more than a few milliseconds.

FastAPI reads and parses a route's JSON body before it solves the route's dependencies
(the bearer token among them), so a large body was read and parsed for anyone, on the
event loop the workers share in `motcua dev`. `BodyGuard`, a pure ASGI middleware, runs
first, for every route that takes a body:

1. the bearer token, for the routes that need one (those depending on
   `api.auth.current_principal`): 401 without reading a byte; the verdict is kept on the
   request's state, where the route's own `current_principal` finds it again;
2. the size: a JSON body over MOTCUA_MAX_JSON_BYTES is 413, at once when Content-Length
   says so, else as soon as what was read goes over;
3. its shape: nesting deeper than MOTCUA_MAX_JSON_DEPTH, or more than MOTCUA_MAX_JSON_KEYS
   object keys and array items, is 422 (a body within the size limit parses in a few ms;
   a flood of keys is refused before the request models see it).

Routes marked with `body_policy(multipart=True)` take multipart/form-data too: those
bodies are streamed by the route itself (api/uploads.py), each file limited to
MOTCUA_MAX_UPLOAD_BYTES while it arrives, the whole body to MOTCUA_MAX_REQUEST_BYTES.
Routes marked `body_policy(raw=True)` read a body of their own kind (a PDF to verify)
and limit it themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import bearer, current_principal
from api.errors import ApiError, localised_error
from api.language import request_lang, scope_lang
from api.messages import T
from api.security import BodyTooLarge
from domain.i18n import Text
from infra.settings import Settings

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MULTIPART = "multipart/form-data"
_MARK = "__motcua_body_policy__"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RoutePolicy:
    needs_token: bool
    multipart: bool = False  # the route also takes multipart/form-data (and streams it)
    raw: bool = False  # the route reads and limits a body of its own kind
    json_bytes: int | None = None  # its own JSON limit (else MOTCUA_MAX_JSON_BYTES)


def body_policy(
    *, multipart: bool = False, raw: bool = False, json_bytes: int | None = None
) -> Callable[[F], F]:
    """Mark a route's endpoint as taking multipart/form-data too, or a raw body, or JSON
    up to a limit of its own."""

    def mark(endpoint: F) -> F:
        setattr(endpoint, _MARK, (multipart, raw, json_bytes))
        return endpoint

    return mark


def json_too_large_message(settings: Settings, limit: int | None = None) -> Text:
    return T(
        "json_too_large",
        limit=limit or settings.max_json_bytes,
        upload=settings.max_upload_bytes,
    )


def json_shape_error(body: bytes, max_depth: int, max_keys: int) -> Text | None:
    """Why a JSON body is refused for its shape, or None (also when it is not JSON at
    all: the route then says what is wrong with it)."""
    try:
        data = json.loads(body)
    except RecursionError:
        return T("json_too_deep", depth=max_depth)
    except ValueError:
        return None
    if not isinstance(data, (dict, list)):
        return None
    items = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if depth > max_depth:
            return T("json_too_deep", depth=max_depth)
        items += len(children)
        if items > max_keys:
            return T("json_too_many", keys=max_keys)
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return None


@dataclass(frozen=True)
class _Route:
    path_regex: Any
    methods: set[str]
    policy: RoutePolicy


def _api_routes(app: FastAPI) -> list[Any]:
    """Every API route of `app` as it is served (with its routers' prefixes and
    dependencies), in the order the router tries them."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x: included lazily
    except ImportError:  # older: include_router copies the routes into the app's
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [c for c in iter_route_contexts(app.routes) if getattr(c, "dependant", None) is not None]


def _needs_token(dependant: Any) -> bool:
    return any(
        d.call is current_principal or _needs_token(d)
        for d in getattr(dependant, "dependencies", [])
    )


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return None


class BodyGuard:
    """See the module's docstring. Add it inside the rate limiter (RequestGuard), so a
    caller over its limit is refused before its token is even verified."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._table: list[_Route] | None = None

    def _routes(self, app: FastAPI) -> list[_Route]:
        if self._table is None:
            table = []
            for route in _api_routes(app):
                multipart, raw, json_bytes = getattr(route.endpoint, _MARK, (False, False, None))
                policy = RoutePolicy(_needs_token(route.dependant), multipart, raw, json_bytes)
                table.append(_Route(route.path_regex, set(route.methods or ()), policy))
            self._table = table
        return self._table

    def _policy(self, scope: Scope) -> RoutePolicy | None:
        """The policy of the route that will answer, or None (404 or 405: answered
        without reading the body, or not an API route)."""
        app = scope.get("app")
        if not isinstance(app, FastAPI):
            return None
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):  # as starlette's router sees it
            path = path[len(root) :]
        for route in self._routes(app):
            if scope["method"] in route.methods and route.path_regex.match(path):
                return route.policy
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        policy = self._policy(scope)
        if policy is None:
            await self.app(scope, receive, send)
            return
        if policy.needs_token and getattr(scope["app"].state, "verifier", None) is not None:
            request = Request(scope)
            try:
                # Verified once: the route's `current_principal` finds the verdict again.
                await current_principal(request, await bearer(request))
            except ApiError as exc:
                headers = {"WWW-Authenticate": "Bearer"} | exc.headers
                lang = request_lang(request)
                refusal = localised_error(
                    exc.status, exc.code, exc.text or exc.message, lang, headers
                )
                await refusal(scope, receive, send)
                return
        content_type = (_header(scope, b"content-type") or b"").decode("latin-1").lower()
        if policy.raw or (policy.multipart and content_type.startswith(MULTIPART)):
            await self.app(scope, receive, send)
            return
        await self._json(scope, receive, send, policy.json_bytes or self.settings.max_json_bytes)

    async def _json(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await self._refuse(
                scope, receive, send, 413, "too_large", json_too_large_message(self.settings, limit)
            )
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await receive()
            except BodyTooLarge as exc:  # MOTCUA_MAX_REQUEST_BYTES, counted by api.security
                await self._refuse(scope, receive, send, 413, "too_large", exc.text)
                return
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    413,
                    "too_large",
                    json_too_large_message(self.settings, limit),
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            why = json_shape_error(body, self.settings.max_json_depth, self.settings.max_json_keys)
            if why is not None:
                await self._refuse(scope, receive, send, 422, "invalid", why)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only a disconnect is left to wait for

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, status: int, code: str, message: Text
    ) -> None:
        # The rest of the body is never read (the server drops it, or the connection).
        await localised_error(status, code, message, scope_lang(scope))(scope, receive, send)
