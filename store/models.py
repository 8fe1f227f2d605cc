"""SQL read model tables (SQLModel).

These classes live only in the store: they are never Temporal payloads. The
workflow and activities exchange the pydantic models of ``store.schemas``.
All timestamps are stored as UTC and read back as aware UTC datetimes.
"""

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint, false
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from store.db import UTCDateTime

JSONType = JSON().with_variant(JSONB(), "postgresql")


class DossierRow(SQLModel, table=True):
    """The latest known summary of each dossier (worklists, reports, search)."""

    __tablename__ = "dossiers"
    __table_args__ = (
        # worklists page newest first by (submitted_at DESC, code DESC)
        Index("ix_dossiers_submitted_at_code", "submitted_at", "code"),
        Index("ix_dossiers_received_at", "received_at"),
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
    step_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    appointment_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    overdue: bool = False
    escalated: bool = False
    outcome: str | None = None
    applicant_name: str
    applicant_id_number: str
    applicant_account: str | None = Field(default=None, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    last_event_seq: int = 0
    # For the Decision 766 index: the end of processing, supplement requests, and the
    # statutory clock's consumption (pauses excluded) when processing ended.
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    supplement_requests: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    resolution_minutes: int | None = None


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
    __table_args__ = (Index("ix_notification_outbox_pending", "sent_at", "created_at"),)

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
    """The catalog's agencies (``domain.catalog.Agency``), synced from procedures/agencies.yaml."""

    __tablename__ = "agencies"

    code: str = Field(primary_key=True)
    name: str
    kind: str
    level: str
    parent: str | None = None


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
    """The applicant's rating of a dossier at its return (one per dossier; a new one
    replaces it). "dislike" counts against the 766 satisfaction figure."""

    __tablename__ = "dossier_ratings"

    dossier_code: str = Field(primary_key=True)
    rating: str  # like | neutral | dislike
    comment: str = Field(default="", sa_type=Text)
    by: str
    at: datetime = Field(sa_type=UTCDateTime)


class FeedbackRow(SQLModel, table=True):
    """A complaint or suggestion (phản ánh, kiến nghị) about a dossier."""

    __tablename__ = "dossier_feedback"

    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(index=True)
    kind: str  # complaint | suggestion
    text: str = Field(sa_type=Text)
    by: str
    at: datetime = Field(sa_type=UTCDateTime)


__all__ = [
    "AgencyRow",
    "AuditLogHeadRow",
    "AuditLogRow",
    "DocumentRow",
    "DossierRow",
    "DossierSequenceRow",
    "EventRow",
    "FeedbackRow",
    "HandoffInboxRow",
    "HistoryArchiveRow",
    "IdempotencyKeyRow",
    "OutboxRow",
    "ProcedureRow",
    "RatingRow",
    "RefusedAttemptRow",
    "UserSeenRow",
]
