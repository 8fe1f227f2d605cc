"""The page a result's QR code opens (issue 26, item 3), in a real Chromium, on a phone:
the link printed under the code is the configured public address's `/ui/verify?code=...`;
the page says what was issued (number, agency, seal, date; no applicant) without a login,
and tells whether a PDF the visitor holds is that document, untouched, or not."""

from __future__ import annotations

import io
import re

from playwright.async_api import Page, expect
from pypdf import PdfReader

from domain.catalog import Role
from tests.api.support import Api
from tests.browser.conftest import shot
from tests.browser.test_audit_and_index_pages import returned_dossier


async def test_the_qr_code_opens_the_verification_page_which_checks_a_file(
    ui_stack: Api, phone_page: Page
) -> None:
    page = phone_page
    async with ui_stack.http() as http:
        code = await returned_dossier(ui_stack, http)
        auditor = ui_stack.headers(Role.AUDITOR, None)
        docs = (await http.get(f"/v1/dossiers/{code}/documents", headers=auditor)).json()
        result = next(d for d in docs["documents"] if d["form"] == "result")
        pdf = (await http.get(result["href"], headers=auditor)).content
        applicant = (await http.get(f"/v1/dossiers/{code}", headers=auditor)).json()

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    link = re.search(r"^(https?://\S+/ui/verify\?code=\S+)$", text, re.MULTILINE)
    assert link is not None, text[-400:]
    public = ui_stack.settings.public_base_url.rstrip("/")
    assert link.group(1) == f"{public}/ui/verify?code={code}"

    # The same path on the address this test serves (the configured one is not served here).
    await page.goto(ui_stack.url + link.group(1).removeprefix(public))
    issued = page.locator("#verify-list li.issued")
    await expect(issued).to_have_count(1)
    await expect(issued).to_contain_text("PHIẾU LÝ LỊCH TƯ PHÁP", ignore_case=True)
    await expect(issued).to_contain_text("Công an tỉnh")
    await expect(issued).to_contain_text(result["sha256"])
    shown = await page.locator("main").inner_text()
    assert applicant["applicant"]["name"] not in shown  # no personal data on a public page

    await page.locator("#verify-pdf").set_input_files(
        files=[{"name": "ket-qua.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    await expect(page.locator("#verify-ok")).to_contain_text("Văn bản hợp lệ")
    await shot(page, "verify-page-a-genuine-result")

    offset = pdf.index(b"stream") + 40
    tampered = pdf[:offset] + bytes([pdf[offset] ^ 0x01]) + pdf[offset + 1 :]
    await page.locator("#verify-pdf").set_input_files(
        files=[{"name": "ket-qua-sua.pdf", "mimeType": "application/pdf", "buffer": tampered}]
    )
    await expect(page.locator("#verify-bad")).to_contain_text("Không xác nhận được văn bản")
    await shot(page, "verify-page-a-changed-file")

    # A code with nothing issued: the same quiet answer as an unknown one.
    await page.goto(f"{ui_stack.url}/ui/verify?code={code[:-4]}9999")
    await expect(page.locator("#verify-none")).to_be_visible()
