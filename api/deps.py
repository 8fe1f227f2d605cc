"""What a request handler needs, from app.state: the service, the read model,
the catalog, the settings. `Annotated` aliases keep handler signatures short."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from api.auth import CurrentPrincipal
from api.ratelimit import RateLimiter
from domain.catalog import Catalog
from motcua.docstore import DocumentStore
from motcua.service import DossierService
from motcua.settings import Settings
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
    users_touched: dict[str, float] = field(default_factory=dict)


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
