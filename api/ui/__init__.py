"""The web interface: officers' console, applicants' pages, the auditor's view and the
service index dashboard, served by the same FastAPI app under /ui.

Pages are server-rendered shells (Jinja2) with Vietnamese text; a small ES module per page
fills them from the /v1 API with the user's bearer token, so the browser is one more API
client and every rule (roles, agencies, the step's allowed actions) is enforced in one
place. No build step: the JavaScript and CSS under static/ are what the browser runs.

People sign in with OpenID Connect (api/ui/signin.py): citizens through VNeID by the
national portal's single sign-on, officers through the province's, as configured in
MOTCUA_OIDC_PROVIDERS; the session is then an HttpOnly cookie the API accepts. A token
from the province's identity provider can also be pasted. In development (HS256) the
login page lists the demo users too and `POST /ui/dev-login` issues their tokens; in
production that route is not even registered.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from api.errors import ApiError
from api.messages import T
from api.ui.procedure_search import install_procedure_search
from api.ui.signin import install_signin, providers
from domain.calendar import VIETNAM_TZ
from infra.settings import Settings
from services.index_publication import NotPublished, published_month

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
VN = ZoneInfo(VIETNAM_TZ)


def _vn_datetime(value: datetime | None) -> str:
    return value.astimezone(VN).strftime("%H:%M %d/%m/%Y") if value is not None else ""


def _pct(value: float | None) -> str:
    return f"{value:.2f} %".replace(".", ",") if value is not None else "—"


templates.env.filters["vn_datetime"] = _vn_datetime
templates.env.filters["pct"] = _pct

# Pages never embed scripts or styles inline, so the policy can forbid them.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Page:
    path: str
    name: str  # the template and the page's script (static/pages/<name>.js)
    title: str


PAGES = [
    Page("/ui/", "login", "Đăng nhập"),
    Page("/ui/queue", "queue", "Hồ sơ cần xử lý"),
    Page("/ui/dossiers/{code:path}", "dossier", "Hồ sơ"),
    Page("/ui/submit", "submit", "Nộp hồ sơ"),
    Page("/ui/my", "my", "Hồ sơ của tôi"),
    Page("/ui/track", "track", "Tra cứu hồ sơ"),
    Page("/ui/rate", "rate", "Đánh giá sự hài lòng"),
    Page("/ui/verify", "verify", "Kiểm tra văn bản đã cấp"),
    Page("/ui/audit", "audit", "Kiểm toán hồ sơ"),
    Page("/ui/audit/{code:path}", "audit", "Kiểm toán hồ sơ"),
    Page("/ui/index", "index", "Chỉ số phục vụ (Quyết định 766)"),
    Page("/ui/feedback", "feedback", "Phản ánh, kiến nghị"),
    Page("/ui/pakn", "pakn", "Gửi phản ánh, kiến nghị"),
    Page("/ui/du-lieu-ca-nhan", "personal_data", "Dữ liệu cá nhân"),
    Page("/ui/catalog", "catalog", "Danh mục thủ tục hành chính"),
    Page("/ui/catalog/{code:path}", "catalog", "Danh mục thủ tục hành chính"),
]
# Public, rendered with its results on the server (api/ui/procedure_search.py).
SEARCH_PAGE = Page("/ui/procedures", "procedures", "Tra cứu thủ tục hành chính")


def static_version() -> str:
    """A short digest of the static files: changes when they do, so browsers reload."""
    digest = hashlib.sha256()
    for f in sorted(STATIC.rglob("*")):
        if f.is_file():
            digest.update(f.relative_to(STATIC).as_posix().encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:10]


class DevUser(BaseModel):
    sub: str
    name: str
    role: str
    agency: str | None
    agency_name: str | None = None


class DevLogin(BaseModel):
    sub: str = Field(min_length=1, max_length=100)


def dev_users(settings: Settings, agency_names: dict[str, str]) -> list[DevUser]:
    """The demo users of `motcua dev`, one per role (development only)."""
    from api.demo_users import DEMO_USERS

    out = []
    for role, sub, agency, name in DEMO_USERS:
        code = settings.centre_agency if agency == "centre" else agency
        out.append(
            DevUser(
                sub=sub, name=name, role=role, agency=code, agency_name=agency_names.get(code or "")
            )
        )
    return out


def _dev_login_enabled(settings: Settings) -> bool:
    return settings.environment == "development" and settings.jwt_algorithm == "HS256"


def install_ui(app: FastAPI, settings: Settings | None = None) -> None:
    """Mount the pages, their static files, the sign-in routes and (in development only:
    never with production `settings`) the development login on `app`."""
    version = static_version()
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    router = APIRouter(include_in_schema=False)

    def render(request: Request, page: Page, **extra: Any) -> Response:
        ctx = request.app.state.ctx
        settings: Settings = ctx.settings
        users = []
        if page.name == "login" and _dev_login_enabled(settings):
            users = dev_users(settings, {code: a.name for code, a in ctx.catalog.agencies.items()})
        response = templates.TemplateResponse(
            request,
            f"{page.name}.html",
            {
                "page": page.name,
                "title": page.title,
                "version": version,
                "environment": settings.environment,
                "dev_users": users,
                "providers": [(p.name, p.config.title) for p in providers(request)]
                if page.name == "login"
                else [],
                **extra,
            },
        )
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    def add(page: Page) -> None:
        async def view(request: Request, code: str | None = None) -> Response:
            return render(request, page, code=code or "")

        router.add_api_route(page.path, view, methods=["GET"], response_class=HTMLResponse)

    for page in PAGES:
        add(page)

    install_procedure_search(router, render, SEARCH_PAGE)

    @router.get("/ui/cong-khai/{period}")
    async def published_index(
        request: Request, period: str, revision: int | None = None
    ) -> Response:
        """A published month of the service index, for anyone (no token, no script needed):
        drawn from the frozen snapshot; 404 when the month was not published."""
        ctx = request.app.state.ctx
        page = Page("/ui/cong-khai/{period}", "public_index", f"Công khai chỉ số phục vụ {period}")
        try:
            month = await asyncio.to_thread(published_month, ctx.engine, period, revision)
        except (ValueError, NotPublished):
            month = None
        names = {code: a.name for code, a in ctx.catalog.agencies.items()}
        label = "/".join(reversed(period.split("-"))) if len(period) == 7 else period
        response = render(
            request,
            page,
            code="",
            published=month,
            period=period,
            month_label=label,
            agency_names=names,
        )
        if month is None:
            response.status_code = 404
        return response

    @router.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    @router.get("/ui")
    async def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    def render_login(request: Request, error: str, status: int) -> Response:
        response = render(request, PAGES[0], code="", signin_error=error)
        response.status_code = status
        return response

    install_signin(router, render_login)

    if settings is None or _dev_login_enabled(settings):
        install_dev_login(router)
    app.include_router(router)


def install_dev_login(router: APIRouter) -> None:
    """`POST /ui/dev-login`: a token for a demo user (development only)."""

    @router.post("/ui/dev-login")
    async def dev_login(body: DevLogin, request: Request) -> dict[str, str]:
        """A development token for one of the demo users (no such route in production)."""
        from api.auth import issue_token
        from domain.catalog import Role

        settings: Settings = request.app.state.ctx.settings
        if not _dev_login_enabled(settings):
            raise ApiError(404, "not_found", T("dev_login_off"))
        for user in dev_users(settings, {}):
            if user.sub == body.sub:
                token = issue_token(
                    settings,
                    sub=user.sub,
                    roles=[Role(user.role)],
                    agency=user.agency,
                    name=user.name,
                )
                return {"token": token}
        raise ApiError(404, "not_found", T("no_demo_user", sub=body.sub))
