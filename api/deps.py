"""What a request handler needs, from app.state: the service, the read model,
the catalog, the settings. `Annotated` aliases keep handler signatures short."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from api.ratelimit import RateLimiter
from domain.catalog import Catalog
from motcua.blobs import BlobStore
from motcua.service import DossierService
from motcua.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    service: DossierService
    engine: Engine
    catalog: Catalog
    limiter: RateLimiter
    blobs: BlobStore
    users_touched: dict[str, float] = field(default_factory=dict)


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Context = Annotated[AppContext, Depends(get_context)]
