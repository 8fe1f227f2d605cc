"""Is this PDF a document motcua issued, untouched, signed by the right people?

`signatures.signing.verify_pdf` answers for the signatures (intact, trusted chain, valid
certificates); this adds what only the engine knows: whether this exact file is a
document recorded for a dossier, and whether its signer and seal belong to the
agencies that dossier names. Used by `POST /v1/verify` and `motcua verify FILE`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from domain.i18n import DEFAULT_LANG, Lang
from infra.docstore import DocumentNotFound, DocumentStore
from services.messages import T
from signatures.signing import VerificationReport, renewal_of, verify_pdf
from store import repository
from store.models import DocumentRow


class DossierMatch(BaseModel):
    recorded: bool = Field(description="this exact file (by SHA-256) is a document of a dossier")
    renewed_since: bool = Field(
        default=False,
        description="this file was the document when issued; the archive has renewed its "
        "document timestamp since (the recorded file is this one plus the renewal)",
    )
    dossier_code: str | None = None
    document_id: str | None = None
    form: str | None = None
    title: str | None = None
    created_at: datetime | None = None
    signer_agencies: list[str] = Field(
        default_factory=list, description="agencies whose officers may sign it"
    )
    seal_agencies: list[str] = Field(
        default_factory=list, description="agencies whose seal it may carry"
    )


class DocumentVerification(BaseModel):
    valid: bool = Field(description="signed, untouched, trusted, and issued by motcua as is")
    problems: list[str]
    signatures: VerificationReport
    dossier: DossierMatch


def _agencies_of(signers: list[str] | None, kind: str) -> list[str]:
    out = []
    for s in signers or []:
        if s.startswith(f"{kind}:"):
            out.append(s.rsplit("@", 1)[-1] if kind == "signer" else s.split(":", 1)[1])
    return out


def _renewed_from(
    engine: Engine, store: DocumentStore | None, code: str | None, pdf: bytes
) -> list[DocumentRow]:
    """The dossier's document whose recorded file continues ``pdf``: ``pdf`` is a copy
    issued before the archive renewed the document's timestamp (an incremental update)."""
    if store is None or code is None:
        return []
    for row in repository.list_documents(engine, code):
        if row.source == "upload" or not row.sha256 or not row.signers:
            continue
        try:
            if renewal_of(pdf, store.get(row.sha256)):
                return [row]
        except DocumentNotFound:
            continue
    return []


def _match(
    engine: Engine | None,
    report: VerificationReport,
    store: DocumentStore | None = None,
    pdf: bytes = b"",
) -> DossierMatch:
    if engine is None:
        return DossierMatch(recorded=False, dossier_code=report.dossier_code)
    rows = repository.documents_with_hash(engine, report.sha256)
    renewed = not rows and report.signed
    if renewed:
        rows = _renewed_from(engine, store, report.dossier_code, pdf)
    if rows:
        row = rows[0]
        return DossierMatch(
            recorded=True,
            renewed_since=renewed,
            dossier_code=row.dossier_code,
            document_id=row.id,
            form=row.form,
            title=row.title,
            created_at=row.created_at,
            signer_agencies=_agencies_of(row.signers, "signer"),
            seal_agencies=_agencies_of(row.signers, "seal"),
        )
    match = DossierMatch(recorded=False, dossier_code=report.dossier_code)
    if report.dossier_code:
        dossier = repository.get_dossier(engine, report.dossier_code)
        if dossier is not None:
            # Not our file, but it claims a dossier: who would have signed and sealed it?
            match.signer_agencies = [dossier.competent_agency]
            match.seal_agencies = [dossier.centre_agency, dossier.competent_agency]
    return match


def verify_document(
    pdf: bytes,
    trust_roots: list[Any],
    engine: Engine | None,
    *,
    at: datetime | None = None,
    store: DocumentStore | None = None,
    lang: Lang = DEFAULT_LANG,
) -> DocumentVerification:
    """With ``store``, a copy issued before its timestamps were renewed is recognised.
    The problems are in ``lang`` (Vietnamese unless the reader asked for English)."""
    report = verify_pdf(pdf, trust_roots, at=at, lang=lang)
    match = _match(engine, report, store, pdf)
    problems = list(report.problems)
    for sig in report.signatures:
        problems.extend(f"{sig.field_name}: {p}" for p in sig.problems)
        if sig.kind == "tsa":  # a document timestamp (PAdES B-LTA): a TSA's, no agency's
            continue
        expected = match.seal_agencies if sig.kind == "seal" else match.signer_agencies
        if sig.agency_code and expected and sig.agency_code not in expected:
            key = "verify_wrong_seal" if sig.kind == "seal" else "verify_wrong_signer"
            message = T(
                key,
                field=sig.field_name,
                name=sig.name or "",
                agency=sig.agency_code,
                code=match.dossier_code or "",
                expected=(" hoặc " if lang == "vi" else " or ").join(expected),
            )
            problems.append(message.render(lang))
        if sig.agency_code is None:
            problems.append(T("verify_no_agency", field=sig.field_name).render(lang))
    if engine is not None and not match.recorded:
        if match.dossier_code:
            problems.append(T("verify_not_recorded", code=match.dossier_code).render(lang))
        else:
            problems.append(T("verify_not_issued").render(lang))
    valid = report.ok and not problems
    return DocumentVerification(valid=valid, problems=problems, signatures=report, dossier=match)
