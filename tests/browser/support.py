"""What the browser tests share: signing in as a demo user, opening a dossier, taking an
action through its form, and waiting for the read model behind the lists."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from playwright.async_api import Page, expect

# The demo users of `motcua dev` (api/demo_users.py DEMO_USERS): their agencies are the
# shipped catalog's centre and provincial police, as in tests/api/support.py.
# A submission answers once its files are stored, its workflow started and the read model
# holds it: on a loaded machine (the whole suite on two cores) more than Playwright's 5 s.
SUBMISSION_MS = 30_000

APPLICANT = "citizen-001"
INTAKE = "tnhs-01"
SPECIALIST = "ca-cv-07"
LEADER = "ca-ld-02"
SIGNER = "ca-ky-01"
RETURNER = "tkq-03"
AUDITOR = "kt-01"


async def sign_in(page: Page, base: str, sub: str) -> None:
    """Sign in on the login page by clicking the demo user's button."""
    await page.goto(f"{base}/ui/")
    await page.evaluate("sessionStorage.clear()")
    await page.reload()
    await page.click(f"button.user-button[data-sub='{sub}']")
    await page.wait_for_url(lambda url: "/ui/" in url and not url.endswith("/ui/"))
    await expect(page.locator("#who-name")).to_be_visible()


async def open_dossier(page: Page, base: str, code: str) -> None:
    await page.goto(f"{base}/ui/dossiers/{quote(code, safe='')}")
    await expect(page.locator("#dossier")).to_have_attribute("aria-busy", "false")


def action_form(page: Page, action: str):  # type: ignore[no-untyped-def]
    return page.locator(f"details:has(form[data-action='{action}'])")


async def take_action(page: Page, action: str, fields: dict[str, str] | None = None) -> None:
    """Open the action's form, fill its fields (by the field's name suffix), submit."""
    details = action_form(page, action)
    await expect(details).to_have_count(1)
    if await details.get_attribute("open") is None:
        await details.locator("summary").click()
    for name, value in (fields or {}).items():
        control = details.locator(f"[id$='-{name}']")
        if await control.evaluate("e => e.tagName") == "SELECT":
            await control.select_option(value)
        else:
            await control.fill(value)
    await details.locator("button[type=submit]").click()


async def wait_for_row(page: Page, url: str, code: str, table: str) -> None:
    """Reload `url` until `code` is a row of `table` (lists read the read model, which a
    workflow's projection updates a moment after the action)."""
    for _ in range(60):
        await page.goto(url)
        rows = page.locator(f"{table} tbody tr[data-code='{code}']")
        try:
            await expect(rows).to_have_count(1, timeout=1000)
            return
        except AssertionError:
            await asyncio.sleep(0.25)
    raise AssertionError(f"{code} never appeared in {table} at {url}")
