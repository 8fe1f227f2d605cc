"""An e-receipt's document: rendered from its row (activities/forms/receipt.py), sealed by
its collecting unit, stored; for the read model when a fee is paid, and for a replacement
when a receipt is cancelled (services/receipts.py)."""

from __future__ import annotations

from activities.documents import DocumentServices
from activities.forms.receipt import ReceiptInfo, render_receipt
from domain.dossier import Applicant
from store.models import ReceiptRow
from store.schemas import DocumentRecord


def receipt_document(
    docs: DocumentServices,
    row: ReceiptRow,
    procedure_name: str,
    applicant: Applicant,
    collector: str,
) -> DocumentRecord:
    """The receipt's PDF, sealed by `row.agency_code` (when the worker holds its seal),
    stored; its document row (id `receipt:<receipt id>`)."""
    rendered = render_receipt(
        ReceiptInfo(
            receipt_id=row.id,
            number=row.number,
            symbol=row.symbol,
            agency_code=row.agency_code,
            dossier_code=row.dossier_code,
            procedure_name=procedure_name,
            payer_name=row.payer_name or applicant.name,
            payer_address=applicant.address,
            amount_vnd=row.amount_vnd,
            method=row.method,
            issued_at=row.issued_at,
            collector_name=collector or "Cổng thanh toán",
            lines=list(row.lines or []),
            replaces=row.replaces,
        ),
        docs.issuers,
    )
    pdf, signers = docs.seal(
        rendered.pdf, row.agency_code, reason=f"{rendered.title} – hồ sơ {row.dossier_code}"
    )
    sha = docs.store.put(pdf)
    return DocumentRecord(
        id=f"receipt:{row.id}",
        dossier_code=row.dossier_code,
        form="receipt",
        title=rendered.title,
        sha256=sha,
        created_at=row.issued_at,
        event_id=row.event_id,
        filename=rendered.filename,
        size=len(pdf),
        source="receipt",
        signers=signers,
    )
