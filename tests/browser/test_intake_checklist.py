"""The intake checklist in a real Chromium: an online dossier missing a required component
shows it flagged, is not offered for receipt, and the supplement request opens pre-filled
with what is missing; once the applicant supplements it (the form names the component
still missing), the checklist is complete and the dossier can be received."""

from __future__ import annotations

from dataclasses import replace

from playwright.async_api import Page, expect

from tests.api.support import AUDITOR, Api, caught_up, submission
from tests.browser.conftest import shot
from tests.browser.support import APPLICANT, INTAKE, action_form, open_dossier, sign_in, take_action
from tests.files import pdf

IDENTITY = "giay_to_tuy_than"


async def test_intake_shows_the_checklist_and_asks_for_what_is_missing(
    ui_stack: Api, page: Page, phone_page: Page
) -> None:
    base = ui_stack.url
    person = replace(ui_stack.person("danh muc"), sub=APPLICANT)  # the demo applicant
    body = submission(person, channel="online")
    body["documents"] = [d for d in body["documents"] if d["kind"] != IDENTITY]
    async with ui_stack.http() as http:
        r = await http.post("/v1/dossiers", json=body, headers=ui_stack.applicant(person))
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        await caught_up(ui_stack, http, code)
        r = await http.get("/v1/procedures/3.000333", headers=ui_stack.headers(*AUDITOR))
        identity = next(d for d in r.json()["documents"] if d["kind"] == IDENTITY)

    await sign_in(page, base, INTAKE)
    await open_dossier(page, base, code)
    checklist = page.locator("#checklist")
    missing = checklist.locator(f"tbody tr[data-kind='{IDENTITY}']")
    await expect(missing).to_have_class("missing")
    await expect(missing).to_contain_text("Thiếu")
    await expect(missing).to_contain_text("Bản sao")
    await expect(missing).to_contain_text("Bắt buộc")
    given = checklist.locator("tbody tr[data-kind='to_khai']")
    await expect(given).to_contain_text("to-khai-03.pdf")
    await expect(given).to_contain_text("Đã có")
    await expect(given).to_contain_text("Bản chính")
    await expect(page.locator("#checklist-missing")).to_contain_text(identity["name"])
    await expect(page.locator("#checklist-missing")).to_contain_text("chưa thể tiếp nhận")

    # Not offered for receipt; the supplement request is open, pre-filled, and sent as is.
    offered = await page.locator("#actions form").evaluate_all(
        "forms => forms.map(f => f.dataset.action)"
    )
    assert "accept" not in offered and "request_supplement" in offered, offered
    request = action_form(page, "request_supplement")
    await expect(request).to_have_attribute("open", "")
    await expect(request.locator("textarea[id$='-missing']")).to_have_value(
        f"{identity['name']} (bản sao)"
    )
    await shot(page, "intake-checklist-missing")
    # On a phone the checklist stacks its cells; nothing is wider than the screen.
    await sign_in(phone_page, base, INTAKE)
    await open_dossier(phone_page, base, code)
    await expect(phone_page.locator(f"#checklist tr[data-kind='{IDENTITY}']")).to_contain_text(
        "Thiếu"
    )
    width = await phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dossier page is {width}px wide on a 390px phone"
    await shot(phone_page, "intake-checklist-missing-phone")
    await take_action(page, "request_supplement", {"comment": "Bổ sung bản chụp căn cước"})
    await expect(page.locator("#notice")).to_have_text("Đã thực hiện: Yêu cầu bổ sung hồ sơ.")
    await shot(page, "intake-checklist-supplement-requested")

    # The applicant's supplement form names the component still missing.
    await sign_in(page, base, APPLICANT)
    await open_dossier(page, base, code)
    supplement = action_form(page, "supplement")
    if await supplement.get_attribute("open") is None:
        await supplement.locator("summary").click()
    await expect(supplement.locator("select[id$='-kind']")).to_have_value(IDENTITY)
    await supplement.locator("input[type=file]").set_input_files(
        files=[{"name": "can-cuoc.pdf", "mimeType": "application/pdf", "buffer": pdf("cccd")}]
    )
    await take_action(page, "supplement")
    await expect(page.locator("#notice")).to_have_text("Đã thực hiện: Bổ sung hồ sơ.")

    # Complete now: the intake officer may receive it.
    await sign_in(page, base, INTAKE)
    await open_dossier(page, base, code)
    await expect(missing).to_contain_text("can-cuoc.pdf")
    await expect(missing).to_contain_text("Đã có")
    await expect(page.locator("#checklist-missing")).to_have_count(0)
    await expect(action_form(page, "accept")).to_have_count(1)
    await shot(page, "intake-checklist-complete")
