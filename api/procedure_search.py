"""The catalog as a citizen reads it before filing: search results with the components
(original or copy, how many), fees, time in working days, where to file and the result.
Served without a token by `GET /v1/public/procedures` (api/routes/public.py) and the page
/ui/procedures (api/ui), from the catalog the API holds (domain/catalog_search.py ranks)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from api.errors import ApiError
from api.messages import T
from domain.calendar import VIETNAM_TZ, Duration
from domain.catalog import AgencyKind, Catalog, Fee, Procedure, ResultKind
from domain.catalog_search import CatalogSearch, Hit, Page, paginate
from domain.vietnamese import number

VN = ZoneInfo(VIETNAM_TZ)

LEVEL_LABELS = {"province": "Cấp tỉnh", "commune": "Cấp xã"}
RESULT_LABELS = {
    ResultKind.PERMIT: "Giấy phép",
    ResultKind.CERTIFICATE: "Giấy chứng nhận",
    ResultKind.DECISION: "Quyết định",
    ResultKind.NOTICE: "Văn bản thông báo, xác nhận",
    ResultKind.REGISTRATION: "Đăng ký, trích lục",
}
PLACEHOLDER_LABEL = "mã tạm"
CHANNELS = (
    "Nộp trực tiếp tại Bộ phận Một cửa, qua dịch vụ bưu chính công ích, hoặc trực tuyến "
    "trên Cổng Dịch vụ công quốc gia khi thủ tục có dịch vụ công trực tuyến "
    "(Nghị định 118/2025/NĐ-CP)."
)


class CitizenDocument(BaseModel):
    name: str
    original: bool = Field(description="true: the original (bản chính); false: a copy (bản sao)")
    copies: int
    required: bool
    text: str = Field(description='how many and which, e.g. "01 bản chính"')
    database: str | None = Field(
        default=None,
        description="a national database that may supply it instead of a paper, with the "
        "citizen's consent",
    )


class CitizenFee(BaseModel):
    name: str
    amount_vnd: int
    text: str = Field(
        description='"200.000 đồng", "5.000 đồng mỗi bản từ bản thứ 3", "Miễn phí"; and who pays less'
    )


class WhereToFile(BaseModel):
    level: str
    level_label: str
    centres: list[str] = Field(description="the one-stop centres of the procedure's level")
    boundary_free: bool = Field(
        description="filed at any centre of the province, whatever the citizen's address "
        "(không phụ thuộc địa giới hành chính): the province's list "
        "(MOTCUA_BOUNDARY_FREE_PROCEDURES), else the catalog's flag"
    )
    text: str
    channels: str


class CitizenResult(BaseModel):
    kind: str
    kind_label: str
    title: str


class CitizenProcedure(BaseModel):
    code: str
    code_placeholder: bool = Field(
        description="the code is a stand-in (mã tạm), not a national procedure code"
    )
    code_label: str = Field(description='the code as shown: "3.000333", "9.000001 (mã tạm)"')
    version: int
    name: str
    field: str
    level: str
    competent_agency: str
    competent_agency_name: str
    statutory_time: Duration
    time_text: str = Field(description='"15 ngày làm việc"')
    on_the_spot: bool
    time_notes: list[str] = Field(description="when the time differs (verification, remote areas)")
    documents: list[CitizenDocument]
    fees: list[CitizenFee]
    fees_text: str
    where_to_file: WhereToFile
    result: CitizenResult
    notes: str
    match: Literal["code", "name", "all", "partial", "browse"] = Field(
        description="code: the national code; name: every word in the name; all: every "
        "word in the name, field or agency; partial: some words; browse: no query"
    )
    matched_words: int
    query_words: int


class ProcedureSearchOut(BaseModel):
    query: str
    field: str | None
    agency: str | None
    level: str | None
    total: int
    page: int
    page_size: int
    pages: int
    items: list[CitizenProcedure]


def today() -> date:
    return datetime.now(VN).date()


_INDEX: tuple[Catalog, CatalogSearch] | None = None


def index_of(catalog: Catalog) -> CatalogSearch:
    """The search index of `catalog`, built again when the API holds another catalog."""
    global _INDEX
    if _INDEX is None or _INDEX[0] is not catalog:
        _INDEX = (catalog, CatalogSearch(catalog))
    return _INDEX[1]


def code_label(p: Procedure) -> str:
    return f"{p.code} ({PLACEHOLDER_LABEL})" if p.code_placeholder else p.code


def _fee_text(amount: int) -> str:
    return "Miễn phí" if amount == 0 else f"{number(amount)} đồng"


def _fee_line(f: Fee) -> str:
    """A fee as a citizen reads it: the amount, per copy from which copy, and who pays
    less or nothing (the groups the law names)."""
    text = _fee_text(f.amount_vnd)
    if f.per == "copy":
        text += " mỗi bản" + (f" từ bản thứ {f.from_copy}" if f.from_copy > 1 else "")
    if f.exemptions:
        text += "; " + "; ".join(f"{e.name}: {_fee_text(e.amount_vnd)}" for e in f.exemptions)
    return text


def _where(catalog: Catalog, p: Procedure, listed: Collection[str] | None = None) -> WhereToFile:
    centres = [
        a for a in catalog.agencies.values() if a.kind is AgencyKind.CENTRE and a.level == p.level
    ]
    # A commune's procedure: its own commune's centre first, when the catalog says which.
    own = [a for a in centres if a.parent == p.competent_agency]
    names = [a.name for a in own or centres]
    # The province's list of boundary-free procedures (Decree 118/2025), as intake judges
    # it (services/dossiers.py `boundary_free`): the setting's list, else the catalog's flag.
    boundary_free = p.code in listed if listed is not None else p.boundary_free
    level_label = LEVEL_LABELS.get(p.level, p.level)
    if boundary_free:
        text = (
            "Nộp tại Trung tâm Phục vụ hành chính công bất kỳ trong tỉnh, không phụ thuộc "
            "địa giới hành chính."
        )
    else:
        text = f"Nộp tại {', '.join(names)}." if names else "Nộp tại Bộ phận Một cửa."
    return WhereToFile(
        level=p.level,
        level_label=level_label,
        centres=names,
        boundary_free=boundary_free,
        text=text,
        channels=CHANNELS,
    )


def _result(catalog: Catalog, p: Procedure) -> CitizenResult:
    """The document the citizen receives; for a linked group, each sub-procedure's."""
    if p.issuing_step() is None:
        titles = []
        for step in p.steps:
            for child in step.children:
                versions = catalog.procedures.get(child.procedure)
                if versions:
                    titles.append(versions[-1].result_spec.title)
        return CitizenResult(
            kind="linked",
            kind_label="Kết quả của từng thủ tục trong nhóm liên thông",
            title="; ".join(titles),
        )
    spec = p.result_spec
    return CitizenResult(
        kind=spec.kind.value, kind_label=RESULT_LABELS[spec.kind], title=spec.title
    )


def citizen_view(
    catalog: Catalog, hit: Hit, listed: Collection[str] | None = None
) -> CitizenProcedure:
    p = hit.procedure
    agency = catalog.agencies.get(p.competent_agency)
    notes = []
    if p.on_the_spot:
        notes.append("Giải quyết ngay tại Bộ phận Một cửa.")
    if p.verification_time is not None:
        notes.append(f"Trường hợp phải xác minh: {p.verification_time.vi}.")
    if p.remote_area_extra is not None:
        notes.append(f"Xã miền núi, hải đảo, vùng sâu, vùng xa: thêm {p.remote_area_extra.vi}.")
    result = _result(catalog, p)
    return CitizenProcedure(
        code=p.code,
        code_placeholder=p.code_placeholder,
        code_label=code_label(p),
        version=p.version,
        name=p.name,
        field=p.field,
        level=p.level,
        competent_agency=p.competent_agency,
        competent_agency_name=agency.name if agency else p.competent_agency,
        statutory_time=p.statutory_time,
        time_text=p.statutory_time.vi,
        on_the_spot=p.on_the_spot,
        time_notes=notes,
        documents=[
            CitizenDocument(
                name=d.name,
                original=d.original,
                copies=d.copies,
                required=d.required,
                text=f"{d.copies:02d} {'bản chính' if d.original else 'bản sao'}"
                + ("" if d.required else " (nếu có)"),
                database=d.source.name if d.source else None,
            )
            for d in p.documents
        ],
        fees=[CitizenFee(name=f.name, amount_vnd=f.amount_vnd, text=_fee_line(f)) for f in p.fees],
        fees_text=(
            "Không có phí, lệ phí trong danh mục thủ tục."
            if not p.fees
            else ("Tổng cho một bản: " if any(f.per == "copy" for f in p.fees) else "Tổng: ")
            + _fee_text(sum(f.amount_for(1, None) for f in p.fees))
        ),
        where_to_file=_where(catalog, p, listed),
        result=result,
        notes=p.notes,
        match=hit.match,
        matched_words=hit.matched,
        query_words=hit.of,
    )


def results_out(
    catalog: Catalog,
    page: Page,
    *,
    query: str,
    field: str | None,
    agency: str | None,
    level: str | None,
    listed: Collection[str] | None = None,
) -> ProcedureSearchOut:
    return ProcedureSearchOut(
        query=query,
        field=field,
        agency=agency,
        level=level,
        total=page.total,
        page=page.page,
        page_size=page.page_size,
        pages=page.pages,
        items=[citizen_view(catalog, h, listed) for h in page.hits],
    )


def run_search(
    catalog: Catalog,
    *,
    on: date,
    query: str = "",
    field: str | None = None,
    agency: str | None = None,
    level: Literal["province", "commune"] | None = None,
    page: int = 1,
    page_size: int = 10,
    listed: Collection[str] | None = None,
) -> ProcedureSearchOut:
    """One page of the search; an unknown field or agency is a 422 naming the known ones.
    `listed`: the province's boundary-free list (MOTCUA_BOUNDARY_FREE_PROCEDURES), if set."""
    index = index_of(catalog)
    field = (field or "").strip() or None
    agency = (agency or "").strip() or None
    if field is not None:
        named = index.field_named(field, on)
        if named is None:
            known = "; ".join(index.fields(on))
            raise ApiError(422, "invalid", T("unknown_field", field=field, known=known))
        field = named
    if agency is not None and agency not in {a.code for a in index.agencies(on)}:
        raise ApiError(422, "invalid", T("unknown_search_agency", agency=agency))
    hits = index.search(query, on=on, field=field, agency=agency, level=level)
    return results_out(
        catalog,
        paginate(hits, page, page_size),
        query=query,
        field=field,
        agency=agency,
        level=level,
        listed=listed,
    )
