"""Process-level assembly: which workers run in this process, and the embedded
development stack (`motcua dev`): Temporal dev server, read model, workers, demo."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager, suppress

from sqlalchemy.engine import Engine
from temporalio.client import Client

from domain.catalog import Catalog, load_catalog
from motcua.devserver import DevServer
from motcua.settings import Settings
from motcua.temporal import connect
from store.db import init_db, make_engine
from workers.agency import agency_worker
from workers.centre import centre_worker


@asynccontextmanager
async def workers_running(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    centre: bool = True,
    agencies: Sequence[str] = (),
) -> AsyncIterator[None]:
    """Run the centre's worker and/or agency workers until the block exits."""
    executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="activity")
    try:
        async with AsyncExitStack() as stack:
            if centre:
                await stack.enter_async_context(centre_worker(client, settings, engine, executor))
            for code in agencies:
                await stack.enter_async_context(agency_worker(client, code, engine, executor))
            yield
    finally:
        executor.shutdown(wait=True, cancel_futures=False)


def read_model(settings: Settings) -> Engine:
    engine = make_engine(settings.resolved_database_url)
    init_db(engine)
    return engine


async def wait_for_stop_signal() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_worker_process(settings: Settings, *, centre: bool, agencies: Sequence[str]) -> None:
    client = await connect(settings)
    engine = read_model(settings)
    async with workers_running(client, settings, engine, centre=centre, agencies=agencies):
        await wait_for_stop_signal()


async def run_dev_stack(
    settings: Settings,
    *,
    temporal_port: int,
    demo: bool,
    say: Callable[[str], None] = print,
    stop_after_demo: bool = False,
) -> None:
    """The embedded default: everything on this machine, state under settings.state_dir."""
    from motcua.demo import run_demo
    from motcua.service import DossierService

    catalog: Catalog = load_catalog(settings.catalog_dir)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    server = DevServer(settings.state_dir, port=temporal_port, ui=True)
    say(f"Starting the Temporal dev server (state in {server.db_path}) ...")
    await asyncio.to_thread(server.start)
    try:
        settings = settings.model_copy(update={"temporal_address": server.address})
        client = await connect(settings)
        engine = read_model(settings)
        agencies = sorted(catalog.agencies)
        async with workers_running(client, settings, engine, agencies=agencies):
            say(
                f"Workers running: centre queue '{settings.centre_task_queue}' and "
                f"{len(agencies)} agency queues"
            )
            say(f"Temporal UI: {server.ui_url}    read model: {settings.resolved_database_url}")
            if demo:
                say("\n=== Demo: one dossier from submission to the returned result ===")
                await run_demo(DossierService(client, engine, catalog, settings), say)
            if stop_after_demo:
                return
            say("\nThe stack is running. Press Ctrl-C to stop it (dossiers and timers persist).")
            await wait_for_stop_signal()
            say("Stopping workers and the Temporal dev server ...")
    finally:
        await asyncio.to_thread(server.stop)
