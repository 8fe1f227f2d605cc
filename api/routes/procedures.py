from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import CurrentPrincipal
from api.deps import Context, record_user
from api.errors import ERROR_RESPONSES, ApiError
from api.schemas import AgencyOut, ProcedureDetail, ProcedureSummary
from domain.catalog import Procedure

router = APIRouter(
    prefix="/procedures",
    tags=["procedures"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(record_user)],
)


def _summary(p: Procedure) -> dict[str, object]:
    return {
        "code": p.code,
        "version": p.version,
        "name": p.name,
        "field": p.field,
        "level": p.level,
        "competent_agency": p.competent_agency,
        "statutory_time": p.statutory_time,
        "on_the_spot": p.on_the_spot,
    }


@router.get("", response_model=list[ProcedureSummary], summary="The procedure catalog")
async def list_procedures(ctx: Context, _: CurrentPrincipal) -> list[ProcedureSummary]:
    return [ProcedureSummary.model_validate(_summary(p)) for p in ctx.catalog.latest()]


@router.get(
    "/{code}",
    response_model=ProcedureDetail,
    summary="One procedure: steps, times, documents, fees",
)
async def get_procedure(
    code: str,
    ctx: Context,
    _: CurrentPrincipal,
    version: Annotated[
        int | None,
        Query(
            ge=1,
            description="A version of the procedure (a dossier's `procedure_version`: the "
            "one it runs); the latest when absent; 404 when the catalog has no such version",
        ),
    ] = None,
) -> ProcedureDetail:
    versions = ctx.catalog.procedures.get(code)
    if not versions:
        raise ApiError(404, "not_found", f"unknown procedure {code}")
    p = (
        versions[-1]
        if version is None
        else next((v for v in versions if v.version == version), None)
    )
    if p is None:
        held = ", ".join(str(v.version) for v in versions)
        raise ApiError(
            404,
            "not_found",
            f"Thủ tục {code} không có phiên bản {version} trong danh mục (các phiên bản: {held})",
        )
    return ProcedureDetail.model_validate(
        {
            **_summary(p),
            "legal_basis": p.legal_basis,
            "effective_from": p.effective_from,
            "effective_to": p.effective_to,
            "receipt_cutoff": p.receipt_cutoff.isoformat(timespec="minutes")
            if p.receipt_cutoff
            else None,
            "steps": p.steps,
            "documents": [d.model_dump() for d in p.documents],
            "fees": [f.model_dump() for f in p.fees],
        }
    )


agencies_router = APIRouter(
    prefix="/agencies",
    tags=["procedures"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(record_user)],
)


@agencies_router.get(
    "", response_model=list[AgencyOut], summary="The agencies of the catalog (codes and names)"
)
async def list_agencies(ctx: Context, _: CurrentPrincipal) -> list[AgencyOut]:
    return [
        AgencyOut(code=a.code, name=a.name, kind=a.kind.value, level=a.level, parent=a.parent)
        for a in sorted(ctx.catalog.agencies.values(), key=lambda a: a.code)
    ]
