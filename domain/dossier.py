"""Dossier vocabulary shared by the workflow, activities, API and read model:
statuses (national codes 1-10), actions, actors, events and the live view.

These are plain pydantic models: they travel as Temporal payloads through the
pydantic data converter and are never SQL table classes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.calendar import TimeUnit, WorkingCalendar
from domain.catalog import Procedure, ResultTemplate, Role, StepKind
from domain.checklist import IntakeChecklist
from domain.datasources import DataConsent, DataRecordSource, FetchedComponent
from domain.findings import StepFinding


class Status(StrEnum):
    """Dossier status, mapped onto the national status codes used for portal sync."""

    SUBMITTED = "submitted"  # 1 Mới đăng ký (awaiting intake)
    RECEIVED = "received"  # 2 Được tiếp nhận
    NOT_RECEIVED = "not_received"  # 3 Không được tiếp nhận
    IN_PROGRESS = "in_progress"  # 4 Đang xử lý
    SUPPLEMENT_REQUESTED = "supplement_requested"  # 5 Yêu cầu bổ sung giấy tờ
    FINANCIAL_OBLIGATION = "financial_obligation"  # 6 Yêu cầu thực hiện nghĩa vụ tài chính
    WITHDRAWAL_REQUESTED = "withdrawal_requested"  # 7 Công dân yêu cầu rút hồ sơ
    STOPPED = "stopped"  # 8 Dừng xử lý
    PROCESSED = "processed"  # 9 Đã xử lý xong
    RETURNED = "returned"  # 10 Đã trả kết quả

    @property
    def national_code(self) -> int:
        return _NATIONAL_CODES[self]

    @property
    def label_vi(self) -> str:
        return _LABELS_VI[self]

    @property
    def terminal(self) -> bool:
        return self in (Status.NOT_RECEIVED, Status.STOPPED, Status.RETURNED)


_NATIONAL_CODES = {s: i for i, s in enumerate(Status, start=1)}
_LABELS_VI = {
    Status.SUBMITTED: "Mới đăng ký",
    Status.RECEIVED: "Được tiếp nhận",
    Status.NOT_RECEIVED: "Không được tiếp nhận",
    Status.IN_PROGRESS: "Đang xử lý",
    Status.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung giấy tờ",
    Status.FINANCIAL_OBLIGATION: "Yêu cầu thực hiện nghĩa vụ tài chính",
    Status.WITHDRAWAL_REQUESTED: "Công dân yêu cầu rút hồ sơ",
    Status.STOPPED: "Dừng xử lý",
    Status.PROCESSED: "Đã xử lý xong",
    Status.RETURNED: "Đã trả kết quả",
}


class Action(StrEnum):
    """Every human action is a workflow update of the same name."""

    ACCEPT = "accept"
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT = "supplement"
    REFUSE = "refuse"
    FORWARD = "forward"
    APPRAISE = "appraise"
    APPROVE = "approve"
    REJECT = "reject"
    SIGN = "sign"
    PAY = "pay"
    RETURN = "return"
    WITHDRAW = "withdraw"
    REQUEST_EXTENSION = "request_extension"
    SCHEDULE_INSPECTION = "schedule_inspection"
    ASSIGN = "assign"  # phân công: a leader gives the step to a named officer
    CLAIM = "claim"  # nhận xử lý: an officer of the step's role takes unassigned work


class Channel(StrEnum):
    COUNTER = "counter"  # KenhThucHien 1
    ONLINE = "online"  # 2
    POST = "post"  # 3


class Actor(BaseModel):
    """Who acts: the API fills this from the caller's verified token."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    name: str = ""
    role: Role
    agency: str | None = None


SYSTEM_ACTOR = Actor(id="system", name="motcua", role=Role.SYSTEM)


def find_nul(value: Any, where: str = "") -> str | None:
    """The path of the first string holding a NUL character (PostgreSQL text cannot
    store one), or None."""
    if isinstance(value, str):
        return where or "value" if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            if "\x00" in key:
                return f"{where}.{key}" if where else key
            found = find_nul(v, f"{where}.{key}" if where else key)
            if found:
                return found
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = find_nul(v, f"{where}.{i}" if where else str(i))
            if found:
                return found
    return None


class Applicant(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    id_number: str = Field(min_length=9, max_length=12, pattern=r"^\d+$")
    phone: str = ""
    email: str = ""
    address: str = ""
    account: str | None = Field(
        default=None, description="the applicant's login subject; applicant actions must match it"
    )


class DocumentRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    filename: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    reused: bool = Field(
        default=False,
        description="named by hash, not uploaded again: data reused from the centre's store",
    )
    # A file's reference dumps as it always did (no `source` key): the events that list
    # documents keep their shape.
    source: DataRecordSource | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="taken from a national database instead of a file (sha256: of what was "
        "fetched)",
    )


class ActionInput(BaseModel):
    """The single argument of every action update."""

    actor: Actor
    comment: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    # The step the caller saw the dossier at (its `current_step.step_id`): when given,
    # the action is refused (409) if the dossier is no longer there. Checked by the
    # update's validator, so atomically with the action: a retry after a timeout never
    # completes the next step. None (and in histories recorded before): not checked.
    expected_step: str | None = None
    # The request this action answers (the API's update id, from its Idempotency-Key):
    # an action whose request was taken already is refused (`already_taken`), in this
    # run or in one before a continue-as-new (Temporal deduplicates update ids within
    # one run only). None (and in histories recorded before): not checked.
    request_id: str | None = None


class LinkedSnapshot(BaseModel):
    """A sub-procedure of a linked group, frozen at submission like the parent's own."""

    procedure: Procedure
    agency: str = Field(description="the agency that receives and resolves it")
    step_agencies: list[str]


class DossierInput(BaseModel):
    """Workflow input: everything the dossier needs, frozen at submission."""

    code: str
    procedure: Procedure
    calendar: WorkingCalendar
    centre_agency: str
    competent_agency: str
    step_agencies: list[str] = Field(description="resolved agency code of each step")
    channel: Channel
    applicant: Applicant
    documents: list[DocumentRef] = Field(default_factory=list)
    submitted_at: datetime
    submitted_by: Actor
    remote_area: bool = Field(
        default=False,
        description="mountain, island or remote commune: the procedure's extra time applies",
    )
    linked: dict[str, LinkedSnapshot] = Field(
        default_factory=dict, description="sub-procedures of linked steps, by procedure code"
    )
    parent_code: str | None = Field(
        default=None, description="set on a child dossier: the linked group it belongs to"
    )
    data_consents: list[DataConsent] = Field(
        default_factory=list,
        description="components the citizen agreed to have taken from a national database",
    )
    carried_state: DossierState | None = Field(
        default=None, description="set when the workflow continues as new"
    )
    # Boundary-free intake (Decree 118/2025): the centre the citizen collects the result at
    # when not the one they filed at (the return step's agency), or by post.
    return_agency: str | None = Field(
        default=None, description="the centre that returns the result (None: centre_agency)"
    )
    return_by_post: bool = Field(default=False, description="the result is sent by post")


class Event(BaseModel):
    """One thing that happened to a dossier. Ids are deterministic per dossier."""

    id: str
    seq: int
    dossier_code: str
    kind: str  # an Action value, or a system event: escalated, overdue, ...
    at: datetime
    actor_id: str
    actor_name: str = ""
    role: Role
    agency: str | None = None
    step_id: str | None = None
    step_kind: StepKind | None = None
    status_before: Status | None = None
    status_after: Status | None = None
    comment: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str = Field(default="", description="hash of the dossier's previous event")
    hash: str = Field(
        default="", description="SHA-256 over this event's content and prev_hash (a hash chain)"
    )

    def content_hash(self, prev_hash: str) -> str:
        """The chain hash of this event after `prev_hash`: SHA-256 of its canonical JSON
        (every field but the two hashes, the instant in UTC, keys sorted) and prev_hash.
        Computed the same way by the workflow when it emits the event and by an auditor
        from a read-model row, so an edited row no longer matches."""
        content = self.model_dump(mode="json", exclude={"hash", "prev_hash", "at"})
        content["at"] = self.at.astimezone(UTC).isoformat()
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


class Ledger(BaseModel):
    """A pausable countdown: the dossier's statutory clock, or one step's budget."""

    unit: TimeUnit
    budget_minutes: int
    extra_minutes: int = 0  # granted by an extension
    started_at: datetime | None = None
    consumed_minutes: int = 0  # used before the running segment
    running_since: datetime | None = None
    paused_since: datetime | None = None
    # Paused before the counting even began (e.g. received at night, supplement
    # asked before opening): resuming must not start earlier than counting would have.
    resume_not_before: datetime | None = None
    paused_minutes_total: int = 0  # real minutes spent paused (for reports)
    due_at: datetime | None = None


class Exclusion(BaseModel):
    start: datetime
    end: datetime | None = None
    reason: str


EscalationKind = Literal[
    "step_budget", "apology_due", "overdue", "handoff_unacknowledged", "child_unacknowledged"
]


class Escalation(BaseModel):
    at: datetime
    kind: EscalationKind
    step_id: str | None
    agency: str | None
    to_role: Role
    message: str
    to_officer: str | None = Field(
        default=None, description="the officer who assigned the late step (besides the role)"
    )


class Assignment(BaseModel):
    """Who holds a step by name (phân công): given by a leader, or claimed by the officer."""

    officer_id: str
    officer_name: str = ""
    role: Role
    agency: str
    by_id: str = Field(description="who assigned it: a leader, or the officer (a claim)")
    by_name: str = ""
    by_role: Role
    at: datetime
    claimed: bool = False


class StepRun(BaseModel):
    """One pass through a step (a step may be visited again after a supplement)."""

    index: int
    step_id: str
    kind: StepKind
    role: Role
    agency: str
    started_at: datetime
    ended_at: datetime | None = None
    ledger: Ledger
    escalated_at: datetime | None = None
    outcome: str | None = None
    actor_id: str | None = None
    verdict: Literal["early", "on_time", "late"] | None = None  # trước hạn / đúng hạn / quá hạn
    assignment: Assignment | None = None  # the named officer holding this run, if any


class ChildRun(BaseModel):
    """One sub-procedure of a linked step, run as a child dossier at its agency."""

    index: int
    code: str
    procedure_code: str
    procedure_name: str
    agency: str
    started_at: datetime | None = None
    ack_due_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    escalated_at: datetime | None = None
    appointment_at: datetime | None = None  # the sub-dossier's own statutory appointment
    finished_at: datetime | None = None
    outcome: str | None = None
    status: Status | None = None


class Overdue(BaseModel):
    at: datetime
    appointment: datetime
    step_id: str | None
    agency: str | None
    late_steps: list[str] = Field(default_factory=list)


class Inspection(BaseModel):
    """A site inspection (kiểm tra hiện trạng) scheduled during appraisal."""

    at: datetime
    place: str = ""
    scheduled_at: datetime
    by: str
    agency: str | None
    step_id: str
    reminded: bool = False


class Extension(BaseModel):
    at: datetime
    by: str
    agency: str | None
    reason: str
    previous_appointment: datetime
    new_appointment: datetime


class ResultRequest(BaseModel):
    """What the issuing activities need to render, sign and seal the result: decided
    by the machine from the dossier's state, so a retry renders the same document."""

    action: Action
    number: str
    kind_title: str
    granted: bool
    decision_text: str
    reasons: str
    signer: Actor
    signer_title: str
    signing_agency: str
    seal_agency: str = Field(
        description="the issuing agency whose seal follows the signature (kept and applied at the centre)"
    )
    legal_basis: list[str]
    requested_at: datetime
    template: ResultTemplate | None = Field(
        default=None, description="the procedure's result template (granted results only)"
    )


class ResultDocument(BaseModel):
    """The signed and sealed result, as recorded in the dossier's events."""

    document_id: str
    title: str = ""
    filename: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int
    number: str
    granted: bool
    signer_id: str
    signer_name: str
    signing_agency: str
    sealed_by: str | None = None
    signatures: list[str] = Field(default_factory=list, description="signature field names")
    timestamped: bool = False
    issued_at: datetime


class Issuing(BaseModel):
    """A signature in progress: the signer acted, the signing activities are running."""

    action: Action
    actor: Actor
    started_at: datetime


class AgencyMove(BaseModel):
    """An agency's open work taken over by its successor (communes merged, two-level
    local government): from then on the dossier's steps at `from_agency` are at
    `to_agency`; the intake centre it was received at stays as it was."""

    model_config = ConfigDict(frozen=True)

    from_agency: str = Field(min_length=1)
    to_agency: str = Field(min_length=1)
    decision: str = Field(default="", description="the merger resolution, e.g. NQ 1234/NQ-UBTVQH15")
    at: datetime | None = None


class MoveAgencyInput(BaseModel):
    """The `move_agency` update: who moves the dossier's work from which agency to which."""

    actor: Actor
    from_agency: str = Field(min_length=1)
    to_agency: str = Field(min_length=1)
    decision: str = ""
    request_id: str | None = None


class FeePayment(BaseModel):
    """A fee payment the machine accepted: checked against the catalog (domain/fees.py)."""

    stage: str  # intake | payment | return
    amount_vnd: int
    method: str
    copies: int = 1
    group: str | None = None  # the exempted group named, if any
    collector: str = Field(description="the agency that collected it (its receipt series)")
    at: datetime
    actor_id: str
    event_id: str
    online: bool = False  # confirmed by a gateway


class DossierState(BaseModel):
    """The whole mutable state; carried across continue-as-new."""

    status: Status = Status.SUBMITTED
    step_index: int = 0
    runs: list[StepRun] = Field(default_factory=list)
    clock: Ledger | None = None  # None until the dossier is received complete
    received_at: datetime | None = None  # receipt of the complete dossier (clock basis)
    arrival_at: datetime | None = None  # when the latest (complete?) dossier arrived
    exclusions: list[Exclusion] = Field(default_factory=list)
    supplement_requests: int = 0
    supplement_requested_at: datetime | None = None
    supplement_due_at: datetime | None = None
    supplement_stage: StepKind | None = None
    documents: list[DocumentRef] = Field(default_factory=list)
    extensions: list[Extension] = Field(default_factory=list)
    inspections: list[Inspection] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    apology_warned: bool = False
    overdue: Overdue | None = None
    outcome: Literal["granted", "refused", "withdrawn", "not_received", "abandoned"] | None = None
    decided_at: datetime | None = None
    processed_at: datetime | None = None  # result ready (Đã xử lý xong): the 766 end time
    closed_at: datetime | None = None
    handoff_acks: list[dict[str, Any]] = Field(default_factory=list)
    forms: list[dict[str, Any]] = Field(default_factory=list)
    children: list[ChildRun] = Field(default_factory=list)
    event_seq: int = 0
    decision_note: str = ""  # the approval's or refusal's text, printed on the result
    chain_head: str = ""  # hash of the last event (the read model's chain must end here)
    issuing: Issuing | None = None
    result: ResultDocument | None = None
    signing_failures: int = 0
    # The last requests taken (`ActionInput.request_id`), carried across continue-as-new.
    requests_taken: list[str] = Field(default_factory=list)
    # What each step concluded (domain/findings.py), for the next holders to read.
    findings: list[StepFinding] = Field(default_factory=list)
    # What each consented component's database answered (domain/datasources.py).
    data_fetches: list[FetchedComponent] = Field(default_factory=list)
    agency_moves: list[AgencyMove] = Field(
        default_factory=list, description="agencies whose work the dossier moved to successors"
    )
    # The fees paid, as checked against the catalog (behind the fees patch).
    fee_payments: list[FeePayment] = Field(default_factory=list)


class AllowedAction(BaseModel):
    action: Action
    role: Role
    agency: str | None
    step_id: str | None = None
    officer_id: str | None = Field(
        default=None, description="only this officer (the step's assignee) may take it"
    )
    officer_name: str = ""


class StepView(BaseModel):
    index: int
    step_id: str
    name: str
    kind: StepKind
    role: Role
    agency: str
    budget: str
    started_at: datetime | None = None
    due_at: datetime | None = None
    ended_at: datetime | None = None
    escalated: bool = False
    verdict: str | None = None
    assignment: Assignment | None = Field(
        default=None, description="the named officer who holds (or held) the step"
    )


class DossierView(BaseModel):
    """What the state query returns: the whole live picture of a dossier."""

    code: str
    procedure_code: str
    procedure_version: int
    procedure_name: str
    status: Status
    status_code: int
    status_label: str
    channel: Channel
    centre_agency: str
    competent_agency: str
    submitted_at: datetime
    received_at: datetime | None
    appointment_at: datetime | None
    original_appointment_at: datetime | None
    current_step: StepView | None
    holder: AllowedAction | None = Field(description="who must act now")
    steps: list[StepView]
    clock_unit: TimeUnit
    clock_budget_minutes: int
    clock_consumed_minutes: int
    clock_paused: bool
    paused_since: datetime | None
    time_paused_minutes: int
    exclusions: list[Exclusion]
    supplement_requests: int
    supplement_due_at: datetime | None
    extensions: list[Extension]
    escalations: list[Escalation]
    overdue: Overdue | None
    outcome: str | None
    decided_at: datetime | None
    processed_at: datetime | None
    closed_at: datetime | None
    allowed_actions: list[AllowedAction]
    forms: list[dict[str, Any]]
    handoff_acks: list[dict[str, Any]]
    calendar_version: str
    children: list[ChildRun] = Field(default_factory=list)
    inspections: list[Inspection] = Field(default_factory=list)
    parent_code: str | None = None
    documents: list[DocumentRef] = Field(
        default_factory=list, description="the dossier's documents (references, no content)"
    )
    checklist: IntakeChecklist | None = Field(
        default=None,
        description="the procedure's components (thành phần hồ sơ), the files or reused "
        "records that satisfy each, and the required ones missing",
    )
    applicant_account: str | None = Field(
        default=None, description="login subject of the applicant who may act on it"
    )
    event_seq: int = Field(
        description="events so far; the read model has caught up when its last_event_seq equals this"
    )
    issuing: Issuing | None = Field(
        default=None, description="a signature in progress (the signing activities are running)"
    )
    result: ResultDocument | None = Field(
        default=None, description="the signed, sealed result document, once issued"
    )
    chain_head: str = Field(
        default="", description="hash of the last event: where the read model's chain must end"
    )
    handoff_pending: bool = Field(
        default=False,
        description="a handoff to the receiving agency is due or in flight (automatic, or "
        "forwarded): the next step's actions wait for its acknowledgement",
    )
    findings: list[StepFinding] = Field(
        default_factory=list,
        description="what the steps so far concluded, oldest first: the latest of each "
        "action at each step (the appraisal's opinion and recommendation, the approval ...)",
    )
    assignment: Assignment | None = Field(
        default=None, description="the named officer the current step is assigned to"
    )
    return_agency: str | None = Field(
        default=None,
        description="the centre the citizen collects the result at, when not the one they "
        "filed at (boundary-free intake)",
    )
    return_by_post: bool = Field(default=False, description="the result is sent by post")
    agency_moves: list[AgencyMove] = Field(
        default_factory=list,
        description="agencies whose work moved to a successor (merged communes); "
        "centre_agency stays the centre it was received at",
    )
    fee_due_vnd: int | None = Field(
        default=None,
        description="the fees (phí, lệ phí) a payment (`pay`) now must come to, for an "
        "applicant of no exempted group; None: none is open or the catalog sets no amount",
    )


class DossierDetail(BaseModel):
    """The `detail` query's answer: the live view and the applicant it concerns. The view
    alone (`state`) carries no personal data: it travels in activity inputs and update
    results, which need none."""

    view: DossierView
    applicant: Applicant


class ChildSignal(BaseModel):
    """What a child dossier tells its parent: that its agency has it, and how it ended."""

    code: str
    at: datetime
    worker: str = ""
    outcome: str | None = None
    status: Status | None = None
    appointment_at: datetime | None = None
    documents: list[DocumentRef] = Field(
        default_factory=list, description="the child's documents, results included"
    )


DossierInput.model_rebuild()
