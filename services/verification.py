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

from signatures.signing import VerificationReport, verify_pdf
from store import repository


class DossierMatch(BaseModel):
    recorded: bool = Field(description="this exact file (by SHA-256) is a document of a dossier")
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


def _match(engine: Engine | None, report: VerificationReport) -> DossierMatch:
    if engine is None:
        return DossierMatch(recorded=False, dossier_code=report.dossier_code)
    rows = repository.documents_with_hash(engine, report.sha256)
    if rows:
        row = rows[0]
        return DossierMatch(
            recorded=True,
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
    pdf: bytes, trust_roots: list[Any], engine: Engine | None, *, at: datetime | None = None
) -> DocumentVerification:
    report = verify_pdf(pdf, trust_roots, at=at)
    match = _match(engine, report)
    problems = list(report.problems)
    for sig in report.signatures:
        problems.extend(f"{sig.field_name}: {p}" for p in sig.problems)
        expected = match.seal_agencies if sig.kind == "seal" else match.signer_agencies
        if sig.agency_code and expected and sig.agency_code not in expected:
            who = "sealed by" if sig.kind == "seal" else f"signed by {sig.name} of"
            problems.append(
                f"{sig.field_name}: {who} {sig.agency_code}, but dossier {match.dossier_code} "
                f"may only be {'sealed' if sig.kind == 'seal' else 'signed'} by "
                f"{' or '.join(expected)}"
            )
        if sig.agency_code is None:
            problems.append(
                f"{sig.field_name}: the certificate does not name an agency (OU) and an officer"
            )
    if engine is not None and not match.recorded:
        if match.dossier_code:
            problems.append(
                f"this file is not a document recorded for dossier {match.dossier_code}: "
                "it was changed after it was issued, or motcua never issued it"
            )
        else:
            problems.append("this file is not a document motcua issued")
    valid = report.ok and not problems
    return DocumentVerification(valid=valid, problems=problems, signatures=report, dossier=match)
