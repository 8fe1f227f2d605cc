"""Request and response bodies of the HTTP API (what OpenAPI documents)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    computed_field,
    field_validator,
    model_validator,
)

from api.messages import T
from domain.calendar import Duration
from domain.catalog import Role, Step
from domain.checklist import IntakeChecklist
from domain.dossier import (
    Action,
    Applicant,
    Channel,
    DocumentRef,
    DossierView,
    Status,
    find_nul,
)
from domain.machine.messages import T as MACHINE
from domain.working_time import TimeLeft
from infra.settings import MAX_UPLOAD_CEILING

# The schema's ceiling for one file (base64 longer than this is refused unread);
# the configured limit, MOTCUA_MAX_UPLOAD_BYTES (at most this), answers 413 below it.
MAX_DOCUMENT_BYTES = MAX_UPLOAD_CEILING


class ApiModel(BaseModel):
    """Request bodies: no NUL characters anywhere (PostgreSQL text cannot hold them)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        nul = find_nul(data)
        if nul:
            raise ValueError(MACHINE("nul", where=nul))
        return data


class DocumentIn(ApiModel):
    """A document given either as its content (base64) or as the SHA-256 of a file
    already held by the centre (e.g. from the citizen's data store)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[a-z0-9_]+$",
        description="the component (thành phần hồ sơ) it satisfies: a `kind` of the "
        "procedure's `documents`; a file of another kind is kept and listed apart",
    )
    filename: str = Field(min_length=1, max_length=255)
    content_base64: str | None = Field(default=None, max_length=(MAX_DOCUMENT_BYTES * 4) // 3 + 4)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    # Sent in this request as a multipart file (api/uploads.py), named here by the
    # sha256 it was stored under: not a file the centre already held.
    _uploaded: bool = PrivateAttr(default=False)

    def mark_uploaded(self) -> None:
        self._uploaded = True

    @property
    def uploaded(self) -> bool:
        return self._uploaded

    @field_validator("filename")
    @classmethod
    def _a_name_not_a_path(cls, v: str) -> str:
        # The store keys files by SHA-256, never by name; still, a name that is a path
        # ("../x", "/etc/x", "a\\b", also percent-encoded) or holds control characters
        # is not a file's name, and would reach every reader's Content-Disposition.
        name = unquote(v)
        if "/" in name or "\\" in name:
            raise ValueError(T("schema_file_name_path"))
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValueError(T("schema_control_chars"))
        if not name.strip(". "):
            raise ValueError(T("schema_not_file_name"))
        return v

    @model_validator(mode="after")
    def _one_of(self) -> DocumentIn:
        if (self.content_base64 is None) == (self.sha256 is None):
            raise ValueError(T("schema_content_or_sha"))
        if self.content_base64 is not None:
            content = self.content()
            digest = hashlib.sha256(content).hexdigest()
            if self.sha256 is not None and self.sha256 != digest:
                raise ValueError(T("schema_sha_mismatch"))
        return self

    def content(self) -> bytes:
        if self.content_base64 is None:
            return b""
        try:
            return base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(T("schema_base64")) from None

    def ref(self) -> DocumentRef:
        digest = self.sha256 or hashlib.sha256(self.content()).hexdigest()
        # Named by hash only: a file the centre already holds, reused (766 indicator 4.3).
        reused = self.content_base64 is None and not self._uploaded
        return DocumentRef(kind=self.kind, filename=self.filename, sha256=digest, reused=reused)


class ApplicantIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    id_number: str = Field(pattern=r"^\d{9}$|^\d{12}$", description="CMND (9) or CCCD (12 digits)")
    phone: str = Field(default="", max_length=20, pattern=r"^[0-9+ ]*$")
    email: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=500)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if v and ("@" not in v or v.startswith("@") or v.endswith("@")):
            raise ValueError(T("schema_email"))
        return v

    def to_domain(self, account: str | None) -> Applicant:
        return Applicant(**self.model_dump(), account=account)


class DataConsentIn(ApiModel):
    """The citizen's consent that one component be taken from its national database
    instead of a paper (NQ 66.7/2025/NQ-CP). Online, the applicant gives it; at the
    counter, the intake officer records that the citizen gave it."""

    model_config = ConfigDict(extra="forbid")

    component: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[a-z0-9_]+$",
        description="a component of the procedure whose `source` names a database",
    )
    consent: Literal[True] = Field(description="the citizen agrees (must be true)")
    subject_ids: list[Annotated[str, Field(pattern=r"^\d{9}$|^\d{12}$")]] = Field(
        min_length=1,
        max_length=4,
        description="the personal identification numbers whose records are needed (the "
        "parents', for a birth registration)",
    )
    declared: list[
        dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=50)], str]
    ] = Field(
        default_factory=list,
        max_length=4,
        description="what the citizen declared for each person, in the order of "
        "`subject_ids` (field: value); a record that disagrees is wrong data (the citizen "
        "is asked to supplement and to have the database corrected)",
    )

    @model_validator(mode="after")
    def _declared_per_person(self) -> DataConsentIn:
        if len(self.declared) > len(self.subject_ids):
            raise ValueError(T("schema_declared_per_person"))
        for person in self.declared:
            if len(person) > 20 or any(len(x) > 500 for x in person.values()):
                raise ValueError(T("schema_declared_size"))
        return self


class SubmitDossier(ApiModel):
    model_config = ConfigDict(extra="forbid")

    procedure_code: str = Field(pattern=r"^\d\.\d{6}$")
    applicant: ApplicantIn
    channel: Channel = Channel.COUNTER
    documents: list[DocumentIn] = Field(default_factory=list, max_length=50)
    centre_agency: str | None = Field(
        default=None,
        max_length=40,
        description="the centre that receives it (any centre for a boundary-free procedure, "
        "Decree 118/2025); default: an intake officer's own centre, else the deployment's",
    )
    return_agency: str | None = Field(
        default=None,
        max_length=40,
        description="the centre where the citizen collects the result (default: where filed)",
    )
    return_by_post: bool = Field(
        default=False, description="the result is sent by post (bưu chính công ích)"
    )
    remote_area: bool = Field(
        default=False,
        description="the land or applicant is in a mountain, island or remote commune "
        "(the procedure's extra time applies)",
    )
    data_consents: list[DataConsentIn] = Field(
        default_factory=list,
        max_length=10,
        description="components to take from a national database, with the citizen's "
        "consent; fetched at intake, and shown in the checklist with their source",
    )


class ApplicantOut(BaseModel):
    """The applicant as the caller may see them (api/privacy.py, docs/personal-data.md):
    in clear for the applicant, the officers of the agencies on the dossier and auditors;
    masked for anyone else who may read the dossier. (Public tracking shows none of it.)"""

    masked: bool = Field(description="true: the values below are masked")
    name: str = Field(description='masked: each word\'s initial, "N*** V*** A***"')
    id_number: str = Field(description='masked: "0010******45"')
    phone: str = Field(description='masked: "09******78"')
    email: str = Field(description='masked: "a***@example.vn"')
    address: str | None = Field(description="null when masked: an address is hidden")


class Countdowns(BaseModel):
    """Working time left, counted at the moment of the request by the working calendar."""

    time_left: TimeLeft | None = Field(
        default=None,
        description="to the appointment, in the clock's own unit; paused with the reason; "
        "null before the clock starts and once the dossier is processed",
    )
    step_time_left: TimeLeft | None = Field(
        default=None, description="to the current step's due time, in its budget's unit"
    )
    supplement_time_left: TimeLeft | None = Field(
        default=None,
        description="the applicant's time left to supplement, in its own unit "
        "(the dossier's own read only)",
    )


class DossierOut(DossierView, Countdowns):
    """The live state of a dossier, with its applicant as the caller may see them."""

    applicant: ApplicantOut | None = Field(
        default=None, description="null only for a dossier whose worker predates this field"
    )
    forms: list[DocumentOut] = Field(  # type: ignore[assignment]
        default_factory=list,
        description="the forms issued so far (01 receipt, 02 supplement request, 03 refusal, "
        "04 apology, 05 stop, 06 control slip), each with its download link, as the "
        "documents list has them (a moment behind an action that issues one)",
    )


class Link(BaseModel):
    href: str
    method: str = "GET"


class DossierCreated(BaseModel):
    code: str
    status: Status
    status_code: int
    submitted_at: datetime
    appointment_at: datetime | None
    checklist: IntakeChecklist | None = Field(
        default=None,
        description="the procedure's components and which file satisfies each; a required "
        "one missing (`missing`) holds an online dossier at intake until it is supplemented",
    )
    links: dict[str, Link]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_label(self) -> str:
        """The national status in Vietnamese."""
        return self.status.label_vi


class ActionRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    comment: str = Field(default="", max_length=4000)
    data: dict[str, Any] = Field(default_factory=dict)
    role: Role | None = Field(
        default=None, description="which of the caller's roles acts (when the token has several)"
    )
    expected_step: str | None = Field(
        default=None,
        max_length=100,
        description=(
            "the step the caller saw the dossier at (`current_step.step_id`): if the dossier "
            "is no longer there, 409 naming where it is, and nothing is done"
        ),
    )


class SupplementRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=4000)
    documents: list[DocumentIn] = Field(min_length=1, max_length=50)
    expected_step: str | None = Field(
        default=None,
        max_length=100,
        description=(
            "the step the caller saw the dossier at (`current_step.step_id`): if the dossier "
            "is no longer there, 409 naming where it is, and nothing is done"
        ),
    )


class WithdrawRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(min_length=1, max_length=4000, description="the applicant's reason")
    expected_step: str | None = Field(
        default=None,
        max_length=100,
        description=(
            "the step the caller saw the dossier at (`current_step.step_id`): if the dossier "
            "is no longer there, 409 naming where it is, and nothing is done"
        ),
    )


class ProcedureSummary(BaseModel):
    code: str
    code_placeholder: bool = Field(
        default=False,
        description="the code is a stand-in (mã tạm), not a national procedure code",
    )
    version: int
    name: str
    field: str
    level: str
    competent_agency: str
    statutory_time: Duration
    on_the_spot: bool


class ProcedureDetail(ProcedureSummary):
    legal_basis: list[str]
    effective_from: date
    effective_to: date | None
    receipt_cutoff: str | None
    steps: list[Step]
    documents: list[dict[str, Any]]
    fees: list[dict[str, Any]]


class DossierListItem(Countdowns):
    code: str
    procedure_code: str
    procedure_name: str
    status: str
    status_code: int
    channel: str
    centre_agency: str
    competent_agency: str
    current_step_id: str | None
    current_agency: str | None
    current_role: str | None
    step_due_at: datetime | None
    submitted_at: datetime
    received_at: datetime | None
    appointment_at: datetime | None
    overdue: bool
    escalated: bool
    outcome: str | None
    applicant_name: str
    closed_at: datetime | None
    assignee_id: str | None = Field(
        default=None, description="the officer the current step is assigned to (phân công)"
    )
    assignee_name: str | None = None
    assigned_by: str | None = Field(
        default=None, description="who assigned it: a leader, or the officer (a claim)"
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_label(self) -> str:
        """The national status in Vietnamese."""
        try:
            return Status(self.status).label_vi
        except ValueError:
            return self.status


class DossierList(BaseModel):
    items: list[DossierListItem]
    next_cursor: str | None


class AgencyOut(BaseModel):
    code: str
    name: str
    kind: str
    level: str
    parent: str | None
    place: str | None = Field(
        default=None, description="where its documents are dated (None: its parent's)"
    )
    valid_from: date | None = Field(
        default=None, description="the first day it exists (None: since before the catalog)"
    )
    valid_to: date | None = Field(
        default=None,
        description="the last day it exists (None: still in operation); after it, it receives "
        "no new dossier and returns no result, its open dossiers move to `successor`",
    )
    successor: str | None = Field(
        default=None, description="the agency that takes over its work after `valid_to`"
    )
    current_successor: str | None = Field(
        default=None,
        description="the agency doing its work today: `successor`, or that one's successor, "
        "and so on (None: no successor)",
    )
    in_operation: bool = Field(
        description="valid today (Viet Nam time): a centre in operation may receive dossiers "
        "and return results"
    )


class WorklistItem(DossierListItem):
    current_step_name: str | None = None


class Worklist(BaseModel):
    agency: str
    roles: list[str]
    items: list[WorklistItem] = Field(description="in the order asked, at most `limit`")
    total: int = Field(description="how many dossiers match, on every page")
    offset: int = 0
    limit: int = 100
    next_offset: int | None = Field(
        default=None, description="the next page's `offset`; None on the last page"
    )


class OfficerOut(BaseModel):
    sub: str = Field(description="the login id: what `assign` names in data.assignee")
    name: str
    roles: list[str]


class Officers(BaseModel):
    agency: str
    officers: list[OfficerOut] = Field(description="by name")


class EventOut(BaseModel):
    id: str
    seq: int
    kind: str
    at: datetime
    actor_id: str
    actor_name: str
    role: str
    agency: str | None
    step_id: str | None
    step_kind: str | None
    status_before: str | None
    status_after: str | None
    comment: str
    data: dict[str, Any]


class RefusedAttemptOut(BaseModel):
    action: str
    at: datetime
    actor_id: str
    actor_name: str
    role: str
    agency: str | None
    code: str
    reason: str
    comment: str


class EventsOut(BaseModel):
    code: str
    events: list[EventOut]
    refused_attempts: list[RefusedAttemptOut]


class TrackingOut(BaseModel):
    code: str
    procedure_name: str
    status: str
    status_code: int
    status_label: str
    step: str | None
    appointment_at: datetime | None
    time_left: TimeLeft | None = Field(
        default=None,
        description="working time left to the appointment at the moment of the request; "
        "while the clock is paused, why and what is left",
    )


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(
        default_factory=dict,
        description='each check\'s verdict: "ok", "unavailable: <why>", or "skipped: <why>" '
        "(a check that needs a failing one)",
    )
    failing: list[str] = Field(
        default_factory=list,
        description="the names of the failing checks: database, read_model, temporal, workers",
    )
    message: str | None = Field(default=None, description="what is wrong, for people")


class DocumentOut(BaseModel):
    id: str
    dossier_code: str
    form: str = Field(
        description='"01".."07" (Circular 03/2025 forms), "result", or an upload\'s kind'
    )
    source: str = Field(
        description="form, result, upload, or database (a component taken from a national "
        "database: no file to download)"
    )
    title: str
    filename: str
    media_type: str
    size: int
    sha256: str
    signers: list[str] = Field(description='"signer:<user>@<agency>", "seal:<agency>"')
    created_at: datetime
    event_id: str | None
    href: str


class DocumentsOut(BaseModel):
    code: str
    documents: list[DocumentOut]


DossierOut.model_rebuild()  # its forms are DocumentOut, defined below it
