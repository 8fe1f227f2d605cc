"""The catalog administrator in a real Chromium: signs in as the demo catalog officer,
opens Đăng ký thành lập hộ kinh doanh (1.001612, 3 working days), drafts a new version,
shortens the appraisal in the YAML, sees the problem named with its field when the budgets
overrun and the readable diff once they fit, previews the appointment for a dossier
received the day before 29 Tết 2027 (counted from Thursday 11/02, after the days off:
appointment Monday 15/02/2027), and publishes it with an effective date 30 days ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from tests.api.support import Api
from tests.browser.conftest import shot
from tests.browser.support import sign_in

CODE = "1.001612"
CATALOG_ADMIN = "dm-01"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


async def test_a_catalog_administrator_publishes_a_version_for_a_later_date(
    ui_stack: Api, page: Page
) -> None:
    base = ui_stack.url
    await sign_in(page, base, CATALOG_ADMIN)
    await expect(page).to_have_url(f"{base}/ui/catalog")
    row = page.locator("tr", has=page.locator(f"a[href='/ui/catalog/{CODE}']"))
    await expect(row).to_contain_text("Đang có hiệu lực")
    await page.click(f"a[href='/ui/catalog/{CODE}']")
    await expect(page.locator("#versions-table")).to_contain_text("v1")

    await page.click("#new-draft")
    await expect(page.locator("#draft")).to_be_visible()
    await expect(page.locator("#draft-title")).to_contain_text("v2 (từ v1)")
    await expect(page.locator("#valid")).to_be_visible()
    text = await page.locator("#draft-text").input_value()
    assert "value: 1.5" in text, text  # the appraisal's 1,5 days

    # Too long: named with its field; then shorter: valid, and the diff says what changed.
    await page.fill("#draft-text", text.replace("value: 1.5", "value: 4.5", 1))
    await page.click("#draft-form button[type=submit]")
    await expect(page.locator("#problem-list")).to_contain_text("steps: tổng thời gian các bước")
    await page.fill("#draft-text", text.replace("value: 1.5", "value: 1.0", 1))
    await page.click("#draft-form button[type=submit]")
    await expect(page.locator("#valid")).to_be_visible()
    diff = page.locator("#diff-list")
    await expect(diff).to_contain_text("Bước 'tham_dinh'")
    await expect(diff.locator(".diff-before")).to_have_text("1,5 ngày làm việc")
    await expect(diff.locator(".diff-after")).to_have_text("1 ngày làm việc")

    # The preview's first sample: Wednesday 03/02/2027 09:00, the day before 29 Tết.
    await page.click("#preview-form button[type=submit]")
    first = page.locator(".preview[data-index='0']")
    await expect(first.locator(".appointment")).to_have_text("15/02/2027 17:00")
    await expect(first).to_contain_text("tính thời hạn từ 11/02/2027 07:30")
    await expect(first.locator(".days-off")).to_contain_text("04/02/2027 (29 Tết)")
    await expect(first.locator(".days-off")).to_contain_text("Mùng năm Tết Nguyên Đán")

    today = datetime.now(UTC).astimezone(TZ).date()
    effective = today + timedelta(days=30)
    await page.fill("#effective-from", effective.isoformat())
    await page.fill("#decision-number", "1234/QĐ-UBND")
    await page.fill("#decision-date", today.isoformat())
    await page.fill("#decision-signer", "Chủ tịch UBND tỉnh")
    await shot(page, "catalog-draft-preview")
    await page.click("#publish")
    note = page.locator("#published-note")
    await expect(note).to_contain_text(f"Đã công bố v2: Chờ có hiệu lực từ {effective:%d/%m/%Y}")
    v2 = page.locator("#versions-table tr[data-version='2']")
    await expect(v2).to_contain_text("Chờ có hiệu lực")
    await expect(v2).to_contain_text("1234/QĐ-UBND")
    await expect(page.locator("#versions-table tr[data-version='1']")).to_contain_text(
        "Đang có hiệu lực"
    )
    await expect(page.locator("#draft")).to_be_hidden()
    await shot(page, "catalog-published")

    # The running app's catalog holds v2 for its date, v1 until then.
    async with ui_stack.http() as http:
        h = ui_stack.headers("auditor")
        r = await http.get(f"/v1/procedures/{CODE}", headers=h)
        assert r.json()["version"] == 1
        r = await http.get(f"/v1/procedures/{CODE}?version=2", headers=h)
        assert r.status_code == 200 and r.json()["steps"][1]["budget"]["value"] == 1
