"""Settings of the OpenID Connect providers the web interface signs in with.

`MOTCUA_OIDC_PROVIDERS` is a JSON list, one object per provider (README, "Đăng nhập bằng
OpenID Connect"). A deployment usually has two: citizens through VNeID by the national
portal's single sign-on (every citizen is an applicant, whatever the token says), and
officers through the province's single sign-on (roles and agency from its claims). One
provider whose claims tell citizens from officers works too: give it `roles_claim`,
`role_map` and no `allowed_roles`.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from domain.catalog import Role
from domain.validation import Invalid
from infra.settings_messages import S

PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
# The JWS algorithms an ID token may be signed with (never "none", never HMAC: the
# client secret is not a signing key we accept).
SIGNATURE_ALGORITHMS = ("RS256", "PS256", "ES256")

ClaimPath = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^.\s]+(\.[^.\s]+)*$")]


class OidcProviderConfig(BaseModel):
    """One OpenID Provider: where it is, who we are to it, and how its claims map to roles."""

    # Each field's docstring is its description (README, "Signing in with OpenID Connect").
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str = Field(pattern=PROVIDER_NAME.pattern)
    """short name in the sign-in URLs /ui/login/<name> and /ui/callback/<name>: lowercase
    letters, digits and '-', up to 32"""
    label: str = Field(default="", max_length=120)
    """the sign-in button's text (Vietnamese)"""
    issuer: str
    """the provider's issuer URL (its discovery document is read from it)"""
    client_id: str = Field(min_length=1, max_length=256)
    client_secret: SecretStr | None = None
    """confidential client (client_secret_basic); unset: a public client, PKCE alone
    protects the code"""
    scopes: list[str] = ["openid", "profile"]
    name_claim: ClaimPath = "name"
    roles_claim: ClaimPath | None = "roles"
    """claim holding the user's roles (a list or one string; dotted for nested claims,
    e.g. realm_access.roles); unset: only default_roles"""
    agency_claim: ClaimPath | None = "agency"
    """claim holding the officer's agency code"""
    role_map: dict[str, Role] = {}
    """provider role -> motcua role; empty: the claim holds motcua role names. With a map,
    provider roles it does not name are ignored"""
    default_roles: list[Role] = []
    """roles of a user whose token names none (VNeID citizens: applicant)"""
    allowed_roles: list[Role] | None = None
    """the only roles this provider may grant (VNeID: applicant); a token naming another
    is refused"""
    algorithms: list[str] = ["RS256"]
    jwks_cache_seconds: float = Field(default=300, gt=0)
    """how long the provider's key set is kept (fetched again in the background at half)"""
    jwks_refresh_cooldown_seconds: float = Field(default=10, ge=0)
    """least time between two fetches of the key set forced by a token whose kid it does
    not hold (a rotated key); 0: no wait"""
    http_timeout_seconds: float = Field(default=5, gt=0, le=60)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Invalid(S("oidc_issuer_url", value=repr(value)))
        if parts.query or parts.fragment:
            raise Invalid(S("oidc_issuer_query", value=repr(value)))
        return value

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, value: list[str]) -> list[str]:
        wrong = [a for a in value if a not in SIGNATURE_ALGORITHMS]
        if wrong or not value:
            raise Invalid(S("oidc_algorithms", choices=", ".join(SIGNATURE_ALGORITHMS)))
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise Invalid(S("oidc_scopes"))
        return value

    @model_validator(mode="after")
    def _roles_possible(self) -> OidcProviderConfig:
        if Role.SYSTEM in self.default_roles or Role.SYSTEM in self.role_map.values():
            raise Invalid(S("oidc_system"))
        if not self.roles_claim and not self.default_roles:
            raise Invalid(S("oidc_default_roles"))
        if self.allowed_roles is not None:
            extra = [r.value for r in self.default_roles if r not in self.allowed_roles]
            if extra:
                raise Invalid(S("oidc_roles_not_allowed", roles=str(extra)))
        return self

    @property
    def title(self) -> str:
        return self.label or f"Đăng nhập qua {urlsplit(self.issuer).netloc}"


def check_providers(providers: list[OidcProviderConfig], *, production: bool) -> None:
    """Providers that can live together; ValueError names the first conflict."""
    names = [p.name for p in providers]
    issuers = [p.issuer.rstrip("/") for p in providers]
    for label, values in (("name", names), ("issuer", issuers)):
        seen = {v for v in values if values.count(v) > 1}
        if seen:
            raise Invalid(S("oidc_duplicate", label=label, value=repr(sorted(seen)[0])))
    if production:
        plain = [p.issuer for p in providers if not p.issuer.startswith("https://")]
        if plain:
            raise Invalid(S("oidc_not_https", issuer=plain[0]))
