"""A citizen on a phone (390x844) finds a procedure from the home page without signing in
and without typing diacritics (issue 28, item 5): the results say what to bring, what it
costs, how long it takes and where to file; a field filter, a stand-in code ("mã tạm")
and the pages of the whole list, in a real Chromium against the real stack."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.api.support import Api
from tests.browser.conftest import shot
from tests.browser.support import INTAKE, sign_in


async def test_a_citizen_finds_a_procedure_on_a_phone_without_signing_in(
    ui_stack: Api, phone_page: Page
) -> None:
    page = phone_page
    await page.goto(f"{ui_stack.url}/ui/")
    await page.locator("#procedures-link").click()
    await expect(page).to_have_url(f"{ui_stack.url}/ui/procedures")
    # Nothing in the page asks to sign in first.
    await expect(page.locator("#who")).to_contain_text("Đăng nhập")

    await page.locator("#search-q").fill("cap phieu ly lich tu phap")
    await page.locator("#search-q").press("Enter")
    first = page.locator("#search-results li.result").first
    await expect(first).to_have_attribute("data-code", "3.000333")
    await expect(first.locator(".result-name")).to_contain_text("Cấp Phiếu lý lịch tư pháp")
    await expect(first.locator(".result-time")).to_contain_text("10 ngày làm việc")
    await expect(first.locator(".result-fees")).to_contain_text("200.000 đồng")
    await first.locator(".result-documents summary").click()
    docs = first.locator(".documents li")
    await expect(docs).to_have_count(3)
    await expect(docs.nth(0)).to_contain_text("01 bản chính")
    await expect(docs.nth(1)).to_contain_text("01 bản sao")
    await first.locator(".result-where summary").click()
    await expect(first.locator(".result-where")).to_contain_text(
        "Trung tâm Phục vụ hành chính công bất kỳ trong tỉnh"
    )
    # Fits the phone: nothing wider than the screen.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    await shot(page, "procedure-search-phone-result")

    # đ typed as d; a procedure without a national code says so.
    await page.locator("#search-q").fill("doi giay phep lai xe")
    await page.locator("#search-q").press("Enter")
    licence = page.locator("#search-results li.result").first
    await expect(licence).to_have_attribute("data-code", "9.000006")
    await expect(licence.locator(".placeholder")).to_have_text("mã tạm")

    # A field chosen from the filters (sent as soon as it is chosen), nothing typed.
    await page.locator("#search-q").fill("")
    await page.locator(".filters summary").click()
    await page.locator("#search-field").select_option("Hộ tịch")
    await expect(page).to_have_url(
        f"{ui_stack.url}/ui/procedures?q=&field=H%E1%BB%99+t%E1%BB%8Bch&agency=&level="
    )
    results = page.locator("#search-results li.result")
    expected = sorted(
        p.code for p in ui_stack.catalog.latest() if p.field == "Hộ tịch" and p.standalone
    )
    await expect(results).to_have_count(len(expected))
    assert sorted(await results.evaluate_all("els => els.map(e => e.dataset.code)")) == expected

    # The whole list, a page at a time.
    await page.goto(f"{ui_stack.url}/ui/procedures")
    total = len([p for p in ui_stack.catalog.latest() if p.standalone])
    await expect(page.locator("#search-count")).to_contain_text(f"Tìm thấy {total} thủ tục")
    await expect(results).to_have_count(min(total, 10))
    await page.locator(".pager a[rel=next]").click()
    await expect(results).to_have_count(total - 10)
    await expect(page.locator(".pager")).to_contain_text("Trang 2/2")
    assert page.console_errors == []  # type: ignore[attr-defined]


async def test_the_counter_sees_which_codes_are_stand_ins(ui_stack: Api, page: Page) -> None:
    await sign_in(page, ui_stack.url, INTAKE)
    await page.goto(f"{ui_stack.url}/ui/submit")
    licence = page.locator("#procedure option[value='9.000006']")
    await expect(licence).to_have_text("9.000006 (mã tạm) · Đổi giấy phép lái xe")
    national = page.locator("#procedure option[value='3.000333']")
    await expect(national).to_have_text(re.compile(r"^3\.000333 · Cấp Phiếu lý lịch tư pháp"))
