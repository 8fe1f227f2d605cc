"""OpenID Connect settings and claim mapping (no provider needed), and the development
login, which never exists in production. The sign-in itself, against real providers, is
tests/browser/test_oidc_signin.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.auth import AuthError
from api.oidc import OidcProvider, pkce_pair
from api.ui.signin import safe_next
from domain.catalog import Role
from infra.oidc import OidcProviderConfig
from infra.settings import SettingsError, load_settings
from motcua.devserver import find_free_port
from store.db import init_db, make_engine
from tests.api.test_hardening import hardening_settings
from tests.devserver.journeys import shipped_catalog
from tests.payload_keys import TEST_PAYLOAD_KEYS

PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "jwt_secret": "p" * 48,
    "payment_gateway_secret": "g" * 48,
    "payload_keys": TEST_PAYLOAD_KEYS,
}
PROVINCE: dict[str, Any] = {
    "name": "tinh",
    "issuer": "https://sso.example.gov.vn/realms/tinh",
    "client_id": "motcua",
}
VNEID: dict[str, Any] = {
    "name": "vneid",
    "issuer": "https://sso.dichvucong.example.gov.vn",
    "client_id": "motcua-dvc",
    "roles_claim": None,
    "default_roles": ["applicant"],
    "allowed_roles": ["applicant"],
}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    e = make_engine(f"sqlite:///{tmp_path / 'motcua.db'}")
    init_db(e)
    return e


def test_dev_login_never_exists_in_production(tmp_path: Path, engine: Engine) -> None:
    # A provider nobody answers for at once (the API fetches its keys in the background).
    nowhere = PROVINCE | {"issuer": f"https://127.0.0.1:{find_free_port()}/realms/tinh"}
    prod = hardening_settings(tmp_path, **PRODUCTION, oidc_providers=[nowhere])
    app = create_app(prod, engine=engine, catalog=shipped_catalog())
    assert "/ui/dev-login" not in {getattr(r, "path", "") for r in app.routes}
    with TestClient(app, base_url="https://motcua.example.gov.vn") as http:
        r = http.post("/ui/dev-login", json={"sub": "tnhs-01"})
        assert r.status_code in (404, 405), r.text
        page = http.get("/ui/")
        assert page.status_code == 200
        assert "user-button" not in page.text and "Tài khoản thử nghiệm" not in page.text
        assert 'href="/ui/login/tinh"' in page.text  # the province's single sign-on instead
    # ... while `make run` (development, HS256) has it.
    dev = hardening_settings(tmp_path / "dev")
    app = create_app(dev, engine=engine, catalog=shipped_catalog())
    with TestClient(app) as http:
        assert http.post("/ui/dev-login", json={"sub": "tnhs-01"}).json()["token"]
        assert "user-button" in http.get("/ui/").text


def test_a_cookie_session_outside_our_pages_is_refused(tmp_path: Path, engine: Engine) -> None:
    app = create_app(hardening_settings(tmp_path), engine=engine, catalog=shipped_catalog())
    with TestClient(app) as http:
        token = http.post("/ui/dev-login", json={"sub": "tnhs-01"}).json()["token"]
        session = {"Cookie": f"motcua_session={token}"}
        assert http.get("/v1/worklist", headers=session).status_code == 200
        r = http.post("/v1/dossiers", headers=session, json={})
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
        r = http.post("/ui/logout", headers=session)
        assert r.status_code == 403
        r = http.post("/ui/logout", headers=session | {"X-Motcua-CSRF": "1"})
        assert r.json() == {"redirect": "/ui/"}
        assert "motcua_session=" in r.headers["set-cookie"]  # removed (Max-Age=0)
        assert http.get("/ui/session").json() == {"user": None}


def provider(**kw: Any) -> OidcProvider:
    return OidcProvider(OidcProviderConfig(**(PROVINCE | kw)))


def test_roles_and_agency_come_from_configurable_claims() -> None:
    p = provider(
        roles_claim="realm_access.roles",
        agency_claim="org.ma_dinh_danh",
        name_claim="ho_ten",
        role_map={"tiep-nhan": "intake_officer", "lanh-dao": "leader"},
    )
    who = p.principal(
        {
            "sub": "u1",
            "ho_ten": "Trần Thị Bình",
            "realm_access": {"roles": ["tiep-nhan", "offline_access", "lanh-dao"]},
            "org": {"ma_dinh_danh": "000.00.01.H99"},
        }
    )
    assert who.roles == [Role.INTAKE_OFFICER, Role.LEADER]
    assert (who.name, who.agency) == ("Trần Thị Bình", "000.00.01.H99")
    # Without a map the claim holds motcua's role names; others are the provider's own.
    who = provider().principal(
        {"sub": "u2", "roles": ["auditor", "uma_authorization"], "agency": "x"}
    )
    assert who.roles == [Role.AUDITOR] and who.agency is None  # an auditor acts for no agency
    with pytest.raises(AuthError, match="agency"):
        provider().principal({"sub": "u3", "roles": "specialist"})
    with pytest.raises(AuthError, match="chưa được cấp vai trò"):
        provider().principal({"sub": "u4", "roles": ["system", "uma_authorization"]})


def test_a_citizen_provider_grants_applicant_only() -> None:
    p = OidcProvider(OidcProviderConfig(**VNEID))
    who = p.principal({"sub": "001099012345", "name": "Nguyễn Văn An", "roles": ["admin"]})
    assert who.roles == [Role.APPLICANT] and who.agency is None
    one = OidcProvider(OidcProviderConfig(**(VNEID | {"roles_claim": "roles"})))
    with pytest.raises(AuthError, match="'admin'"):
        one.principal({"sub": "001099012345", "roles": ["admin"]})


def test_provider_settings_are_checked() -> None:
    both = load_settings(oidc_providers=[PROVINCE, VNEID])
    assert [p.name for p in both.oidc_providers] == ["tinh", "vneid"]
    with pytest.raises(SettingsError, match="issuer"):
        load_settings(oidc_providers=[PROVINCE, PROVINCE | {"name": "tinh-2"}])
    with pytest.raises(SettingsError, match="name"):
        load_settings(oidc_providers=[PROVINCE, VNEID | {"name": "tinh"}])
    with pytest.raises(SettingsError, match=r"issuer http://sso\.vn không dùng https"):
        load_settings(**PRODUCTION, oidc_providers=[PROVINCE | {"issuer": "http://sso.vn"}])
    for wrong in (
        {"name": "Tỉnh"},
        {"scopes": ["profile"]},
        {"algorithms": ["HS256"]},
        {"roles_claim": None},
        {"default_roles": ["system"]},
        {"default_roles": ["leader"], "allowed_roles": ["applicant"]},
        {"issuer": "sso.example.gov.vn"},
    ):
        with pytest.raises(SettingsError):
            load_settings(oidc_providers=[PROVINCE | wrong])


def test_pkce_and_the_page_to_return_to() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128 and len(challenge) == 43 and "=" not in challenge
    assert pkce_pair()[0] != verifier
    assert safe_next("/ui/dossiers/X") == "/ui/dossiers/X"
    for unsafe in ("https://evil.example", "//evil.example/ui/", "/v1/x", "/ui/\\evil", None):
        assert safe_next(unsafe) is None
