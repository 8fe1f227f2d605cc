"""The read model projection: every dossier event, its forms and notifications,
written idempotently (keyed by event id) so a retried activity never doubles a row."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.contracts import RECORD_EVENTS, RecordEventsInput, RecordEventsResult
from activities.forms import render_form
from activities.notifications import notifications_for
from domain.dossier import DossierView
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
        updated_at=inp.events[-1].at if inp.events else None,
        last_event_seq=inp.events[-1].seq if inp.events else 0,
    )


class ReadModelActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name=RECORD_EVENTS)
    def record_dossier_events(self, inp: RecordEventsInput) -> RecordEventsResult:
        documents: list[DocumentRecord] = []
        outbox: list[OutboxMessage] = []
        for event in inp.events:
            form = event.data.get("form")
            if form:
                rendered = render_form(str(form), event, inp.dossier, inp.applicant)
                documents.append(
                    DocumentRecord(
                        id=f"{event.id}:form-{rendered.form}",
                        dossier_code=event.dossier_code,
                        form=rendered.form,
                        title=rendered.title,
                        content=rendered.html,
                        sha256=rendered.sha256,
                        created_at=event.at,
                        event_id=event.id,
                    )
                )
            outbox.extend(notifications_for(event, inp.dossier, inp.applicant))
        # Documents and notifications first: the dossier row (with last_event_seq)
        # is the commit point the API reads, so it must not run ahead of them.
        repository.add_documents(self.engine, documents)
        repository.add_outbox(self.engine, outbox)
        repository.record_events(self.engine, inp.events, summary_of(inp))
        return RecordEventsResult(
            events_written=len(inp.events),
            documents_written=len(documents),
            notifications_queued=len(outbox),
        )
