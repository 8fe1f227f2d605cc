"""Cancelling an e-receipt (hủy biên lai): the collecting unit's officer gives the reason;
the receipt is kept, marked cancelled, and replaced by a new one with the next number of
the unit's series, rendered and sealed again. Never deleted."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from sqlalchemy.engine import Engine

from activities.documents import DocumentServices
from activities.receipts import receipt_document
from domain.catalog import Catalog, Role
from domain.dossier import Actor, Applicant
from infra.settings import Settings
from services.dossiers import ServiceError
from services.messages import T
from store import repository
from store.models import ReceiptRow

# Who may cancel a receipt of their own unit: its leader, or the officers who collect.
CANCELLERS = (Role.LEADER, Role.INTAKE_OFFICER, Role.RETURN_OFFICER)


class ReceiptService:
    def __init__(self, engine: Engine, catalog: Catalog, settings: Settings) -> None:
        self.engine = engine
        self.catalog = catalog
        self.settings = settings

    @cached_property
    def docs(self) -> DocumentServices:
        return DocumentServices.from_settings(self.settings, self.catalog)

    def of(self, code: str) -> list[ReceiptRow]:
        return repository.receipts_of(self.engine, code)

    def cancel(
        self, code: str, receipt_id: str, actor: Actor, reason: str, now: datetime
    ) -> tuple[ReceiptRow, ReceiptRow]:
        """Blocking (call it in a thread). Raises ServiceError: not_found, forbidden,
        conflict (cancelled already), invalid (no reason)."""
        row = repository.get_receipt(self.engine, receipt_id)
        if row is None or row.dossier_code != code:
            raise ServiceError("not_found", T("receipt_not_found", code=code, receipt=receipt_id))
        if actor.role not in CANCELLERS or actor.agency != row.agency_code:
            raise ServiceError(
                "forbidden",
                T("receipt_cancel_forbidden", receipt=receipt_id, agency=row.agency_code),
            )
        if not reason.strip():
            raise ServiceError("invalid", T("receipt_cancel_reason"))
        try:
            old, new = repository.cancel_and_replace(
                self.engine, receipt_id, by=actor.id, reason=reason.strip(), at=now
            )
        except repository.ReceiptNotCancellable:
            raise ServiceError(
                "conflict", T("receipt_cancelled_already", receipt=receipt_id)
            ) from None
        dossier = repository.get_dossier(self.engine, code)
        applicant = Applicant(
            name=dossier.applicant_name if dossier else new.payer_name or "—",
            id_number=dossier.applicant_id_number if dossier else "000000000",
        )
        record = receipt_document(
            self.docs,
            new,
            dossier.procedure_name if dossier else "",
            applicant,
            actor.name or actor.id,
        )
        repository.attach_document(self.engine, new.id, record.id, record.sha256)
        repository.add_documents(self.engine, [record])
        new.document_id, new.sha256 = record.id, record.sha256
        return old, new
