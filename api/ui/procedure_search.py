"""`GET /ui/procedures`: the citizens' procedure search as a page rendered on the server
(a GET form and links: it works on any phone, with or without scripts), from the same
search as `GET /v1/public/procedures` (api/procedure_search.py), under the same limit per
client address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import AppContext, rate_limited
from api.errors import ApiError
from api.messages import T
from api.procedure_search import VN, index_of, run_search
from api.ratelimit import client_address

PAGE_SIZE = 10

Render = Callable[..., Response]


def install_procedure_search(router: APIRouter, render: Render, shell: Any) -> None:
    """`shell`: the page (api.ui.Page) whose template and script render the results."""

    @router.get("/ui/procedures", response_class=HTMLResponse)
    async def procedures(
        request: Request,
        q: str = "",
        field: str = "",
        agency: str = "",
        level: str = "",
        page: str = "1",
    ) -> Response:
        ctx: AppContext = request.app.state.ctx
        # Lenient with what a hand-edited address holds: a bad page is the first one.
        q = q[:200]
        number = int(page) if page.isdigit() and 0 < len(page) < 6 else 1
        chosen_level = level if level in ("province", "commune") else None
        on = ctx.clock().astimezone(VN).date()
        index = index_of(ctx.catalog)
        values: dict[str, Any] = {
            "q": q,
            "field": field,
            "agency": agency,
            "level": chosen_level or "",
            "filtered": bool(field or agency or chosen_level),
            "fields": index.fields(on),
            "agencies": index.agencies(on),
            "results": None,
            "error": "",
        }

        def page_url(n: int) -> str:
            query = {"q": q, "field": field, "agency": agency, "level": chosen_level or ""}
            kept = {k: v for k, v in query.items() if v}
            return "/ui/procedures?" + urlencode({**kept, "page": n})

        values["page_url"] = page_url
        wait = await ctx.search_limiter.check("addr:" + client_address(request))
        if wait is not None:
            limited = rate_limited(T("what_search"), ctx.search_limiter.per_minute, wait)
            response = render(request, shell, code="", **{**values, "error": limited.message})
            response.status_code = 429
            response.headers.update(limited.headers or {})
            return response
        try:
            values["results"] = run_search(
                ctx.catalog,
                on=on,
                query=q,
                field=field or None,
                agency=agency or None,
                level=chosen_level,  # type: ignore[arg-type]
                page=number,
                page_size=PAGE_SIZE,
                listed=ctx.settings.boundary_free_procedures,
            )
        except ApiError as e:
            values["error"] = e.message
            response = render(request, shell, code="", **values)
            response.status_code = e.status
            return response
        return render(request, shell, code="", **values)
