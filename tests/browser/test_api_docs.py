"""The API's documentation pages render with no internet: Chromium may reach the API
under test (127.0.0.1) and nothing else, as on an offline government network."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from motcua.devserver import find_free_port
from motcua.stack import api_serving
from store.db import init_db, make_engine
from tests.api.conftest import settings_for
from tests.browser.conftest import DESKTOP, _page
from tests.devserver.journeys import shipped_catalog

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


async def test_swagger_ui_and_redoc_render_offline(browser: Browser, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'motcua.db'}")
    init_db(engine)
    # Temporal is nowhere (a lazy client): the pages and the OpenAPI document need none.
    settings = settings_for(tmp_path, temporal_address=f"127.0.0.1:{find_free_port()}")
    try:
        async with (
            api_serving(settings, None, engine, shipped_catalog()) as url,  # type: ignore[arg-type]
            _page(browser, "api-docs-offline", **DESKTOP) as page,
        ):
            asked: list[str] = []
            page.on("request", lambda r: asked.append(r.url))
            await page.goto(f"{url}/docs")
            # Swagger UI rendered the operations of the OpenAPI document.
            operations = page.locator(".opblock")
            await expect(operations.first).to_be_visible(timeout=20_000)
            assert await operations.count() >= 20
            submit = page.locator(".opblock-post:has([data-path='/v1/dossiers'])")
            await expect(submit).to_have_count(1)
            await submit.locator(".opblock-summary").click()
            await expect(submit.locator("text=multipart/form-data").first).to_be_visible()

            # Nothing outside asked for, no script or style refused by the page's policy.
            errors: list[str] = page.console_errors  # type: ignore[attr-defined]
            assert [u for u in asked if not u.startswith((url, "data:"))] == [], asked
            assert errors == [], errors

            asked.clear()
            await page.goto(f"{url}/redoc")
            await expect(page.locator("h2:has-text('Submit a dossier')")).to_be_visible(
                timeout=20_000
            )
            # ReDoc's sidebar always tries Redocly's logo from its CDN (in its script, not
            # in our page); offline, and under the page's img-src 'self', the image fails
            # and ReDoc hides it. Nothing else leaves the machine.
            outside = [u for u in asked if not u.startswith((url, "data:")) and u != REDOC_LOGO]
            assert outside == [], outside
            assert all("cdn.redoc.ly" in e or "Failed to load resource" in e for e in errors), (
                errors
            )
            assert len(errors) <= 1, errors
    finally:
        engine.dispose()
