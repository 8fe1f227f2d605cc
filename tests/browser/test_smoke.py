"""The browser reaches the stack: FastAPI's OpenAPI page loads in headless Chromium.

Its Swagger UI script and styles come from a CDN, which the pages here never reach, so
the page stays blank and its console has errors; the title and the page's own requests
to the API are what this checks."""

from __future__ import annotations

from playwright.async_api import Page

from tests.api.support import Api
from tests.browser.conftest import shot


async def test_openapi_page_loads(ui_stack: Api, page: Page) -> None:
    response = await page.goto(f"{ui_stack.url}/docs")
    assert response is not None and response.ok, response
    assert "motcua" in (await page.title()).lower()
    title = await page.evaluate(
        "fetch('/openapi.json').then(r => r.json()).then(j => j.info.title)"
    )
    assert title == "motcua"
    assert (await shot(page, "openapi-docs")).stat().st_size > 0
