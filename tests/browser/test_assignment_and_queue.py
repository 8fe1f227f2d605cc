"""Assignment and the queue in a real Chromium: the police's leader finds an unassigned
appraisal in the unit's queue and assigns it to a named specialist; that specialist sees
it under "Của tôi"; the other specialist is offered nothing on it any more. Then the
queue's filters, sort and search narrow a list of dossiers."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, expect

from store import repository
from tests.api.support import INTAKE as INTAKE_ROLE
from tests.api.support import POLICE, Api, act, caught_up, submit, wait_for_step
from tests.browser.conftest import shot
from tests.browser.support import (
    AUDITOR,
    INTAKE,
    LEADER,
    SPECIALIST,
    open_dossier,
    sign_in,
    take_action,
    wait_for_row,
)

SECOND_SPECIALIST = "ca-cv-08"  # api/demo_users.py: Trần Thu Hà, of the police
SECOND_NAME = "Trần Thu Hà"


async def test_a_leader_assigns_and_the_specialist_finds_it_under_mine(
    ui_stack: Api, page: Page
) -> None:
    base = ui_stack.url
    # The second specialist is in the directory (motcua dev seeds the demo users).
    await asyncio.to_thread(
        repository.touch_user,
        ui_stack.engine,
        SECOND_SPECIALIST,
        SECOND_NAME,
        ["specialist"],
        POLICE,
    )
    async with ui_stack.http() as http:
        person = ui_stack.person("phân công")
        code = await submit(ui_stack, http, person)
        r = await act(ui_stack, http, code, INTAKE_ROLE, "accept")
        assert r.status_code == 200, r.text
        await wait_for_step(ui_stack, http, code, "tra_cuu_xac_minh")
        await caught_up(ui_stack, http, code)

    # The leader's own queue has approvals; the unit's has the appraisal, unassigned.
    await sign_in(page, base, LEADER)
    await page.click("#queue-tabs button[data-tab='unit']")
    await wait_for_row(page, f"{base}/ui/queue?tab=unit", code, "#queue")
    row = page.locator(f"#queue tbody tr[data-code='{code}']")
    await expect(row).to_contain_text("Chưa phân công")
    await expect(page.locator("#queue-tabs button[data-tab='unit']")).to_have_attribute(
        "aria-pressed", "true"
    )
    await shot(page, "queue-leader-unit")

    await row.locator("a").first.click()
    await expect(page.locator("#dossier")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#assignment")).to_contain_text("Chưa phân công")
    choice = page.locator("form[data-action='assign'] select")
    await page.locator("details:has(form[data-action='assign']) summary").click()
    await expect(choice.locator(f"option[value='{SECOND_SPECIALIST}']")).to_have_count(1)
    await shot(page, "dossier-leader-assigns")
    await take_action(page, "assign", {"assignee": SECOND_SPECIALIST, "comment": "Xử lý gấp"})
    await expect(page.locator("#notice")).to_have_text("Đã thực hiện: Phân công xử lý.")
    await expect(page.locator("#holder")).to_have_text(
        f"{SECOND_NAME} (Chuyên viên xử lý · Công an tỉnh)"
    )
    await expect(page.locator("#assignment")).to_contain_text("phân công bởi Phạm Minh Đức")
    assigned = page.locator("#events tr", has_text="Phân công xử lý")
    await expect(assigned).to_contain_text("Người được phân công")
    await expect(assigned).to_contain_text(SECOND_NAME)
    await shot(page, "dossier-assigned")

    # The named specialist: under "Của tôi".
    await sign_in(page, base, SECOND_SPECIALIST)
    await page.click("#queue-tabs button[data-tab='me']")
    await expect(page.locator("#queue-tabs button[data-tab='me']")).to_have_attribute(
        "aria-pressed", "true"
    )
    await wait_for_row(page, f"{base}/ui/queue?tab=me", code, "#queue")
    mine = page.locator(f"#queue tbody tr[data-code='{code}']")
    await expect(mine).to_contain_text(SECOND_NAME)
    await expect(page.locator("#queue-summary")).to_contain_text("được phân công cho bạn")
    await shot(page, "queue-specialist-mine")
    await mine.locator("a").first.click()
    await expect(page.locator("#dossier")).to_have_attribute("aria-busy", "false")
    offered = await page.locator("#actions form").evaluate_all(
        "forms => forms.map(f => f.dataset.action)"
    )
    assert "appraise" in offered and "claim" not in offered, offered

    # The other specialist: not theirs any more.
    await sign_in(page, base, SPECIALIST)
    await page.goto(f"{base}/ui/queue?tab=me")
    await expect(page.locator("#queue-summary")).not_to_have_text("")
    await expect(page.locator(f"#queue tbody tr[data-code='{code}']")).to_have_count(0)
    await open_dossier(page, base, code)
    await expect(page.locator("#no-actions")).to_contain_text(SECOND_NAME)
    assert page.console_errors == []  # type: ignore[attr-defined]

    # The auditor's timeline names who held the step from the assignment on.
    await sign_in(page, base, AUDITOR)
    await page.goto(f"{base}/ui/audit/{code}")
    states = page.locator("#audit-states-table")
    await expect(states).to_contain_text(SECOND_NAME)
    # The step not ended yet is the assignee's to end, not the leader's who assigned it.
    appraisal = page.locator("#audit-steps-table tr", has_text="Tra cứu, xác minh")
    await expect(appraisal).to_contain_text(SECOND_NAME)
    await expect(appraisal).not_to_contain_text("Phạm Minh Đức")
    await shot(page, "audit-timeline-assigned")


async def test_the_queue_filters_sorts_and_searches(ui_stack: Api, page: Page) -> None:
    base = ui_stack.url
    tag = "lọc hàng đợi"
    async with ui_stack.http() as http:
        people = [ui_stack.person(tag) for _ in range(3)]
        codes = [await submit(ui_stack, http, p) for p in people]
        await caught_up(ui_stack, http, *codes)

    await sign_in(page, base, INTAKE)
    await expect(page.locator("#queue-summary")).not_to_have_text("")  # loaded
    await page.fill("#q", tag)
    await page.click("#search-form button[type=submit]")
    await expect(page.locator("#queue tbody tr")).to_have_count(3)
    await expect(page.locator("#queue-summary")).to_contain_text(
        f"3 hồ sơ cần bạn xử lý khớp với “{tag}”"
    )

    await page.select_option("#f-sort", "-code")
    await expect(page.locator("#queue tbody tr").first).to_have_attribute("data-code", max(codes))
    await page.select_option("#f-sort", "code")
    await expect(page.locator("#queue tbody tr").first).to_have_attribute("data-code", min(codes))
    await page.select_option("#f-procedure", "2.000635")
    await expect(page.locator("#queue tbody tr")).to_have_count(0)
    await expect(page.locator("#queue-summary")).to_have_text("Không có hồ sơ nào khớp với bộ lọc.")
    await page.select_option("#f-procedure", "3.000333")
    await expect(page.locator("#queue tbody tr")).to_have_count(3)
    await page.select_option("#f-due", "overdue")
    await expect(page.locator("#queue tbody tr")).to_have_count(0)
    await page.select_option("#f-due", "")

    # A whole ID number finds its dossier; the page never shows it.
    await page.fill("#q", people[1].id_number)
    await page.click("#search-form button[type=submit]")
    await expect(page.locator("#queue tbody tr")).to_have_count(1)
    await expect(page.locator("#queue tbody tr")).to_have_attribute("data-code", codes[1])
    assert people[1].id_number not in (await page.locator("#queue").inner_text())
    assert people[1].id_number not in page.url
    await shot(page, "queue-search-id-number")
    await page.reload()  # the filters stay, the search text goes
    await expect(page.locator("#f-procedure")).to_have_value("3.000333")
    await expect(page.locator("#q")).to_have_value("")
    await page.click("#clear-filters")
    await expect(page.locator("#q")).to_have_value("")
    assert page.console_errors == []  # type: ignore[attr-defined]


async def test_the_queue_on_a_phone(ui_stack: Api, phone_page: Page) -> None:
    """On a phone the tabs wrap, the filters stack, each row reads as a card."""
    base = ui_stack.url
    async with ui_stack.http() as http:
        code = await submit(ui_stack, http, ui_stack.person("điện thoại"))
        await caught_up(ui_stack, http, code)
    await sign_in(phone_page, base, INTAKE)
    await wait_for_row(phone_page, f"{base}/ui/queue?sort=-received", code, "#queue")
    await expect(phone_page.locator("#queue-tabs button[data-tab='me']")).to_be_visible()
    await expect(phone_page.locator("#f-sort")).to_have_value("-received")
    width = await phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the screen
    assert phone_page.console_errors == []  # type: ignore[attr-defined]
