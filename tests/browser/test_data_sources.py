"""Data instead of paper in a real Chromium: the applicant consents on the submit page
that the parents' data of a birth registration be taken from the population database
instead of a file; on the intake officer's dossier page it reads "Khai thác từ CSDL quốc
gia về dân cư" with the record ids; a dossier whose record is missing shows why, and the
supplement request the engine made names the component."""

from __future__ import annotations

from dataclasses import replace

from playwright.async_api import Page, expect

from tests.api.support import Api, caught_up, wait_view
from tests.api.test_data_sources import PARENTS, birth, family, filed
from tests.browser.conftest import shot
from tests.browser.support import APPLICANT, INTAKE, SUBMISSION_MS, open_dossier, sign_in
from tests.datasource_server import DataSourceServer
from tests.files import pdf


async def _filed(ui_stack: Api, tag: str, found: bool, server: DataSourceServer) -> str:
    person = replace(ui_stack.person(tag), sub=APPLICANT)  # the demo applicant
    mother, father = family(server, "Trần Thị Mẹ", *(["Lê Văn Cha"] if found else []))
    async with ui_stack.http() as http:
        code = await filed(http, birth(person, mother, father), ui_stack.applicant(person))
        await wait_view(
            ui_stack,
            http,
            code,
            lambda v: any(i["data_outcome"] for i in v["checklist"]["items"]),
            "the database's answer",
        )
        await caught_up(ui_stack, http, code)
    return code


async def test_the_dossier_page_shows_the_component_taken_from_the_population_database(
    ui_stack: Api, page: Page, data_source_server: DataSourceServer
) -> None:
    taken = await _filed(ui_stack, "csdl co", True, data_source_server)
    missing = await _filed(ui_stack, "csdl khong", False, data_source_server)

    await sign_in(page, ui_stack.url, INTAKE)
    await open_dossier(page, ui_stack.url, taken)
    row = page.locator(f"#checklist tbody tr[data-kind='{PARENTS}']")
    await expect(row).to_contain_text("Khai thác từ CSDL quốc gia về dân cư")
    await expect(row).to_contain_text("mã bản ghi DC-")
    await expect(row).to_contain_text("Đã có")
    await expect(row).not_to_have_class("missing")
    await expect(page.locator("#checklist-missing")).to_have_count(0)
    # Listed with the documents, with nothing to download; the log says what happened.
    listed = page.locator("#documents tr[data-source='database']")
    await expect(listed).to_contain_text("Khai thác từ cơ sở dữ liệu, không có tệp")
    await expect(listed.locator("button")).to_have_count(0)
    log = page.locator("#dossier")
    await expect(log).to_contain_text("Khai thác dữ liệu từ cơ sở dữ liệu")
    await expect(log).to_contain_text("Đã khai thác được dữ liệu")
    await expect(log).to_contain_text("Công dân đồng ý khai thác")
    await row.scroll_into_view_if_needed()
    await shot(page, "data-source-parents-from-population-db")

    await open_dossier(page, ui_stack.url, missing)
    row = page.locator(f"#checklist tbody tr[data-kind='{PARENTS}']")
    await expect(row).to_have_class("missing")
    await expect(row).to_contain_text(
        "Không khai thác được: không có dữ liệu trong CSDL quốc gia về dân cư"
    )
    await expect(row).to_contain_text("đề nghị cơ quan quản lý cơ sở dữ liệu điều chỉnh")
    await expect(page.locator("#dossier")).to_contain_text(
        "Đề nghị điều chỉnh thông tin trong cơ sở dữ liệu"
    )
    await expect(page.locator("#dossier")).to_contain_text("Không có dữ liệu")
    await shot(page, "data-source-parents-missing")


async def test_the_applicant_consents_on_the_submit_page_instead_of_attaching_a_file(
    ui_stack: Api, page: Page, data_source_server: DataSourceServer
) -> None:
    person = ui_stack.person("csdl nop")
    mother, father = family(data_source_server, "Đặng Thị Mẹ", "Bùi Văn Cha")
    await sign_in(page, ui_stack.url, APPLICANT)
    await page.goto(f"{ui_stack.url}/ui/submit?procedure=1.001193")
    parents = page.locator(f"#documents input[type=file][data-kind='{PARENTS}']")
    await expect(parents).to_have_count(1)
    file_id = await parents.get_attribute("id")
    consent = page.locator(f"#{file_id}-consent")
    await expect(page.locator(f"label[for='{file_id}-consent']")).to_contain_text(
        "Tôi đồng ý để cơ quan giải quyết khai thác thông tin này từ CSDL quốc gia về dân cư"
    )
    await page.fill("#id_number", person.id_number)
    files = page.locator("#documents input[type=file]")
    for kind in ("to_khai", "giay_chung_sinh"):
        await files.and_(page.locator(f"[data-kind='{kind}']")).set_input_files(
            files=[{"name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": pdf(kind)}]
        )
    await consent.check()
    await expect(parents).to_be_disabled()
    subjects = page.locator(f"#{file_id}-subjects")
    await subjects.fill(f"{mother}, {father}")
    await shot(page, "data-source-consent-on-submit")
    await subjects.fill("123")
    await page.click("#submit-button")
    await expect(subjects).to_have_attribute("aria-invalid", "true")
    await subjects.fill(f"{mother}, {father}")
    await page.click("#submit-button")
    await expect(page.locator("#submitted")).to_be_visible(timeout=SUBMISSION_MS)
    code = (await page.locator("#new-code").text_content()) or ""

    async with ui_stack.http() as http:
        view = await wait_view(
            ui_stack,
            http,
            code,
            lambda v: any(i["files"] for i in v["checklist"]["items"] if i["kind"] == PARENTS),
            "the parents' data",
        )
    assert view["status"] == "submitted" and view["checklist"]["complete"]
    [lookup] = data_source_server.asked_about(mother)
    assert lookup["subject_ids"] == [mother, father]
    assert lookup["purpose"]["consented_by"] == APPLICANT
