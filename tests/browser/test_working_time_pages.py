"""Countdowns in working time on the pages, in a real Chromium: the dossier page, the
officer's queue and public tracking show the working time left as the API counted it
("Còn … làm việc"), not calendar time; while the clock is paused (a supplement asked
during appraisal) they say why and what is left instead of a blank date."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.api.support import INTAKE, SPECIALIST, Api, Person, act, submit, wait_for_step
from tests.browser.conftest import shot
from tests.browser.support import SPECIALIST as SPECIALIST_USER
from tests.browser.support import open_dossier, sign_in, wait_for_row

RUNNING = re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}(Còn|Quá hạn) .+ làm việc$")
PAUSED = re.compile(r"^Tạm dừng \(chờ người nộp bổ sung hồ sơ\) · còn .+ làm việc$")


async def _track(page: Page, base: str, code: str, person: Person) -> None:
    await page.goto(f"{base}/ui/track")
    await page.fill("#track-code", code)
    await page.fill("#track-id", person.id_number)
    await page.click("#track-form button[type=submit]")
    await expect(page.locator("#track-result")).to_be_visible()


async def test_working_time_left_on_the_dossier_queue_and_tracking_pages(
    ui_stack: Api, page: Page, phone_page: Page
) -> None:
    api, base = ui_stack, ui_stack.url
    person = api.person("dem-gio")
    async with api.http() as http:
        code = await submit(api, http, person)
        r = await act(api, http, code, INTAKE, "accept", comment="Hồ sơ đầy đủ")
        assert r.status_code == 200, r.text
        await wait_for_step(api, http, code, "tra_cuu_xac_minh")

        # The specialist's dossier page: the appointment and the step's due time, each
        # with the working time left under its date.
        await sign_in(page, base, SPECIALIST_USER)
        await open_dossier(page, base, code)
        await expect(page.locator("#appointment")).to_have_text(RUNNING)
        await expect(page.locator("#step-due")).to_have_text(RUNNING)
        await expect(page.locator("#appointment .working-time")).to_have_count(1)
        await shot(page, "working-time-dossier-running")

        # The queue: the same words in the row.
        await wait_for_row(page, f"{base}/ui/queue", code, "#queue")
        row = page.locator(f"#queue tbody tr[data-code='{code}']")
        await expect(row.locator(".working-time")).to_have_count(2)
        await expect(row.locator(".working-time").last).to_have_text(
            re.compile(r"^(Còn|Quá hạn) .+ làm việc$")
        )
        await shot(page, "working-time-queue")

        # Tracking, from a phone, without signing in: the date and the time left.
        await _track(phone_page, base, code, person)
        await expect(phone_page.locator("#track-appointment")).to_have_text(
            re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")
        )
        await expect(phone_page.locator("#track-time-left")).to_have_text(
            re.compile(r"^(Còn|Quá hạn) .+ làm việc$")
        )
        await shot(phone_page, "working-time-tracking-running")

        # A supplement is asked during appraisal: the clock stands still.
        r = await act(
            api, http, code, SPECIALIST, "request_supplement", data={"missing": ["Bản sao CCCD"]}
        )
        assert r.status_code == 200, r.text

    await open_dossier(page, base, code)
    await expect(page.locator("#appointment")).to_have_text(PAUSED)
    await expect(page.locator("#supplement-due")).to_have_text(RUNNING)  # the applicant's
    await shot(page, "working-time-dossier-paused")

    await _track(phone_page, base, code, person)
    await expect(phone_page.locator("#track-status")).to_have_text("Yêu cầu bổ sung giấy tờ")
    await expect(phone_page.locator("#track-appointment")).to_have_text(
        "Sẽ hẹn lại khi thời hạn được tính tiếp"
    )
    await expect(phone_page.locator("#track-time-left")).to_have_text(PAUSED)
    await shot(phone_page, "working-time-tracking-paused")
    assert not page.console_errors and not phone_page.console_errors
