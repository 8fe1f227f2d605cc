"""Who is calling: bearer tokens (JWT) verified into a `Principal`.

Tokens come from the province's identity provider (RS256, a PEM public key or a
JWKS file whose keys are chosen by the token's `kid`) or, in development, from
`issue_token` (HS256 with the shared secret). The algorithm is pinned to the one
configured: a token that names another algorithm (or "none") is refused, so an
HS256 token "signed" with the RS256 public key is not accepted.

Key rotation: the JWKS file is re-read while the service runs (every
MOTCUA_JWT_JWKS_REFRESH_SECONDS, and at once, at most every 10 s, when a token names
a kid the set does not hold), so the IdP's new key is accepted as soon as the file
lists it, an old key keeps working while it is listed, and a removed key is refused
from the next re-read. A PEM key file is read at start only.

Claims: `sub` (required), `name`, `roles` (a list of role names; a single
`role` string is accepted too), `agency` (required for officer roles), and
`exp` and `iat` (required), `nbf`, `iss`, `aud` (checked against the settings).

Times (`exp`, `iat`, `nbf`) are NumericDates (RFC 7519 §2): JSON numbers of seconds
since 1970 (an integer or a fraction; not a string, not true/false, between 1970 and the
year 9999). A token lives at most MOTCUA_JWT_MAX_LIFETIME_SECONDS (12 h) from `iat` to
`exp`, so a token that cannot be revoked cannot be valid for years either; `iat` (and
`nbf`) may not be in the future beyond the leeway (30 s of clock skew); `exp` may be past
by at most the leeway. PyJWT alone accepts `"exp": "1999999999"`, `10**20`, or `true`
for `iat`, hence our own checks (`check_times`).

`AuthError.message` says why a token was refused and is safe to show to the
caller; it never repeats the token or any part of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from api.errors import ApiError
from api.messages import T
from api.session import check_csrf, session_token
from domain.catalog import Role
from domain.dossier import Actor
from domain.i18n import Text
from domain.validation import Invalid
from domain.vietnamese import number
from infra.settings import Settings
from infra.settings_messages import S, os_reason

# Roles that act for an agency, so a token granting them must name the agency.
OFFICER_ROLES: frozenset[Role] = frozenset(
    {
        Role.INTAKE_OFFICER,
        Role.SPECIALIST,
        Role.LEADER,
        Role.SIGNER,
        Role.RETURN_OFFICER,
    }
)
# Only the engine itself acts as "system"; no token may grant it.
TOKEN_ROLES: frozenset[Role] = frozenset(Role) - {Role.SYSTEM}

MAX_TOKEN_LENGTH = 16_384
MIN_HS256_SECRET_BYTES = 32
DEFAULT_LEEWAY = timedelta(seconds=30)
_MAX_CLAIM_LENGTH = 256
DEFAULT_MAX_LIFETIME = timedelta(hours=12)
# NumericDates beyond 9999-12-31 are not dates a token can mean (RFC 7519 §2).
MAX_NUMERIC_DATE = 253_402_300_799
TIME_CLAIMS = {"exp": T("time_exp"), "iat": T("time_iat"), "nbf": T("time_nbf")}
# The least time between two re-reads of the JWKS file caused by unknown kids (a stream
# of forged kids must not turn into a stream of file reads).
JWKS_UNKNOWN_KID_INTERVAL = 10.0

log = logging.getLogger("motcua.auth")


class AuthError(Exception):
    """A token was refused. `message` is safe to return to the caller (`text` rendered in
    the caller's language; `message` is its Vietnamese)."""

    def __init__(self, message: Text) -> None:
        self.text = message
        self.message = str(message)
        super().__init__(self.message)


class Principal(BaseModel):
    """The verified caller."""

    model_config = ConfigDict(frozen=True)

    sub: str = Field(min_length=1, max_length=_MAX_CLAIM_LENGTH)
    name: str = Field(default="", max_length=_MAX_CLAIM_LENGTH)
    roles: list[Role] = Field(min_length=1)
    agency: str | None = Field(default=None, min_length=1, max_length=_MAX_CLAIM_LENGTH)

    @field_validator("roles", mode="after")
    @classmethod
    def _dedupe(cls, roles: list[Role]) -> list[Role]:
        return list(dict.fromkeys(roles))

    @model_validator(mode="after")
    def _check_roles(self) -> Principal:
        if Role.SYSTEM in self.roles:
            raise ValueError(T("claim_role_not_granted", role=Role.SYSTEM.value))
        officer = [r.value for r in self.roles if r in OFFICER_ROLES]
        if officer and not self.agency:
            raise ValueError(T("claim_agency", role=officer[0]))
        return self

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_auditor(self) -> bool:
        return Role.AUDITOR in self.roles

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    def actor_for(self, role: Role) -> Actor:
        """The caller acting in `role`; ApiError 403 if the token does not grant it.

        An applicant acts for themself, so the actor carries no agency then."""
        if not self.has(role):
            raise ApiError(403, "forbidden", T("needs_role", role=role.value))
        agency = None if role is Role.APPLICANT else self.agency
        return Actor(id=self.sub, name=self.name, role=role, agency=agency)


# -- verification ---------------------------------------------------------------------------


def _load_pem_public_key(path: Path) -> RSAPublicKey:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise Invalid(T("jwt_key_unreadable", path=str(path), error=os_reason(e))) from None
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            key: object = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = load_pem_public_key(data)
    except ValueError:
        raise Invalid(T("jwt_key_not_pem", path=str(path))) from None
    if not isinstance(key, RSAPublicKey):
        raise Invalid(T("jwt_key_not_rsa", path=str(path), kind=type(key).__name__))
    return key


def _load_jwks(path: Path) -> dict[str | None, jwt.PyJWK]:
    """RS256 signing keys of a JWKS file, by kid (None for a single key without one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise Invalid(T("jwks_unreadable", path=str(path), error=os_reason(e))) from None
    except ValueError:
        raise Invalid(T("jwks_not_json", path=str(path))) from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise Invalid(T("jwks_not_a_set", path=str(path)))
    candidates: list[dict[str, Any]] = []
    for jwk in data["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
            continue  # encryption keys, other algorithms: not for us
        if "d" in jwk:
            raise Invalid(T("jwks_private_key", path=str(path), kid=repr(jwk.get("kid"))))
        candidates.append(jwk)
    if not candidates:
        raise Invalid(T("jwks_no_rs256", path=str(path)))
    try:
        keyset = jwt.PyJWKSet.from_dict({"keys": candidates})
    except jwt.PyJWTError as e:
        raise Invalid(T("jwks_invalid", path=str(path), error=str(e))) from None
    keys: dict[str | None, jwt.PyJWK] = {}
    for key in keyset:
        if key.algorithm_name != "RS256":
            continue
        if key.key_id in keys:
            raise Invalid(T("jwks_duplicate_kid", path=str(path), kid=repr(key.key_id)))
        keys[key.key_id] = key
    if not keys:
        raise Invalid(T("jwks_no_rs256", path=str(path)))
    if len(keys) > 1 and None in keys:
        raise Invalid(T("jwks_kid_needed", path=str(path)))
    return keys


def _digest(path: Path) -> str | None:
    """SHA-256 of a file's bytes (None when it cannot be read just now)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _hours(seconds: float) -> str:
    """Hours the Vietnamese way: 12; 0,5; 87.600."""
    hours = seconds / 3600
    if hours >= 10 or hours == int(hours):
        return number(round(hours))
    return f"{hours:.2g}".replace(".", ",")


def check_times(
    payload: dict[str, Any],
    *,
    now: float,
    leeway: timedelta = DEFAULT_LEEWAY,
    max_lifetime: timedelta = DEFAULT_MAX_LIFETIME,
) -> None:
    """The token's time claims per RFC 7519 and our limits; AuthError (in Vietnamese)
    says which claim is wrong. `exp` and `iat` are required, `nbf` is optional."""
    for claim, meaning in TIME_CLAIMS.items():
        if claim not in payload:
            if claim == "nbf":
                continue
            raise AuthError(T("claim_missing_time", claim=claim, meaning=meaning))
        value = payload[claim]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AuthError(T("claim_numeric_date", claim=claim, meaning=meaning))
        if not (math.isfinite(value) and 0 <= value <= MAX_NUMERIC_DATE):
            raise AuthError(T("claim_out_of_range", claim=claim, meaning=meaning))
    skew = leeway.total_seconds()
    exp, iat = float(payload["exp"]), float(payload["iat"])
    if exp <= now - skew:
        raise AuthError(T("claim_exp"))
    if iat > now + skew:
        raise AuthError(T("claim_iat_future"))
    if "nbf" in payload and float(payload["nbf"]) > now + skew:
        raise AuthError(T("claim_nbf_future"))
    lifetime = exp - iat
    if lifetime > max_lifetime.total_seconds():
        raise AuthError(
            T(
                "claim_lifetime",
                hours=_hours(lifetime),
                max_hours=_hours(max_lifetime.total_seconds()),
            )
        )


def _refusal(error: jwt.PyJWTError, algorithm: str) -> Text:
    """A safe message for a PyJWT error (ordered: subclasses first)."""
    if isinstance(error, jwt.ExpiredSignatureError):
        return T("token_expired")
    if isinstance(error, jwt.ImmatureSignatureError):
        return T("token_immature")
    if isinstance(error, jwt.InvalidSignatureError):
        return T("token_signature")
    if isinstance(error, jwt.InvalidAlgorithmError):
        return T("token_algorithm", algorithm=algorithm)
    if isinstance(error, jwt.InvalidAudienceError):
        return T("token_audience")
    if isinstance(error, jwt.InvalidIssuerError):
        return T("token_issuer")
    if isinstance(error, jwt.MissingRequiredClaimError):
        return T("claim_missing", claim=error.claim)
    if isinstance(error, jwt.InvalidIssuedAtError):
        return T("claim_numeric_date", claim="iat", meaning=TIME_CLAIMS["iat"])
    if isinstance(error, jwt.exceptions.InvalidSubjectError):
        return T("claim_string", claim="sub")
    if isinstance(error, jwt.InvalidKeyError):
        return T("token_key")
    if isinstance(error, jwt.DecodeError):
        return T("token_malformed_claims")
    return T("token_invalid")


def _str_claim(payload: dict[str, Any], claim: str) -> str | None:
    value = payload.get(claim)
    if value is None:
        return None
    if not isinstance(value, str):
        raise AuthError(T("claim_string", claim=claim))
    if len(value) > _MAX_CLAIM_LENGTH:
        raise AuthError(T("claim_too_long", claim=claim))
    return value


def _roles_claim(payload: dict[str, Any]) -> list[Role]:
    raw: Any
    if payload.get("roles") is not None:
        raw = payload["roles"]
        if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
            raise AuthError(T("claim_roles_list"))
    elif payload.get("role") is not None:
        if not isinstance(payload["role"], str):
            raise AuthError(T("claim_string", claim="role"))
        raw = [payload["role"]]
    else:
        raise AuthError(T("claim_missing", claim="roles"))
    if not raw:
        raise AuthError(T("claim_roles_empty"))
    roles: list[Role] = []
    for name in raw:
        try:
            role = Role(name)
        except ValueError:
            shown = name if len(name) <= 40 else name[:40] + "…"
            raise AuthError(T("claim_unknown_role", role=shown)) from None
        if role not in TOKEN_ROLES:
            raise AuthError(T("claim_role_not_granted", role=role.value))
        roles.append(role)
    return roles


def principal_from_claims(payload: dict[str, Any]) -> Principal:
    """The principal named by already-verified claims; AuthError says what is wrong."""
    sub = _str_claim(payload, "sub")
    if not sub:
        raise AuthError(T("claim_missing", claim="sub"))
    roles = _roles_claim(payload)
    agency = _str_claim(payload, "agency") or None
    name = _str_claim(payload, "name") or ""
    officer = [r for r in roles if r in OFFICER_ROLES]
    if officer and agency is None:
        raise AuthError(T("claim_agency", role=officer[0].value))
    try:
        return Principal(sub=sub, name=name, roles=roles, agency=agency)
    except ValidationError as e:
        first = e.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, ValueError) and cause.args and isinstance(cause.args[0], Text):
            raise AuthError(cause.args[0]) from None
        msg = str(first.get("msg", "invalid claims")).removeprefix("Value error, ")
        raise AuthError(T("claims_invalid", reason=msg)) from None


class TokenVerifier:
    """Verifies bearer tokens for one configured algorithm and key (or key set)."""

    def __init__(
        self,
        *,
        algorithm: str,
        issuer: str,
        audience: str,
        key: str | RSAPublicKey | None = None,
        jwks: dict[str | None, jwt.PyJWK] | None = None,
        leeway: timedelta = DEFAULT_LEEWAY,
        max_lifetime: timedelta = DEFAULT_MAX_LIFETIME,
        jwks_file: Path | None = None,
        jwks_refresh: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if algorithm not in ("HS256", "RS256"):
            raise ValueError(f"unsupported JWT algorithm {algorithm!r}")
        if (key is None) == (jwks is None):
            raise ValueError("give exactly one of key and jwks")
        if algorithm == "HS256" and not isinstance(key, str):
            raise ValueError("HS256 needs a shared secret")
        if algorithm == "RS256" and isinstance(key, str):
            raise ValueError("RS256 needs an RSA public key or a JWKS, not a secret")
        if jwks is not None and not jwks:
            raise ValueError("empty key set")
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self._key = key
        self._jwks = jwks
        self._leeway = leeway
        self._max_lifetime = max_lifetime
        # Key rotation: the JWKS file (when given) is re-read every `jwks_refresh` seconds,
        # and at once (at most every JWKS_UNKNOWN_KID_INTERVAL) for a token whose kid is
        # not in the set; a key removed from the file is refused from the next re-read.
        self._jwks_file = jwks_file
        self._jwks_refresh = jwks_refresh
        self._clock = clock
        self._jwks_checked = clock()
        self._jwks_digest = _digest(jwks_file) if jwks_file is not None else None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        leeway: timedelta = DEFAULT_LEEWAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> TokenVerifier:
        common: dict[str, Any] = {
            "algorithm": settings.jwt_algorithm,
            "issuer": settings.jwt_issuer,
            "audience": settings.jwt_audience,
            "leeway": leeway,
            "max_lifetime": timedelta(seconds=settings.jwt_max_lifetime_seconds),
        }
        if settings.jwt_algorithm == "HS256":
            secret = settings.jwt_secret.get_secret_value()
            if not secret:
                raise Invalid(T("jwt_secret_empty"))
            if (
                settings.environment == "production"
                and len(secret.encode()) < MIN_HS256_SECRET_BYTES
            ):
                raise Invalid(S("too_short", name="MOTCUA_JWT_SECRET", size=MIN_HS256_SECRET_BYTES))
            return cls(key=secret, **common)
        if settings.jwt_public_key_file and settings.jwt_jwks_file:
            raise Invalid(
                S("only_one", first="MOTCUA_JWT_PUBLIC_KEY_FILE", second="MOTCUA_JWT_JWKS_FILE")
            )
        if settings.jwt_jwks_file:
            return cls(
                jwks=_load_jwks(settings.jwt_jwks_file),
                jwks_file=settings.jwt_jwks_file,
                jwks_refresh=settings.jwt_jwks_refresh_seconds,
                clock=clock,
                **common,
            )
        if settings.jwt_public_key_file:
            return cls(key=_load_pem_public_key(settings.jwt_public_key_file), **common)
        raise Invalid(S("rs256_key"))

    def _key_for(self, token: str) -> str | RSAPublicKey | jwt.PyJWK:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(T("token_malformed")) from None
        if header.get("alg") != self.algorithm:  # pinned; jwt.decode checks it again
            raise AuthError(T("token_algorithm", algorithm=self.algorithm))
        if self._jwks is None:
            assert self._key is not None
            return self._key
        self._refresh_jwks(unknown_kid=False)
        kid = header.get("kid")
        if isinstance(kid, str) and kid not in self._jwks:
            self._refresh_jwks(unknown_kid=True)  # a key the IdP has just published?
        assert self._jwks is not None
        if kid is None or list(self._jwks) == [None]:
            if len(self._jwks) == 1:  # a single key needs no kid
                return next(iter(self._jwks.values()))
            raise AuthError(T("token_no_kid"))
        key = self._jwks.get(kid)
        if key is None:
            raise AuthError(T("token_unknown_kid"))
        return key

    def _refresh_jwks(self, *, unknown_kid: bool) -> None:
        """Re-read the JWKS file when it is time (or a kid is unknown, rate-limited); a
        file that no longer loads (half written, emptied) keeps the keys in use."""
        if self._jwks_file is None:
            return
        interval = JWKS_UNKNOWN_KID_INTERVAL if unknown_kid else self._jwks_refresh
        now = self._clock()
        if now - self._jwks_checked < interval:
            return
        self._jwks_checked = now
        digest = _digest(self._jwks_file)
        if digest is None or digest == self._jwks_digest:
            return
        try:
            keys = _load_jwks(self._jwks_file)
        except ValueError as e:
            log.warning("JWKS file not reloaded, the keys in use stay: %s", e)
            return
        log.info(
            "JWKS reloaded from %s: kids %s",
            self._jwks_file,
            ", ".join(sorted(str(k) for k in keys)),
        )
        self._jwks = keys
        self._jwks_digest = digest

    def verify(self, token: str) -> Principal:
        if not token:
            raise AuthError(T("token_empty"))
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthError(T("token_too_large"))
        key = self._key_for(token)
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require": ["iss", "aud", "sub"],
                    "verify_signature": True,
                    # The time claims are checked below (PyJWT takes "1999999999" and true).
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as e:
            raise AuthError(_refusal(e, self.algorithm)) from None
        check_times(payload, now=time.time(), leeway=self._leeway, max_lifetime=self._max_lifetime)
        return principal_from_claims(payload)


def issue_token(
    settings: Settings,
    *,
    sub: str,
    roles: Iterable[Role | str] | Role | str,
    agency: str | None = None,
    name: str = "",
    ttl: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    """A development token (HS256 with settings.jwt_secret), valid for `ttl` (default: the
    longest lifetime, MOTCUA_JWT_MAX_LIFETIME_SECONDS, 12 h). Refused in production and when
    the service is configured for RS256 (tokens then come from the identity provider).
    `now` (aware) backdates or postdates the token, for tests."""
    if settings.environment == "production":
        raise Invalid(T("issue_token_production"))
    if settings.jwt_algorithm != "HS256":
        raise Invalid(T("issue_token_rs256"))
    if ttl is None:
        ttl = timedelta(seconds=settings.jwt_max_lifetime_seconds)
    if ttl <= timedelta(0):
        raise Invalid(T("issue_token_ttl"))
    if ttl > timedelta(seconds=settings.jwt_max_lifetime_seconds):
        raise ValueError(
            f"token chỉ được có hiệu lực tối đa {_hours(settings.jwt_max_lifetime_seconds)} "
            "giờ (MOTCUA_JWT_MAX_LIFETIME_SECONDS)"
        )
    role_list = [roles] if isinstance(roles, str) else list(roles)
    principal = Principal(
        sub=sub,
        name=name,
        roles=[Role(r) for r in role_list],
        agency=agency or None,
    )
    issued = (now or datetime.now(UTC)).astimezone(UTC)
    payload: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": principal.sub,
        "name": principal.name,
        "roles": [r.value for r in principal.roles],
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    if principal.agency is not None:
        payload["agency"] = principal.agency
    return jwt.encode(payload, settings.jwt_secret.get_secret_value(), algorithm="HS256")


# -- FastAPI wiring -------------------------------------------------------------------------

bearer = HTTPBearer(auto_error=False)


def get_verifier(request: Request) -> TokenVerifier:
    verifier = getattr(request.app.state, "verifier", None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError(
            "app.state.verifier is not set: build it at startup with TokenVerifier.from_settings"
        )
    return verifier


def bearer_token(request: Request) -> str | None:
    """The bearer token of the Authorization header, if there is one, else the web
    interface's session cookie's (api/session.py)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else session_token(request)


def verify_request_token(request: Request, token: str) -> Principal:
    """`token` verified, once per request: the rate limiter (which counts a valid token by
    its subject, anything else by the client address) and `current_principal` share the
    verdict through request.state. AuthError when the token is not valid."""
    memo = getattr(request.state, "token_verdict", None)
    if memo is not None and memo[0] == token:
        verdict: Principal | AuthError = memo[1]
    else:
        try:
            verdict = get_verifier(request).verify(token)
        except AuthError as e:
            verdict = e
        request.state.token_verdict = (token, verdict)
    if isinstance(verdict, AuthError):
        raise verdict
    return verdict


async def current_principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Principal:
    """The verified caller (also kept on request.state.principal); 401 otherwise. The
    token is verified once per request (`verify_request_token`), whether the rate limiter,
    api.bodies.BodyGuard (before the body is read) or the route asks first."""
    token = credentials.credentials if credentials is not None else None
    if not token:
        token = session_token(request)
        if token:
            check_csrf(request)  # a cookie rides along by itself: api/session.py
    if not token:
        raise ApiError(401, "unauthenticated", T("token_missing"))
    try:
        principal = verify_request_token(request, token)
    except AuthError as e:
        raise ApiError(401, "unauthenticated", e.text) from None
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting a caller who holds any of `roles` (403 otherwise):

    `principal: Annotated[Principal, Depends(require_roles(Role.LEADER, Role.SIGNER))]`"""
    if not roles:
        raise ValueError("require_roles needs at least one role")
    if Role.SYSTEM in roles:
        raise ValueError("no caller holds role 'system'")
    wanted = tuple(dict.fromkeys(roles))
    if len(wanted) == 1:
        needs = T("needs_role", role=wanted[0].value)
    else:
        needs = T("needs_one_of", roles=", ".join(repr(r.value) for r in wanted))

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not any(principal.has(r) for r in wanted):
            raise ApiError(403, "forbidden", needs)
        return principal

    return dependency
