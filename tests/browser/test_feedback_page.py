"""The leaders' page of PAKN items (phản ánh, kiến nghị) in a real Chromium.

A judicial record dossier (3.000333) is accepted and handed to the provincial police. Its
applicant complains about it on the public page /ui/pakn at a counter tablet without
signing in (its code and their ID number; a wrong ID number is refused); the centre's
intake officer enters a letter about it received five weeks ago.
Both go to the police, the agency handling the dossier. The police's leader opens
/ui/feedback: both open items with the working time left, the letter past its deadline
and escalated; the leader answers it there, it moves to the answered tab, and the public
page shows the answer without the filer's name."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from tests.api.support import INTAKE, POLICE, Api, act, caught_up, submit, wait_for_step
from tests.browser.conftest import shot
from tests.browser.support import LEADER as LEADER_SUB
from tests.browser.support import sign_in


async def test_the_leader_sees_open_items_with_countdowns_and_answers_a_late_one(
    ui_stack: Api, page: Page
) -> None:
    api = ui_stack
    person = api.person("pakn-ui")
    async with api.http() as http:
        code = await submit(api, http, person)
        assert (await act(api, http, code, INTAKE, "accept")).status_code == 200
        await wait_for_step(api, http, code, "tra_cuu_xac_minh")
        await caught_up(api, http, code)

    # The applicant at a counter tablet, not signed in: a wrong ID number is refused as
    # tracking refuses it; theirs files the complaint.
    await page.goto(f"{api.url}/ui/pakn?counter=1&code={code}")
    await page.fill("#pakn-id", "000000000001")
    await page.fill("#pakn-text", "Đã quá hẹn hai ngày mà chưa có kết quả")
    await page.click("#pakn-form button[type=submit]")
    await expect(page.locator("#pakn-error")).to_contain_text("số giấy tờ tùy thân")
    await page.fill("#pakn-id", person.id_number)
    await page.click("#pakn-form button[type=submit]")
    await expect(page.locator("#pakn-code")).to_have_text(re.compile(r"^PAKN-"))
    await expect(page.locator("#pakn-result")).to_contain_text("Còn")
    await shot(page, "feedback-citizen-filed")
    fresh_code = await page.locator("#pakn-code").inner_text()

    async with api.http() as http:
        fresh = await http.get(f"/v1/feedback/{fresh_code}", params={"id_number": person.id_number})
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["channel"] == "counter"
        letter = await http.post(
            "/v1/feedback",
            json={
                "kind": "suggestion",
                "text": "Đề nghị cho nộp bản sao điện tử thay bản giấy",
                "dossier_code": code,
                "id_number": person.id_number,
                "channel": "post",
                "received_at": (datetime.now(UTC) - timedelta(days=35)).isoformat(),
            },
            headers=api.headers(*INTAKE),
        )
        assert letter.status_code == 201, letter.text
    letter_code = letter.json()["code"]
    assert fresh.json()["agency"] == POLICE == letter.json()["agency"]

    await sign_in(page, api.url, LEADER_SUB)
    await page.goto(f"{api.url}/ui/feedback")
    late_row = page.locator(f"#feedback-table tbody tr[data-code='{letter_code}']")
    fresh_row = page.locator(f"#feedback-table tbody tr[data-code='{fresh_code}']")
    await expect(fresh_row).to_contain_text("Còn")
    await expect(fresh_row).to_contain_text("ngày làm việc")
    # The escalation is recorded a moment after the filing: reload until it shows.
    for _ in range(40):
        if await late_row.locator(".badge", has_text="Đã báo lãnh đạo").count():
            break
        await page.wait_for_timeout(250)
        await page.reload()
    await expect(late_row).to_contain_text("Đã báo lãnh đạo")
    await expect(late_row).to_contain_text("Quá hạn")
    await expect(page.locator("#nav")).to_contain_text("Phản ánh, kiến nghị")
    await shot(page, "feedback-leader-open")

    await late_row.locator("textarea").fill("Công an tỉnh đã tiếp thu, sẽ nhận bản sao điện tử.")
    await late_row.locator("button[type=submit]").click()
    await expect(late_row).to_have_count(0)
    await page.click("#feedback-tabs button[data-status='answered']")
    answered = page.locator(f"#feedback-table tbody tr[data-code='{letter_code}']")
    await expect(answered).to_contain_text("Công an tỉnh đã tiếp thu")
    await expect(answered).to_contain_text("Trả lời trễ hạn")
    await shot(page, "feedback-leader-answered")

    # Published: anyone sees the answer, the filer's name masked.
    await page.goto(f"{api.url}/ui/pakn")
    public = page.locator(f"#pakn-published-table tbody tr[data-code='{letter_code}']")
    await expect(public).to_contain_text("Công an tỉnh đã tiếp thu")
    await expect(public).not_to_contain_text(person.name)
    await shot(page, "feedback-published")
    # The one failed load is the refused ID number's 404, asked for on purpose.
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if "404" not in e] == [] and len(errors) == 1, errors
