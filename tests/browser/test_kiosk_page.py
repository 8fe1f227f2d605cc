"""The counter's kiosk page in a real Chromium at tablet size (1024x768, touch): an
applicant who came in person opens the link printed on the receipt (or types the codes),
taps a face and sends; a wrong rating code is refused in Vietnamese. Screenshots go to
test-artifacts/screenshots/kiosk-*.png."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from store import repository
from tests.api.support import Api, submit
from tests.api.test_kiosk import receipt_rating_code, returned, to_approval
from tests.browser.conftest import _page, shot

TABLET = {"viewport": {"width": 1024, "height": 768}, "is_mobile": True, "has_touch": True}


@pytest.fixture
async def tablet_page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    async with _page(browser, f"{request.node.name}-tablet", **TABLET) as p:
        yield p


async def test_an_applicant_rates_at_the_counter_tablet(ui_stack: Api, tablet_page: Page) -> None:
    page, base = tablet_page, ui_stack.url
    person = ui_stack.person("kiosk")
    async with ui_stack.http() as http:
        code = await submit(ui_stack, http, person)
        await to_approval(ui_stack, http, code)
        rating_code = await receipt_rating_code(ui_stack, http, code)
        await returned(ui_stack, http, code, person)

    # Typed by hand, with a wrong rating code: refused, nothing recorded.
    await page.goto(f"{base}/ui/rate")
    await page.fill("#rate-code", code)
    await page.fill("#rate-token", "ZZZZ-ZZZZ")
    await page.tap("#rate-find button[type=submit]")
    await expect(page.locator("#rate-error")).to_contain_text("mã đánh giá không đúng")
    await shot(page, "kiosk-wrong-code")

    # The receipt's link fills both codes in: the dossier and three large faces.
    await page.goto(f"{base}/ui/rate?code={code}&t={rating_code}")
    await expect(page.locator("#rate-dossier-code")).to_have_text(code)
    await expect(page.locator("#rate-procedure")).not_to_be_empty()
    send = page.locator("#rate-send")
    await expect(send).to_be_disabled()
    choice = page.locator(".kiosk-choice.dislike")
    box = await choice.bounding_box()
    assert box is not None and box["height"] >= 120 and box["width"] >= 200  # a thumb's target
    await choice.tap()
    await expect(choice).to_have_attribute("aria-pressed", "true")
    await page.fill("#rate-comment", "Phải chờ lâu ở quầy trả kết quả")
    await shot(page, "kiosk-choose")
    await send.tap()
    await expect(page.locator("#rate-done")).to_be_visible()
    await expect(page.locator("#rate-done-text")).to_contain_text("Không hài lòng")
    await shot(page, "kiosk-done")

    [kept] = repository.rating_history(ui_stack.engine, code)
    assert (kept.rating, kept.source, kept.comment) == (
        "dislike",
        "kiosk",
        "Phải chờ lâu ở quầy trả kết quả",
    )
    # The next person finds the kiosk empty.
    await page.tap("#rate-again")
    await expect(page.locator("#rate-code")).to_have_value("")
    # The one failed request is the wrong code's 404, which the page showed.
    errors = page.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if "404" not in e] == [] and len(errors) == 1
