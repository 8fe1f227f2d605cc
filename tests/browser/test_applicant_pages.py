"""The applicant's pages in a real Chromium: submit online with the documents (validation
messages first), answer a supplement request, download the signed result, and track the
dossier from a phone without signing in. The officers' steps in between go through the
API, as their console would send them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from playwright.async_api import Page, expect

from tests.api.support import (
    AUDITOR,
    INTAKE,
    LEADER,
    SIGNER,
    SPECIALIST,
    Api,
    act,
    caught_up,
    submit,
    wait_for_step,
)
from tests.api.support import wait_view as wait_view_api
from tests.browser.conftest import shot
from tests.browser.support import (
    APPLICANT,
    SUBMISSION_MS,
    action_form,
    open_dossier,
    sign_in,
    take_action,
    wait_for_row,
)
from tests.files import pdf, png

DATE_TIME = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")
PDF = pdf("to khai")


async def test_an_applicant_submits_supplements_and_downloads_the_signed_result(
    ui_stack: Api, page: Page, phone_page: Page
) -> None:
    base = ui_stack.url
    person = ui_stack.person("applicant")
    await sign_in(page, base, APPLICANT)
    assert page.url.endswith("/ui/my")

    # Submit online; an empty form is refused field by field before anything is sent.
    await page.goto(f"{base}/ui/submit?procedure=3.000333")
    files = page.locator("#documents input[type=file]")
    await expect(files).to_have_count(3)
    await page.fill("#id_number", "12345")
    await page.click("#submit-button")
    await expect(page.locator("#submit-error")).to_contain_text("Vui lòng kiểm tra lại")
    await expect(page.locator("#id_number")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#id_number-error")).to_have_text(
        "Số định danh gồm 12 chữ số (CCCD) hoặc 9 chữ số (CMND)."
    )
    await expect(page.locator("#doc-0-error")).to_have_text("Đính kèm giấy tờ này.")
    await expect(page.locator("#doc-2-error")).to_have_count(0)  # optional document
    await expect(page.locator("#name")).to_have_value("Nguyễn Văn An")  # from the login
    await shot(page, "submit-validation")
    await page.fill("#id_number", person.id_number)
    await page.fill("#phone", "0912 345 678")
    await files.nth(0).set_input_files(
        files=[{"name": "to-khai.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await page.click("#submit-button")
    await expect(page.locator("#doc-1-error")).to_have_text("Đính kèm giấy tờ này.")
    await files.nth(1).set_input_files(
        files=[{"name": "cccd.png", "mimeType": "image/png", "buffer": png("cccd")}]
    )
    await page.click("#submit-button")
    await expect(page.locator("#submitted")).to_be_visible(timeout=SUBMISSION_MS)
    code = (await page.locator("#new-code").text_content()) or ""
    assert code.startswith("000.00.20.H99-"), code
    await shot(page, "submitted")

    # The counter asks for a supplement; the applicant's list shows it waiting for them.
    async with ui_stack.http() as http:
        await wait_for_step(ui_stack, http, code, "tiep_nhan")
        r = await act(
            ui_stack,
            http,
            code,
            INTAKE,
            "request_supplement",
            data={"missing": ["Bản chụp Căn cước công dân rõ nét, đủ hai mặt"]},
        )
        assert r.status_code == 200, r.text
        await caught_up(ui_stack, http, code)
    await wait_for_row(page, f"{base}/ui/my", code, "#my-dossiers")
    row = page.locator(f"#my-dossiers tbody tr[data-code='{code}']")
    await expect(row).to_contain_text("Cần bổ sung hồ sơ")
    await row.locator("a").click()
    await expect(page.locator("#dossier")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#status")).to_contain_text("Yêu cầu bổ sung giấy tờ")
    details = page.locator("details:has(form[data-action='supplement'])")
    await details.locator("summary").click()
    await details.locator("input[type=file]").set_input_files(
        files=[
            {"name": "cccd-2-mat.pdf", "mimeType": "application/pdf", "buffer": pdf("to khai 2")}
        ]
    )
    await take_action(page, "supplement", {"kind": "giay_to_tuy_than"})
    await expect(page.locator("#notice")).to_have_text("Đã thực hiện: Bổ sung hồ sơ.")
    await expect(page.locator("#documents")).to_contain_text("cccd-2-mat.pdf")

    # The officers decide and sign; the applicant downloads the signed result.
    async with ui_stack.http() as http:
        for who, action, step, body in [
            (INTAKE, "accept", "tiep_nhan", {}),
            (SPECIALIST, "appraise", "tra_cuu_xac_minh", {"data": {"opinion": "Không có án tích"}}),
            (LEADER, "approve", "phe_duyet", {}),
            (SIGNER, "sign", "ky_phieu", {}),
        ]:
            await wait_for_step(ui_stack, http, code, step)
            r = await act(ui_stack, http, code, who, action, **body)
            assert r.status_code in (200, 202), r.text
        view = await wait_view_api(ui_stack, http, code, lambda v: v["result"], "signed result")
    await open_dossier(page, base, code)
    await expect(page.locator("#status")).to_contain_text("Đã xử lý xong")
    result = page.locator("#documents tbody tr", has_text="PHIẾU LÝ LỊCH TƯ PHÁP SỐ 1")
    await expect(result).to_contain_text("Ký số: signer@000.00.20.H99 (Công an tỉnh)")
    await expect(result).to_contain_text("Đóng dấu: Công an tỉnh")
    async with page.expect_download() as info:
        await result.locator("button").click()
    download = await info.value
    content = (await download.path()).read_bytes()
    assert content.startswith(b"%PDF")
    assert hashlib.sha256(content).hexdigest() == view["result"]["sha256"]
    assert download.suggested_filename.endswith(".pdf")
    await shot(page, "applicant-result")
    errors = [e for e in page.console_errors if "Failed to load resource" not in e]  # type: ignore[attr-defined]
    assert errors == []

    # Anyone with the code and the ID number tracks it from a phone, signed in or not.
    await phone_page.goto(f"{base}/ui/track")
    await phone_page.fill("#track-code", code)
    await phone_page.fill("#track-id", "000000000000")
    await phone_page.click("#track-form button[type=submit]")
    await expect(phone_page.locator("#track-error")).to_contain_text("Không tìm thấy hồ sơ")
    await phone_page.fill("#track-id", person.id_number)
    await phone_page.click("#track-form button[type=submit]")
    await expect(phone_page.locator("#track-status")).to_have_text("Đã xử lý xong")
    await expect(phone_page.locator("#track-appointment")).to_have_text(DATE_TIME)
    width = await phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the tracking page is {width}px wide on a 390px phone"
    # The applicant's own dossier reads on the phone too (tables become cards).
    await sign_in(phone_page, base, APPLICANT)
    await open_dossier(phone_page, base, code)
    await expect(phone_page.locator("#documents")).to_be_visible()
    width = await phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dossier page is {width}px wide on a 390px phone"


async def test_withdrawing_starts_closed_and_asks_to_confirm(ui_stack: Api, page: Page) -> None:
    """The applicant's one action before intake is withdrawal: its form starts closed (it
    is not the first thing they see), and it is sent only once they confirm."""
    base = ui_stack.url
    person = replace(ui_stack.person("rut"), sub=APPLICANT)  # the demo applicant's account
    async with ui_stack.http() as http:
        code = await submit(ui_stack, http, person, as_applicant=True, channel="online")
        await caught_up(ui_stack, http, code)
    await sign_in(page, base, APPLICANT)
    await open_dossier(page, base, code)
    withdraw = action_form(page, "withdraw")
    await expect(withdraw).to_have_count(1)
    assert await withdraw.get_attribute("open") is None
    await shot(page, "withdraw-closed")

    await take_action(page, "withdraw", {"comment": "Tôi nộp nhầm thủ tục"})
    alert = withdraw.locator("[role=alert]")
    await expect(alert).to_contain_text("Đánh dấu ô xác nhận")
    async with ui_stack.http() as http:  # nothing was sent
        r = await http.get(f"/v1/dossiers/{code}", headers=ui_stack.headers(*AUDITOR))
        assert r.json()["status"] == "submitted", r.text

    await withdraw.locator("input[type=checkbox]").check()
    await shot(page, "withdraw-confirmed")
    await withdraw.locator("button[type=submit]").click()
    await expect(page.locator("#notice")).to_contain_text("Rút hồ sơ")
