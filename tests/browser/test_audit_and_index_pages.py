"""The auditor's view and the Decision 766 service index in a real Chromium.

A judicial record certificate dossier (3.000333) is walked to "returned" through the API
by the officers who own its steps; then the auditor opens /ui/audit/<code> (every step
on time, the hash chain intact, the replay deterministic, the signatures valid), and a
leader of the police opens /ui/index for the dossier's month (the tiles and tables count
that procedure, the figures are the API's, formatted the Vietnamese way)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page, expect

from domain.catalog import Role
from tests.api.support import (
    INTAKE,
    LEADER,
    POLICE,
    PROCEDURE,
    RETURNER,
    SIGNER,
    SPECIALIST,
    Api,
    act,
    caught_up,
    submit,
    wait_closed,
    wait_for_step,
)
from tests.browser.conftest import shot
from tests.browser.support import AUDITOR as AUDITOR_SUB
from tests.browser.support import LEADER as LEADER_SUB
from tests.browser.support import sign_in

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SECTIONS = ["#audit-summary", "#audit-steps", "#audit-states", "#audit-replay", "#audit-chain"]


def percent(value: float | None) -> str:
    """What Intl.NumberFormat('vi-VN', {maximumFractionDigits: 1}) shows, and " %"."""
    if value is None:
        return "—"
    rounded = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP).normalize()
    text = f"{rounded:f}".replace(".", ",")
    whole, _, frac = text.partition(",")
    whole = f"{int(whole):,}".replace(",", ".")
    return f"{whole},{frac} %" if frac else f"{whole} %"


async def returned_dossier(api: Api, http: httpx.AsyncClient) -> str:
    """A 3.000333 dossier taken to "returned" by the officers who own its steps."""
    code = await submit(api, http, api.person("kiem-toan"))
    pay = {"amount_vnd": 200_000, "method": "cash"}
    assert (await act(api, http, code, INTAKE, "pay", data=pay)).status_code == 200
    assert (await act(api, http, code, INTAKE, "accept")).status_code == 200
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    steps: list[tuple[tuple[Role, str | None], str, dict[str, Any]]] = [
        (SPECIALIST, "appraise", {"data": {"opinion": "Không có án tích"}}),
        (LEADER, "approve", {"comment": "Đồng ý"}),
        (SIGNER, "sign", {}),
        (RETURNER, "return", {"data": {"channel": "counter"}}),
    ]
    for who, action, body in steps:
        r = await act(api, http, code, who, action, **body)
        assert r.status_code == 200, (action, r.text)
    await wait_closed(api, code)
    await caught_up(api, http, code)
    return code


async def test_the_auditor_checks_a_dossier_and_a_leader_reads_the_index(
    ui_stack: Api, page: Page, phone_page: Page
) -> None:
    base = ui_stack.url
    async with ui_stack.http() as http:
        code = await returned_dossier(ui_stack, http)
        r = await http.get(f"/v1/dossiers/{code}", headers=ui_stack.headers("auditor"))
        submitted = datetime.fromisoformat(r.json()["submitted_at"])
    month = submitted.astimezone(VIETNAM).strftime("%Y-%m")
    steps = ui_stack.catalog.procedure(PROCEDURE).steps

    # ---- the auditor: every section loads; each step on time; chain and replay hold.
    await sign_in(page, base, AUDITOR_SUB)
    assert page.url.endswith("/ui/audit")
    recent = page.locator(f"#audit-recent tbody tr[data-code='{code}'] a")
    await expect(recent).to_have_attribute("href", f"/ui/audit/{quote(code, safe='')}")
    await page.fill("#audit-code", code)
    await page.click("#audit-form button[type=submit]")
    await page.wait_for_url(f"**/ui/audit/{code}")
    for section in [*SECTIONS, "#audit-pauses", "#audit-signatures"]:
        await expect(page.locator(section)).to_have_attribute("aria-busy", "false")
    await expect(page.locator(".section-error")).to_have_count(0)
    await expect(page.locator("#audit-dossier-link")).to_have_attribute(
        "href", f"/ui/dossiers/{quote(code, safe='')}"
    )
    await expect(page.locator("#audit-status")).to_have_text("Đã trả kết quả")

    rows = page.locator("#audit-steps-table tbody tr")
    await expect(rows).to_have_count(len(steps))
    assert await rows.evaluate_all("rs => rs.map(r => r.dataset.step)") == [s.id for s in steps]
    for i, step in enumerate(steps):
        row = rows.nth(i)
        await expect(row).to_contain_text(step.name)
        await expect(row.locator("[data-verdict]")).to_have_text(re.compile("^(Đúng|Trước) hạn$"))
        await expect(row.locator("td.late-by")).to_have_text("—")
    await expect(rows.nth(2)).to_contain_text("Công an tỉnh")  # the police's appraisal
    await expect(page.locator("#audit-steps-summary")).to_contain_text("không có bước nào trễ hạn")
    await expect(page.locator("#audit-exclusions")).to_have_text("Không có lần tạm dừng nào.")

    states = page.locator("#audit-states-table tbody tr")
    assert await states.count() >= 5
    await expect(states.first).to_contain_text("Mới đăng ký")
    await expect(states.last).to_contain_text("Đã trả kết quả")

    replay = page.locator("#audit-replay-verdict")
    await expect(replay).to_have_attribute("data-deterministic", "true")
    await expect(replay).to_contain_text("Tất định")
    chain = page.locator("#audit-chain-verdict")
    await expect(chain).to_have_attribute("data-intact", "true")
    await expect(chain).to_contain_text("Nguyên vẹn")
    await expect(page.locator("#audit-chain-problems")).to_have_count(0)

    result = page.locator(f"#audit-signatures [data-document='{code}:result']")
    await expect(result).to_have_attribute("data-valid", "true")
    await expect(result).to_contain_text("Chữ ký hợp lệ")
    await expect(result).to_contain_text("Dấu cơ quan")
    await shot(page, "audit-dossier")

    # On a phone the tables become cards and nothing overflows the screen.
    await sign_in(phone_page, base, AUDITOR_SUB)
    await phone_page.goto(f"{base}/ui/audit/{quote(code, safe='')}")
    for section in SECTIONS:
        await expect(phone_page.locator(section)).to_have_attribute("aria-busy", "false")
    first_cell = phone_page.locator("#audit-steps-table tbody tr").first.locator("td").first
    assert await first_cell.evaluate("td => getComputedStyle(td).display") == "block"
    label = await first_cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Bước"', label  # each cell shows its column's name
    assert await phone_page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1"
    )
    assert phone_page.console_errors == []  # type: ignore[attr-defined]

    # ---- a leader of the police: the month's index, which counts the dossier.
    await sign_in(page, base, LEADER_SUB)
    await page.goto(f"{base}/ui/index?period={month}")
    for section in ["#index-kpis", "#index-by-agency", "#index-by-procedure", "#index-late"]:
        await expect(page.locator(section)).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#period")).to_have_value(month)
    async with ui_stack.http() as http:
        r = await http.get("/v1/index", params={"period": month}, headers=ui_stack.headers(*LEADER))
        assert r.status_code == 200, r.text
        index = r.json()
    total = index["total"]
    kpis = page.locator("#index-kpis")
    await expect(kpis.locator("[data-kpi='on_time_rate'] .value")).to_have_text(
        percent(total["on_time_rate"])
    )
    await expect(kpis.locator("[data-kpi='satisfaction'] .value")).to_have_text(
        percent(total["satisfaction"])
    )
    await expect(kpis.locator("[data-kpi='received'] .value")).to_have_text(
        f"{total['counts']['received']:,}".replace(",", ".")
    )
    assert total["counts"]["received"] >= 1

    row = next(x for x in index["rows"] if x["procedure_code"] == PROCEDURE)
    table_row = page.locator(f"#index-procedure-table tbody tr[data-procedure='{PROCEDURE}']")
    await expect(table_row).to_have_count(1)
    await expect(table_row).to_contain_text(row["procedure_name"])
    await expect(table_row.locator("td[data-label='Tỷ lệ đúng hạn']")).to_have_text(
        percent(row["on_time_rate"])
    )
    police = page.locator(f"#index-agency-table tbody tr[data-agency='{POLICE}']")
    await expect(police).to_contain_text("Công an tỉnh")
    bars = page.locator("#chart-agency-on-time [role=img]")
    assert any(
        (label or "").startswith("Công an tỉnh: ")
        for label in await bars.evaluate_all("bs => bs.map(b => b.getAttribute('aria-label'))")
    )
    await expect(page.locator("#chart-procedure-satisfaction")).to_contain_text(PROCEDURE)
    late = page.locator("#index-late")
    await expect(late.locator("#index-late-empty, #index-late-table")).to_have_count(1)

    async with page.expect_download() as download:
        await page.click("#index-csv")
    assert (await download.value).suggested_filename == f"chi-so-766-{month}.csv"
    await shot(page, "index-dashboard")
    assert page.console_errors == []  # type: ignore[attr-defined]
