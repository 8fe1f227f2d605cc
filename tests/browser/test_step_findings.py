"""What each step concluded, in front of whoever holds the dossier next, in a real
Chromium: the specialist appraises, the leader approves with the opinion and the
recommendation in view beside the approval form, the signer sees what was approved;
the timeline shows every step's own data in Vietnamese, and the documents their type
and size."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.api.support import INTAKE as INTAKE_ROLE
from tests.api.support import Api, act, caught_up, submit, wait_for_step
from tests.browser.conftest import shot
from tests.browser.support import LEADER, SIGNER, SPECIALIST, open_dossier, sign_in, take_action

OPINION = "Đã tra cứu CSDL lý lịch tư pháp: không có án tích. Đủ điều kiện cấp phiếu."


async def test_the_leader_approves_with_the_appraisal_in_view_and_the_signer_sees_it(
    ui_stack: Api, page: Page
) -> None:
    base = ui_stack.url
    async with ui_stack.http() as http:
        code = await submit(ui_stack, http, ui_stack.person("findings"))
        r = await act(ui_stack, http, code, INTAKE_ROLE, "accept", comment="Hồ sơ đầy đủ")
        assert r.status_code == 200, r.text
        await wait_for_step(ui_stack, http, code, "tra_cuu_xac_minh")

    # The specialist appraises: an opinion and a recommendation.
    await sign_in(page, base, SPECIALIST)
    await open_dossier(page, base, code)
    await take_action(page, "appraise", {"opinion": OPINION, "recommendation": "grant"})
    await expect(page.locator("#notice")).to_have_text("Đã thực hiện: Thẩm định.")

    # The leader: the appraisal (who, when, what, and the recommendation in Vietnamese)
    # above the approval form.
    await sign_in(page, base, LEADER)
    await open_dossier(page, base, code)
    appraisal = page.locator("#findings .finding[data-kind='appraise']")
    await expect(appraisal).to_contain_text(
        "Thẩm định — Tra cứu, xác minh thông tin lý lịch tư pháp"
    )
    await expect(appraisal).to_contain_text("Lê Văn Cường (Chuyên viên xử lý)")
    await expect(appraisal).to_contain_text(f"Ý kiến thẩm định{OPINION}")
    await expect(appraisal).to_contain_text("Đề xuấtĐề nghị phê duyệt (đủ điều kiện giải quyết)")
    await expect(page.locator("#findings .finding[data-kind='accept']")).to_contain_text(
        "Hồ sơ đầy đủ"
    )
    above = await page.evaluate(
        "() => document.querySelector('#findings').compareDocumentPosition("
        "document.querySelector('#actions')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    assert above, "the findings come before the action form"
    await expect(page.locator("details:has(form[data-action='approve'])")).to_have_count(1)
    await shot(page, "leader-approves-with-the-appraisal-in-view")
    await take_action(page, "approve", {"comment": "Đồng ý cấp phiếu lý lịch tư pháp số 1"})
    await expect(page.locator("#notice")).to_have_text("Đã thực hiện: Phê duyệt.")

    # The signer: what was approved, and the appraisal behind it.
    await sign_in(page, base, SIGNER)
    await open_dossier(page, base, code)
    approval = page.locator("#findings .finding[data-kind='approve']")
    await expect(approval).to_contain_text("Phạm Minh Đức (Lãnh đạo)")
    await expect(approval).to_contain_text("Ý kiến phê duyệtĐồng ý cấp phiếu lý lịch tư pháp số 1")
    await expect(approval).to_contain_text("Kết quảGiải quyết, cấp kết quả")
    await expect(page.locator("#findings .finding[data-kind='appraise']")).to_contain_text(OPINION)
    await expect(page.locator("details:has(form[data-action='sign'])")).to_have_count(1)

    # The timeline: each step's data with Vietnamese labels, no English key or value.
    async with ui_stack.http() as http:
        await caught_up(ui_stack, http, code)
    await open_dossier(page, base, code)
    events = page.locator("#events")
    await expect(events).to_contain_text(f"Ý kiến thẩm định{OPINION}")
    await expect(events).to_contain_text("Đề xuấtĐề nghị phê duyệt (đủ điều kiện giải quyết)")
    await expect(events).to_contain_text("Văn bản phát hànhMẫu 01")
    await expect(events).to_contain_text("Thời hạn giải quyết")
    text = await events.inner_text()
    for english in ("grant", "recommendation", "opinion", "working days", "granted"):
        assert english not in text, english
    # The uploads with their type and size.
    docs = page.locator("#documents .file-facts")
    await expect(docs.first).to_have_text(re.compile(r"^(PDF|JPEG) · [\d,]+ KB$"))
    await shot(page, "signer-sees-the-approval")
    assert page.console_errors == []  # type: ignore[attr-defined]
