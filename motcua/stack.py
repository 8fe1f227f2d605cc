"""Process-level assembly: which workers run in this process, and the embedded
development stack (`motcua dev`): Temporal dev server, read model, workers, demo."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities import render_pool
from activities.documents import DocumentServices
from api.demo_users import DEMO_USERS
from domain.catalog import Catalog, load_catalog
from infra.settings import Settings
from infra.temporal import connect
from motcua.devserver import DevServer
from motcua.supervisor import SupervisedWorker
from services.audit.archive import archive_forever
from services.portal import PortalSender, sync_forever
from store.db import init_db, make_engine
from workers.agency import agency_worker
from workers.centre import centre_worker

if TYPE_CHECKING:
    from signatures.pki import Identity


@asynccontextmanager
async def workers_running(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    centre: bool = True,
    agencies: Sequence[str] = (),
    docs: DocumentServices | None = None,
    supervise: bool = False,
) -> AsyncIterator[None]:
    """Run the centre's worker and/or agency workers until the block exits.

    ``supervise`` (`motcua dev`): a worker that dies is started again, with backoff, and
    the restart logged (motcua/supervisor.py). Without it a worker's fatal error ends the
    block (a `motcua worker` process exits and its orchestrator restarts it)."""
    docs = docs or DocumentServices.from_settings(settings)
    executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="activity")
    made_by: dict[str, Callable[[], Worker]] = {}
    if centre:
        made_by[settings.centre_task_queue] = lambda: centre_worker(
            client, settings, engine, executor, docs
        )
    for code in agencies:
        made_by[code] = partial(
            agency_worker, client, code, engine, executor, docs, settings.calendar_overrides
        )
    try:
        async with AsyncExitStack() as stack:
            for name, make in made_by.items():
                await stack.enter_async_context(
                    SupervisedWorker(name, make) if supervise else make()
                )
            if centre and settings.archive_interval_seconds > 0:
                # Closed histories outlive Temporal's retention in motcua's own archive.
                archiver = asyncio.create_task(
                    archive_forever(client, engine, docs.store, settings.archive_interval_seconds)
                )
                stack.callback(archiver.cancel)
            if centre and settings.portal_url:
                token = settings.portal_token.get_secret_value() if settings.portal_token else None
                sender = PortalSender(engine, settings.portal_url, token)
                sync = asyncio.create_task(sync_forever(sender, settings.portal_interval_seconds))
                stack.callback(sync.cancel)
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


# How often a thread holding the GIL must let another run (CPython's default: 5 ms). A
# worker's activity threads sign PDFs (CPU-bound Python) while its workflow tasks, which
# are short, wait for the GIL; at 1 ms they get it sooner. (Kept from a profiling run of
# bench/open_loop.py; its effect alone is not among the figures in docs/benchmarks.md.
# Rendering, the larger part, runs outside the GIL: activities/render_pool.py.)
WORKER_SWITCH_INTERVAL = 0.001


async def run_worker_process(settings: Settings, *, centre: bool, agencies: Sequence[str]) -> None:
    sys.setswitchinterval(WORKER_SWITCH_INTERVAL)
    render_pool.configure(settings.render_processes)
    client = await connect(settings)
    engine = read_model(settings)
    try:
        async with workers_running(client, settings, engine, centre=centre, agencies=agencies):
            await wait_for_stop_signal()
    finally:
        render_pool.shutdown()


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for serving behind the reverse proxy: the client's address (rate
    limits, logs) comes from X-Forwarded-For, trusted only from these addresses; and no
    `Server: uvicorn` header (which server runs is nobody else's business)."""
    return {
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "server_header": False,
    }


def _embedded_server_class() -> type:
    import uvicorn

    class EmbeddedServer(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            # The dev stack owns Ctrl-C and SIGTERM and stops the API itself.
            yield

    return EmbeddedServer


@asynccontextmanager
async def api_serving(
    settings: Settings, client: Client, engine: Engine, catalog: Catalog
) -> AsyncIterator[str]:
    """Serve the HTTP API with uvicorn inside this event loop until the block exits."""
    import uvicorn

    from api.app import create_app

    app = create_app(settings, client=client, engine=engine, catalog=catalog)
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        lifespan="on",
        **proxy_options(settings),
    )
    server = _embedded_server_class()(config)

    async def serve() -> None:
        # uvicorn exits the process (SystemExit) when it cannot bind; a SystemExit in a
        # task would escape the event loop past every cleanup, orphaning the dev server.
        try:
            await server.serve()
        except SystemExit:
            raise RuntimeError(
                f"the API could not listen on {settings.api_host}:{settings.api_port} "
                "(is the port taken? choose another with --api-port)"
            ) from None

    task = asyncio.create_task(serve())
    while not server.started:
        if task.done():
            task.result()  # re-raise why it could not start (port taken, ...)
            raise RuntimeError(
                f"the API could not listen on {settings.api_host}:{settings.api_port}"
            )
        await asyncio.sleep(0.05)
    try:
        yield f"http://{settings.api_host}:{settings.api_port}"
    finally:
        server.should_exit = True
        await task


def development_tokens(settings: Settings) -> list[tuple[str, str, str]]:
    """(role, agency, token) for one demo user per role."""
    from api.auth import issue_token
    from domain.catalog import Role

    out = []
    for role, sub, agency, name in DEMO_USERS:
        code = settings.centre_agency if agency == "centre" else agency
        token = issue_token(settings, sub=sub, roles=[Role(role)], agency=code, name=name)
        out.append((role, code or "-", token))
    return out


# The shell variable of each demo role's token (README's walkthrough: $IO, $SP, ...).
TOKEN_VARIABLES = {
    "applicant": "AP",
    "intake_officer": "IO",
    "specialist": "SP",
    "leader": "LD",
    "signer": "SG",
    "return_officer": "RO",
    "auditor": "AU",
    "admin": "AD",
}


def export_line(tokens: Sequence[tuple[str, str, str]]) -> str:
    """`export IO=... SP=...`: the development tokens, ready to paste into a shell."""
    return "export " + " ".join(
        f"{TOKEN_VARIABLES[role]}={token}" for role, _, token in tokens if role in TOKEN_VARIABLES
    )


def dev_signers(settings: Settings, catalog: Catalog) -> list[Identity]:
    """The demo users who sign (signers and leaders), as certificate identities."""
    from signatures.pki import Identity

    out = []
    for role, sub, agency, name in DEMO_USERS:
        if role not in ("signer", "leader") or agency is None:
            continue
        code = settings.centre_agency if agency == "centre" else agency
        agency_name = catalog.agencies[code].name if code in catalog.agencies else code
        title = "Lãnh đạo" if role == "leader" else "Người ký"
        out.append(
            Identity(
                kind="signer",
                agency_code=code,
                agency_name=agency_name,
                name=name,
                user_id=sub,
                title=title,
            )
        )
    return out


def ensure_dev_pki(settings: Settings, catalog: Catalog, *, force: bool = False) -> Path:
    """The development CA under state_dir/pki (made once): a seal per agency, a
    certificate per demo signer, more issued on demand. Never in production."""
    from signatures.pki import init_dev_pki

    if settings.environment == "production":
        raise ValueError(
            "the development CA is not for production: set MOTCUA_PKI_MANIFEST to the "
            "keys.yaml naming your signers' certificates (files or PKCS#11)"
        )
    directory = settings.resolved_pki_manifest.parent
    return init_dev_pki(
        directory,
        agencies={code: a.name for code, a in catalog.agencies.items()},
        signers=dev_signers(settings, catalog),
        force=force,
    )


async def run_dev_stack(
    settings: Settings,
    *,
    temporal_port: int,
    demo: bool,
    say: Callable[[str], None] = print,
    stop_after_demo: bool = False,
) -> None:
    """The embedded default: everything on this machine, state under settings.state_dir.

    Ctrl-C or SIGTERM stops everything cleanly at any moment, start-up and demo included.
    While it runs, the Temporal dev server child and the workers are restarted (with
    backoff, logged) when they die; the dev server dies with this process, whatever kills
    it (motcua/devserver.py), and one left behind by a crashed earlier run of the same
    state folder is stopped at start."""
    stopping = asyncio.Event()
    main = asyncio.current_task()
    loop = asyncio.get_running_loop()
    started = False  # past start-up: the signal ends the wait, not the task

    def set_started() -> None:
        nonlocal started
        started = True

    def on_signal() -> None:
        if stopping.is_set():
            return
        stopping.set()
        if not started and main is not None:
            main.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal)
    try:
        await _dev_stack(
            settings,
            temporal_port=temporal_port,
            demo=demo,
            say=say,
            stop_after_demo=stop_after_demo,
            stopping=stopping,
            on_started=set_started,
        )
    except asyncio.CancelledError:
        if not stopping.is_set():
            raise
        if main is not None:
            main.uncancel()
        say("Đã dừng trong lúc khởi động: API, các worker và máy chủ Temporal (dev) đều đã tắt.")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError):
                loop.remove_signal_handler(sig)


async def _dev_stack(
    settings: Settings,
    *,
    temporal_port: int,
    demo: bool,
    say: Callable[[str], None],
    stop_after_demo: bool,
    stopping: asyncio.Event,
    on_started: Callable[[], None],
) -> None:
    from motcua.demo import run_demo
    from motcua.supervisor import keep_dev_server_running
    from services.dossiers import DossierService

    catalog: Catalog = load_catalog(settings.catalog_dir)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    if settings.pki_manifest is None:
        manifest = await asyncio.to_thread(ensure_dev_pki, settings, catalog)
        say(f"Development CA and signing keys: {manifest}")
    server = DevServer(settings.state_dir, port=temporal_port, ui=True)
    say(f"Starting the Temporal dev server (state in {server.db_path}) ...")
    supervisor: asyncio.Task[None] | None = None
    try:
        # From the event loop's thread: the server dies with it (PR_SET_PDEATHSIG).
        await server.astart()
        supervisor = asyncio.create_task(keep_dev_server_running(server))
        render_pool.configure(settings.render_processes)
        settings = settings.model_copy(update={"temporal_address": server.address})
        client = await connect(settings)
        engine = read_model(settings)
        agencies = sorted(catalog.agencies)
        async with (
            workers_running(client, settings, engine, agencies=agencies, supervise=True),
            api_serving(settings, client, engine, catalog) as api_url,
        ):
            say(
                f"Workers running: centre queue '{settings.centre_task_queue}' and "
                f"{len(agencies)} agency queues"
            )
            say(f"Temporal UI: {server.ui_url}    read model: {settings.resolved_database_url}")
            say(f"API: {api_url}/v1    OpenAPI: {api_url}/docs")
            if demo:
                say("\n=== Demo: one dossier from submission to the returned result ===")
                await run_demo(DossierService(client, engine, catalog, settings), say)
            say("\nDevelopment tokens (Authorization: Bearer <token>), one per role:")
            tokens = development_tokens(settings)
            for role, agency, token in tokens:
                say(f"  {role:15} {agency:14} {token}")
            say("\nThe same tokens for a shell (the README's walkthrough uses them):")
            say(export_line(tokens))
            say(f"\nTry: curl -s {api_url}/v1/procedures -H 'Authorization: Bearer <token>'")
            say(
                f"\nWeb interface: {api_url}/ui/  (sign in as any demo user above; "
                "officers' queues, applicants' pages, audit, service index)"
            )
            if stop_after_demo:
                return
            on_started()
            if not stopping.is_set():
                say(
                    "\nThe stack is running. Press Ctrl-C to stop it (dossiers and timers persist)."
                )
                await stopping.wait()
            say("Stopping the API, the workers and the Temporal dev server ...")
    finally:
        if supervisor is not None:
            supervisor.cancel()
            with suppress(asyncio.CancelledError):
                await supervisor
        render_pool.shutdown()
        await asyncio.shield(asyncio.to_thread(server.stop))
