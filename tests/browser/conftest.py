"""Fixtures for the browser tests: headless Chromium (Debian's `chromium`, driven by
Playwright; never a browser that Playwright downloads) against one real stack.

`ui_stack` is the API tests' stack (tests/api/conftest.py), once, on SQLite: a real
uvicorn serving `create_app()` (the API and the UI under /ui) over the real Temporal dev
server, with the centre's worker and every agency worker of the catalog. It yields the
same `Api` as the `api` fixture, so tests have its tokens and HTTP helpers too.

`page` (desktop, 1280x900) and `phone_page` (390x844, mobile) are fresh browser contexts
in Vietnamese, on Vietnam's time, that reach only the loopback address. Each keeps its
browser's console errors and uncaught exceptions in `page.console_errors`; a full-page
screenshot of the end of every test goes to test-artifacts/screenshots/<test>.png
(<test>-phone.png for `phone_page`), and `shot(page, name)` saves more there.

Chromium is /usr/bin/chromium (`make browser` installs it), or MOTCUA_CHROMIUM. Without
it the browser tests are skipped, or fail when the CI variable is set. Every test here
that uses a page is marked `browser` and `devserver`.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Error, Page, async_playwright
from temporalio.client import Client

from motcua.devserver import DevServer
from motcua.stack import api_serving, workers_running
from store import repository
from store.db import init_db, make_engine
from tests.api.conftest import (  # noqa: F401
    DATA_SOURCE_TOKEN,
    data_source_server,
    settings_for,
)
from tests.api.support import Api
from tests.conftest import in_ci
from tests.datasource_server import DataSourceServer
from tests.devserver.conftest import devserver, devserver_client, new_namespace  # noqa: F401
from tests.devserver.journeys import shipped_catalog

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parents[1] / "test-artifacts" / "screenshots"

# Headless, and never reaching the network on its own (updates, sync, QUIC probes, ...).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}
# Every URL but the loopback ones (the stack under test); data: and blob: are not routed.
OUTSIDE = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost|\[::1\])[:/])")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE not in Path(item.path).resolve().parents:
            continue
        names = set(getattr(item, "fixturenames", ()))
        if names & {"page", "phone_page", "browser"}:
            item.add_marker(pytest.mark.browser)
        if names & {"page", "phone_page", "ui_stack"}:
            item.add_marker(pytest.mark.devserver)


def chromium_path() -> Path:
    return Path(os.environ.get("MOTCUA_CHROMIUM") or "/usr/bin/chromium")


@pytest.fixture(scope="session")
async def ui_stack(
    devserver: DevServer,  # noqa: F811
    devserver_client: Client,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
    data_source_server: DataSourceServer,  # noqa: F811
) -> AsyncIterator[Api]:
    """A real uvicorn serving the app (API and UI), with every worker of the catalog, on
    a SQLite read model, asking the local data source for components from databases."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('ui-sqlite') / 'motcua.db'}")
    try:
        init_db(engine)
        client = await new_namespace(devserver_client, devserver.address, "ui")
        catalog = shipped_catalog()
        settings = settings_for(
            tmp_path_factory.mktemp("ui-state"),
            data_source_url=data_source_server.url,
            data_source_token=DATA_SOURCE_TOKEN,
        )
        await asyncio.to_thread(repository.sync_catalog, engine, catalog)
        async with (
            workers_running(client, settings, engine, agencies=sorted(catalog.agencies)),
            api_serving(settings, client, engine, catalog) as url,
        ):
            yield Api(
                db="sqlite",
                url=url,
                settings=settings,
                engine=engine,
                client=client,
                catalog=catalog,
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium for the session."""
    path = chromium_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        reason = (
            f"no Chromium at {path}: install Debian's 'chromium' (as root: make browser) "
            "or set MOTCUA_CHROMIUM"
        )
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(path), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


def _file_name(name: str) -> str:
    """A test or shot name as a file name (parameters keep their letters, not '/' or '[')."""
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "page"


async def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_file_name(name)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@asynccontextmanager
async def _page(browser: Browser, name: str, **kw: Any) -> AsyncIterator[Page]:
    context = await browser.new_context(
        **({"locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh"} | kw)
    )
    # Only the stack under test is reachable: anything else fails at once (and shows up in
    # console_errors) instead of waiting on a network this machine does not have.
    await context.route(OUTSIDE, lambda route: route.abort("blockedbyclient"))
    page = await context.new_page()
    errors: list[str] = []
    page.console_errors = errors  # type: ignore[attr-defined]
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    try:
        yield page
    finally:
        # The last screen of every test, passed or failed; a crashed page has none.
        with suppress(Error):
            await shot(page, name)
        await context.close()


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A fresh desktop page (1280x900, vi-VN, Asia/Ho_Chi_Minh)."""
    async with _page(browser, request.node.name, **DESKTOP) as p:
        yield p


@pytest.fixture
async def english_page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A desktop page of a browser set to English (en-US: its requests say
    Accept-Language: en-US): the pages must still show the API's messages in Vietnamese."""
    async with _page(browser, f"{request.node.name}-en", **DESKTOP, locale="en-US") as p:
        yield p


@pytest.fixture
async def phone_page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A fresh phone page (390x844, mobile, vi-VN, Asia/Ho_Chi_Minh)."""
    async with _page(browser, f"{request.node.name}-phone", **PHONE) as p:
        yield p
