"""The read model projection: every dossier event, its forms and notifications,
written idempotently (keyed by event id) so a retried activity never doubles a row."""

from __future__ import annotations

from contextlib import suppress
from typing import Literal

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.contracts import RECORD_EVENTS, RecordEventsInput, RecordEventsResult
from activities.documents import DocumentServices
from activities.errors import database_errors
from activities.forms import TZ, RenderedDocument, render_control_slip, render_form
from activities.notifications import notifications_for, paid_online_by, portal_sync
from activities.receipts import receipt_document
from domain.catalog import Role
from domain.dossier import DocumentRef, DossierView, Event, ResultDocument
from domain.working_time import paused_clock
from infra import telemetry
from infra.docstore import DocumentNotFound, stored_file_facts
from store import repository
from store.schemas import DocumentRecord, DossierSummary, OutboxMessage


def summary_of(inp: RecordEventsInput) -> DossierSummary:
    view: DossierView = inp.dossier
    step = view.current_step
    paused = paused_clock(view)
    return DossierSummary(
        code=view.code,
        procedure_code=view.procedure_code,
        procedure_version=view.procedure_version,
        procedure_name=view.procedure_name,
        status=view.status,
        channel=view.channel,
        centre_agency=view.centre_agency,
        competent_agency=view.competent_agency,
        current_step_id=step.step_id if step else None,
        current_step_kind=step.kind if step else None,
        current_agency=step.agency if step else None,
        current_role=step.role if step else None,
        step_due_at=step.due_at if step else None,
        submitted_at=view.submitted_at,
        received_at=view.received_at,
        appointment_at=view.appointment_at,
        overdue=view.overdue is not None,
        escalated=bool(view.escalations),
        outcome=view.outcome,
        applicant_name=inp.applicant.name,
        applicant_id_number=inp.applicant.id_number,
        applicant_account=inp.applicant.account,
        closed_at=view.closed_at,
        processed_at=view.processed_at,
        supplement_requests=view.supplement_requests,
        resolution_minutes=view.clock_consumed_minutes if view.processed_at else None,
        step_agencies=sorted({s.agency for s in view.steps}),
        clock_unit=view.clock_unit,
        clock_paused_reason=paused[0] if paused else None,
        clock_left_minutes=paused[1] if paused else None,
        assignee_id=view.assignment.officer_id if view.assignment else None,
        assignee_name=view.assignment.officer_name if view.assignment else None,
        assigned_by=view.assignment.by_id if view.assignment else None,
        updated_at=inp.events[-1].at if inp.events else None,
        last_event_seq=inp.events[-1].seq if inp.events else 0,
    )


class PortalFacts:
    """What the status sync back to the national portal needs beyond the view, read
    once per batch when a message is due: the portal's code of a dossier filed there,
    and whether (and how) a gateway confirmed its payment, in earlier batches or in this
    one up to the event being synced."""

    def __init__(self, engine: Engine, dossier_code: str) -> None:
        self.engine = engine
        self.dossier_code = dossier_code
        self._read = False
        self.portal_code: str | None = None
        self.payment_method: str | None = None

    def sync(
        self, event: Event, inp: RecordEventsInput, base_url: str, i: int
    ) -> OutboxMessage | None:
        """The sync message of `event`, the batch's `i`-th."""
        if not self._read and event.status_after is not None:
            self.portal_code = repository.portal_code_of(self.engine, self.dossier_code)
            self.payment_method = repository.online_payment_method(self.engine, self.dossier_code)
            self._read = True
        message = portal_sync(
            event,
            inp.dossier,
            base_url,
            portal_code=self.portal_code,
            payment_method=self.payment_method,
            later=inp.events[i + 1 :],
        )
        self.payment_method = self.payment_method or paid_online_by(event)
        return message


class ReadModelActivities:
    def __init__(self, engine: Engine, docs: DocumentServices) -> None:
        self.engine = engine
        self.docs = docs

    @activity.defn(name=RECORD_EVENTS)
    def record_dossier_events(self, inp: RecordEventsInput) -> RecordEventsResult:
        documents: list[DocumentRecord] = []
        outbox: list[OutboxMessage] = []
        for event in inp.events:
            documents.extend(self._documents_of(event, inp))
            outbox.extend(notifications_for(event, inp.dossier, inp.applicant))
        closed, received = inp.dossier.closed_at, inp.dossier.received_at
        if closed is not None and received is not None and any(e.at == closed for e in inp.events):
            documents.append(self._control_slip(inp))
        # Documents and notifications first, then the portal's status messages (they read
        # the dossier's earlier events), then the events: the dossier row (with
        # last_event_seq) is the commit point the API reads, so it must not run ahead.
        with database_errors(f"recording {inp.dossier.code}"):
            repository.add_documents(self.engine, documents)
            repository.add_outbox(self.engine, outbox)
            portal = PortalFacts(self.engine, inp.dossier.code)
            syncs = [
                sync
                for i, event in enumerate(inp.events)
                if (sync := portal.sync(event, inp, self.docs.issuers.public_base_url, i))
                is not None
            ]
            repository.add_outbox(self.engine, syncs)
            repository.record_events(self.engine, inp.events, summary_of(inp))
        telemetry.observe_events(inp.events, inp.dossier)
        return RecordEventsResult(
            events_written=len(inp.events),
            documents_written=len(documents),
            notifications_queued=len(outbox) + len(syncs),
        )

    def _documents_of(self, event: Event, inp: RecordEventsInput) -> list[DocumentRecord]:
        view = inp.dossier
        form = event.data.get("form")
        if form:
            rendered = render_form(str(form), event, view, inp.applicant, self.docs.issuers)
            issuer = view.competent_agency if form == "04" else view.centre_agency
            return [self._stored(rendered, view.code, issuer, event, f"{event.id}:form-{form}")]
        if event.kind == "pay" and isinstance(event.data.get("fees"), dict):
            return self._receipt(event, inp)
        if event.kind == "result_issued":
            doc = ResultDocument.model_validate(event.data["document"])
            signers = [f"signer:{doc.signer_id}@{doc.signing_agency}"]
            if doc.sealed_by:
                signers.append(f"seal:{doc.sealed_by}")
            return [
                DocumentRecord(
                    id=doc.document_id,
                    dossier_code=view.code,
                    form="result",
                    title=doc.title,
                    sha256=doc.sha256,
                    created_at=event.at,
                    event_id=event.id,
                    filename=doc.filename,
                    size=doc.size,
                    source="result",
                    signers=signers,
                )
            ]
        uploads = event.data.get("documents")
        if event.kind in ("submitted", "supplement", "data_reused") and isinstance(uploads, list):
            refs = [DocumentRef.model_validate(d) for d in uploads]
            return [self._upload(ref, event, view.code, i) for i, ref in enumerate(refs, start=1)]
        return []

    def _receipt(self, event: Event, inp: RecordEventsInput) -> list[DocumentRecord]:
        """The e-receipt of a fee collected (none for an exemption of the whole amount):
        numbered in its collecting unit's series once (a retry finds it), rendered and
        sealed by that unit."""
        fees = event.data["fees"]
        total = int(fees.get("total_vnd", 0))
        if total <= 0:
            return []
        agency = str(fees.get("collector") or inp.dossier.centre_agency)
        with database_errors(f"numbering the receipt of {inp.dossier.code}"):
            row = repository.issue_receipt(
                self.engine,
                event.id,
                {
                    "agency_code": agency,
                    "year": event.at.astimezone(TZ).year,
                    "dossier_code": inp.dossier.code,
                    "event_id": event.id,
                    "amount_vnd": total,
                    "method": str(fees.get("method") or ""),
                    "online": event.role == Role.SYSTEM,
                    "payer_name": inp.applicant.name,
                    "lines": list(fees.get("lines") or []),
                    "issued_at": event.at,
                },
            )
        record = receipt_document(
            self.docs, row, inp.dossier.procedure_name, inp.applicant, event.actor_name
        )
        with database_errors(f"recording the receipt of {inp.dossier.code}"):
            repository.attach_document(self.engine, row.id, record.id, record.sha256)
        return [record]

    def _upload(self, ref: DocumentRef, event: Event, code: str, i: int) -> DocumentRecord:
        """An uploaded (or reused) file's row, with the size and type of the stored file;
        a component taken from a database has no file (`source` "database", its hash
        that of what was fetched)."""
        source: Literal["upload", "database"] = "upload" if ref.source is None else "database"
        size, media_type = 0, ""
        if ref.source is None:
            with suppress(DocumentNotFound):  # not in this worker's store: the API fills them in
                size, media_type = stored_file_facts(self.docs.store, ref.sha256, ref.filename)
        return DocumentRecord(
            id=f"{event.id}:upload-{i}",
            dossier_code=code,
            form=ref.kind,
            title=ref.filename,
            media_type=media_type,
            size=size,
            sha256=ref.sha256,
            created_at=event.at,
            event_id=event.id,
            filename=ref.filename,
            source=source,
            reused=ref.reused,
        )

    def _stored(
        self, rendered: RenderedDocument, code: str, issuer: str, event: Event, doc_id: str
    ) -> DocumentRecord:
        pdf, signers = self.docs.seal(
            rendered.pdf, issuer, reason=f"{rendered.title} – hồ sơ {code}"
        )
        sha = self.docs.store.put(pdf)
        return DocumentRecord(
            id=doc_id,
            dossier_code=code,
            form=rendered.form,
            title=rendered.title,
            sha256=sha,
            created_at=event.at,
            event_id=event.id,
            filename=rendered.filename,
            size=len(pdf),
            source="form",
            signers=signers,
        )

    def _control_slip(self, inp: RecordEventsInput) -> DocumentRecord:
        """Form 06 when the dossier closes: every hand-over, its giver and receiver, and
        whether it was before, on or after its deadline."""
        view = inp.dossier
        assert view.closed_at is not None
        earlier = [
            Event.model_validate(r.model_dump())
            for r in repository.list_events(self.engine, view.code)
        ]
        seen = {e.id for e in inp.events}
        events = [e for e in earlier if e.id not in seen] + list(inp.events)
        rendered = render_control_slip(view, events, self.docs.issuers, view.closed_at)
        last = inp.events[-1]
        return self._stored(rendered, view.code, view.centre_agency, last, f"{view.code}:form-06")
