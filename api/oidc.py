"""OpenID Connect: the providers people sign in with, and their ID tokens as bearer tokens.

The web interface signs people in with the Authorization Code flow and PKCE (S256)
against each configured provider (infra/oidc.py; the routes are api/ui/signin.py). The
provider's metadata comes from its discovery document, its signing keys from its
`jwks_uri`, both by URL and cached:

- discovery: kept for DISCOVERY_TTL, and the issuer it names must be the configured one
  (OpenID Connect Discovery §4.3), so a document cannot point us at another issuer;
- keys: PyJWT's `PyJWKClient` keeps the key set for `jwks_cache_seconds` and fetches it
  again at once for a token whose `kid` it does not hold (the provider rotated its key),
  at most every `jwks_refresh_cooldown_seconds`, so forged kids cannot make us hammer
  the provider. A key the provider no longer publishes is refused from the next fetch.
  `keep_keys_fresh` (run by the API's lifespan) fetches both again in a thread before
  they expire, so a request waits on the provider only for an unknown kid.

An ID token is verified like any bearer token of api/auth.py: the signature with the
provider's key and one of its configured algorithms (never "none" or HMAC), `iss`,
`aud` (our client id; `azp` too when there are several audiences), the time claims
(`check_times`: exp, iat, at most MOTCUA_JWT_MAX_LIFETIME_SECONDS), and at sign-in the
nonce. Its claims become a `Principal` through the provider's mapping: name, roles
(`roles_claim`, `role_map`, `default_roles`, `allowed_roles`) and agency.

`OidcTokenVerifier` is the API's verifier when providers are configured: a token whose
issuer is a provider's is verified as that provider's ID token, any other as before. So
the API keeps one model: every request carries a token, from the Authorization header
or, for the web interface, from the HttpOnly session cookie (api/ui/signin.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt

from api.auth import (
    DEFAULT_LEEWAY,
    MAX_TOKEN_LENGTH,
    OFFICER_ROLES,
    AuthError,
    Principal,
    TokenVerifier,
    check_times,
    principal_from_claims,
)
from api.messages import T
from domain.catalog import Role
from infra.oidc import OidcProviderConfig
from infra.settings import Settings

DISCOVERY_TTL = 3600.0
WELL_KNOWN = "/.well-known/openid-configuration"

log = logging.getLogger("motcua.oidc")


class OidcError(Exception):
    """A sign-in step failed. `message` (Vietnamese) is safe to show to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Metadata:
    """What the sign-in needs of a provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _claim(payload: dict[str, Any], path: str) -> Any:
    """A claim by its dotted path (realm_access.roles); None when absent."""
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class OidcProvider:
    """One configured OpenID Provider: discovery, code exchange, ID token verification."""

    def __init__(
        self,
        config: OidcProviderConfig,
        *,
        leeway: timedelta = DEFAULT_LEEWAY,
        max_lifetime: timedelta = timedelta(hours=12),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._leeway = leeway
        self._max_lifetime = max_lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: Metadata | None = None
        self._metadata_at = 0.0
        self._keys: jwt.PyJWKClient | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def issuer(self) -> str:
        return self.config.issuer

    # -- discovery and keys ---------------------------------------------------------------

    def metadata(self) -> Metadata:
        """The discovery document (cached DISCOVERY_TTL); OidcError when unreachable."""
        with self._lock:
            if self._metadata is not None and self._clock() - self._metadata_at < DISCOVERY_TTL:
                return self._metadata
            url = self.issuer.rstrip("/") + WELL_KNOWN
            try:
                r = httpx.get(url, timeout=self.config.http_timeout_seconds)
                r.raise_for_status()
                doc = r.json()
            except (httpx.HTTPError, ValueError) as e:
                log.warning("OpenID discovery of %s failed: %s", self.name, e)
                if self._metadata is not None:
                    return self._metadata  # keep the last good document while it is down
                raise OidcError(
                    f"Không kết nối được hệ thống đăng nhập {self.config.title!r}; "
                    "vui lòng thử lại sau."
                ) from None
            if not isinstance(doc, dict) or doc.get("issuer") != self.issuer:
                raise OidcError(
                    f"Tài liệu cấu hình của hệ thống đăng nhập {self.name!r} không khớp "
                    "issuer đã cấu hình."
                )
            try:
                metadata = Metadata(
                    issuer=doc["issuer"],
                    authorization_endpoint=str(doc["authorization_endpoint"]),
                    token_endpoint=str(doc["token_endpoint"]),
                    jwks_uri=str(doc["jwks_uri"]),
                    end_session_endpoint=doc.get("end_session_endpoint") or None,
                )
            except KeyError as e:
                raise OidcError(
                    f"Tài liệu cấu hình của hệ thống đăng nhập {self.name!r} thiếu {e.args[0]}."
                ) from None
            if self._keys is None or self._keys.uri != metadata.jwks_uri:
                self._keys = jwt.PyJWKClient(
                    metadata.jwks_uri,
                    cache_jwk_set=True,
                    lifespan=self.config.jwks_cache_seconds,
                    timeout=self.config.http_timeout_seconds,
                    cooldown_duration=self.config.jwks_refresh_cooldown_seconds,
                )
            self._metadata, self._metadata_at = metadata, self._clock()
            return metadata

    def refresh(self) -> None:
        """Discovery (when stale) and the key set fetched now; a failure is logged and the
        cached ones stay in use."""
        try:
            self.metadata()
            assert self._keys is not None
            self._keys.get_jwk_set(refresh=True)
        except (OidcError, jwt.PyJWTError) as e:
            log.warning("keys of OpenID provider %s not refreshed: %s", self.name, e)

    def _signing_key(self, token: str) -> jwt.PyJWK:
        try:
            self.metadata()
        except OidcError as e:
            raise AuthError(T("oidc_step", detail=e.message)) from None
        assert self._keys is not None
        try:
            return self._keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise AuthError(T("oidc_jwks_unreachable")) from None
        except jwt.PyJWKClientError:
            raise AuthError(T("oidc_unknown_kid")) from None
        except jwt.PyJWTError:
            raise AuthError(T("oidc_malformed")) from None

    # -- the authorization code flow ------------------------------------------------------

    def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, code_challenge: str
    ) -> str:
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        endpoint = self.metadata().authorization_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    async def exchange(self, *, code: str, redirect_uri: str, code_verifier: str) -> str:
        """The ID token the token endpoint gives for `code`; OidcError otherwise."""
        metadata = self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        auth: httpx.Auth | None = None
        if self.config.client_secret is not None:
            # client_secret_basic: both form-urlencoded first (RFC 6749 §2.3.1).
            auth = httpx.BasicAuth(
                quote(self.config.client_id, safe=""),
                quote(self.config.client_secret.get_secret_value(), safe=""),
            )
        else:
            form["client_id"] = self.config.client_id  # a public client: PKCE only
        try:
            async with httpx.AsyncClient(
                timeout=self.config.http_timeout_seconds, auth=auth
            ) as http:
                r = await http.post(
                    metadata.token_endpoint, data=form, headers={"Accept": "application/json"}
                )
            body = r.json()
        except (httpx.HTTPError, ValueError):
            raise OidcError("Không đổi được mã xác thực tại hệ thống đăng nhập.") from None
        if r.status_code != 200 or not isinstance(body, dict):
            why = body.get("error") if isinstance(body, dict) else None
            log.warning("token endpoint of %s refused the code: %s", self.name, why)
            raise OidcError(
                "Hệ thống đăng nhập không chấp nhận mã xác thực (có thể đã dùng hoặc hết hạn); "
                "vui lòng đăng nhập lại."
            )
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise OidcError("Hệ thống đăng nhập không trả về ID token.")
        return id_token

    def end_session_url(self, *, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser to end the provider's session too (RP-Initiated
        Logout 1.0), or None when the provider offers no end_session_endpoint."""
        try:
            endpoint = self.metadata().end_session_endpoint
        except OidcError:
            return None
        if not endpoint:
            return None
        params = {
            "client_id": self.config.client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
        if id_token:
            params["id_token_hint"] = id_token
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    # -- ID tokens ------------------------------------------------------------------------

    def verify_id_token(self, token: str, *, nonce: str | None = None) -> dict[str, Any]:
        """The claims of a valid ID token of this provider (and, at sign-in, for `nonce`);
        AuthError says why not."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthError(T("token_too_large"))
        key = self._signing_key(token)
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.config.algorithms),
                audience=self.config.client_id,
                issuer=self.issuer,
                options={
                    "require": ["iss", "aud", "sub", "exp", "iat"],
                    # check_times does these strictly (PyJWT takes "1999999999" and true).
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAlgorithmError:
            raise AuthError(T("oidc_algorithm")) from None
        except jwt.InvalidSignatureError:
            raise AuthError(T("oidc_signature")) from None
        except jwt.InvalidAudienceError:
            raise AuthError(T("oidc_audience")) from None
        except jwt.InvalidIssuerError:
            raise AuthError(T("oidc_issuer")) from None
        except jwt.MissingRequiredClaimError as e:
            raise AuthError(T("oidc_missing_claim", claim=e.claim)) from None
        except jwt.PyJWTError:
            raise AuthError(T("oidc_invalid")) from None
        audiences = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
        if len(audiences) > 1 and payload.get("azp") != self.config.client_id:
            raise AuthError(T("oidc_azp"))
        check_times(payload, now=time.time(), leeway=self._leeway, max_lifetime=self._max_lifetime)
        if nonce is not None and not secrets.compare_digest(str(payload.get("nonce", "")), nonce):
            raise AuthError(T("oidc_nonce"))
        return payload

    def principal(self, payload: dict[str, Any]) -> Principal:
        """The caller named by verified claims, through this provider's mapping."""
        c = self.config
        roles: list[Role] = []
        if c.roles_claim:
            raw = _claim(payload, c.roles_claim)
            names = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
            for name in names:
                if not isinstance(name, str):
                    continue
                role = c.role_map.get(name) if c.role_map else _role(name)
                if role is not None and role not in roles:
                    roles.append(role)
        if not roles:
            roles = list(c.default_roles)
        if not roles:
            raise AuthError(T("oidc_no_role"))
        if c.allowed_roles is not None:
            refused = [r.value for r in roles if r not in c.allowed_roles]
            if refused:
                raise AuthError(T("oidc_role_refused", provider=c.name, role=refused[0]))
        claims: dict[str, Any] = {
            "sub": payload.get("sub"),
            "name": _claim(payload, c.name_claim) or "",
            "roles": [r.value for r in roles],
        }
        agency = _claim(payload, c.agency_claim) if c.agency_claim else None
        if agency is not None and any(r in OFFICER_ROLES for r in roles):
            claims["agency"] = agency
        return principal_from_claims(claims)


def _role(name: str) -> Role | None:
    try:
        role = Role(name)
    except ValueError:
        return None  # the provider's own roles (offline_access, ...) are not ours
    return None if role is Role.SYSTEM else role


class OidcTokenVerifier(TokenVerifier):
    """The API's verifier with OpenID providers: a token whose (unverified) `iss` is a
    provider's issuer is verified as that provider's ID token (and only so); any other
    token as TokenVerifier does."""

    providers: dict[str, OidcProvider]

    def provider(self, name: str) -> OidcProvider | None:
        return next((p for p in self.providers.values() if p.name == name), None)

    def verify(self, token: str) -> Principal:
        provider = self.provider_of(token)
        if provider is None:
            return super().verify(token)
        return provider.principal(provider.verify_id_token(token))

    def verify_for(self, token: str) -> tuple[OidcProvider, dict[str, Any]] | None:
        """The provider and verified claims of a provider's ID token; None for a token of
        no provider; AuthError for an invalid one."""
        provider = self.provider_of(token)
        if provider is None:
            return None
        return provider, provider.verify_id_token(token)

    def provider_of(self, token: str) -> OidcProvider | None:
        if not self.providers or not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        try:
            iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            return None  # malformed: TokenVerifier says so
        return self.providers.get(iss) if isinstance(iss, str) else None


async def keep_keys_fresh(verifier: TokenVerifier) -> None:
    """Fetch every provider's discovery document and key set again before the cached ones
    expire, in a thread: requests then verify tokens from the cache and never wait on the
    provider in the event loop (only a token with a kid the set lacks still does, at most
    every jwks_refresh_cooldown_seconds). Runs until cancelled (the API's lifespan)."""
    providers = list(getattr(verifier, "providers", {}).values())
    if not providers:
        return
    pause = min(p.config.jwks_cache_seconds for p in providers) / 2
    while True:
        for provider in providers:
            await asyncio.to_thread(provider.refresh)
        await asyncio.sleep(pause)


def build_verifier(settings: Settings) -> TokenVerifier:
    """The API's token verifier: TokenVerifier's, knowing the configured OpenID providers."""
    verifier = OidcTokenVerifier.from_settings(settings)
    assert isinstance(verifier, OidcTokenVerifier)
    lifetime = timedelta(seconds=settings.jwt_max_lifetime_seconds)
    verifier.providers = {
        p.issuer: OidcProvider(p, max_lifetime=lifetime) for p in settings.oidc_providers
    }
    return verifier
