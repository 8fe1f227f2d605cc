"""Boundary-free intake in a real Chromium (Decree 118/2025, issue 24): the commune centre
of Hòa An receives a judicial record certificate (a province procedure), its intake
officer accepts it with a click, the provincial police decide (through the API, as their
own software would), and the commune's return officer hands the result over."""

from __future__ import annotations

from playwright.async_api import Page, expect

from domain.catalog import Role
from tests.api.support import (
    LEADER,
    POLICE,
    SIGNER,
    SPECIALIST,
    Api,
    act,
    caught_up,
    pay_fee,
    wait_for_step,
)
from tests.browser.conftest import shot
from tests.browser.support import (
    SUBMISSION_MS,
    open_dossier,
    sign_in,
    take_action,
    wait_for_row,
)
from tests.files import pdf, png

COMMUNE_INTAKE = "tnhs-xa-01"  # api/demo_users.py: Hòa An's centre
COMMUNE_RETURN = "tkq-xa-01"
COMMUNE_CENTRE_NAME = "Trung tâm Phục vụ hành chính công xã Hòa An"
# An action answers once the read model holds its events: on a busy machine, a while.
ANSWER = 60_000


async def test_a_commune_centre_receives_accepts_and_returns_a_province_procedure(
    ui_stack: Api, page: Page
) -> None:
    base = ui_stack.url
    person = ui_stack.person("xã nhận")

    # The commune's intake officer files it at the counter for the citizen.
    await sign_in(page, base, COMMUNE_INTAKE)
    await page.goto(f"{base}/ui/submit?procedure=3.000333")
    files = page.locator("#documents input[type=file]")
    await expect(files).to_have_count(3)
    await page.fill("#name", person.name)
    await page.fill("#id_number", person.id_number)
    await files.nth(0).set_input_files(
        files=[{"name": "to-khai.pdf", "mimeType": "application/pdf", "buffer": pdf("tk")}]
    )
    await files.nth(1).set_input_files(
        files=[{"name": "cccd.png", "mimeType": "image/png", "buffer": png("cccd")}]
    )
    await page.click("#submit-button")
    await expect(page.locator("#submitted")).to_be_visible(timeout=SUBMISSION_MS)
    code = (await page.locator("#new-code").text_content()) or ""
    assert code.startswith(f"{POLICE}-"), code
    await shot(page, "boundary-free-submitted-at-commune")

    # It is in the commune officer's own queue (not orphaned), and they accept it.
    async with ui_stack.http() as http:
        await caught_up(ui_stack, http, code)
    await wait_for_row(page, f"{base}/ui/queue", code, "#queue")
    await page.locator(f"#queue tbody tr[data-code='{code}'] a").first.click()
    await expect(page.locator("#dossier")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#centre-agency")).to_have_text(COMMUNE_CENTRE_NAME)
    await expect(page.locator("#competent-agency")).to_have_text("Công an tỉnh")
    await expect(page.locator("#return-agency")).to_have_text(COMMUNE_CENTRE_NAME)
    await take_action(page, "accept", {"comment": "Tiếp nhận tại xã, hồ sơ đầy đủ"})
    await expect(page.locator("#notice")).to_have_text(
        "Đã thực hiện: Tiếp nhận hồ sơ.", timeout=ANSWER
    )
    await shot(page, "boundary-free-accepted-at-commune")

    # The provincial police decide.
    async with ui_stack.http() as http:
        await wait_for_step(ui_stack, http, code, "tra_cuu_xac_minh")
        for who, action, body in [
            (SPECIALIST, "appraise", {"data": {"opinion": "Không có án tích"}}),
            (LEADER, "approve", {}),
            (SIGNER, "sign", {}),
        ]:
            r = await act(ui_stack, http, code, who, action, **body)
            assert r.status_code in (200, 202), r.text
        await wait_for_step(ui_stack, http, code, "tra_ket_qua")
        # The fee, collected where it returns.
        await pay_fee(ui_stack, http, code, (Role.RETURN_OFFICER, "000.31.01.H99"))
        await caught_up(ui_stack, http, code)

    # The result is back at the commune centre: its return officer hands it over.
    await sign_in(page, base, COMMUNE_RETURN)
    await wait_for_row(page, f"{base}/ui/queue", code, "#queue")
    await open_dossier(page, base, code)
    await expect(page.locator("#holder")).to_contain_text(COMMUNE_CENTRE_NAME)
    await take_action(page, "return", {"received_by": person.name})
    await expect(page.locator("#notice")).to_have_text("Đã thực hiện: Trả kết quả.", timeout=ANSWER)
    await expect(page.locator("#status")).to_contain_text("Đã trả kết quả")
    await expect(page.locator("#events")).to_contain_text("Nông Văn Khánh")
    await shot(page, "boundary-free-returned-at-commune")
    assert page.console_errors == []  # type: ignore[attr-defined]


async def test_a_result_returned_by_post_reads_in_vietnamese(ui_stack: Api, page: Page) -> None:
    """The citizen chooses the post on the submit page (the centres in operation are the
    other choices); the event log the officers and the citizen read says where the result
    goes in Vietnamese, never the code's 'post'."""
    base = ui_stack.url
    person = ui_stack.person("bưu chính")
    await sign_in(page, base, COMMUNE_INTAKE)
    await page.goto(f"{base}/ui/submit?procedure=3.000333")
    files = page.locator("#documents input[type=file]")
    await expect(files).to_have_count(3)
    choices = page.locator("#return_to option")
    await expect(choices.filter(has_text=COMMUNE_CENTRE_NAME)).to_have_count(1)
    await page.select_option("#return_to", label="Qua dịch vụ bưu chính công ích")
    await page.fill("#name", person.name)
    await page.fill("#id_number", person.id_number)
    await files.nth(0).set_input_files(
        files=[{"name": "to-khai.pdf", "mimeType": "application/pdf", "buffer": pdf("tk")}]
    )
    await files.nth(1).set_input_files(
        files=[{"name": "cccd.png", "mimeType": "image/png", "buffer": png("cccd")}]
    )
    await page.click("#submit-button")
    await expect(page.locator("#submitted")).to_be_visible(timeout=SUBMISSION_MS)
    code = (await page.locator("#new-code").text_content()) or ""

    async with ui_stack.http() as http:
        r = await act(ui_stack, http, code, (Role.INTAKE_OFFICER, "000.31.01.H99"), "accept")
        assert r.status_code == 200, r.text
        assert r.json()["return_by_post"] is True
        await wait_for_step(ui_stack, http, code, "tra_cuu_xac_minh")
        for who, action, body in [
            (SPECIALIST, "appraise", {"data": {"opinion": "Không có án tích"}}),
            (LEADER, "approve", {}),
            (SIGNER, "sign", {}),
        ]:
            r = await act(ui_stack, http, code, who, action, **body)
            assert r.status_code in (200, 202), r.text
        await wait_for_step(ui_stack, http, code, "tra_ket_qua")
        await caught_up(ui_stack, http, code)

    await sign_in(page, base, COMMUNE_RETURN)
    await open_dossier(page, base, code)
    await expect(page.locator("#return-agency")).to_have_text("Gửi qua dịch vụ bưu chính công ích")
    await expect(page.locator("#events")).to_contain_text("Trả kết quả tại")
    await expect(
        page.locator("#events dd", has_text="Qua dịch vụ bưu chính công ích")
    ).not_to_have_count(0)
    assert "post" not in [t.strip() for t in await page.locator("#events dd").all_text_contents()]
    await shot(page, "boundary-free-return-by-post")
    assert page.console_errors == []  # type: ignore[attr-defined]


async def test_a_merged_centre_says_so_and_is_no_longer_offered(ui_stack: Api, page: Page) -> None:
    """Hòa An's centre merged into Bình Long's yesterday: a dossier it received still opens
    and says since when it no longer operates and who took over; the submit page no longer
    offers it as the place to collect a result."""
    import asyncio
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from store import repository
    from tests.api.support import submission

    base = ui_stack.url
    hoa_an, binh_long = "000.31.01.H99", "000.32.01.H99"
    async with ui_stack.http() as http:
        r = await http.post(
            "/v1/dossiers",
            json=submission(ui_stack.person("trước sáp nhập")),
            headers=ui_stack.headers(Role.INTAKE_OFFICER, hoa_an),
        )
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        await caught_up(ui_stack, http, code)

    async def in_operation(agency: str) -> bool:
        async with ui_stack.http() as http:
            r = await http.get("/v1/agencies", headers=ui_stack.headers(Role.AUDITOR))
            return bool({a["code"]: a for a in r.json()}[agency]["in_operation"])

    async def until(agency: str, operating: bool) -> None:
        for _ in range(240):
            if await in_operation(agency) == operating:
                return
            await asyncio.sleep(0.25)
        raise AssertionError(f"{agency} never became in_operation={operating}")

    yesterday = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date() - timedelta(days=1)
    agency = ui_stack.catalog.agencies[hoa_an]
    ended = agency.model_copy(update={"valid_to": yesterday, "successor": binh_long})
    await asyncio.to_thread(repository.save_agencies, ui_stack.engine, [ended])
    try:
        await until(hoa_an, False)
        await sign_in(page, base, COMMUNE_INTAKE)
        await open_dossier(page, base, code)
        centre = page.locator("#centre-agency")
        await expect(centre).to_contain_text(COMMUNE_CENTRE_NAME)
        await expect(centre).to_contain_text(
            f"đã thôi hoạt động sau ngày {yesterday:%d/%m/%Y}; kế thừa: "
            "Trung tâm Phục vụ hành chính công xã Bình Long"
        )
        await page.goto(f"{base}/ui/submit")
        choices = page.locator("#return_to option")
        await expect(
            choices.filter(has_text="Trung tâm Phục vụ hành chính công xã Bình Long")
        ).to_have_count(1)
        await expect(choices.filter(has_text=COMMUNE_CENTRE_NAME)).to_have_count(0)
        await shot(page, "merged-centre-not-offered")
    finally:
        await asyncio.to_thread(repository.save_agencies, ui_stack.engine, [agency])
        await until(hoa_an, True)
    assert page.console_errors == []  # type: ignore[attr-defined]
