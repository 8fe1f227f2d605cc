"""What was issued for a dossier, in public: the page a result's QR code opens
(`/ui/verify?code=...`) reads it, and checks a file against it through `POST /v1/verify`.

No token and no personal data: the document's number, kind, issuing agency, date and file
hash, which the document itself shows to whoever holds it; never the applicant. An unknown
code and a dossier with nothing issued get the same empty answer, and the route is limited
per client address like public tracking, so it tells a stranger guessing codes nothing more.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import Context, limit_tracking
from api.errors import ERROR_RESPONSES
from domain.calendar import VIETNAM_TZ
from domain.dossier import ResultDocument
from store import repository

router = APIRouter(responses=ERROR_RESPONSES, tags=["public"])
VN = ZoneInfo(VIETNAM_TZ)


class IssuedDocument(BaseModel):
    number: str = Field(description='the document\'s number, e.g. "H99.01-261102-0001/GCN"')
    title: str = Field(description="its kind, as printed (e.g. the permit's or decision's title)")
    granted: bool = Field(description="false for a refusal decision")
    agency: str = Field(description="the issuing agency's code")
    agency_name: str
    sealed_by_name: str | None = Field(description="whose seal it carries")
    issued_at: datetime = Field(description="when it was signed, Asia/Ho_Chi_Minh")
    sha256: str = Field(description="the SHA-256 of the issued file")


class IssuedDocuments(BaseModel):
    code: str
    documents: list[IssuedDocument]


@router.get(
    "/issued/{code}",
    response_model=IssuedDocuments,
    summary="What was issued for a dossier (public, no personal data): the verification "
    "page's source",
    dependencies=[Depends(limit_tracking)],
)
async def issued(code: str, ctx: Context) -> IssuedDocuments:
    events = await asyncio.to_thread(repository.list_events, ctx.engine, code)
    names = {c: a.name for c, a in ctx.catalog.agencies.items()}
    out = []
    for event in events:
        if event.kind != "result_issued" or "document" not in (event.data or {}):
            continue
        doc = ResultDocument.model_validate(event.data["document"])
        out.append(
            IssuedDocument(
                number=doc.number,
                title=doc.title,
                granted=doc.granted,
                agency=doc.signing_agency,
                agency_name=names.get(doc.signing_agency, doc.signing_agency),
                sealed_by_name=names.get(doc.sealed_by, doc.sealed_by) if doc.sealed_by else None,
                issued_at=doc.issued_at.astimezone(VN),
                sha256=doc.sha256,
            )
        )
    return IssuedDocuments(code=code, documents=out)
