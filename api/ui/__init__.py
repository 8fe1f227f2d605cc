"""The web interface: officers' console, applicants' pages, the auditor's view and the
service index dashboard, served by the same FastAPI app under /ui.

Pages are server-rendered shells (Jinja2) with Vietnamese text; a small ES module per page
fills them from the /v1 API with the user's bearer token, so the browser is one more API
client and every rule (roles, agencies, the step's allowed actions) is enforced in one
place. No build step: the JavaScript and CSS under static/ are what the browser runs.

In development a login page lists the demo users and `POST /ui/dev-login` issues their
tokens; in production that route does not exist and users sign in with a token from the
province's identity provider.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from api.errors import ApiError
from infra.settings import Settings

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

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
    Page("/ui/audit", "audit", "Kiểm toán hồ sơ"),
    Page("/ui/audit/{code:path}", "audit", "Kiểm toán hồ sơ"),
    Page("/ui/index", "index", "Chỉ số phục vụ (Quyết định 766)"),
]


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


def install_ui(app: FastAPI) -> None:
    """Mount the pages, their static files and the development login on `app`."""
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

    @router.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    @router.get("/ui")
    async def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    @router.post("/ui/dev-login")
    async def dev_login(body: DevLogin, request: Request) -> dict[str, str]:
        """A development token for one of the demo users (no such route in production)."""
        from api.auth import issue_token
        from domain.catalog import Role

        settings: Settings = request.app.state.ctx.settings
        if not _dev_login_enabled(settings):
            raise ApiError(404, "not_found", "development login is off in this environment")
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
        raise ApiError(404, "not_found", f"no demo user {body.sub!r}")

    app.include_router(router)
