"""The HTTP API: officers, citizens, other agencies' systems and auditors reach
motcua here. `create_app()` builds it from settings; `motcua api` serves it."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.auth import TokenVerifier
from api.deps import AppContext
from api.errors import error_json, install_error_handlers
from api.ratelimit import RateLimiter
from api.routes import (
    audit,
    codec,
    documents,
    dossiers,
    index,
    payments,
    procedures,
    public,
    worklist,
)
from api.ui import install_ui
from domain.catalog import Catalog, load_catalog
from motcua import telemetry
from motcua.docstore import open_document_store
from motcua.service import DossierService
from motcua.settings import Settings, get_settings
from motcua.signing import KeyStore
from motcua.temporal import connect
from store import repository
from store.db import init_db, make_engine

DESCRIPTION = """
Dossiers of the one-stop centre (Bộ phận Một cửa): submission, live state, officer actions,
events and public tracking. Every route but tracking and health needs a bearer JWT with the
claims `sub`, `name`, `roles` and `agency`. Errors are `{"error": {"code", "message"}}`.
"""


def _caller(request: Request) -> str:
    """Who is rate-limited: the bearer credential when there is one (so callers behind
    one proxy do not share a limit), else the client address."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and len(auth) > 20:
        return "token:" + hashlib.sha256(auth.encode()).hexdigest()[:32]
    return "addr:" + (request.client.host if request.client else "unknown")


def trust_roots(settings: Settings) -> list[Any]:
    """The roots a verified signature must chain to: those of the key manifest."""
    manifest = settings.resolved_pki_manifest
    return KeyStore.load(manifest).trust_roots if manifest.is_file() else []


def create_app(
    settings: Settings | None = None,
    *,
    client: Client | None = None,
    engine: Engine | None = None,
    catalog: Catalog | None = None,
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal client, engine, catalog
        catalog = catalog or load_catalog(settings.catalog_dir)
        if engine is None:
            engine = make_engine(settings.resolved_database_url)
            await asyncio.to_thread(init_db, engine)  # migrations; a no-op when current
        await asyncio.to_thread(repository.sync_catalog, engine, catalog)
        # Lazy: the API starts (and /readyz says why) even while Temporal is still coming up.
        client = client or await connect(settings, lazy=True)
        app.state.verifier = TokenVerifier.from_settings(settings)
        app.state.ctx = AppContext(
            settings=settings,
            service=DossierService(client, engine, catalog, settings),
            engine=engine,
            catalog=catalog,
            limiter=RateLimiter(settings.rate_limit_per_minute),
            documents=open_document_store(settings.resolved_document_store),
            trust_roots=trust_roots(settings),
        )
        yield

    app = FastAPI(
        title="motcua",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    # A server span per request, the parent of the Temporal spans of what it starts.
    telemetry.instrument_fastapi(app)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus: motcua's counters and histograms, and the Temporal SDK's metrics."""
        body = await asyncio.to_thread(telemetry.render_metrics)
        return Response(body, media_type=telemetry.METRICS_CONTENT_TYPE)

    @app.middleware("http")
    async def rate_limit(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if "\x00" in request.url.path:
            return error_json(422, "invalid", "path: may not contain NUL characters")
        for key, value in request.query_params.multi_items():
            if "\x00" in key or "\x00" in value:
                return error_json(422, "invalid", f"{key}: may not contain NUL characters")
        ctx: AppContext | None = getattr(request.app.state, "ctx", None)
        if (
            ctx is not None
            and request.url.path.startswith("/v1/")
            and not request.url.path.endswith(("/healthz", "/readyz"))
        ):
            caller = _caller(request)
            wait = ctx.limiter.check(caller)
            if wait is not None:
                return error_json(
                    429,
                    "rate_limited",
                    f"too many requests; retry in {int(wait) + 1} s",
                    {"Retry-After": str(int(wait) + 1)},
                )
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    v1 = APIRouter(prefix="/v1")
    v1.include_router(procedures.router)
    v1.include_router(procedures.agencies_router)
    v1.include_router(dossiers.router)
    v1.include_router(worklist.router)
    v1.include_router(documents.router)
    v1.include_router(audit.router)
    v1.include_router(index.router)
    v1.include_router(public.router)
    v1.include_router(payments.router)
    v1.include_router(codec.router)
    app.include_router(v1)
    codec.install_codec_cors(app, settings.codec_cors_origins)
    install_ui(app)  # the web interface under /ui
    return app
