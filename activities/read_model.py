"""The read model projection: every dossier event, its forms and notifications,
written idempotently (keyed by event id) so a retried activity never doubles a row."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.contracts import RECORD_EVENTS, RecordEventsInput, RecordEventsResult
from activities.documents import DocumentServices
from activities.errors import database_errors
from activities.forms import RenderedDocument, render_control_slip, render_form
from activities.notifications import notifications_for, portal_sync
from domain.dossier import DocumentRef, DossierView, Event, ResultDocument
from infra import telemetry
from store import repository
from store.schemas import DocumentRecord, DossierSummary, OutboxMessage


def summary_of(inp: RecordEventsInput) -> DossierSummary:
    view: DossierView = inp.dossier
    step = view.current_step
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
        updated_at=inp.events[-1].at if inp.events else None,
        last_event_seq=inp.events[-1].seq if inp.events else 0,
    )


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
            sync = portal_sync(event, inp.dossier, self.docs.issuers.public_base_url)
            if sync is not None:
                outbox.append(sync)
        closed, received = inp.dossier.closed_at, inp.dossier.received_at
        if closed is not None and received is not None and any(e.at == closed for e in inp.events):
            documents.append(self._control_slip(inp))
        # Documents and notifications first: the dossier row (with last_event_seq)
        # is the commit point the API reads, so it must not run ahead of them.
        with database_errors(f"recording {inp.dossier.code}"):
            repository.add_documents(self.engine, documents)
            repository.add_outbox(self.engine, outbox)
            repository.record_events(self.engine, inp.events, summary_of(inp))
        telemetry.observe_events(inp.events, inp.dossier)
        return RecordEventsResult(
            events_written=len(inp.events),
            documents_written=len(documents),
            notifications_queued=len(outbox),
        )

    def _documents_of(self, event: Event, inp: RecordEventsInput) -> list[DocumentRecord]:
        view = inp.dossier
        form = event.data.get("form")
        if form:
            rendered = render_form(str(form), event, view, inp.applicant, self.docs.issuers)
            issuer = view.competent_agency if form == "04" else view.centre_agency
            return [self._stored(rendered, view.code, issuer, event, f"{event.id}:form-{form}")]
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
        if event.kind in ("submitted", "supplement") and isinstance(uploads, list):
            refs = [DocumentRef.model_validate(d) for d in uploads]
            return [
                DocumentRecord(
                    id=f"{event.id}:upload-{i}",
                    dossier_code=view.code,
                    form=ref.kind,
                    title=ref.filename,
                    media_type="",
                    sha256=ref.sha256,
                    created_at=event.at,
                    event_id=event.id,
                    filename=ref.filename,
                    source="upload",
                    reused=ref.reused,
                )
                for i, ref in enumerate(refs, start=1)
            ]
        return []

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
