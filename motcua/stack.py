"""Process-level assembly: which workers run in this process, and the embedded
development stack (`motcua dev`): Temporal dev server, read model, workers, demo."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities import render_pool
from activities.documents import DocumentServices, issuers_for
from api.demo_users import DEMO_USERS
from domain.catalog import Catalog, load_catalog
from infra.settings import Settings
from infra.temporal import connect
from motcua.devserver import DevServer
from motcua.supervisor import SupervisedWorker
from services.audit.archive import archive_forever
from services.catalog import CatalogCache
from services.housekeeping import housekeep_forever
from services.notify import start_notifications
from services.payments import refund_forever
from services.portal import PortalSender, sync_forever
from services.portal_intake import start_portal_poller
from store import repository
from store.db import init_db, make_engine
from workers.agency import agency_worker
from workers.centre import centre_worker

if TYPE_CHECKING:
    from signatures.pki import Identity

log = logging.getLogger(__name__)

# Threads for each worker's activities (most of them wait on the database or a server).
ACTIVITY_THREADS = 16


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
    following: threading.Event | None = None
    if docs is None:
        shipped = load_catalog(settings.catalog_dir)
        docs = DocumentServices.from_settings(settings, shipped)
        following = issuers_follow_the_catalog(docs, engine, settings, shipped)
    # Each worker its own threads, as many as the activity tasks it takes (activity_slots).
    executors: list[ThreadPoolExecutor] = []

    def threads(name: str) -> ThreadPoolExecutor:
        executor = ThreadPoolExecutor(max_workers=ACTIVITY_THREADS, thread_name_prefix=name)
        executors.append(executor)
        return executor

    made_by: dict[str, Callable[[], Worker]] = {}
    if centre:
        made_by[settings.centre_task_queue] = lambda: centre_worker(
            client, settings, engine, threads("centre"), docs
        )

    def agency(code: str) -> Worker:
        return agency_worker(client, code, engine, threads(code), docs, settings.calendar_overrides)

    for code in agencies:
        made_by[code] = partial(agency, code)
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
            if centre and settings.housekeeping_interval_seconds > 0:
                # Request keys are remembered for a while, then forgotten.
                keeper = asyncio.create_task(
                    housekeep_forever(
                        engine,
                        settings.request_keys_keep_days,
                        settings.housekeeping_interval_seconds,
                    )
                )
                stack.callback(keeper.cancel)
            if (
                centre
                and settings.payment_gateway_url
                and settings.payment_refund_interval_seconds > 0
            ):
                # Fees paid online for dossiers refused or withdrawn go back (services/payments.py).
                refunds = asyncio.create_task(
                    refund_forever(engine, settings, settings.payment_refund_interval_seconds)
                )
                stack.callback(refunds.cancel)
            # Email and SMS from the outbox; a channel not configured stays pending.
            if centre and (notify := start_notifications(settings, engine)):
                stack.callback(notify.cancel)
            if centre and settings.portal_url:
                token = settings.portal_token.get_secret_value() if settings.portal_token else None
                sender = PortalSender(engine, settings.portal_url, token)
                sync = asyncio.create_task(sync_forever(sender, settings.portal_interval_seconds))
                stack.callback(sync.cancel)
            if centre and settings.portal_pull_url:
                await start_portal_poller(client, settings)
            yield
    finally:
        if following is not None:
            following.set()
        for executor in executors:
            executor.shutdown(wait=True, cancel_futures=False)


def issuers_follow_the_catalog(
    docs: DocumentServices, engine: Engine, settings: Settings, shipped: Catalog
) -> threading.Event | None:
    """Forms and results name agencies as the database's catalog does (a renamed agency, a
    successor a merger added, its place and parent), over the shipped files' agencies
    where the database holds none yet; refreshed every MOTCUA_CATALOG_REFRESH_SECONDS.
    `shipped`: the files' catalog, already read. Returns the event that stops the refreshing (None: the database's catalog could not
    be read, and the shipped names stay)."""

    def follow(catalog: Catalog) -> None:
        agencies = {**shipped.agencies, **catalog.agencies}
        docs.issuers = issuers_for(
            Catalog.model_construct(agencies=agencies, procedures={}), settings
        )

    try:
        cache = CatalogCache(engine, settings.catalog_refresh_seconds)
    except Exception:
        log.exception("catalog: the database's agencies could not be read; forms use the files'")
        return None
    follow(cache.catalog)
    cache.on_change(follow)
    return cache.refresh_in_background()


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


# How long the API keeps an idle connection open. The side that closes an idle keep-alive
# connection must be the client: a request sent on a connection the server is closing at
# that moment is lost with a reset (httpx.ReadError in the test suite, where uvicorn's 5 s
# equalled httpx's 5 s pool expiry; a 502 behind a proxy). So longer than a reverse
# proxy's idle upstream connections (nginx: 60 s) and than HTTP clients' pools.
KEEP_ALIVE_SECONDS = 75


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for serving behind the reverse proxy: the client's address (rate
    limits, logs) comes from X-Forwarded-For, trusted only from these addresses; idle
    connections kept longer than the proxy keeps them (KEEP_ALIVE_SECONDS); and no
    `Server: uvicorn` header (which server runs is nobody else's business)."""
    return {
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "server_header": False,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
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
                f"API không nghe được tại {settings.api_host}:{settings.api_port} "
                "(cổng đã bị dùng? hãy chọn cổng khác bằng --api-port)"
            ) from None

    task = asyncio.create_task(serve())
    while not server.started:
        if task.done():
            task.result()  # re-raise why it could not start (port taken, ...)
            raise RuntimeError(f"API không nghe được tại {settings.api_host}:{settings.api_port}")
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
    "catalog_admin": "CA",
}


def export_line(tokens: Sequence[tuple[str, str, str]]) -> str:
    """`export IO=... SP=...`: the development tokens, ready to paste into a shell (the first
    demo user of each role: the second specialist has no variable)."""
    first: dict[str, str] = {}
    for role, _, token in tokens:
        if role in TOKEN_VARIABLES:
            first.setdefault(role, token)
    return "export " + " ".join(f"{TOKEN_VARIABLES[role]}={token}" for role, token in first.items())


def seed_demo_directory(settings: Settings, engine: Engine) -> None:
    """Put the demo users in the directory of users seen, so that a leader may assign a
    step to a specialist who has not signed in yet (development only)."""
    for role, sub, agency, name in DEMO_USERS:
        code = settings.centre_agency if agency == "centre" else agency
        repository.touch_user(engine, sub, name, [role], code)


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
        out.append(Identity.signer(code, agency_name, name, sub, title))
    return out


def ensure_dev_pki(
    settings: Settings, catalog: Catalog, *, force: bool = False, ca_services: bool = True
) -> Path:
    """The development CA under state_dir/pki (made once): a seal per agency, a
    certificate per demo signer, more issued on demand. Never in production. Its
    certificates name the CRL and OCSP addresses `motcua dev` serves (`settings.dev_ca_url`)
    unless ``ca_services`` is False (a trial where nothing would serve them)."""
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
        ca_url=settings.dev_ca_url if ca_services else None,
    )


@contextmanager
def dev_ca_serving(settings: Settings) -> Iterator[str]:
    """The development CA's CRL, OCSP and time-stamping services (signatures/dev_ca.py) on
    `settings.dev_ca_url`, in a thread, while the block runs; yields the TSA's address."""
    try:
        from signatures.dev_ca import serving
    except ImportError as e:  # certomancer: the dev extra
        raise RuntimeError(
            f"the development CA needs the dev extra ({e}): pip install -e '.[dev]'"
        ) from e
    port = int(settings.dev_ca_url.rsplit(":", 1)[1])
    try:
        server = serving(settings.resolved_pki_manifest.parent, port=port)
        with server as running:
            yield running.tsa_url
    except OSError as e:
        raise RuntimeError(
            f"the development CA could not listen on 127.0.0.1:{port} ({e}); "
            "set MOTCUA_DEV_CA_PORT to a free port"
        ) from e


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
    dev_ca = ExitStack()
    if settings.pki_manifest is None:
        manifest = await asyncio.to_thread(ensure_dev_pki, settings, catalog)
        say(f"CA và khóa ký dùng cho phát triển: {manifest}")
        tsa_url = dev_ca.enter_context(dev_ca_serving(settings))
        say(f"Dịch vụ của CA phát triển (CRL, OCSP, cấp dấu thời gian): {settings.dev_ca_url}")
        if settings.tsa_url is None:  # signatures and seals: PAdES B-LTA
            settings = settings.model_copy(update={"tsa_url": tsa_url})
    server = DevServer(settings.state_dir, port=temporal_port, ui=True)
    say(f"Đang khởi động máy chủ Temporal (dev), dữ liệu tại {server.db_path} ...")
    supervisor: asyncio.Task[None] | None = None
    try:
        # From the event loop's thread: the server dies with it (PR_SET_PDEATHSIG).
        await server.astart()
        supervisor = asyncio.create_task(keep_dev_server_running(server))
        render_pool.configure(settings.render_processes)
        settings = settings.model_copy(update={"temporal_address": server.address})
        client = await connect(settings)
        engine = read_model(settings)
        await asyncio.to_thread(seed_demo_directory, settings, engine)
        agencies = sorted(catalog.agencies)
        async with (
            workers_running(client, settings, engine, agencies=agencies, supervise=True),
            api_serving(settings, client, engine, catalog) as api_url,
        ):
            say(
                f"Các worker đang chạy: hàng đợi của trung tâm '{settings.centre_task_queue}' và "
                f"{len(agencies)} hàng đợi của các cơ quan"
            )
            say(
                f"Giao diện Temporal: {server.ui_url}    dữ liệu đọc: "
                f"{settings.resolved_database_url}"
            )
            say(f"API: {api_url}/v1    OpenAPI: {api_url}/docs")
            if demo:
                say("\n=== Minh họa: một hồ sơ từ lúc nộp đến lúc trả kết quả ===")
                await run_demo(DossierService(client, engine, catalog, settings), say)
            say(
                "\nToken dùng cho phát triển (Authorization: Bearer <token>), mỗi vai trò một token:"
            )
            tokens = development_tokens(settings)
            for role, agency, token in tokens:
                say(f"  {role:15} {agency:14} {token}")
            say("\nCũng các token đó, dùng trong shell (phần hướng dẫn của README dùng chúng):")
            say(export_line(tokens))
            say(f"\nThử: curl -s {api_url}/v1/procedures -H 'Authorization: Bearer <token>'")
            say(
                f"\nGiao diện web: {api_url}/ui/  (đăng nhập bằng một người dùng mẫu ở trên; "
                "hàng việc của cán bộ, trang của người nộp, kiểm tra, chỉ số phục vụ)"
            )
            if stop_after_demo:
                return
            on_started()
            if not stopping.is_set():
                say("\nHệ thống đang chạy. Nhấn Ctrl-C để dừng (hồ sơ và bộ hẹn giờ vẫn được giữ).")
                await stopping.wait()
            say("Đang dừng API, các worker và máy chủ Temporal (dev) ...")
    finally:
        if supervisor is not None:
            supervisor.cancel()
            with suppress(asyncio.CancelledError):
                await supervisor
        render_pool.shutdown()
        await asyncio.shield(asyncio.to_thread(server.stop))
        dev_ca.close()
