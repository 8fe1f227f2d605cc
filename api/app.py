"""The HTTP API: officers, citizens, other agencies' systems and auditors reach
motcua here. `create_app()` builds it from settings; `motcua api` serves it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy.engine import Engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from api.apidocs import install_api_docs
from api.bodies import BodyGuard
from api.deps import AppContext, rate_limited
from api.errors import install_error_handlers, localised_error
from api.language import request_lang
from api.messages import T
from api.oidc import build_verifier, keep_keys_fresh
from api.ratelimit import LimitStore, RateLimiter, caller_key
from api.routes import (
    audit,
    codec,
    data_requests,
    documents,
    dossiers,
    feedback,
    index,
    issued,
    kiosk,
    outbox,
    payments,
    portal,
    procedures,
    public,
    publication,
    receipts,
    worklist,
)
from api.routes import (
    catalog as catalog_routes,
)
from api.schemas import SubmitDossier, SupplementRequest
from api.security import install_http_hardening
from api.ui import install_ui
from api.uploads import document_models
from domain.catalog import Catalog, load_catalog
from infra import telemetry
from infra.docstore import open_document_store
from infra.settings import Settings, get_settings
from infra.temporal import connect
from services.catalog import CatalogAdmin, CatalogCache
from services.dossiers import DossierService, calendar_snapshot
from signatures.signing import KeyStore
from store import repository
from store.db import init_db, make_engine

DESCRIPTION = """
Dossiers of the one-stop centre (Bộ phận Một cửa): submission, live state, officer actions,
events and public tracking. Every route but tracking and health needs a bearer JWT with the
claims `sub`, `name`, `roles` and `agency`. Errors are `{"error": {"code", "message"}}`: the
message in Vietnamese, or in English when `Accept-Language` prefers it (`en`); the code is
the same in both.
"""


class RequestGuard:
    """Before any route: NUL characters in the path or query (422), and the general rate
    limit per caller on /v1 (429 with Retry-After; health checks never count; the caller is
    a valid token's subject, else the client address: api.ratelimit.caller_key). After:
    the Server-Timing header (time to the response's start)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = await self._refusal(Request(scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                MutableHeaders(scope=message).append("Server-Timing", f"app;dur={elapsed:.1f}")
            await send(message)

        await self.app(scope, receive, send_timed)

    @staticmethod
    async def _refusal(request: Request) -> Response | None:
        lang = request_lang(request)
        if "\x00" in request.url.path:
            return localised_error(422, "invalid", T("nul", where="path"), lang)
        for key, value in request.query_params.multi_items():
            if "\x00" in key or "\x00" in value:
                return localised_error(422, "invalid", T("nul", where=key), lang)
        ctx: AppContext | None = getattr(request.app.state, "ctx", None)
        if (
            ctx is not None
            and request.url.path.startswith("/v1/")
            and not request.url.path.endswith(("/healthz", "/readyz"))
        ):
            wait = await ctx.limiter.check(caller_key(request))
            if wait is not None:
                limited = rate_limited(T("what_requests"), ctx.limiter.per_minute, wait)
                return localised_error(
                    429, limited.code, limited.text or limited.message, lang, limited.headers
                )
        return None


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
        if engine is None:
            engine = make_engine(settings.resolved_database_url)
            await asyncio.to_thread(init_db, engine)  # migrations; a no-op when current
        # The catalog is the database's (services/catalog.py): the shipped files seed what
        # it lacks; a catalog given here (tests, the dev stack) is written over it first.
        if catalog is None:
            await asyncio.to_thread(
                repository.seed_catalog, engine, load_catalog(settings.catalog_dir)
            )
        else:
            await asyncio.to_thread(repository.sync_catalog, engine, catalog)
        cache = await asyncio.to_thread(
            CatalogCache, engine, settings.catalog_refresh_seconds, catalog
        )
        catalog = cache.catalog
        # Lazy: the API starts (and /readyz says why) even while Temporal is still coming up.
        client = client or await connect(settings, lazy=True)
        app.state.verifier = build_verifier(settings)  # bearer tokens, OpenID ID tokens
        # Rate-limit counters: in Redis when configured (shared by every API process).
        limits = LimitStore(
            settings.rate_limit_storage,
            key_prefix=settings.rate_limit_key_prefix,
            memory_keys=settings.rate_limit_memory_keys,
        )
        documents = open_document_store(settings.resolved_document_store)
        app.state.ctx = AppContext(
            settings=settings,
            service=DossierService(client, engine, catalog, settings, archive=documents),
            engine=engine,
            catalog=catalog,
            limiter=RateLimiter(settings.rate_limit_per_minute, "requests", limits),
            submit_limiter=RateLimiter(settings.rate_limit_submit_per_minute, "submit", limits),
            track_limiter=RateLimiter(settings.rate_limit_track_per_minute, "track", limits),
            search_limiter=RateLimiter(settings.rate_limit_search_per_minute, "search", limits),
            documents=documents,
            trust_roots=trust_roots(settings),
        )
        ctx = app.state.ctx
        ctx.catalog_admin = CatalogAdmin(
            engine, cache, lambda year: calendar_snapshot(settings, year)
        )

        def catalog_changed(new: Catalog) -> None:
            ctx.catalog = ctx.service.catalog = new

        cache.on_change(catalog_changed)
        # The OpenID providers' keys, fetched again before they expire (api/oidc.py).
        keys = asyncio.create_task(keep_keys_fresh(app.state.verifier))
        # A version published by another process (or imported) reaches this one here.
        catalog_refresh = asyncio.create_task(cache.keep_fresh())
        try:
            yield
        finally:
            keys.cancel()
            catalog_refresh.cancel()
            await limits.close()

    app = FastAPI(
        title="motcua",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served offline by install_api_docs
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

    # Inside the rate limiter: the bearer token and the JSON limits before any body is
    # read (api/bodies.py).
    app.add_middleware(BodyGuard, settings=settings)
    # A pure ASGI middleware (not @app.middleware("http")): that one runs the app in a task
    # group, which would wrap a 413 raised while a body is read into an ExceptionGroup.
    app.add_middleware(RequestGuard)

    v1 = APIRouter(prefix="/v1")
    v1.include_router(procedures.router)
    v1.include_router(procedures.agencies_router)
    v1.include_router(dossiers.router)
    v1.include_router(worklist.router)
    v1.include_router(documents.router)
    v1.include_router(audit.router)
    v1.include_router(index.router)
    v1.include_router(publication.router)
    v1.include_router(publication.public_router)
    v1.include_router(public.router)
    v1.include_router(issued.router)
    v1.include_router(portal.router)
    v1.include_router(payments.router)
    v1.include_router(payments.dossier_router)
    v1.include_router(receipts.router)
    v1.include_router(codec.router)
    v1.include_router(outbox.router)
    v1.include_router(feedback.router)
    v1.include_router(kiosk.router)
    v1.include_router(data_requests.router)
    v1.include_router(catalog_routes.router)
    app.include_router(v1)
    codec.install_codec_cors(app, settings.codec_cors_origins)
    install_ui(app, settings)  # the web interface under /ui
    install_api_docs(app)  # /docs and /redoc, with no CDN
    document_models(app, [SubmitDossier, SupplementRequest])
    # Last: the outermost layers (headers on every answer, CORS, the body limit).
    install_http_hardening(app, settings)
    return app
