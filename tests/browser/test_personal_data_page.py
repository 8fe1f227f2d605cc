"""Personal-data requests in a real Chromium (/ui/du-lieu-ca-nhan; Law 91/2025/QH15 with
Decree 356/2025/ND-CP). The demo citizen asks to see what the centre holds about them and
downloads the answer as a text a person reads; asks for a correction (an empty one is
refused on the page); the centre's leader opens the decision, closed by default, cannot
refuse without a reason nor decide without ticking the confirmation, then accepts it; the
citizen sees it answered. A leader of another agency is told the page is not theirs to
decide on (the API refuses them)."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.api.support import Api
from tests.browser.conftest import shot
from tests.browser.support import APPLICANT, LEADER, sign_in

PAGE = "/ui/du-lieu-ca-nhan"
CENTRE_LEADER = "tt-ld-01"  # api/demo_users.py: the centre's own leader


async def test_a_citizen_sees_and_corrects_their_data_and_the_centres_leader_decides(
    ui_stack: Api, page: Page
) -> None:
    base = ui_stack.url
    await sign_in(page, base, APPLICANT)
    await page.goto(f"{base}{PAGE}")
    await expect(page.locator("#nav")).to_contain_text("Dữ liệu cá nhân")
    await expect(page.locator("#pd-citizen")).to_be_visible()

    # Seeing what is held: answered at once with an export the citizen downloads.
    await page.select_option("#pd-kind", "access")
    await page.click("#pd-form button[type=submit]")
    await expect(page.locator("#pd-notice")).to_contain_text(
        "Đã tiếp nhận yêu cầu xem dữ liệu cá nhân"
    )
    await expect(page.locator("#pd-notice")).to_contain_text("hạn trả lời")
    access = page.locator("#pd-table tbody tr", has_text="xem dữ liệu cá nhân")
    for _ in range(50):  # the workflow answers within moments: look again
        await page.reload()
        if await access.locator("button.export-text").count():
            break
        await page.wait_for_timeout(200)
    await expect(access).to_contain_text("đã trả lời")
    async with page.expect_download() as info:
        await access.locator("button.export-text").click()
    download = await info.value
    assert download.suggested_filename.endswith(".txt")
    text = (await download.path()).read_text(encoding="utf-8")
    assert text.startswith("TRÍCH XUẤT DỮ LIỆU CÁ NHÂN")
    assert f"Tài khoản: {APPLICANT}" in text

    # A correction with nothing to correct is refused on the page; with a name, taken.
    await page.select_option("#pd-kind", "correct")
    await expect(page.locator("#pd-corrections")).to_be_visible()
    await page.click("#pd-form button[type=submit]")
    await expect(page.locator("#pd-error")).to_contain_text("Điền ít nhất một thông tin cần sửa")
    await page.fill("#pd-name", "Nguyễn Văn Ân")
    await page.fill("#pd-reason", "Tên trên hồ sơ thiếu dấu")
    await page.click("#pd-form button[type=submit]")
    await expect(page.locator("#pd-notice")).to_contain_text(
        "Đã tiếp nhận yêu cầu chỉnh sửa dữ liệu cá nhân"
    )
    correction = page.locator("#pd-table tbody tr", has_text="chỉnh sửa dữ liệu cá nhân").first
    await expect(correction).to_contain_text("đang xử lý")
    await expect(correction.locator("details.decision")).to_have_count(0)  # not the citizen's
    await shot(page, "personal-data-citizen")
    request_id = await correction.get_attribute("data-id")

    # A leader of another agency (the police) does not handle them.
    await sign_in(page, base, LEADER)
    await page.goto(f"{base}{PAGE}")
    await expect(page.locator("#pd-error")).to_contain_text("Chỉ người dân đăng nhập")

    # The centre's leader decides: closed by default; a refusal needs a reason; a decision
    # needs the confirmation ticked.
    await sign_in(page, base, CENTRE_LEADER)
    await page.goto(f"{base}{PAGE}")
    await expect(page.locator("#pd-citizen")).to_be_hidden()
    row = page.locator(f"#pd-table tbody tr[data-id='{request_id}']")
    # What was asked, and by whom, is in view of the one deciding it.
    await expect(row).to_contain_text(f"Tài khoản: {APPLICANT}")
    await expect(row).to_contain_text("Họ và tên: Nguyễn Văn Ân")
    await expect(row).to_contain_text("Lý do: Tên trên hồ sơ thiếu dấu")
    decision = row.locator("details.decision")
    await expect(decision).not_to_have_attribute("open", "")
    await decision.locator("summary").click()
    await decision.locator("button.danger").click()
    await expect(decision.locator("[role=alert]")).to_contain_text("Nhập lý do từ chối")
    await decision.locator("textarea").fill("Đã đối chiếu với Cơ sở dữ liệu quốc gia về dân cư")
    await decision.locator("button.primary").click()
    await expect(decision.locator("[role=alert]")).to_contain_text("Đánh dấu ô xác nhận")
    await decision.locator("input[type=checkbox]").check()
    await shot(page, "personal-data-leader")
    await decision.locator("button.primary").click()
    await expect(page.locator("#pd-notice")).to_contain_text(
        "Đã chấp nhận yêu cầu chỉnh sửa dữ liệu cá nhân"
    )
    await expect(row).to_contain_text("đã trả lời")
    await expect(row.locator("details.decision")).to_have_count(0)

    # The citizen sees it answered.
    await sign_in(page, base, APPLICANT)
    await page.goto(f"{base}{PAGE}")
    await expect(page.locator(f"#pd-table tbody tr[data-id='{request_id}']")).to_contain_text(
        "đã trả lời"
    )
    errors = [e for e in page.console_errors if "Failed to load resource" not in e]  # type: ignore[attr-defined]
    assert errors == []
