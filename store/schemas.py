"""Pydantic payloads for the read model.

These are what the workflow and activities build and pass around (they are safe
Temporal payloads and safe to import inside the workflow sandbox: this module
imports neither SQLAlchemy nor SQLModel). ``store.repository`` turns them into
rows of the tables in ``store.models``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.calendar import TimeUnit
from domain.catalog import Role, StepKind
from domain.dossier import Actor, Channel, Status


class DossierSummary(BaseModel):
    """One row of the ``dossiers`` table, as the workflow sees its dossier now.

    ``last_event_seq`` orders summaries: the repository never lets a summary
    with a lower sequence overwrite a newer one (retries may arrive late).
    """

    code: str
    procedure_code: str
    procedure_version: int
    procedure_name: str = ""
    status: Status
    status_code: int | None = Field(
        default=None, description="national code; derived from status when omitted"
    )
    channel: Channel
    centre_agency: str
    competent_agency: str
    current_step_id: str | None = None
    current_step_kind: StepKind | None = None
    current_agency: str | None = None
    current_role: Role | None = None
    step_due_at: datetime | None = None
    submitted_at: datetime
    received_at: datetime | None = None
    appointment_at: datetime | None = None
    overdue: bool = False
    escalated: bool = False
    outcome: str | None = None
    applicant_name: str
    applicant_id_number: str
    applicant_account: str | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = Field(
        default=None, description="workflow time; the write time when omitted"
    )
    last_event_seq: int = 0
    processed_at: datetime | None = None
    supplement_requests: int = 0
    resolution_minutes: int | None = None
    step_agencies: list[str] | None = None
    # The statutory clock, for countdowns read at read time in working time: its unit, and
    # while it stands still (a supplement, an excluded step) why and how much is left.
    clock_unit: TimeUnit | None = None
    clock_paused_reason: str | None = None
    clock_left_minutes: int | None = None
    # The named officer the current step is assigned to (phân công), and who assigned it.
    assignee_id: str | None = None
    assignee_name: str | None = None
    assigned_by: str | None = None

    @model_validator(mode="after")
    def _derive_status_code(self) -> DossierSummary:
        if self.status_code is None:
            self.status_code = self.status.national_code
        return self


class OutboxMessage(BaseModel):
    """A notification to deliver; ``id`` defaults to ``f"{event_id}:{recipient}"``."""

    id: str = ""
    dossier_code: str
    event_id: str
    recipient_role: Role | None = None
    recipient_agency: str | None = None
    recipient: str = Field(
        min_length=1,
        description='applicant id number, account, "role@agency" or "officer:<login id>"',
    )
    channel: str = Field(default="portal", pattern=r"^(portal|sms|email|dvcqg)$")
    subject: str = ""
    body: str = ""
    created_at: datetime
    sent_at: datetime | None = None

    @model_validator(mode="after")
    def _default_id(self) -> OutboxMessage:
        if not self.id:
            self.id = f"{self.event_id}:{self.recipient}"
        return self


class DocumentRecord(BaseModel):
    """A generated document (forms 01..07, the result) stored with the dossier."""

    id: str
    dossier_code: str
    form: str
    title: str = ""
    media_type: str = "application/pdf"
    content: str = ""
    sha256: str = ""
    created_at: datetime
    event_id: str | None = None
    filename: str = ""
    size: int = 0
    # "database": a component taken from a national database (no file; its hash is of
    # what was fetched)
    source: Literal["form", "result", "upload", "database", "receipt"] = "form"
    signers: list[str] | None = None
    reused: bool = False


class HandoffReceipt(BaseModel):
    """An agency worker's receipt of a handed-off dossier step."""

    id: str = ""
    agency_code: str
    dossier_code: str
    step_id: str
    run_index: int = 0
    received_at: datetime
    worker_identity: str = ""

    @model_validator(mode="after")
    def _default_id(self) -> HandoffReceipt:
        if not self.id:
            self.id = f"{self.dossier_code}:{self.step_id}:{self.run_index}"
        return self


class RefusedAttempt(BaseModel):
    """A workflow update that was refused (it leaves no trace in Temporal history).

    ``attempt_id``, when set (e.g. the update id), makes recording idempotent.
    ``code`` is one of "forbidden", "wrong_step", "invalid", "closed", ...
    """

    attempt_id: str | None = None
    dossier_code: str
    action: str
    at: datetime
    actor_id: str
    actor_name: str = ""
    role: Role | str
    agency: str | None = None
    reason: str = ""
    code: str
    comment: str = ""
    data: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_actor(
        cls,
        *,
        dossier_code: str,
        action: str,
        actor: Actor,
        at: datetime,
        code: str,
        reason: str = "",
        comment: str = "",
        data: dict[str, Any] | None = None,
        attempt_id: str | None = None,
    ) -> RefusedAttempt:
        return cls(
            attempt_id=attempt_id,
            dossier_code=dossier_code,
            action=str(action),
            at=at,
            actor_id=actor.id,
            actor_name=actor.name,
            role=actor.role,
            agency=actor.agency,
            reason=reason,
            code=code,
            comment=comment,
            data=data or {},
        )


# --------------------------------------------------------------------------- worklists

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DossierQuery(BaseModel):
    """Filters of a dossier list (all optional, combined with AND).

    The user's filters: ``status``, ``procedure`` (code), ``agency`` (the
    dossier's centre, competent or current agency), ``overdue``, the receipt
    window ``received_from`` .. ``received_to`` and ``q`` (case-insensitive
    substring of the dossier code or the applicant's name, or the applicant's whole ID
    number; ``%`` and ``_`` match themselves). A plain date means that whole day in Vietnam (Asia/Ho_Chi_Minh),
    both bounds inclusive; a datetime is an instant (naive means UTC), from
    inclusive, to inclusive.

    The scoping fields are set by the caller from the user's token, never from
    the request: ``scope_agency`` (same match as ``agency``),
    ``scope_account`` (the applicant account that owns the dossier) and
    ``q_matches_names`` (False: ``q`` matches the code only, for a caller who sees
    names masked: a search must not confirm a name or an ID number it may not read).
    """

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    procedure: str | None = None
    agency: str | None = None
    overdue: bool | None = None
    received_from: datetime | date | None = None
    received_to: datetime | date | None = None
    q: str | None = Field(default=None, max_length=200)
    q_matches_names: bool = True
    scope_agency: str | None = None
    scope_account: str | None = None

    @field_validator("received_from", "received_to", mode="before")
    @classmethod
    def _date_only_is_a_day(cls, v: Any) -> Any:
        if isinstance(v, str) and _DATE_ONLY.match(v.strip()):
            return date.fromisoformat(v.strip())
        return v

    @field_validator("q")
    @classmethod
    def _normalise_text(cls, v: str | None) -> str | None:
        return _search_text(v)


def _search_text(v: str | None) -> str | None:
    """A search text in NFC, trimmed; None when nothing is left."""
    if v is None:
        return None
    v = unicodedata.normalize("NFC", v).strip()
    return v or None


def id_number_in(text: str | None) -> str | None:
    """The ID number a search text is (a CMND's 9 or a CCCD's 12 digits, spaces and dots
    ignored), or None: such a text matches a dossier's applicant ID number exactly."""
    if not text:
        return None
    digits = re.sub(r"[\s.]", "", text)
    return digits if digits.isdigit() and len(digits) in (9, 12) else None


WorklistSort = Literal[
    "urgency",
    "due",
    "-due",
    "appointment",
    "-appointment",
    "received",
    "-received",
    "code",
    "-code",
]


class WorklistQuery(BaseModel):
    """What an officer narrows their queue to (all optional, combined with AND), and its
    order. ``q`` matches the dossier code (a substring); when ``q_matches_personal``, also
    the applicant's name (a substring) and, when it is an ID number, the applicant's ID
    number exactly. ``due_today``: the step's due time or the appointment falls later
    today (in Vietnam; what is past is overdue); ``overdue``: past the appointment, or the step past its due time.
    ``assignee``: the step is assigned to this officer; ``unassigned``: to nobody.
    ``unit``: every open dossier whose current step is at the agency, whatever its role
    (a leader's view of the unit), instead of the officer's own roles."""

    model_config = ConfigDict(extra="forbid")

    procedure: str | None = None
    status: Status | None = None
    due_today: bool = False
    overdue: bool = False
    assignee: str | None = None
    unassigned: bool = False
    unit: bool = False
    q: str | None = Field(default=None, max_length=200)
    q_matches_personal: bool = True
    sort: WorklistSort = "urgency"
    now: datetime | None = Field(default=None, description="for due_today and overdue")

    @field_validator("q")
    @classmethod
    def _normalise_text(cls, v: str | None) -> str | None:
        return _search_text(v)


class DossierItem(DossierSummary):
    """A dossier as listed from the read model (a stored ``dossiers`` row)."""

    status_code: int
    updated_at: datetime


class DossierPage(BaseModel):
    """One page of a dossier list, newest first; pass ``next_cursor`` back for the next page
    (None on the last page)."""

    items: list[DossierItem]
    next_cursor: str | None = None


# --------------------------------------------------------------------------- idempotency


class IdempotencyState(StrEnum):
    NEW = "new"  # the key is now yours: create the dossier, then complete the key
    COMPLETED = "completed"  # done before: answer with ``dossier_code``
    IN_PROGRESS = "in_progress"  # claimed by a request still running (or that died)
    MISMATCH = "mismatch"  # the key was used for a different request


class IdempotencyClaim(BaseModel):
    """The outcome of ``store.repository.claim_idempotency_key``."""

    state: IdempotencyState
    key: str
    principal: str
    dossier_code: str | None = None
    created_at: datetime

    @property
    def is_new(self) -> bool:
        return self.state is IdempotencyState.NEW
