"""The catalog administrator's routes (docs/catalog.md): draft a new version of a procedure
from the current one, edit it, check it, read what it changes, preview its appointments
across days off, publish it with an effective date; import and export the catalog.
Only `catalog_admin` (docs/authorization.md)."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.auth import Principal, require_roles
from api.deps import Context, record_user
from api.errors import ERROR_RESPONSES, STATUS_FOR_CODE, ApiError
from domain.catalog import Role
from domain.catalog_exchange import Decision, csv_to_records, records_to_csv
from services.catalog import (
    CatalogAdmin,
    CatalogRefused,
    ImportReport,
    PreviewRow,
    T,
    VersionInfo,
)

router = APIRouter(
    prefix="/catalog",
    tags=["catalog"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(record_user)],
)
CatalogAdministrator = Annotated[Principal, Depends(require_roles(Role.CATALOG_ADMIN))]
Version = Annotated[int, Field(ge=1)]


class VersionOut(BaseModel):
    code: str
    version: int
    status: Literal["draft", "published"]
    state: str = Field(description="draft, in_force, scheduled, superseded or expired (today)")
    name: str
    effective_from: date
    effective_to: date | None
    boundary_free: bool
    decision: Decision | None
    drafted_from: int | None
    drafted_by: str | None
    published_by: str | None
    published_at: datetime | None
    definition: dict[str, Any] = Field(description="the whole version (domain.catalog.Procedure)")
    text: str = Field(description="the same as YAML, as the procedure files write it")


class DraftEdit(BaseModel):
    """A draft's new content: `text` (YAML or JSON, as the procedure files) or
    `definition` (an object); `boundary_free` when it changes."""

    text: str | None = Field(default=None, max_length=200_000)
    definition: dict[str, Any] | None = None
    boundary_free: bool | None = None


class Problems(BaseModel):
    problems: list[str] = Field(description="each names its field; none: it may be published")


class ChangeOut(BaseModel):
    path: str
    label: str
    before: str | None
    after: str | None


class DiffOut(BaseModel):
    base: int | None = Field(description="the version compared against")
    changes: list[ChangeOut]


class PreviewIn(BaseModel):
    moments: list[datetime] = Field(min_length=1, max_length=20, description="receipt moments")


class PreviewStepOut(BaseModel):
    step_id: str
    name: str
    budget: str
    starts_at: datetime
    due_at: datetime


class DayOff(BaseModel):
    day: date
    name: str


class PreviewOut(BaseModel):
    received_at: datetime
    counted_from: datetime
    appointment: datetime
    steps: list[PreviewStepOut]
    days_off: list[DayOff]


class PublishIn(BaseModel):
    effective_from: date = Field(description="the first day of receipt it applies to")
    decision: Decision


class ProcedureEntry(BaseModel):
    code: str
    name: str
    versions: list[dict[str, Any]] = Field(description="number, status and state of each")


def _admin(ctx: Context) -> CatalogAdmin:
    admin: CatalogAdmin | None = ctx.catalog_admin
    if admin is None:
        raise ApiError(503, "unavailable", "catalog administration is not set up")
    return admin


async def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except CatalogRefused as exc:
        raise ApiError(STATUS_FOR_CODE.get(exc.code, 400), exc.code, exc.text) from None


def _out(v: VersionInfo) -> VersionOut:
    text = yaml.safe_dump(v.definition, allow_unicode=True, sort_keys=False, width=100)
    return VersionOut.model_validate({**v.__dict__, "text": text})


@router.get(
    "/procedures", response_model=list[ProcedureEntry], summary="Every procedure, with its versions"
)
async def overview(_: CatalogAdministrator, ctx: Context) -> list[ProcedureEntry]:
    grouped = await _run(_admin(ctx).overview)
    return [
        ProcedureEntry(
            code=code,
            name=versions[-1].name,
            versions=[
                {
                    "version": v.version,
                    "status": v.status,
                    "state": v.state,
                    "effective_from": v.effective_from,
                }
                for v in versions
            ],
        )
        for code, versions in sorted(grouped.items())
    ]


@router.get(
    "/procedures/{code}/versions",
    response_model=list[VersionOut],
    summary="The versions of a procedure, drafts too",
)
async def versions(code: str, _: CatalogAdministrator, ctx: Context) -> list[VersionOut]:
    return [_out(v) for v in await _run(_admin(ctx).versions, code)]


@router.post(
    "/procedures/{code}/drafts",
    response_model=VersionOut,
    status_code=201,
    summary="Draft a new version from the latest published one (or the open draft)",
)
async def draft(code: str, who: CatalogAdministrator, ctx: Context) -> VersionOut:
    return _out(await _run(_admin(ctx).draft, code, who.sub))


def _definition(edit: DraftEdit) -> Any:
    if edit.definition is not None:
        return edit.definition
    if edit.text is None:
        raise ApiError(422, "invalid", T("not_object"))
    try:
        loaded = yaml.safe_load(edit.text)
    except (yaml.YAMLError, ValueError) as exc:
        raise ApiError(422, "invalid", T("bad_text", reason=str(exc))) from None
    # Dates and times as the files write them, stored as JSON text.
    return json.loads(json.dumps(loaded, default=str))


@router.put(
    "/procedures/{code}/versions/{version}",
    response_model=Problems,
    summary="Replace a draft's content; answers its problems",
)
async def save(
    code: str, version: Version, edit: DraftEdit, _: CatalogAdministrator, ctx: Context
) -> Problems:
    problems = await _run(_admin(ctx).save, code, version, _definition(edit), edit.boundary_free)
    return Problems(problems=problems)


@router.delete("/procedures/{code}/versions/{version}", status_code=204, summary="Discard a draft")
async def discard(code: str, version: Version, _: CatalogAdministrator, ctx: Context) -> Response:
    await _run(_admin(ctx).discard, code, version)
    return Response(status_code=204)


@router.get(
    "/procedures/{code}/versions/{version}/problems",
    response_model=Problems,
    summary="Check a version: every problem with its field",
)
async def problems(code: str, version: Version, _: CatalogAdministrator, ctx: Context) -> Problems:
    return Problems(problems=await _run(_admin(ctx).problems, code, version))


@router.get(
    "/procedures/{code}/versions/{version}/diff",
    response_model=DiffOut,
    summary="What a version changes against the one it was drafted from",
)
async def diff(code: str, version: Version, _: CatalogAdministrator, ctx: Context) -> DiffOut:
    base, changes = await _run(_admin(ctx).diff, code, version)
    return DiffOut(
        base=base, changes=[ChangeOut.model_validate(c, from_attributes=True) for c in changes]
    )


@router.post(
    "/procedures/{code}/versions/{version}/preview",
    response_model=list[PreviewOut],
    summary="The appointment and step due times for sample receipt moments",
)
async def preview(
    code: str, version: Version, body: PreviewIn, _: CatalogAdministrator, ctx: Context
) -> list[PreviewOut]:
    for i, m in enumerate(body.moments):
        if m.tzinfo is None:
            raise ApiError(422, "invalid", T("bad_moment", i=i))
    rows: list[PreviewRow] = await _run(_admin(ctx).preview, code, version, body.moments)
    return [
        PreviewOut(
            received_at=r.received_at,
            counted_from=r.counted_from,
            appointment=r.appointment,
            steps=[PreviewStepOut.model_validate(s, from_attributes=True) for s in r.steps],
            days_off=[DayOff(day=d, name=n) for d, n in r.days_off],
        )
        for r in rows
    ]


@router.post(
    "/procedures/{code}/versions/{version}/publish",
    response_model=VersionOut,
    summary="Publish a draft with its decision, in force from its effective date",
)
async def publish(
    code: str, version: Version, body: PublishIn, who: CatalogAdministrator, ctx: Context
) -> VersionOut:
    v = await _run(
        _admin(ctx).publish,
        code,
        version,
        effective_from=body.effective_from,
        decision=body.decision,
        actor=who.sub,
    )
    return _out(v)


@router.get("/export", summary="The published catalog in the import format (JSON or CSV)")
async def export(
    _: CatalogAdministrator,
    ctx: Context,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
    code: Annotated[list[str] | None, Query(description="only these procedures")] = None,
) -> Response:
    doc = await _run(_admin(ctx).export, code)
    if format == "csv":
        return Response(
            records_to_csv(doc["procedures"]),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="catalog.csv"'},
        )
    return JSONResponse(doc, headers={"Content-Disposition": 'attachment; filename="catalog.json"'})


@router.post(
    "/import",
    response_model=ImportReport,
    summary="Import a catalog file (JSON, or CSV by its .csv name): idempotent, with a report",
)
async def import_catalog(
    who: CatalogAdministrator,
    ctx: Context,
    file: Annotated[UploadFile, File(description="the file (docs/catalog.md)")],
) -> ImportReport:
    raw = await file.read()
    try:
        text = raw.decode("utf-8-sig")
        if (file.filename or "").lower().endswith(".csv") or (file.content_type or "").startswith(
            "text/csv"
        ):
            document: Any = {"procedures": csv_to_records(text)}
        else:
            document = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(422, "invalid", T("bad_file", reason=str(exc))) from None
    report: ImportReport = await _run(_admin(ctx).import_file, document, who.sub)
    return report
