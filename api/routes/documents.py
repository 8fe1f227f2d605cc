"""Documents: a dossier's files (forms, the signed result, uploads), downloads with
access control, the tracking book, and verification of a PDF anyone holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response

from activities.documents import issuers_for
from activities.forms import BookRow, render_control_slip, render_tracking_book
from api.auth import OFFICER_ROLES, CurrentPrincipal
from api.bodies import body_policy
from api.deps import Context, record_user
from api.document_rows import document_out
from api.errors import ERROR_RESPONSES, ApiError
from api.language import request_lang
from api.messages import T
from api.privacy import row_shows_personal_data, shown_name
from api.routes.dossiers import _visible_state, readable_record
from api.routes.index import month
from api.schemas import DocumentsOut
from domain.catalog import Role
from domain.dossier import Event, Status
from infra.docstore import DocumentNotFound, sniff_media_type
from services.verification import DocumentVerification, verify_document
from store import repository

router = APIRouter(tags=["documents"], responses=ERROR_RESPONSES)
authenticated = [Depends(record_user)]

PDF = "application/pdf"
MAX_VERIFY_BYTES = 20 * 1024 * 1024


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content=content,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/dossiers/{code}/documents",
    response_model=DocumentsOut,
    dependencies=authenticated,
    summary="The dossier's documents: forms 01–07, the signed result, the uploads "
    "(and a linked group's sub-dossiers' results)",
)
async def list_documents(code: str, principal: CurrentPrincipal, ctx: Context) -> DocumentsOut:
    if not await readable_record(ctx, code, principal):
        return DocumentsOut(code=code, documents=[])
    rows = await asyncio.to_thread(
        repository.list_documents, ctx.engine, code, with_sub_dossiers=True
    )
    listed = await asyncio.to_thread(lambda: [document_out(r, ctx.documents) for r in rows])
    return DocumentsOut(code=code, documents=listed)


@router.get(
    "/dossiers/{code}/documents/{document_id}",
    dependencies=authenticated,
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "the file"}},
    summary="Download one document (whoever may read the dossier)",
)
async def download_document(
    code: str, document_id: str, principal: CurrentPrincipal, ctx: Context
) -> Response:
    row = await asyncio.to_thread(repository.get_document, ctx.engine, document_id)
    if row is None or not (row.dossier_code == code or row.dossier_code.startswith(f"{code}.")):
        raise ApiError(404, "not_found", T("no_document", code=code, document=document_id))
    await readable_record(ctx, code, principal)
    if row.source == "database":
        raise ApiError(
            404,
            "not_found",
            f"document {document_id} was taken from a national database ({row.title}): "
            "there is no file, only its source and the hash of what was fetched",
        )
    if row.content and not row.size:
        # Revision 0001 kept forms as HTML in the row itself.
        return _attachment(
            row.content.encode(), "text/html; charset=utf-8", document_out(row).filename
        )
    try:
        content = await asyncio.to_thread(ctx.documents.get, row.sha256)
    except DocumentNotFound:
        raise ApiError(
            503,
            "unavailable",
            T("document_file_missing", document=document_id, sha256=row.sha256),
        ) from None
    media_type = (
        row.media_type or sniff_media_type(content, row.filename) or "application/octet-stream"
    )
    return _attachment(content, media_type, document_out(row).filename)


@router.get(
    "/dossiers/{code}/control-slip",
    dependencies=authenticated,
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "Form 06 as of now"}},
    summary="The process control slip (Form 06) as of now: every hand-over so far",
)
async def control_slip(code: str, principal: CurrentPrincipal, ctx: Context) -> Response:
    view = await _visible_state(ctx, code, principal)
    rows = await asyncio.to_thread(repository.list_events, ctx.engine, code)
    events = [Event.model_validate(r.model_dump()) for r in rows]
    rendered = await asyncio.to_thread(
        render_control_slip,
        view,
        events,
        issuers_for(ctx.catalog, ctx.settings),
        datetime.now(UTC),
    )
    return _attachment(rendered.pdf, PDF, rendered.filename)


@router.get(
    "/agencies/{agency}/tracking-book",
    dependencies=authenticated,
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "Form 07 for the month"}},
    summary="The tracking book (Form 07): every dossier the agency received in a month",
)
async def tracking_book(
    agency: str,
    principal: CurrentPrincipal,
    ctx: Context,
    period: Annotated[str, Query(description="the month, YYYY-MM")],
) -> Response:
    if agency not in ctx.catalog.agencies:
        raise ApiError(404, "not_found", T("no_agency", agency=agency))
    # The agency's officers: an agency claim alone (an applicant's token may carry one)
    # is not enough, the book lists every applicant of the month.
    officer = any(principal.has(r) for r in OFFICER_ROLES)
    if not (
        principal.has(Role.AUDITOR)
        or principal.has(Role.ADMIN)
        or (officer and principal.agency == agency)
    ):
        raise ApiError(403, "forbidden", T("book_officers", agency=agency))
    start, end = month(period)
    label = f"tháng {start.month:02d}/{start.year}"
    dossiers = await asyncio.to_thread(
        repository.received_by_agency, ctx.engine, agency, start, end
    )
    rows = [
        BookRow(
            code=d.code,
            procedure_name=d.procedure_name,
            applicant_name=shown_name(d.applicant_name, row_shows_personal_data(principal, d)),
            received_at=d.received_at or d.submitted_at,
            appointment_at=d.appointment_at,
            returned_at=d.closed_at,
            status_label=Status(d.status).label_vi,
            note="Quá hạn" if d.overdue else "",
        )
        for d in dossiers
    ]
    rendered = await asyncio.to_thread(
        render_tracking_book,
        agency,
        rows,
        label,
        issuers_for(ctx.catalog, ctx.settings),
        datetime.now(UTC),
    )
    return _attachment(rendered.pdf, PDF, rendered.filename)


@router.post(
    "/verify",
    response_model=DocumentVerification,
    summary="Verify a PDF: is it signed, by whom, is the chain trusted, is it untouched, "
    "and is it a document motcua issued for a dossier (public: no token needed)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the PDF's bytes (sent as application/pdf or application/octet-stream)",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                PDF: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
@body_policy(raw=True)  # a PDF, limited here to MAX_VERIFY_BYTES
async def verify(request: Request, ctx: Context) -> DocumentVerification:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_VERIFY_BYTES:
        raise ApiError(413, "too_large", T("verify_too_large", limit=MAX_VERIFY_BYTES))
    body = await request.body()
    if len(body) > MAX_VERIFY_BYTES:
        raise ApiError(413, "too_large", T("verify_too_large", limit=MAX_VERIFY_BYTES))
    if not body:
        raise ApiError(422, "invalid", T("verify_empty"))
    return await asyncio.to_thread(
        partial(verify_document, store=ctx.documents, lang=request_lang(request)),
        body,
        ctx.trust_roots,
        ctx.engine,
    )
