"""The officers' console in a real Chromium: the queue of what to act on, a dossier taken
through its steps by the officers who own them, and a refused action showing its reason.
The dossiers come from the API (as the counter's software would send them); every action
here is a click in the browser."""

from __future__ import annotations

import json
import re

import httpx
from playwright.async_api import Page, Route, expect

from tests.api.support import INTAKE as INTAKE_ROLE
from tests.api.support import LEADER as LEADER_ROLE
from tests.api.support import SIGNER as SIGNER_ROLE
from tests.api.support import SPECIALIST as SPECIALIST_ROLE
from tests.api.support import Api, act, caught_up, submit, wait_for_step
from tests.browser.conftest import shot
from tests.browser.support import (
    INTAKE,
    LEADER,
    RETURNER,
    SPECIALIST,
    action_form,
    open_dossier,
    sign_in,
    take_action,
    wait_for_row,
)

DATE_TIME = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")


async def test_officers_take_a_dossier_through_intake_and_appraisal(
    ui_stack: Api, page: Page
) -> None:
    base = ui_stack.url
    async with ui_stack.http() as http:
        person = ui_stack.person("console")
        code = await submit(ui_stack, http, person)
        await caught_up(ui_stack, http, code)

    # The intake officer's queue lists it, with the working time left to the step's due time.
    await sign_in(page, base, INTAKE)
    assert page.url.endswith("/ui/queue")
    await wait_for_row(page, f"{base}/ui/queue", code, "#queue")
    row = page.locator(f"#queue tbody tr[data-code='{code}']")
    await expect(row).to_contain_text(person.name)
    await expect(row).to_contain_text("Tiếp nhận, kiểm tra hồ sơ")
    countdown = row.locator(".countdown").first
    await expect(countdown).to_have_text(re.compile(r"^(Còn|Quá hạn) "))
    await expect(countdown).not_to_have_class(re.compile("overdue"))
    await expect(page.locator("#queue-scope")).to_contain_text(
        "Trung tâm Phục vụ hành chính công tỉnh"
    )
    await shot(page, "queue-intake-officer")

    # Open it: only the intake step's actions are offered to the intake officer.
    await row.locator("a").first.click()
    await expect(page.locator("#dossier")).to_have_attribute("aria-busy", "false")
    offered = await page.locator("#actions form").evaluate_all(
        "forms => forms.map(f => f.dataset.action)"
    )
    # The fee (200.000 đồng) is collected at intake, so `pay` is offered there too.
    assert set(offered) == {"accept", "request_supplement", "refuse", "withdraw", "claim", "pay"}, (
        offered
    )
    await expect(page.locator("#status")).to_contain_text("Mới đăng ký")
    assert DATE_TIME.match((await page.locator("#step-due time").text_content()) or "")
    await take_action(page, "accept", {"comment": "Hồ sơ đầy đủ, hợp lệ"})
    await expect(page.locator("#notice")).to_have_text("Đã thực hiện: Tiếp nhận hồ sơ.")
    await expect(page.locator("#appointment time")).to_have_text(DATE_TIME)
    await expect(page.locator("#events")).to_contain_text("Hồ sơ đầy đủ, hợp lệ")

    # The specialist of the police finds it in their queue and appraises it.
    await sign_in(page, base, SPECIALIST)
    await wait_for_row(page, f"{base}/ui/queue", code, "#queue")
    await page.locator(f"#queue tbody tr[data-code='{code}'] a").first.click()
    await expect(page.locator("#current-step")).to_have_text(
        "Tra cứu, xác minh thông tin lý lịch tư pháp"
    )
    await take_action(page, "appraise", {"opinion": "Không có án tích", "recommendation": "grant"})
    await expect(page.locator("#notice")).to_have_text("Đã thực hiện: Thẩm định.")
    await expect(page.locator("#current-step")).to_have_text("Duyệt kết quả tra cứu, xác minh")
    await expect(page.locator("#holder")).to_have_text("Lãnh đạo · Công an tỉnh")
    await expect(page.locator("#no-actions")).to_contain_text("Bạn không có thao tác nào")
    await expect(page.locator("#events")).to_contain_text("Lê Văn Cường (Chuyên viên xử lý)")
    await shot(page, "dossier-after-appraisal")
    assert page.console_errors == []  # type: ignore[attr-defined]

    # In the leader's queue now, with the working time left to the step's due time and to
    # the appointment, as the API counted them (tests/api/test_working_time.py moves the
    # reading's clock past them).
    await sign_in(page, base, LEADER)
    await wait_for_row(page, f"{base}/ui/queue", code, "#queue")
    countdowns = page.locator(f"#queue tbody tr[data-code='{code}'] .countdown.working-time")
    await expect(countdowns).to_have_count(2)
    await expect(countdowns.first).to_have_text(re.compile(r"^Còn .+ làm việc$"))
    await expect(countdowns.first).not_to_have_class(re.compile("overdue"))
    await shot(page, "queue-leader-working-time")

    async with ui_stack.http() as http:
        r = await http.get(f"/v1/dossiers/{code}", headers=ui_stack.headers(*LEADER_ROLE))
        view = r.json()
        assert view["current_step"]["step_id"] == "phe_duyet"
        r = await http.get(f"/v1/dossiers/{code}/events", headers=ui_stack.headers(*LEADER_ROLE))
        kinds = [e["kind"] for e in r.json()["events"]]
        assert "accept" in kinds and "appraise" in kinds


async def test_a_refused_action_shows_the_engines_reason(ui_stack: Api, english_page: Page) -> None:
    """In Vietnamese, even in a browser set to English (the pages ask the API for
    Vietnamese)."""
    page = english_page
    base = ui_stack.url
    async with ui_stack.http() as http:
        person = ui_stack.person("refused")
        code = await submit(ui_stack, http, person)
        for who, action, body in [
            (INTAKE_ROLE, "pay", {"data": {"amount_vnd": 200_000, "method": "cash"}}),
            (INTAKE_ROLE, "accept", {}),
            (SPECIALIST_ROLE, "appraise", {"data": {"opinion": "Không có án tích"}}),
            (LEADER_ROLE, "approve", {}),
            (SIGNER_ROLE, "sign", {}),
        ]:
            step = {"accept": "tiep_nhan", "appraise": "tra_cuu_xac_minh"}.get(action)
            if step:
                await wait_for_step(ui_stack, http, code, step)
            r = await act(ui_stack, http, code, who, action, **body)
            assert r.status_code in (200, 202), r.text
        await wait_for_step(ui_stack, http, code, "tra_ket_qua")  # the fee was paid at intake

    await sign_in(page, base, RETURNER)
    await open_dossier(page, base, code)
    # Someone other than the applicant collects the result without an authorisation.
    await take_action(page, "return", {"received_by": "Lê Thị Mười"})
    alert = action_form(page, "return").locator("[role=alert]")
    await expect(alert).to_be_visible()
    await expect(alert).to_contain_text("Dữ liệu chưa hợp lệ")
    await expect(alert).to_contain_text("Lê Thị Mười không phải người nộp hồ sơ")
    await expect(alert).to_contain_text("giấy ủy quyền")
    await shot(page, "refused-return")
    # Nothing changed; with the authorisation it goes through.
    await expect(page.locator("#status")).to_contain_text("Đã xử lý xong")
    await take_action(
        page,
        "return",
        {"received_by": "Lê Thị Mười", "authorization": "Giấy ủy quyền số 12/UQ ngày 01/12/2026"},
    )
    await expect(page.locator("#notice")).to_have_text("Đã thực hiện: Trả kết quả.")
    await expect(page.locator("#status")).to_contain_text("Đã trả kết quả")
    await expect(page.locator("#no-actions")).to_have_text("Hồ sơ đã kết thúc.")
    # The refusal is on the record, with who tried and why.
    await open_dossier(page, base, code)
    await expect(page.locator("#refused")).to_contain_text("Ngô Thị Phương")
    await expect(page.locator("#refused")).to_contain_text("giấy ủy quyền")


async def test_an_action_whose_answer_was_lost_is_sent_again_safely(
    ui_stack: Api, page: Page
) -> None:
    """The officer's accept reaches the engine but its answer is lost on the way back (the
    network drops it): the officer clicks again, the page sends the same request under
    the same Idempotency-Key, with the step it showed, and gets the first answer: the
    action taken once, no 409 for a step the dossier has left."""
    base = ui_stack.url
    async with ui_stack.http() as http:
        code = await submit(ui_stack, http, ui_stack.person("lost"))
        await caught_up(ui_stack, http, code)
    sent: list[tuple[str | None, dict[str, object]]] = []

    async def lose_the_first_answer(route: Route) -> None:
        request = route.request
        sent.append(
            (await request.header_value("Idempotency-Key"), json.loads(request.post_data or "{}"))
        )
        if len(sent) == 1:
            await route.fetch()  # the API takes the action...
            await route.abort("connectionreset")  # ...and its answer never arrives
        else:
            await route.continue_()

    await page.route("**/v1/dossiers/*/actions", lose_the_first_answer)
    await sign_in(page, base, INTAKE)
    await open_dossier(page, base, code)
    await take_action(page, "accept")
    alert = action_form(page, "accept").locator("[role=alert]")
    await expect(alert).to_be_visible()
    await action_form(page, "accept").locator("button[type=submit]").click()
    await expect(page.locator("#notice")).to_have_text("Đã thực hiện: Tiếp nhận hồ sơ.")
    assert len(sent) == 2
    (first_key, first_body), (second_key, second_body) = sent
    assert first_key and second_key == first_key
    assert first_body == second_body and first_body["expected_step"] == "tiep_nhan"
    async with ui_stack.http() as http:
        await caught_up(ui_stack, http, code)
        r = await http.get(f"/v1/dossiers/{code}/events", headers=ui_stack.headers(*INTAKE_ROLE))
        record = r.json()
    assert [e["kind"] for e in record["events"]].count("accept") == 1
    assert record["refused_attempts"] == []


async def test_the_queue_is_for_officers_and_the_console_needs_a_login(
    ui_stack: Api, page: Page
) -> None:
    base = ui_stack.url
    await page.goto(f"{base}/ui/queue")
    await page.wait_for_url(re.compile(r"/ui/\?next=%2Fui%2Fqueue$"))
    # Signing in returns to the page asked for.
    await page.click(f"button.user-button[data-sub='{INTAKE}']")
    await page.wait_for_url(re.compile(r"/ui/queue$"))
    await page.click("#logout")
    await page.wait_for_url(re.compile(r"/ui/$"))
    # A bad token is refused with the API's reason.
    await page.fill("#token", "not-a-token")
    await page.click("#token-form button[type=submit]")
    await expect(page.locator("#login-error")).to_be_visible()


async def test_pages_are_served_safely(ui_stack: Api) -> None:
    async with httpx.AsyncClient(base_url=ui_stack.url) as http:
        r = await http.get("/ui/dossiers/<script>alert(1)</script>")
        assert r.status_code == 200
        assert "<script>alert(1)</script>" not in r.text
        assert "&lt;script&gt;" in r.text
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert (await http.get("/", follow_redirects=False)).headers["location"] == "/ui/"
        assert (await http.get("/ui/static/app.js")).status_code == 200
        r = await http.post("/ui/dev-login", json={"sub": "nobody"})
        assert r.status_code == 404 and "nobody" in r.json()["error"]["message"]
        r = await http.post("/ui/dev-login", json={"sub": INTAKE})
        token = r.json()["token"]
        r = await http.get("/v1/worklist", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["roles"] == ["intake_officer"]
