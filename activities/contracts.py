"""Names and payloads of the activities the dossier workflow calls.

Kept free of I/O imports so the workflow sandbox can import it; the
implementations live in activities/read_model.py, activities/handoff.py and
activities/calendar.py.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.datasources import FetchedComponent as FetchedComponent
from domain.datasources import FetchRequest as FetchRequest
from domain.dossier import (
    Applicant,
    DocumentRef,
    DossierView,
    Event,
    ResultDocument,
    ResultRequest,
)
from domain.feedback import FeedbackEvent, FeedbackInput, FeedbackView
from domain.payments import Confirmation, PaymentTerms

RECORD_EVENTS = "record_dossier_events"
RECEIVE_HANDOFF = "receive_handoff"
EXTEND_CALENDAR = "extend_calendar"
# Runs on the signing agency's task queue: the signer's key stays at the agency.
SIGN_RESULT = "sign_result"
# Runs on the dossier's own task queue: the centre's worker holds the centre's seal.
SEAL_RESULT = "seal_result"

# Runs on the dossier's own task queue: takes a component from a national database
# (activities/datasources.py), with the citizen's consent; its input is FetchRequest and
# its result FetchedComponent (domain/datasources.py).
FETCH_COMPONENT = "fetch_component"

# Error types the signing activities raise that no retry can fix; the workflow gives
# the step back to the signer with the message.
SIGNING_NON_RETRYABLE = ["KeyNotFound", "WrongAgency", "CertificateNotValid", "NoKeyStore"]
# The data source refused the centre (its credentials, its contract): retrying cannot help.
DATA_SOURCE_NON_RETRYABLE = ["DataSourceRefused"]


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


# The national portal's pull (workflows/portal_pull.py): one round asks the portal for the
# dossiers filed since `cursor` and starts each once (services/portal_intake.py).
PULL_PORTAL = "pull_portal_dossiers"


class PortalPullInput(BaseModel):
    cursor: str | None = None


class PortalPullResult(BaseModel):
    cursor: str | None = None  # where the next round asks from
    received: int = 0
    started: int = 0  # dossiers this round started
    duplicates: int = 0  # delivered before (pushed, or pulled again): nothing started
    refused: int = 0  # skipped, logged: unusable, or its files never came
    more: bool = False  # the portal has more waiting: ask again at once
    wait_seconds: float = 60  # else the pause before the next round (the setting's value)


# The citizen's voice (workflows/feedback.py): one PAKN item's state after an event,
# recorded with the event and the notifications it sends (activities/feedback.py).
RECORD_FEEDBACK = "record_feedback"


class RecordFeedbackInput(BaseModel):
    item: FeedbackInput
    view: FeedbackView
    event: FeedbackEvent
    answer: str | None = None


# -- personal-data requests (workflows/data_request.py; activities/data_requests.py) ----

OPEN_DATA_REQUEST = "open_data_request"
EXPORT_PERSONAL_DATA = "export_personal_data"
ESCALATE_DATA_REQUEST = "escalate_data_request"
DECIDE_DATA_REQUEST = "decide_data_request"


class DataRequestInput(BaseModel):
    """A data subject's request: the workflow's input (its id is `request_id`)."""

    request_id: str
    account: str  # the applicant's sign-in subject: whose data
    kind: str  # domain.data_requests.RequestKind
    corrections: dict[str, str] = {}  # a correction: field -> the value asked for
    reason: str = ""
    received_at: datetime | None = None  # set by the workflow (its own clock)


class DataRequestOpened(BaseModel):
    due_at: datetime  # the statutory time, in working days from receipt


class DataRequestDecision(BaseModel):
    """A leader's decision on a correction or restriction."""

    apply: bool
    reason: str = ""
    by: str
    by_name: str = ""


class DataRequestDecided(BaseModel):
    request_id: str
    kind: str
    account: str
    corrections: dict[str, str] = {}
    decision: DataRequestDecision
    at: datetime


class DataRequestAnswer(BaseModel):
    status: str  # domain.data_requests.RequestStatus
    answer: str = ""  # Vietnamese
    export_key: str | None = None
    dossiers: int = 0  # dossiers the answer covered


class DataRequestEscalation(BaseModel):
    request_id: str
    at: datetime


# -- online payment (workflows/payment.py; services/payments.py) -------------------------

# At the gateway: open the order (its page and QR code), ask how it stands, refund it.
OPEN_PAYMENT = "open_payment"
QUERY_PAYMENT = "query_payment"
REFUND_PAYMENT = "refund_payment"
# On the dossier: record the confirmed payment (its `pay` action, as the gateway).
SETTLE_PAYMENT = "settle_payment"
# In the read model: the request as it now stands.
RECORD_PAYMENT = "record_payment"
# The gateway refused the request itself: asking again cannot help.
PAYMENT_NON_RETRYABLE = ["GatewayRefused"]


class OpenPaymentInput(BaseModel):
    terms: PaymentTerms
    expires_at: datetime


class SettlePaymentInput(BaseModel):
    terms: PaymentTerms
    confirmation: Confirmation


class RefundPaymentInput(BaseModel):
    order_id: str
    refund_id: str
    amount_vnd: int
    reason: str
