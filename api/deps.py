"""What a request handler needs, from app.state: the service, the read model,
the catalog, the settings. `Annotated` aliases keep handler signatures short."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from api.auth import CurrentPrincipal
from api.errors import ApiError
from api.messages import T
from api.ratelimit import RateLimiter, client_address
from domain.catalog import Catalog
from domain.i18n import Text
from infra.docstore import DocumentStore
from infra.settings import Settings
from services.catalog import CatalogAdmin
from services.dossiers import DossierService
from store import repository


@dataclass
class AppContext:
    settings: Settings
    service: DossierService
    engine: Engine
    catalog: Catalog
    limiter: RateLimiter
    documents: DocumentStore
    trust_roots: list[Any] = field(default_factory=list)  # for POST /v1/verify
    # Tighter limits on what is costly or guessable: submissions (per token subject) and
    # public tracking (per client address); see api.ratelimit.
    submit_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0))
    track_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0))
    search_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0))
    users_touched: dict[str, float] = field(default_factory=dict)
    # The catalog administrator's service (api/routes/catalog.py); the catalog above is
    # replaced when the database's changes (services/catalog.py, CatalogCache).
    catalog_admin: CatalogAdmin | None = None
    # The instant countdowns are read at (tests read them at chosen instants).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Context = Annotated[AppContext, Depends(get_context)]


USER_TOUCH_INTERVAL = 300.0  # seconds between two "seen" writes for the same user


async def record_user(ctx: Context, principal: CurrentPrincipal) -> None:
    """Keep the users-seen table current (who acted with which roles and agency),
    writing at most once per user every few minutes."""
    now = time.monotonic()
    last = ctx.users_touched.get(principal.sub)
    if last is not None and now - last < USER_TOUCH_INTERVAL:
        return
    ctx.users_touched[principal.sub] = now
    await asyncio.to_thread(
        repository.touch_user,
        ctx.engine,
        principal.sub,
        principal.name,
        [r.value for r in principal.roles],
        principal.agency,
    )


def rate_limited(what: Text, per_minute: int, wait: float) -> ApiError:
    """429 with Retry-After (whole seconds, rounded up) and a message saying why."""
    seconds = int(wait) + 1
    return ApiError(
        429,
        "rate_limited",
        T("rate_limited", what=what, per_minute=per_minute, seconds=seconds),
        {"Retry-After": str(seconds)},
    )


async def limit_submissions(ctx: Context, principal: CurrentPrincipal) -> None:
    """At most MOTCUA_RATE_LIMIT_SUBMIT_PER_MINUTE submissions per caller (its token's
    subject, however many tokens it holds), counter and online alike."""
    wait = await ctx.submit_limiter.check("sub:" + principal.sub)
    if wait is not None:
        raise rate_limited(T("what_submissions"), ctx.submit_limiter.per_minute, wait)


async def limit_tracking(ctx: Context, request: Request) -> None:
    """At most MOTCUA_RATE_LIMIT_TRACK_PER_MINUTE tracking requests per client address:
    tracking needs no token, so the address (X-Forwarded-For from a trusted proxy,
    MOTCUA_FORWARDED_ALLOW_IPS) is all there is to count by; it also slows guessing of
    ID numbers."""
    wait = await ctx.track_limiter.check("addr:" + client_address(request))
    if wait is not None:
        raise rate_limited(T("what_tracking"), ctx.track_limiter.per_minute, wait)


async def limit_search(ctx: Context, request: Request) -> None:
    """At most MOTCUA_RATE_LIMIT_SEARCH_PER_MINUTE procedure searches per client address
    (no token: the address is all there is to count by), API and page alike."""
    wait = await ctx.search_limiter.check("addr:" + client_address(request))
    if wait is not None:
        raise rate_limited(T("what_search"), ctx.search_limiter.per_minute, wait)
