"""Signing in to the web interface with OpenID Connect, and signing out.

    GET  /ui/login/<provider>?next=/ui/...   to the provider, with state, nonce and PKCE
    GET  /ui/callback/<provider>?code&state  back from it: exchange, verify, session cookie
    GET  /ui/session                         who the session cookie says is signed in
    POST /ui/logout                          end the session (and the provider's, if it can)

The login request's secrets (state, nonce, the PKCE code verifier, the page to return
to) wait for the callback in a short-lived HttpOnly cookie of this browser (SameSite=Lax:
the provider's redirect back is a top-level navigation from another site). The callback
refuses a state that is not this browser's (login CSRF, a code injected from elsewhere),
an `iss` that is not the provider's (mix-up, RFC 9207), and an ID token whose nonce is not
this login's (a replayed token); the code is exchanged by the server, with the verifier,
so a stolen code is worth nothing. Each provider has its own redirect URI,
`<MOTCUA_PUBLIC_BASE_URL>/ui/callback/<name>`, to register at the provider, and
`<MOTCUA_PUBLIC_BASE_URL>/ui/` as its post-logout redirect URI.

The session itself is the verified ID token in an HttpOnly, SameSite=Strict cookie
(api/session.py says why); the API verifies it on every request like a bearer token.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import AuthError, get_verifier, verify_request_token
from api.errors import ApiError
from api.oidc import OidcError, OidcProvider, OidcTokenVerifier, pkce_pair
from api.session import check_csrf, clear_session, secure_site, session_token, set_session
from infra.settings import Settings

LOGIN_COOKIE = "motcua_login"
SECURE_LOGIN_COOKIE = "__Host-motcua_login"
LOGIN_TTL = 600  # seconds a person has to sign in at the provider
NO_STORE = {"Cache-Control": "no-store"}
# A cookie (name, value, attributes) may hold 4,096 bytes in every browser.
MAX_COOKIE_TOKEN = 3_900

RenderLogin = Callable[[Request, str, int], Response]


def safe_next(target: str | None) -> str | None:
    """A page of this site to return to; never an absolute URL from the query string."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def providers(request: Request) -> list[OidcProvider]:
    verifier = getattr(request.app.state, "verifier", None)
    if isinstance(verifier, OidcTokenVerifier):
        return list(verifier.providers.values())
    return []


def _provider(request: Request, name: str) -> OidcProvider:
    found = next((p for p in providers(request) if p.name == name), None)
    if found is None:
        raise ApiError(404, "not_found", f"không có hệ thống đăng nhập {name!r}")
    return found


def _base(request: Request) -> str:
    settings: Settings = request.app.state.ctx.settings
    return settings.public_base_url.rstrip("/")


def _login_cookie(request: Request) -> str:
    return SECURE_LOGIN_COOKIE if secure_site(request) else LOGIN_COOKIE


def _encode(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _decode(value: str) -> dict[str, str] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return None
    return data


def install_signin(router: APIRouter, render_login: RenderLogin) -> None:
    """Add the sign-in routes to the UI's router; `render_login(request, error, status)`
    shows the login page with a refusal."""

    def refuse(request: Request, message: str, status: int = 400) -> Response:
        response = render_login(request, message, status)
        response.delete_cookie(_login_cookie(request), path="/", secure=secure_site(request))
        return response

    @router.get("/ui/login/{name}")
    async def login(name: str, request: Request, next: str | None = None) -> Response:
        provider = _provider(request, name)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        try:
            await asyncio.to_thread(provider.metadata)  # discovery, off the event loop
            url = provider.authorization_url(
                redirect_uri=f"{_base(request)}/ui/callback/{name}",
                state=state,
                nonce=nonce,
                code_challenge=challenge,
            )
        except OidcError as e:
            return refuse(request, e.message, 503)
        response = RedirectResponse(url, status_code=303, headers=NO_STORE)
        txn = {"p": name, "s": state, "n": nonce, "v": verifier, "next": safe_next(next) or ""}
        response.set_cookie(
            _login_cookie(request),
            _encode(txn),
            max_age=LOGIN_TTL,
            path="/",
            secure=secure_site(request),
            httponly=True,
            samesite="lax",
        )
        return response

    @router.get("/ui/callback/{name}")
    async def callback(name: str, request: Request) -> Response:
        provider = _provider(request, name)
        q = request.query_params
        txn = _decode(request.cookies.get(_login_cookie(request), ""))
        if txn is None or txn.get("p") != name:
            return refuse(
                request,
                "Không tìm thấy yêu cầu đăng nhập của trình duyệt này (đã quá 10 phút, hoặc "
                "trình duyệt chặn cookie). Vui lòng đăng nhập lại.",
            )
        if not secrets.compare_digest(q.get("state", ""), txn.get("s", "")):
            return refuse(
                request,
                "Tham số state không khớp với yêu cầu đăng nhập của trình duyệt này: "
                "không đăng nhập. Vui lòng đăng nhập lại.",
            )
        if q.get("iss") is not None and q.get("iss") != provider.issuer:
            return refuse(request, "Phản hồi không đến từ hệ thống đăng nhập đã chọn (iss).")
        if q.get("error"):
            why = q.get("error_description") or q["error"]
            return refuse(request, f"Hệ thống đăng nhập từ chối: {why[:200]}", 403)
        code = q.get("code")
        if not code:
            return refuse(request, "Thiếu mã xác thực (code) trong phản hồi đăng nhập.")
        try:
            await asyncio.to_thread(provider.metadata)
            id_token = await provider.exchange(
                code=code,
                redirect_uri=f"{_base(request)}/ui/callback/{name}",
                code_verifier=txn["v"],
            )
            claims = provider.verify_id_token(id_token, nonce=txn["n"])
            provider.principal(claims)
        except OidcError as e:
            return refuse(request, e.message, 502)
        except AuthError as e:
            return refuse(request, f"ID token bị từ chối: {e.message}.", 403)
        if len(id_token) > MAX_COOKIE_TOKEN:
            # Browsers drop a larger cookie silently: say so rather than loop back to login.
            return refuse(
                request,
                "ID token của hệ thống đăng nhập quá lớn để giữ làm phiên (trên "
                f"{MAX_COOKIE_TOKEN} ký tự); hãy giảm các claim nó mang.",
                502,
            )
        response = RedirectResponse(txn.get("next") or "/ui/", status_code=303, headers=NO_STORE)
        set_session(request, response, id_token, int(claims["exp"] - time.time()))
        response.delete_cookie(_login_cookie(request), path="/", secure=secure_site(request))
        return response

    @router.get("/ui/session")
    async def session(request: Request, response: Response) -> dict[str, Any]:
        """The user of the session cookie (null without a valid one)."""
        response.headers.update(NO_STORE)
        token = session_token(request)
        if token is None:
            return {"user": None}
        try:
            principal = verify_request_token(request, token)
        except AuthError as e:
            return {"user": None, "reason": e.message}
        verifier = get_verifier(request)
        provider = verifier.provider_of(token) if isinstance(verifier, OidcTokenVerifier) else None
        return {
            "user": {
                "sub": principal.sub,
                "name": principal.name or principal.sub,
                "roles": [r.value for r in principal.roles],
                "agency": principal.agency,
                "provider": provider.name if provider else None,
            }
        }

    @router.post("/ui/logout")
    async def logout(request: Request) -> Response:
        """Remove the session cookie; answer where to go next: the provider's end-session
        endpoint (which comes back to /ui/) when it has one, else /ui/."""
        check_csrf(request)
        token = session_token(request)
        target: str | None = None
        verifier = get_verifier(request)
        if token and isinstance(verifier, OidcTokenVerifier):
            provider = verifier.provider_of(token)
            if provider is not None:
                with contextlib.suppress(OidcError):
                    await asyncio.to_thread(provider.metadata)
                target = provider.end_session_url(
                    id_token=token, post_logout_redirect_uri=f"{_base(request)}/ui/"
                )
        response = Response(
            json.dumps({"redirect": target or "/ui/"}),
            media_type="application/json",
            headers=NO_STORE,
        )
        clear_session(request, response)
        return response
