"""How the national portal's pushes are authenticated (MOTCUA_PORTAL_PUSH_AUTH): a
signature over the timestamp and the body (hmac), or a fixed bearer token (token, for a
gateway that terminates mutual TLS in front of motcua); off without a secret."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from api.errors import ApiError
from api.routes.portal import _authenticate, sign
from infra.settings import Settings

SECRET = "a-portal-secret-of-some-length"
BODY = b'{"MaHoSo": "G22.99-300107-0001"}'


def ctx(**kw: Any) -> Any:
    return SimpleNamespace(settings=Settings(**kw))


def refusal(c: Any, **headers: str | None) -> tuple[int, str] | None:
    args = {"signature": None, "timestamp": None, "authorization": None} | headers
    try:
        _authenticate(c, BODY, **args)
    except ApiError as exc:
        return exc.status, exc.code
    return None


def test_hmac_signs_the_timestamp_and_the_body() -> None:
    c = ctx(portal_push_secret=SECRET)
    now = str(int(time.time()))
    assert refusal(c, timestamp=now, signature=sign(SECRET, now, BODY)) is None
    assert refusal(c, timestamp=now, signature=sign(SECRET, now, BODY + b" ")) == (
        401,
        "bad_signature",
    )
    later = str(int(time.time()) + 1)
    assert refusal(c, timestamp=later, signature=sign(SECRET, now, BODY)) is not None
    assert refusal(c, authorization=f"Bearer {SECRET}") is not None  # not in hmac mode


def test_token_mode_takes_the_bearer_token_only() -> None:
    c = ctx(portal_push_secret=SECRET, portal_push_auth="token")
    assert refusal(c, authorization=f"Bearer {SECRET}") is None
    assert refusal(c, authorization="Bearer another-token-of-some-length") == (
        401,
        "bad_signature",
    )
    assert refusal(c) == (401, "bad_signature")


def test_without_a_secret_pushes_are_off_and_a_short_secret_is_refused() -> None:
    assert refusal(ctx()) == (404, "not_found")
    with pytest.raises(ValueError, match="PORTAL_PUSH_SECRET"):
        Settings(portal_push_secret="short")
    # docker-compose passes an unset variable as "": off, not refused.
    assert Settings(portal_push_secret="", portal_pull_url="").portal_push_secret is None
