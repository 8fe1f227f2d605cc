"""SQL read model tables (SQLModel).

These classes live only in the store: they are never Temporal payloads. The
workflow and activities exchange the pydantic models of ``store.schemas``.
All timestamps are stored as UTC and read back as aware UTC datetimes.
"""

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Text, UniqueConstraint, false, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from store.db import UTCDateTime

JSONType = JSON().with_variant(JSONB(), "postgresql")


# What the index and the late list read of a dossier (store.index.INDEX_COLUMNS), covered
# by the period indexes below.
INDEX_INCLUDE = (
    "code",
    "received_at",
    "competent_agency",
    "centre_agency",
    "procedure_code",
    "procedure_name",
    "processed_at",
    "closed_at",
    "appointment_at",
    "supplement_requests",
    "overdue",
    "status",
    "channel",
    "outcome",
    "resolution_minutes",
    "fact_result",
    "fact_upload",
    "fact_reused",
    "fact_paid_online",
    "fact_unhappy",
)


# The dossiers on officers' worklists (store.repository.lists.ON_A_WORKLIST says the same).
WORKLIST_WHERE = (
    "closed_at IS NULL AND status NOT IN ('supplement_requested', 'financial_obligation')"
)
WORKLIST_INCLUDE = (
    "code",
    "escalated",
    "overdue",
    "step_due_at",
    "appointment_at",
    "received_at",
    "assignee_id",
    "procedure_code",
    "status",
)


class DossierRow(SQLModel, table=True):
    """The latest known summary of each dossier (worklists, reports, search)."""

    __tablename__ = "dossiers"
    __table_args__ = (
        # worklists page newest first by (submitted_at DESC, code DESC)
        Index("ix_dossiers_submitted_at_code", "submitted_at", "code"),
        Index("ix_dossiers_received_at", "received_at"),
        # The Decision 766 index and late list of a period (store.index.period_rows): the
        # dossiers finished since its start, by their end of processing, and the unfinished
        # ones; each index covers every column the index reads (PostgreSQL INCLUDE), so a
        # month is an index-only scan of its own rows.
        Index(
            "ix_dossiers_index_ended",
            text("coalesce(processed_at, closed_at)"),
            postgresql_include=list(INDEX_INCLUDE),
        ),
        Index(
            "ix_dossiers_index_open",
            "received_at",
            postgresql_include=[c for c in INDEX_INCLUDE if c != "received_at"],
            postgresql_where=text("processed_at IS NULL AND closed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL AND closed_at IS NULL"),
        ),
        # The unfinished ones by their appointment: those due on the day the index is
        # judged on, judged by the hour (store.index._from_days).
        Index(
            "ix_dossiers_index_open_due",
            "appointment_at",
            postgresql_include=[c for c in INDEX_INCLUDE if c != "appointment_at"],
            postgresql_where=text("processed_at IS NULL AND closed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL AND closed_at IS NULL"),
        ),
        # Officers' worklists (store.repository.lists.worklist): the open dossiers on
        # someone's list, by the agency and role of their current step, covering what the
        # list filters and sorts by, so its total and its page's order are index-only.
        Index(
            "ix_dossiers_worklist",
            "current_agency",
            "current_role",
            postgresql_include=list(WORKLIST_INCLUDE),
            postgresql_where=text(WORKLIST_WHERE),
            sqlite_where=text(WORKLIST_WHERE),
        ),
    )

    code: str = Field(primary_key=True)
    procedure_code: str = Field(index=True)
    procedure_version: int
    procedure_name: str = ""
    status: str = Field(index=True)
    status_code: int
    channel: str
    centre_agency: str = Field(index=True)
    competent_agency: str = Field(index=True)
    current_step_id: str | None = None
    current_step_kind: str | None = None
    current_agency: str | None = Field(default=None, index=True)
    current_role: str | None = None
    step_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    appointment_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    overdue: bool = False
    escalated: bool = False
    outcome: str | None = None
    applicant_name: str
    applicant_id_number: str = Field(index=True)  # exact search by ID number
    applicant_account: str | None = Field(default=None, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    last_event_seq: int = 0
    # For the Decision 766 index: the end of processing, supplement requests, and the
    # statutory clock's consumption (pauses excluded) when processing ended.
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    supplement_requests: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    resolution_minutes: int | None = None
    # Every agency of the dossier's steps (resolved at submission; the centre and the
    # competent agency are above): with them, who may read the dossier is decided from
    # this row alone. None on rows projected before they were kept: ask the engine.
    step_agencies: list[str] | None = Field(default=None, sa_type=JSONType)
    # The statutory clock (store.schemas.DossierSummary): its unit, and while it is paused
    # why (an exclusion's reason) and the minutes left. NULL on rows projected before.
    clock_unit: str | None = None
    clock_paused_reason: str | None = None
    clock_left_minutes: int | None = None
    # The named officer the current step is assigned to (phân công), and who assigned it
    # (the officer themself for a claim): the queue's "assigned to me" and "unassigned".
    assignee_id: str | None = Field(default=None, index=True)
    assignee_name: str | None = None
    assigned_by: str | None = None
    # Decision 766 facts of the dossier's other rows (store.index.refresh_facts), kept in
    # the transaction that records a document, a payment, a rating or a complaint: the
    # month's index reads them from this row instead of probing four tables per dossier.
    fact_result: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    fact_upload: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    fact_reused: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    fact_paid_online: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    fact_unhappy: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


# The counters of a day's dossiers in the Decision 766 index (store.index.DAY_COUNTERS).
DAY_COUNTERS = (
    "received",
    "finished",
    "late_before",
    "late_after",
    "unfinished_late_before",
    "unfinished_late_after",
    "multiple_supplements",
    "online",
    "online_result",
    "paid_online",
    "with_result",
    "e_result",
    "upload",
    "upload_result",
    "reused",
    "unhappy",
    "resolution_total",
    "resolution_count",
)


class IndexDayRow(SQLModel, table=True):
    """The Decision 766 index's daily facts (store.index.kept_days): per local day, the
    dossiers' counters summed by deciding agency, receiving centre and procedure, kept in
    the transaction that changes a dossier's row. Finished dossiers are counted on the day
    their processing ended; unfinished ones on the day of their appointment (the earliest
    date, 0001-01-01, without one), so a month is a sum over its days and the unfinished
    ones are judged late by whole days, except the judging day's own."""

    __tablename__ = "index_days"

    open: bool = Field(primary_key=True)
    day: date = Field(primary_key=True)
    # A finished dossier's months (local) of receipt and of appointment (0001-01-01: none;
    # always for an unfinished one): a period sums those received before it and finished
    # after it, judged by their appointment, from these rows too.
    received_month: date = Field(primary_key=True)
    appointment_month: date = Field(primary_key=True)
    competent_agency: str = Field(primary_key=True)
    centre_agency: str = Field(primary_key=True)
    procedure_code: str = Field(primary_key=True)
    procedure_name: str = Field(primary_key=True)
    received: int = 0
    finished: int = 0
    late_before: int = 0  # late whatever the hour it is judged at on its day
    late_after: int = 0  # late when judged after its day
    unfinished_late_before: int = 0  # finished, judged unfinished before its appointment
    unfinished_late_after: int = 0  # and after it
    multiple_supplements: int = 0
    online: int = 0
    online_result: int = 0  # online, with a result document
    paid_online: int = 0
    with_result: int = 0  # finished with a result to deliver (not withdrawn, ...)
    e_result: int = 0  # and a result document
    upload: int = 0
    upload_result: int = 0
    reused: int = 0
    unhappy: int = 0
    resolution_total: int = Field(default=0, sa_type=BigInteger)
    resolution_count: int = 0


class EventRow(SQLModel, table=True):
    """The dossier's event log, one row per ``domain.dossier.Event``."""

    __tablename__ = "dossier_events"

    id: str = Field(primary_key=True)  # "<dossier code>:<seq>"
    dossier_code: str = Field(index=True)
    seq: int
    kind: str
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: str
    actor_name: str = ""
    role: str
    agency: str | None = None
    step_id: str | None = None
    step_kind: str | None = None
    status_before: str | None = None
    status_after: str | None = None
    comment: str = Field(default="", sa_type=Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # The hash chain (computed by the workflow as it emits the event): an edited row no
    # longer matches its hash, a removed one breaks the next row's prev_hash.
    prev_hash: str = Field(default="", sa_column_kwargs={"server_default": ""})
    hash: str = Field(default="", sa_column_kwargs={"server_default": ""})


class RefusedAttemptRow(SQLModel, table=True):
    """Refused workflow updates: they leave no trace in Temporal history, so this
    table is the auditors' record of them."""

    __tablename__ = "refused_attempts"
    __table_args__ = (UniqueConstraint("attempt_id", name="uq_refused_attempts_attempt_id"),)

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: str | None = None  # idempotency key (e.g. update id); unique
    dossier_code: str = Field(index=True)
    action: str
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: str
    actor_name: str = ""
    role: str
    agency: str | None = None
    reason: str = Field(default="", sa_type=Text)
    code: str  # "forbidden", "wrong_step", "invalid", "closed", ...
    comment: str = Field(default="", sa_type=Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class OutboxRow(SQLModel, table=True):
    """Notifications to deliver (transactional outbox)."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        Index("ix_notification_outbox_pending", "sent_at", "created_at"),
        Index(
            "ix_notification_outbox_delivery", "channel", "sent_at", "failed_at", "next_attempt_at"
        ),
    )

    id: str = Field(primary_key=True)  # f"{event_id}:{recipient}"
    dossier_code: str = Field(index=True)
    event_id: str
    recipient_role: str | None = None
    recipient_agency: str | None = None
    recipient: str
    channel: str = "portal"  # "portal" | "sms" | "email"
    subject: str = ""
    body: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Delivery (revision 0006_outbox_delivery, store/repository/outbox_delivery.py).
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str | None = Field(default=None, sa_type=Text)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = None
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DocumentRow(SQLModel, table=True):
    """Generated documents: forms 01..07 and the result."""

    __tablename__ = "documents"

    id: str = Field(primary_key=True)
    dossier_code: str = Field(index=True)
    form: str  # "01".."07", "result", or the kind of an uploaded document
    title: str = ""
    media_type: str = "application/pdf"
    content: str = Field(default="", sa_type=Text)  # legacy HTML forms (revision 0001)
    sha256: str = Field(default="", index=True)  # the file in the document store
    created_at: datetime = Field(sa_type=UTCDateTime)
    event_id: str | None = None
    filename: str = Field(default="", sa_column_kwargs={"server_default": ""})
    size: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    source: str = Field(default="form", sa_column_kwargs={"server_default": "form"})
    signers: list[str] | None = Field(default=None, sa_type=JSONType)
    reused: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class DossierSequenceRow(SQLModel, table=True):
    """Per agency and day counter behind dossier codes."""

    __tablename__ = "dossier_sequences"

    agency_code: str = Field(primary_key=True)
    day: str = Field(primary_key=True)  # YYMMDD
    last_seq: int = 0


class HandoffInboxRow(SQLModel, table=True):
    """Receipts of handed-off steps by agency workers."""

    __tablename__ = "agency_inbox"

    id: str = Field(primary_key=True)  # f"{dossier_code}:{step_id}:{run_index}"
    agency_code: str = Field(index=True)
    dossier_code: str = Field(index=True)
    step_id: str
    run_index: int = 0
    received_at: datetime = Field(sa_type=UTCDateTime)
    worker_identity: str = ""


class IdempotencyKeyRow(SQLModel, table=True):
    """``Idempotency-Key`` claims of dossier submissions, per caller.

    A row without ``dossier_code`` is a claim in progress; the code is set once
    the dossier exists. ``request_sha256`` tells a retry from a reuse of the key
    for a different request.
    """

    __tablename__ = "idempotency_keys"

    key: str = Field(primary_key=True)
    principal: str = Field(primary_key=True)  # the caller's ``sub``
    request_sha256: str
    dossier_code: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)


class ActionRequestRow(SQLModel, table=True):
    """``Idempotency-Key`` of actions (``POST /v1/dossiers/{code}/actions``,
    ``/supplements``, ``/withdraw``), per dossier and caller.

    ``request_sha256`` tells a retry from a reuse of the key for another body; the
    answer (``status_code`` and ``response``) is kept once known, so a retry gets it
    again. A row without an answer: the request is under way, or died on the way (a
    retry sends the same workflow update id, which Temporal deduplicates).
    """

    __tablename__ = "action_requests"

    dossier_code: str = Field(primary_key=True)
    principal: str = Field(primary_key=True)  # the caller's ``sub``
    key: str = Field(primary_key=True)
    request_sha256: str
    status_code: int | None = None
    response: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserSeenRow(SQLModel, table=True):
    """Users seen on the API (from their tokens): who acted, under which name and roles."""

    __tablename__ = "users_seen"

    sub: str = Field(primary_key=True)
    name: str = ""
    roles: list[str] = Field(default_factory=list, sa_type=JSONType)
    agency: str | None = None
    first_seen: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime)


class AgencyRow(SQLModel, table=True):
    """The catalog's agencies (``domain.catalog.Agency``), seeded from procedures/agencies.yaml."""

    __tablename__ = "agencies"

    code: str = Field(primary_key=True)
    name: str
    kind: str
    level: str
    parent: str | None = None
    place: str | None = None
    # Two-level local government: the days it exists (valid_to: the last one) and the
    # agency that takes over its work after (`motcua agencies merge`).
    valid_from: date | None = None
    valid_to: date | None = None
    successor: str | None = None
    # When the row last changed: the catalog's revision, so that every process reloads it.
    changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProcedureRow(SQLModel, table=True):
    """Every version of every procedure of the catalog; ``definition`` is the full
    ``domain.catalog.Procedure`` as JSON."""

    __tablename__ = "procedures"

    code: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    name: str
    field: str
    level: str
    competent_agency: str
    statutory_value: float
    statutory_unit: str
    effective_from: date
    effective_to: date | None = None
    definition: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # The catalog as managed data (docs/catalog.md): a version is a draft until the
    # catalog administrator publishes it under the People's Committee's decision
    # (quyết định công bố); only published versions are the catalog dossiers are filed under.
    status: str = Field(
        default="published", index=True, sa_column_kwargs={"server_default": "published"}
    )
    boundary_free: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    decision_number: str | None = None
    decision_date: date | None = None
    decision_signer: str | None = None
    drafted_from: int | None = None  # the version a draft was copied from
    drafted_by: str | None = None
    drafted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_by: str | None = None
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class HistoryArchiveRow(SQLModel, table=True):
    """One run of a dossier's Temporal history, kept after Temporal's retention deletes
    it: the JSON is in the document store under `sha256`. Append-only (a trigger refuses
    UPDATE and DELETE)."""

    __tablename__ = "history_archive"
    __table_args__ = (UniqueConstraint("workflow_id", "run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(index=True)  # the dossier code
    run_id: str
    status: str  # completed, continued_as_new, terminated, ...
    started_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    events: int
    sha256: str
    size: int
    archived_at: datetime = Field(sa_type=UTCDateTime)


class AuditLogRow(SQLModel, table=True):
    """Every read an auditor makes (API or CLI): who, through what, what, when.
    Append-only (a trigger refuses UPDATE and DELETE), and hash-chained like the events:
    row `seq` carries the hash of row `seq - 1` and its own over every field, so a row
    edited, deleted or moved (by someone who dropped the trigger) is named."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_id: str = Field(index=True)
    actor_name: str = ""
    roles: list[str] = Field(default_factory=list, sa_type=JSONType)
    application: str  # "api", "cli"
    action: str  # "history", "verify", "replay", "timeline", "trail", ...
    dossier_code: str | None = Field(default=None, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # The chain: 1, 2, 3, ... in the order written (None: a row written around the
    # chain, by hand), the previous row's hash and this row's.
    seq: int | None = Field(default=None, index=True, unique=True)
    prev_hash: str = Field(default="", sa_column_kwargs={"server_default": ""})
    hash: str = Field(default="", sa_column_kwargs={"server_default": ""})

    def content_hash(self, prev_hash: str) -> str:
        """SHA-256 of `prev_hash` and the row's canonical JSON: every field but `id`
        (the database's) and the two hashes, the instant in UTC, keys sorted. A new
        field is covered as soon as it is added (its value is in the dump)."""
        content = self.model_dump(mode="json", exclude={"id", "hash", "prev_hash", "at"})
        content["at"] = self.at.astimezone(UTC).isoformat()
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


class AuditLogHeadRow(SQLModel, table=True):
    """The audit log chain's head (one row, id 1): the last row's seq and hash. Writers
    lock it (SELECT ... FOR UPDATE on PostgreSQL; SQLite's write transaction) so the
    chain never forks; rows deleted from the end no longer reach it."""

    __tablename__ = "audit_log_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = ""


class RatingRow(SQLModel, table=True):
    """The latest rating of a dossier (one per dossier; every rating is kept in
    `dossier_rating_history`). "dislike" counts against the 766 satisfaction figure."""

    __tablename__ = "dossier_ratings"

    dossier_code: str = Field(primary_key=True)
    rating: str  # like | neutral | dislike
    comment: str = Field(default="", sa_type=Text)
    by: str
    at: datetime = Field(sa_type=UTCDateTime)


class RatingHistoryRow(SQLModel, table=True):
    """Every rating of a dossier with its time, as given (`dossier_ratings` holds the latest
    of them, the one the 766 index counts). `source`: "account" (the applicant signed in)
    or "kiosk" (the counter's tablet, with the receipt's rating code)."""

    __tablename__ = "dossier_rating_history"

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(index=True)
    rating: str  # like | neutral | dislike
    comment: str = Field(default="", sa_type=Text)
    by: str
    source: str = "account"
    at: datetime = Field(sa_type=UTCDateTime)


class PersonalDataRequestRow(SQLModel, table=True):
    """A data subject's request (Law 91/2025/QH15 on personal data protection, Decree
    356/2025/ND-CP): to see, correct or restrict the personal data the centre holds about
    the account that asked. Each is a DataRequestWorkflow (workflows/data_request.py) whose
    id is the row's id; the workflow writes the row."""

    __tablename__ = "personal_data_requests"

    id: str = Field(primary_key=True)  # "pdr-<uuid>": no personal data in workflow ids
    account: str = Field(index=True)  # the applicant's sign-in subject (the data subject)
    kind: str  # access | correct | restrict
    status: str = Field(index=True)  # received | answered | refused
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    received_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str = Field(default="", sa_type=Text)  # Vietnamese: what was done and why
    export_key: str | None = None  # the export's document-store key (an access request)
    handled_by: str | None = None


class PersonalDataNoteRow(SQLModel, table=True):
    """An annotation on a dossier kept under retention: a correction asked for (and
    whether it was applied), or a restriction of processing. Records are annotated,
    never silently changed or erased."""

    __tablename__ = "personal_data_notes"

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(index=True)
    request_id: str = Field(index=True)
    kind: str  # correction | restriction
    note: str = Field(sa_type=Text)  # Vietnamese, as shown to the data subject and officers
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    by: str
    at: datetime = Field(sa_type=UTCDateTime)


class FeedbackRow(SQLModel, table=True):
    """A complaint or suggestion (phản ánh, kiến nghị — PAKN) about a dossier or about the
    service: one FeedbackWorkflow each (workflows/feedback.py) since revision 0009; rows
    from before it have no `code` and were never routed."""

    __tablename__ = "dossier_feedback"

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str | None = Field(default=None, index=True)  # None: about the service
    kind: str  # complaint | suggestion
    text: str = Field(sa_type=Text)
    by: str
    at: datetime = Field(sa_type=UTCDateTime)
    # Revision 0011_feedback: the item's workflow, routing, deadline and answer.
    # PAKN-XXXXXXXXXX, the item's workflow id.
    code: str | None = Field(default=None, unique=True, index=True)
    agency: str | None = Field(default=None, index=True)  # who answers it
    status: str | None = Field(default=None, index=True)  # open | answered
    channel: str | None = None  # online | counter
    filer_account: str | None = Field(default=None, index=True)
    filer_name: str = ""
    filer_id_number: str = ""
    filer_phone: str | None = None
    filer_email: str | None = None
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, sa_type=Text)
    answered_by: str | None = None
    answered_by_name: str | None = None
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FeedbackEventRow(SQLModel, table=True):
    """What happened to a PAKN item: filed, escalated (late), answered; written once each
    by its workflow's activity (id `<code>:<kind>`)."""

    __tablename__ = "feedback_events"

    id: str = Field(primary_key=True)
    feedback_code: str = Field(index=True)
    kind: str  # filed | escalated | answered
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: str = ""
    actor_role: str = ""
    agency: str | None = None
    comment: str = Field(default="", sa_type=Text)


__all__ = [
    "AgencyRow",
    "AuditLogHeadRow",
    "AuditLogRow",
    "DocumentRow",
    "DossierRow",
    "DossierSequenceRow",
    "EventRow",
    "FeedbackEventRow",
    "FeedbackRow",
    "HandoffInboxRow",
    "HistoryArchiveRow",
    "IdempotencyKeyRow",
    "IndexDayRow",
    "OutboxRow",
    "PersonalDataNoteRow",
    "PersonalDataRequestRow",
    "ProcedureRow",
    "RatingHistoryRow",
    "RatingRow",
    "ReceiptRow",
    "ReceiptSeriesRow",
    "RefusedAttemptRow",
    "UserSeenRow",
]


class PortalSkippedRow(SQLModel, table=True):
    """A dossier the portal gave that motcua could not start (unusable, refused, or its
    files never came): kept for the operators, who have the portal deliver it again (a
    pulled one is not asked for again: the pull's cursor went past it). One row per
    portal code, channel and reason; delivered again with the same fault, counted."""

    __tablename__ = "portal_skipped"
    __table_args__ = (
        UniqueConstraint("portal_code", "via", "reason", name="uq_portal_skipped_fault"),
    )

    id: int | None = Field(default=None, primary_key=True)
    portal_code: str  # "" when the portal's item named none
    via: str  # "push" | "pull"
    reason: str
    unavailable: bool = False  # its files or the engine never answered (else refused)
    first_at: datetime = Field(sa_type=UTCDateTime)
    last_at: datetime = Field(sa_type=UTCDateTime, index=True)
    times: int = 1


class PortalIntakeRow(SQLModel, table=True):
    """Dossiers filed on the national portal (Cổng DVCQG): the portal's code bound to the
    motcua dossier code it was started under, once (both unique). Pushed or pulled, a
    dossier delivered again finds its row and starts nothing; ``started_at`` is set once
    its workflow is confirmed started (a row without it: a delivery died on the way, and
    the next one starts the dossier under the code bound here)."""

    __tablename__ = "portal_intake"
    __table_args__ = (UniqueConstraint("dossier_code", name="uq_portal_intake_dossier_code"),)

    portal_code: str = Field(primary_key=True)
    dossier_code: str
    procedure_code: str
    via: str  # how it first arrived: "push" | "pull"
    portal_received_at: datetime = Field(sa_type=UTCDateTime)  # NgayNopHoSo on the portal
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    deliveries: int = 1
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IndexPublicationRow(SQLModel, table=True):
    """A published month of the Decision 766 index (công khai định kỳ hàng tháng): the
    snapshot as it was published, frozen with its hash. A correction is the next revision
    with its reason; earlier revisions are kept."""

    __tablename__ = "index_publications"
    __table_args__ = (
        UniqueConstraint("period", "revision", name="uq_index_publications_period_revision"),
    )

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(index=True)  # YYYY-MM
    revision: int
    published_at: datetime = Field(sa_type=UTCDateTime)
    published_by: str
    published_by_name: str = ""
    reason: str = Field(default="", sa_type=Text)  # why this revision corrects the previous
    snapshot: str = Field(sa_type=Text)  # canonical JSON: the index, the late list, the CSV
    sha256: str


class ReceiptSeriesRow(SQLModel, table=True):
    """The last number of each collecting unit's e-receipt series per year (biên lai
    điện tử): numbers are taken in the transaction that stores the receipt, so they
    run without gaps and never twice (store/repository/receipts.py)."""

    __tablename__ = "receipt_series"

    agency_code: str = Field(primary_key=True)
    year: int = Field(primary_key=True)
    last_number: int = 0


class ReceiptRow(SQLModel, table=True):
    """An electronic receipt for a fee collected. Never deleted: a cancelled receipt
    keeps its number, the reason and who cancelled it, and names its replacement."""

    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("agency_code", "year", "number", name="uq_receipts_series_number"),
        UniqueConstraint("source_key", name="uq_receipts_source_key"),
    )

    id: str = Field(primary_key=True)  # f"{agency_code}:{year}:{number:07d}"
    agency_code: str = Field(index=True)
    year: int
    number: int
    symbol: str  # ký hiệu of the series
    # What it was issued for: the pay event's id, or `<old id>:replacement`.
    source_key: str
    dossier_code: str = Field(index=True)
    event_id: str
    amount_vnd: int
    method: str
    online: bool = False
    payer_name: str = ""
    lines: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONType)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    status: str = "issued"  # issued | cancelled | refunded (store/repository/payments.py)
    document_id: str | None = None
    sha256: str | None = None
    replaces: str | None = None
    replaced_by: str | None = None
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = None
    cancel_reason: str | None = Field(default=None, sa_type=Text)


class PaymentRequestRow(SQLModel, table=True):
    """An online payment request (an order at the gateway), as its PaymentWorkflow last
    recorded it: pending, paid, expired, failed or refunded. Never deleted: an expired
    order stays beside the new one the citizen asked for."""

    __tablename__ = "payment_requests"

    order_id: str = Field(primary_key=True)
    dossier_code: str = Field(index=True)
    stage: str  # intake | payment | return (domain/fees.py)
    step_id: str
    amount_vnd: int
    lines: list[dict[str, Any]] | None = Field(default=None, sa_type=JSONType)
    status: str = Field(index=True)  # domain.payments.PaymentStatus
    requested_by: str
    requested_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    payment_url: str | None = Field(default=None, sa_type=Text)
    qr_content: str | None = Field(default=None, sa_type=Text)
    transaction_id: str | None = None
    method: str | None = None
    settled_via: str | None = None  # callback | reconciliation
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refund_id: str | None = None
    refund_amount_vnd: int | None = None
    refunded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str = Field(default="", sa_type=Text)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PaymentCallbackRow(SQLModel, table=True):
    """Every signed callback the gateway sent for an order, settled or refused (an
    unknown or expired order, a wrong amount): the accountant's record of what the
    gateway said and what motcua answered."""

    __tablename__ = "payment_callbacks"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(sa_type=UTCDateTime)
    order_id: str = Field(index=True)
    transaction_id: str = ""
    amount_vnd: int = 0
    outcome: str  # settled | duplicate | refused
    code: str = ""  # why refused: not_found, expired, invalid, conflict, ...
    message: str = Field(default="", sa_type=Text)
