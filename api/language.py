"""The language of an answer: Vietnamese unless the caller's Accept-Language prefers
English (RFC 9110 §12.5.4: tags with q-values; "*" and unknown tags leave Vietnamese)."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import Scope

from domain.i18n import DEFAULT_LANG, LANGS, Lang


def negotiate(header: str | None) -> Lang:
    """The best of our languages for an Accept-Language header: "en", "en-US;q=0.9",
    "fr, en;q=0.5" -> "en"; "vi, en;q=0.8", "*", "", a malformed header -> "vi"."""
    best: tuple[float, int, Lang] | None = None
    for position, item in enumerate((header or "").split(",")[:32]):
        tag, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for p in params:
            name, _, value = p.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.lower().split("-")[0]
        if primary not in LANGS or not 0 < q <= 1:
            continue
        lang: Lang = "en" if primary == "en" else "vi"
        # Highest q wins; between equals, the one named first.
        if best is None or (q, -position) > (best[0], best[1]):
            best = (q, -position, lang)
    return best[2] if best is not None else DEFAULT_LANG


def request_lang(conn: HTTPConnection) -> Lang:
    return negotiate(conn.headers.get("accept-language"))


def scope_lang(scope: Scope) -> Lang:
    """The same for a raw ASGI scope (the middlewares that answer before a Request)."""
    for name, value in scope.get("headers") or ():
        if name == b"accept-language":
            return negotiate(value.decode("latin-1"))
    return DEFAULT_LANG
