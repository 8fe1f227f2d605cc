"""Names and payloads of the activities the dossier workflow calls.

Kept free of I/O imports so the workflow sandbox can import it; the
implementations live in activities/read_model.py, activities/handoff.py and
activities/calendar.py.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.dossier import (
    Applicant,
    DocumentRef,
    DossierView,
    Event,
    ResultDocument,
    ResultRequest,
)

RECORD_EVENTS = "record_dossier_events"
RECEIVE_HANDOFF = "receive_handoff"
EXTEND_CALENDAR = "extend_calendar"
# Runs on the signing agency's task queue: the signer's key stays at the agency.
SIGN_RESULT = "sign_result"
# Runs on the dossier's own task queue: the centre's worker holds the centre's seal.
SEAL_RESULT = "seal_result"

# Error types the signing activities raise that no retry can fix; the workflow gives
# the step back to the signer with the message.
SIGNING_NON_RETRYABLE = ["KeyNotFound", "WrongAgency", "CertificateNotValid", "NoKeyStore"]


class RecordEventsInput(BaseModel):
    """A batch of new events plus the dossier's view after them (for the read model)."""

    dossier: DossierView
    applicant: Applicant
    events: list[Event]


class RecordEventsResult(BaseModel):
    events_written: int
    documents_written: int
    notifications_queued: int


class HandoffInput(BaseModel):
    dossier_code: str
    step_id: str
    run_index: int
    from_agency: str
    to_agency: str
    procedure_code: str
    procedure_name: str
    documents: list[DocumentRef]
    appointment_at: datetime | None
    sent_at: datetime


class HandoffAck(BaseModel):
    agency: str
    inbox_id: str
    received_at: datetime
    worker: str


class ExtendCalendarInput(BaseModel):
    first_year: int
    last_year: int


class SignResultInput(BaseModel):
    """Render the result from the dossier's data as it stands, and sign it."""

    dossier: DossierView
    applicant: Applicant
    request: ResultRequest


class SealResultInput(BaseModel):
    dossier_code: str
    document: ResultDocument
    seal_agency: str
