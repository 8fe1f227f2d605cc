"""Signing in as people really sign in: OpenID Connect in Chromium, against two real
OpenID Providers run here (the certified `oidc-provider`, tests/oidc_provider.py): VNeID
through the national portal's single sign-on for citizens, the province's single sign-on
for officers.

The API under test (a real uvicorn, create_app) is configured with both providers
(MOTCUA_OIDC_PROVIDERS): a person clicks the provider's button, signs in on the
provider's own page, comes back signed in (an HttpOnly session cookie holding the
verified ID token), sees their pages, and signs out of both. The refusals: a callback
whose state or nonce is not this browser's login, a tampered or expired ID token, a
cookie-authenticated change without the CSRF header, an account the provider gives no
role; and a key rotation at the provider, picked up from its JWKS at the first token
with the new key id.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect
from temporalio.client import Client

from motcua.devserver import DevServer, find_free_port
from motcua.stack import api_serving
from store import repository
from store.db import init_db, make_engine
from tests.api.conftest import settings_for
from tests.browser.conftest import shot
from tests.devserver.conftest import new_namespace
from tests.devserver.journeys import shipped_catalog
from tests.oidc_provider import LocalProvider, ensure_installed, new_key, sign_as

CENTRE = "000.00.01.H99"
OFFICER_LOGIN = "tnhs.binh"
CITIZEN_LOGIN = "001099012345"


class Stack:
    def __init__(self, url: str, province: LocalProvider, vneid: LocalProvider) -> None:
        self.url = url
        self.province = province
        self.vneid = vneid


@pytest.fixture(scope="module")
async def oidc_stack(
    devserver: DevServer,
    devserver_client: Client,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    """The API with two OpenID providers configured, and the two providers."""
    ensure_installed()
    port = find_free_port()
    base = f"http://127.0.0.1:{port}"
    province = LocalProvider(
        tmp_path_factory.mktemp("op-province"),
        clients=[
            {  # a public client: PKCE alone protects its codes
                "client_id": "motcua-mot-cua",
                "redirect_uris": [f"{base}/ui/callback/tinh"],
                "post_logout_redirect_uris": [f"{base}/ui/"],
            }
        ],
        accounts={
            OFFICER_LOGIN: {"name": "Trần Thị Bình", "roles": ["tiep_nhan"], "agency": CENTRE},
            "khach.le": {"name": "Lê Văn Cường", "roles": ["khach"]},
        },
        keys=[new_key("tinh-2026-1")],
    )
    vneid = LocalProvider(
        tmp_path_factory.mktemp("op-vneid"),
        clients=[
            {
                "client_id": "motcua-dvc",
                "client_secret": "bi-mat-cua-motcua-tai-cong-dvcqg-0123456789",
                "redirect_uris": [f"{base}/ui/callback/vneid"],
                "post_logout_redirect_uris": [f"{base}/ui/"],
            }
        ],
        # A citizen who asks for the motcua scope's claims gets none that make an officer.
        accounts={CITIZEN_LOGIN: {"name": "Nguyễn Văn An", "roles": ["admin"]}},
        keys=[new_key("vneid-1")],
    )
    await province.start()
    await vneid.start()
    providers: list[dict[str, Any]] = [
        {
            "name": "vneid",
            "label": "Người dân: đăng nhập bằng VNeID",
            "issuer": vneid.issuer,
            "client_id": "motcua-dvc",
            "client_secret": "bi-mat-cua-motcua-tai-cong-dvcqg-0123456789",
            "scopes": ["openid", "profile", "motcua"],
            "roles_claim": None,
            "agency_claim": None,
            "default_roles": ["applicant"],
            "allowed_roles": ["applicant"],
            "jwks_refresh_cooldown_seconds": 0,
        },
        {
            "name": "tinh",
            "label": "Cán bộ: đăng nhập một lần của tỉnh",
            "issuer": province.issuer,
            "client_id": "motcua-mot-cua",
            "scopes": ["openid", "profile", "motcua"],
            "roles_claim": "roles",
            "agency_claim": "agency",
            "role_map": {"tiep_nhan": "intake_officer", "kiem_toan": "auditor"},
            "jwks_refresh_cooldown_seconds": 0,
        },
    ]
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('oidc-sqlite') / 'motcua.db'}")
    try:
        init_db(engine)
        client = await new_namespace(devserver_client, devserver.address, "oidc")
        catalog = shipped_catalog()
        settings = settings_for(
            tmp_path_factory.mktemp("oidc-state"),
            api_port=port,
            public_base_url=base,
            oidc_providers=providers,
        )
        repository.sync_catalog(engine, catalog)
        async with api_serving(settings, client, engine, catalog) as url:
            assert url == base
            yield Stack(url, province, vneid)
    finally:
        engine.dispose()
        await province.stop()
        await vneid.stop()


async def sign_in(page: Page, stack: Stack, provider: str, login: str) -> None:
    """Click the provider's button, sign in on the provider's own page."""
    await page.goto(f"{stack.url}/ui/")
    await page.click(f"a.sso-button[data-provider='{provider}']")
    op = stack.vneid if provider == "vneid" else stack.province
    await page.wait_for_url(f"{op.issuer}/**")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", "mat-khau")
    await page.click("button[type=submit]")


async def session_token(context: BrowserContext) -> str:
    cookies = {c["name"]: c for c in await context.cookies()}
    return cookies["motcua_session"]["value"]


def cookie(token: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """Request headers sending `token` as the session cookie (as a browser would)."""
    return {"Cookie": f"motcua_session={token}", **(headers or {})}


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def real_errors(page: Page) -> list[str]:
    """Console errors but the provider's web font, which the test browser may not fetch."""
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    return [e for e in errors if "ERR_BLOCKED_BY_CLIENT" not in e]


async def test_officer_signs_in_sees_the_queue_and_signs_out(oidc_stack: Stack, page: Page) -> None:
    await sign_in(page, oidc_stack, "tinh", OFFICER_LOGIN)
    await page.wait_for_url(f"{oidc_stack.url}/ui/queue")
    await expect(page.locator("#who-name")).to_have_text("Trần Thị Bình · Cán bộ tiếp nhận")
    await expect(page.locator("#nav")).to_contain_text("Hồ sơ cần xử lý")
    await expect(page.locator("main h1")).to_have_text("Hồ sơ cần xử lý")
    # The session: the ID token in a cookie no script can read, never in storage.
    cookie = next(c for c in await page.context.cookies() if c["name"] == "motcua_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert await page.evaluate("document.cookie") == ""
    assert await page.evaluate("sessionStorage.length") == 0
    claims = claims_of(cookie["value"])
    assert claims["iss"] == oidc_stack.province.issuer and claims["roles"] == ["tiep_nhan"]
    # The page's own API calls went through with it: the officer's worklist.
    roles = await page.evaluate(
        "fetch('/v1/worklist', {headers: {'X-Motcua-CSRF': '1'}}).then(r => r.json())"
        ".then(j => j.roles)"
    )
    assert roles == ["intake_officer"]
    assert real_errors(page) == []

    await page.click("#logout")
    # RP-initiated logout: the provider asks, then comes back to the login page.
    await page.wait_for_url(f"{oidc_stack.province.issuer}/**")
    await page.click("button[name=logout]")
    await page.wait_for_url(f"{oidc_stack.url}/ui/")
    await expect(page.locator("#sso")).to_be_visible()
    assert "motcua_session" not in {c["name"] for c in await page.context.cookies()}
    await page.goto(f"{oidc_stack.url}/ui/queue")
    await page.wait_for_url(f"{oidc_stack.url}/ui/?next=%2Fui%2Fqueue")
    # The provider's session ended too: signing in again asks for the login.
    await page.click("a.sso-button[data-provider='tinh']")
    await expect(page.locator("input[name=login]")).to_be_visible()


async def test_citizen_signs_in_with_vneid(oidc_stack: Stack, page: Page) -> None:
    await page.goto(f"{oidc_stack.url}/ui/")
    await expect(page.locator("a.sso-button")).to_have_text(
        ["Người dân: đăng nhập bằng VNeID", "Cán bộ: đăng nhập một lần của tỉnh"]
    )
    await shot(page, "oidc-login-page")
    await sign_in(page, oidc_stack, "vneid", CITIZEN_LOGIN)
    await page.wait_for_url(f"{oidc_stack.url}/ui/my")
    await expect(page.locator("#who-name")).to_have_text("Nguyễn Văn An · Người nộp hồ sơ")
    await expect(page.locator("#nav")).to_contain_text("Hồ sơ của tôi")
    await expect(page.locator("#nav")).not_to_contain_text("Hồ sơ cần xử lý")
    # VNeID's "roles": ["admin"] gave nothing: the provider grants applicant only.
    session = await page.evaluate("fetch('/ui/session').then(r => r.json())")
    assert session["user"]["roles"] == ["applicant"] and session["user"]["provider"] == "vneid"
    assert session["user"]["sub"] == CITIZEN_LOGIN and session["user"]["agency"] is None
    assert real_errors(page) == []
    await page.click("#logout")
    await page.wait_for_url(f"{oidc_stack.vneid.issuer}/**")
    await page.click("button[name=logout]")
    await page.wait_for_url(f"{oidc_stack.url}/ui/")
    assert (await page.evaluate("fetch('/ui/session').then(r => r.json())"))["user"] is None


async def test_an_account_without_a_role_is_refused(oidc_stack: Stack, page: Page) -> None:
    await sign_in(page, oidc_stack, "tinh", "khach.le")
    await expect(page.locator("#signin-error")).to_contain_text("chưa được cấp vai trò")
    assert "motcua_session" not in {c["name"] for c in await page.context.cookies()}


async def callback_by_http(stack: Stack, provider: str, login: str) -> str:
    """Sign in at the provider without a browser (as someone else would) and return the
    callback URL it sends back: a fresh code and that login's state."""
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{stack.url}/ui/login/{provider}")
        assert r.status_code == 303
        r = await http.get(r.headers["location"])  # the provider: to its login page
        while r.is_redirect:
            r = await http.get(r.url.join(r.headers["location"]))
        action = r.text.split('action="', 1)[1].split('"', 1)[0]
        r = await http.post(
            r.url.join(action), data={"prompt": "login", "login": login, "password": "mat-khau"}
        )
        while r.is_redirect:
            location = str(r.url.join(r.headers["location"]))
            if location.startswith(f"{stack.url}/ui/callback/"):
                return location
            r = await http.get(location)
    raise AssertionError(f"the provider did not send back to the callback: {r.text[:300]}")


async def test_a_callback_with_another_state_is_refused(oidc_stack: Stack, page: Page) -> None:
    # Someone else's login at the provider, with their code and their state ...
    foreign = await callback_by_http(oidc_stack, "tinh", OFFICER_LOGIN)
    assert "code=" in foreign and "state=" in foreign
    # ... sent to a browser that has a login of its own pending (login CSRF).
    await page.goto(f"{oidc_stack.url}/ui/")
    await page.click("a.sso-button[data-provider='tinh']")
    await page.wait_for_url(f"{oidc_stack.province.issuer}/**")
    response = await page.goto(foreign)
    assert response is not None and response.status == 400
    await expect(page.locator("#signin-error")).to_contain_text("state không khớp")
    assert "motcua_session" not in {c["name"] for c in await page.context.cookies()}
    # And to a browser with no login pending at all.
    await page.context.clear_cookies()
    await page.goto(foreign)
    await expect(page.locator("#signin-error")).to_contain_text("Không tìm thấy yêu cầu")
    assert "motcua_session" not in {c["name"] for c in await page.context.cookies()}


async def test_an_id_token_for_another_nonce_is_refused(oidc_stack: Stack, page: Page) -> None:
    await page.goto(f"{oidc_stack.url}/ui/")
    await page.click("a.sso-button[data-provider='tinh']")
    await page.wait_for_url(f"{oidc_stack.province.issuer}/**")
    # This browser's pending login now remembers another nonce than the one sent.
    login = next(c for c in await page.context.cookies() if c["name"] == "motcua_login")
    value = login["value"]
    txn = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    txn["n"] = "mot-nonce-khac"
    changed = base64.urlsafe_b64encode(json.dumps(txn).encode()).decode().rstrip("=")
    await page.context.add_cookies(
        [
            {
                "name": login["name"],
                "value": changed,
                "domain": login["domain"],
                "path": login["path"],
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    await page.fill("input[name=login]", OFFICER_LOGIN)
    await page.fill("input[name=password]", "mat-khau")
    await page.click("button[type=submit]")
    await expect(page.locator("#signin-error")).to_contain_text("nonce")
    assert "motcua_session" not in {c["name"] for c in await page.context.cookies()}


async def test_tampered_expired_and_cross_site_uses_are_refused(
    oidc_stack: Stack, page: Page
) -> None:
    await sign_in(page, oidc_stack, "tinh", OFFICER_LOGIN)
    await page.wait_for_url(f"{oidc_stack.url}/ui/queue")
    token = await session_token(page.context)
    async with httpx.AsyncClient(base_url=oidc_stack.url) as http:
        # The bearer model stays: the provider's ID token works as a bearer token too.
        r = await http.get("/v1/worklist", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["roles"] == ["intake_officer"]
        r = await http.get("/v1/worklist", headers=cookie(token))
        assert r.status_code == 200
        # A change authenticated by the cookie alone, as a form of another page would send.
        r = await http.post("/v1/dossiers", headers=cookie(token), json={})
        assert r.status_code == 403 and "X-Motcua-CSRF" in r.json()["error"]["message"]
        r = await http.post(
            "/v1/dossiers",
            headers=cookie(token, {"X-Motcua-CSRF": "1", "Origin": "http://127.0.0.1:9"}),
            json={},
        )
        assert r.status_code == 403
        r = await http.post("/v1/dossiers", headers=cookie(token, {"X-Motcua-CSRF": "1"}), json={})
        assert r.status_code == 422  # past the sign-in: the (empty) dossier is what is wrong

        header, _, signature = token.split(".")
        claims = claims_of(token) | {"roles": ["kiem_toan"]}
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        r = await http.get(
            "/v1/worklist", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"}
        )
        assert r.status_code == 401 and "chữ ký" in r.json()["error"]["message"]

        now = int(time.time())
        expired = sign_as(
            oidc_stack.province.keys[0],
            claims_of(token) | {"iat": now - 7200, "exp": now - 3600},
        )
        r = await http.get("/v1/worklist", headers=cookie(expired))
        assert r.status_code == 401 and "hết hạn" in r.json()["error"]["message"]
        r = await http.get("/ui/session", headers=cookie(expired))
        assert r.json()["user"] is None
    # In the browser, an expired session is no session: back to the login page.
    await page.context.add_cookies(
        [{"name": "motcua_session", "value": expired, "url": oidc_stack.url, "httpOnly": True}]
    )
    await page.goto(f"{oidc_stack.url}/ui/queue")
    await page.wait_for_url(f"{oidc_stack.url}/ui/?next=%2Fui%2Fqueue")


async def test_a_rotated_provider_key_is_picked_up(
    oidc_stack: Stack, page: Page, phone_page: Page, tmp_path: Path
) -> None:
    await sign_in(page, oidc_stack, "tinh", OFFICER_LOGIN)
    await page.wait_for_url(f"{oidc_stack.url}/ui/queue")
    old = await session_token(page.context)
    old_kid = oidc_stack.province.keys[0]["kid"]
    assert json.loads(base64.urlsafe_b64decode(old.split(".")[0] + "==="))["kid"] == old_kid

    # The provider rotates: a new key signs, the old one is no longer published.
    await oidc_stack.province.restart(keys=[new_key(f"{old_kid}-next")])
    await sign_in(phone_page, oidc_stack, "tinh", OFFICER_LOGIN)
    await phone_page.wait_for_url(f"{oidc_stack.url}/ui/queue")
    await expect(phone_page.locator("#who-name")).to_contain_text("Trần Thị Bình")
    new = await session_token(phone_page.context)
    assert json.loads(base64.urlsafe_b64decode(new.split(".")[0] + "==="))["kid"] == (
        f"{old_kid}-next"
    )
    async with httpx.AsyncClient(base_url=oidc_stack.url) as http:
        r = await http.get("/v1/worklist", headers={"Authorization": f"Bearer {new}"})
        assert r.status_code == 200
        r = await http.get("/v1/worklist", headers={"Authorization": f"Bearer {old}"})
        assert r.status_code == 401 and "kid" in r.json()["error"]["message"]
    # The first browser's session went with the old key: it is asked to sign in again.
    await page.goto(f"{oidc_stack.url}/ui/queue")
    await page.wait_for_url(f"{oidc_stack.url}/ui/?next=%2Fui%2Fqueue")
