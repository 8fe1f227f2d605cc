from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query

from api.auth import CurrentPrincipal
from api.deps import Context, record_user
from api.errors import ERROR_RESPONSES, ApiError
from api.messages import T
from api.schemas import AgencyOut, ProcedureDetail, ProcedureSummary
from domain.catalog import Procedure

TZ = ZoneInfo("Asia/Ho_Chi_Minh")

router = APIRouter(
    prefix="/procedures",
    tags=["procedures"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(record_user)],
)


def _summary(p: Procedure) -> dict[str, object]:
    return {
        "code": p.code,
        "code_placeholder": p.code_placeholder,
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
    return [ProcedureSummary.model_validate(_summary(p)) for p in ctx.catalog.in_force(_today(ctx))]


def _today(ctx: Context) -> date:
    return ctx.clock().astimezone(TZ).date()


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
            "one it runs); the one in force today when absent; 404 when the catalog has no such version",
        ),
    ] = None,
) -> ProcedureDetail:
    versions = ctx.catalog.procedures.get(code)
    if not versions:
        raise ApiError(404, "not_found", T("unknown_procedure", code=code))
    p = (
        ctx.catalog.current(code, _today(ctx))
        if version is None
        else next((v for v in versions if v.version == version), None)
    )
    if p is None:
        held = ", ".join(str(v.version) for v in versions)
        raise ApiError(
            404, "not_found", T("no_procedure_version", code=code, version=version, held=held)
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
    "",
    response_model=list[AgencyOut],
    summary="The agencies of the catalog: codes, names, validity and successors",
)
async def list_agencies(
    ctx: Context,
    _: CurrentPrincipal,
    in_operation: Annotated[
        bool | None,
        Query(
            description="true: only the agencies valid today (those a dossier may be filed at "
            "or returned from, for centres); false: only those no longer (or not yet) valid"
        ),
    ] = None,
) -> list[AgencyOut]:
    today = _today(ctx)
    out = []
    for a in sorted(ctx.catalog.agencies.values(), key=lambda a: a.code):
        valid = a.active_on(today)
        if in_operation is not None and valid != in_operation:
            continue
        out.append(
            AgencyOut(
                code=a.code,
                name=a.name,
                kind=a.kind.value,
                level=a.level,
                parent=a.parent,
                place=a.place,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                successor=a.successor,
                current_successor=ctx.catalog.successor_of(a.code),
                in_operation=valid,
            )
        )
    return out
