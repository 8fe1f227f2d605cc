"""Paying online from a phone, in a real Chromium: the citizen opens their dossier, sees
the fee owed and "Thanh toán trực tuyến", asks for it and gets the gateway's link and a
QR code; they pay on the gateway (a real local one, tests/payment_gateway_server.py); the
page follows the order on its own and shows it paid, the QR gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from playwright.async_api import Page, expect
from temporalio.client import Client

from motcua.devserver import DevServer
from tests.api.support import Api, submit
from tests.browser.conftest import shot
from tests.browser.support import APPLICANT, open_dossier, sign_in
from tests.payment_gateway_server import PaymentGatewayServer, paying_stack

SECRET = "test-payment-gateway-secret-ui-2026"


@pytest.fixture(scope="module")
async def pay_ui(
    devserver: DevServer,
    devserver_client: Client,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Api, PaymentGatewayServer]]:
    async with paying_stack(
        devserver_client,
        devserver.address,
        tmp_path_factory.mktemp("pay-ui"),
        SECRET,
        # The citizen reads the page and scans the code: more than the API tests' 12 s.
        payment_expiry_minutes=5,
    ) as stack:
        yield stack


@pytest.mark.devserver
async def test_a_citizen_pays_the_fee_from_a_phone(
    pay_ui: tuple[Api, PaymentGatewayServer], phone_page: Page
) -> None:
    api, gateway = pay_ui
    # Filed online by the demo citizen the page signs in as.
    person = replace(api.person("điện thoại"), sub=APPLICANT)
    async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
        code = await submit(api, http, person, as_applicant=True, channel="online")

    page = phone_page
    await sign_in(page, api.url, APPLICANT)
    await open_dossier(page, api.url, code)
    section = page.locator("#payment-section")
    await expect(section).to_contain_text("Phí, lệ phí cần nộp: 200.000 đồng")
    await page.click("#pay-online")

    link = page.locator("#payment-link")
    await expect(link).to_have_text("Mở trang thanh toán")
    href = await link.get_attribute("href")
    assert href is not None and href.startswith(f"{gateway.url}/pay/")
    order_id = href.rsplit("/", 1)[1]
    qr = section.locator(".payment-qr img")
    await expect(qr).to_be_visible()
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    await expect(section).to_contain_text("Đang chờ thanh toán")
    await shot(page, "online-payment-qr-phone")

    # The citizen pays at the gateway (its page, in another tab of their phone).
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as gw:
        r = await gw.post(f"/pay/{order_id}")
        assert r.status_code == 200, r.text

    # The page follows on its own: paid, nothing owed, no QR code any more.
    await expect(section).to_contain_text("Đã thanh toán", timeout=30_000)
    await expect(section.locator(".payment-qr")).to_have_count(0)
    await expect(page.locator("#pay-online")).to_have_count(0)
    assert page.console_errors == []  # type: ignore[attr-defined]
    # Nothing wider than the phone (a long order code wraps).
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
