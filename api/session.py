"""The web interface's session cookie: the ID token of an OpenID Connect sign-in.

After the code exchange (api/ui/signin.py) the browser holds the provider's ID token in
a cookie the page's scripts cannot read, and the API accepts it where it accepts a
bearer token (api/auth.py `current_principal`), verified on every request
(api/oidc.py). Why a cookie, and this one:

- HttpOnly: a script injected into a page cannot read the token and replay it
  elsewhere (a token in sessionStorage, as the pasted and development tokens are, can);
- Secure, and the `__Host-` prefix, whenever the site is served over https (always in
  production): never sent in clear, and no sibling subdomain can plant or overwrite it;
- SameSite=Strict: no other site's page or link makes the browser send it;
- and, because a cookie rides along with any request of a same-site page: a request
  that changes something (not GET/HEAD/OPTIONS) and authenticates by the cookie must
  carry the header `X-Motcua-CSRF: 1` (a form cannot set a header, and a cross-origin
  script cannot without a CORS preflight, which the API does not grant with
  credentials), and its Origin, when sent, must be this site's. Otherwise 403.

The cookie is stateless (it is the signed ID token, expiring with it), so every API
process accepts it; signing out removes it and, where the provider offers it, ends the
provider's session (RP-Initiated Logout).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request, Response

from api.errors import ApiError

SESSION_COOKIE = "motcua_session"
SECURE_SESSION_COOKIE = "__Host-motcua_session"
CSRF_HEADER = "x-motcua-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def secure_site(request: Request) -> bool:
    """Served over https, as production always is (behind a proxy: X-Forwarded-Proto)."""
    ctx = getattr(request.app.state, "ctx", None)
    production = ctx is not None and ctx.settings.environment == "production"
    return production or request.url.scheme == "https"


def session_cookie_name(request: Request) -> str:
    return SECURE_SESSION_COOKIE if secure_site(request) else SESSION_COOKIE


def session_token(request: Request) -> str | None:
    """The ID token of the session cookie, if the browser sent one."""
    token = request.cookies.get(session_cookie_name(request), "").strip()
    return token or None


def check_csrf(request: Request) -> None:
    """A cookie-authenticated request that changes something must come from our pages."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if request.headers.get(CSRF_HEADER) != "1" or (
        origin is not None and origin not in _own_origins(request)
    ):
        raise ApiError(
            403,
            "csrf",
            "yêu cầu dùng phiên đăng nhập (cookie) phải gửi từ trang của hệ thống, kèm "
            "header X-Motcua-CSRF: 1",
        )


def _own_origins(request: Request) -> set[str]:
    """This site as the browser names it: the address asked (Host), and the public one
    (MOTCUA_PUBLIC_BASE_URL, for a proxy that passes another Host on)."""
    own = {f"{request.url.scheme}://{request.headers.get('host', '')}"}
    ctx = getattr(request.app.state, "ctx", None)
    if ctx is not None:
        public = urlsplit(ctx.settings.public_base_url)
        own.add(f"{public.scheme}://{public.netloc}")
    return own


def set_session(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        session_cookie_name(request),
        token,
        max_age=max(0, max_age),
        path="/",
        secure=secure_site(request),
        httponly=True,
        samesite="strict",
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        session_cookie_name(request),
        path="/",
        secure=secure_site(request),
        httponly=True,
        samesite="strict",
    )
