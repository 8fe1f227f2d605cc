"""The procedure catalog: agencies and versioned procedure definitions.

A procedure definition is data (procedures/*.yaml). It is validated at load, and
the version in force on the day of receipt is snapshotted into each dossier's
workflow input, so catalog edits never change a running dossier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.calendar import Duration, TimeUnit
from domain.catalog_messages import CatalogProblem, T
from domain.datasources import ComponentSource
from domain.i18n import DEFAULT_LANG, Lang, Text
from domain.validation import error_text


class Role(StrEnum):
    APPLICANT = "applicant"
    INTAKE_OFFICER = "intake_officer"
    SPECIALIST = "specialist"
    LEADER = "leader"
    SIGNER = "signer"
    RETURN_OFFICER = "return_officer"
    AUDITOR = "auditor"
    ADMIN = "admin"
    # The provincial office's officer who owns the procedure catalog: drafts, checks and
    # publishes versions, imports and exports (docs/catalog.md). Acts on no dossier.
    CATALOG_ADMIN = "catalog_admin"
    SYSTEM = "system"


class StepKind(StrEnum):
    INTAKE = "intake"
    HANDOFF = "handoff"
    APPRAISAL = "appraisal"
    CONSULTATION = "consultation"
    APPROVAL = "approval"
    SIGNATURE = "signature"
    PAYMENT = "payment"
    LINKED = "linked"  # sub-procedures of other agencies, run as child dossiers
    RETURN = "return"


# Which roles may own a step of each kind. The law separates them: the counter
# receives and returns, the competent agency appraises, approves and signs.
ROLES_FOR_KIND: dict[StepKind, frozenset[Role]] = {
    StepKind.INTAKE: frozenset({Role.INTAKE_OFFICER}),
    StepKind.HANDOFF: frozenset({Role.INTAKE_OFFICER, Role.SYSTEM}),
    StepKind.APPRAISAL: frozenset({Role.SPECIALIST}),
    StepKind.CONSULTATION: frozenset({Role.SPECIALIST, Role.LEADER}),
    StepKind.APPROVAL: frozenset({Role.LEADER}),
    StepKind.SIGNATURE: frozenset({Role.SIGNER, Role.LEADER}),
    StepKind.PAYMENT: frozenset({Role.APPLICANT, Role.INTAKE_OFFICER, Role.RETURN_OFFICER}),
    StepKind.LINKED: frozenset({Role.SYSTEM}),
    StepKind.RETURN: frozenset({Role.RETURN_OFFICER}),
}

AGENCY_CODE = re.compile(r"^[A-Z0-9]{1,4}(\.[A-Z0-9]{1,4}){1,4}$")
PROCEDURE_CODE = re.compile(r"^\d\.\d{6}$")
SLUG = re.compile(r"^[a-z][a-z0-9_]*$")

# Step owners name an agency by its place in the dossier, or by code.
CENTRE = "centre"  # the one-stop centre that receives the dossier
COMPETENT = "competent"  # the agency that decides


class AgencyKind(StrEnum):
    CENTRE = "centre"  # Trung tâm Phục vụ hành chính công (province or commune)
    PEOPLES_COMMITTEE = "peoples_committee"
    DEPARTMENT = "department"
    POLICE = "police"
    TAX = "tax"
    LAND_REGISTRY = "land_registry"
    SOCIAL_INSURANCE = "social_insurance"
    OTHER = "other"


class Agency(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(description="electronic identifier (Decision 20/2020/QĐ-TTg style)")
    name: str
    kind: AgencyKind
    level: Literal["province", "commune", "central"] = "province"
    parent: str | None = None
    # Where its documents are dated ("Cao Bằng, ngày ..."): the province's name for a
    # provincial agency, the commune's for a commune's (Decree 30/2020, Appendix I);
    # None: its parent's.
    place: str | None = None
    # Two-level local government (from 01/7/2025): communes merge, and an agency's code
    # stops being used on a day; its open work goes to its successor (`motcua agencies
    # merge`). None: valid since before the catalog, or still valid.
    valid_from: date | None = None
    valid_to: date | None = Field(default=None, description="the last day it exists")
    successor: str | None = Field(
        default=None, description="the agency that takes over its work after valid_to"
    )

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not AGENCY_CODE.match(v):
            raise CatalogProblem("agency_code", value=v)
        return v

    @model_validator(mode="after")
    def _validity(self) -> Agency:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise CatalogProblem("valid_to")
        if self.successor == self.code:
            raise CatalogProblem("own_successor")
        return self

    @property
    def task_queue(self) -> str:
        return agency_task_queue(self.code)

    def active_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


def agency_task_queue(code: str) -> str:
    return f"motcua-agency-{code}"


class LinkedChild(BaseModel):
    """One sub-procedure of a linked group (liên thông)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    procedure: str = Field(description="national code of the sub-procedure in the catalog")
    agency: str | None = Field(
        default=None, description="the agency that resolves it (default: its competent agency)"
    )
    statutory_time: Duration | None = Field(
        default=None,
        description="its time inside the group, when the group's law sets a shorter one",
    )
    after: list[str] = Field(
        default_factory=list,
        description="sub-procedures (codes) whose results it needs first; by default the "
        "previous child, or none when the step is parallel",
    )


class Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: StepKind
    name: str
    role: Role
    agency: str = Field(default=COMPETENT, description="'centre', 'competent' or an agency code")
    budget: Duration
    auto: bool = Field(
        default=True,
        description="handoff only: sent by the system on entering the step; false waits for 'forward'",
    )
    pauses_clock: bool = Field(
        default=False,
        description="time spent in this step is excluded from the statutory clock "
        "(financial obligation, expert assessment, public posting)",
    )
    deemed_consent: bool = Field(
        default=False,
        description="consultation only: silence until the budget ends counts as consent "
        "(Construction Law Art. 102: 12 days)",
    )
    children: list[LinkedChild] = Field(
        default_factory=list,
        description="linked only: the sub-procedures, each a child dossier at its agency",
    )
    parallel: bool = Field(default=False, description="linked only: start the children together")
    on_child_refused: Literal["refuse", "continue"] = Field(
        default="refuse",
        description="linked only: a refused child refuses the whole dossier, or the rest go on",
    )

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise CatalogProblem("slug", value=v)
        return v

    @model_validator(mode="after")
    def _role_fits_kind(self) -> Step:
        if self.kind is StepKind.HANDOFF and self.agency == CENTRE:
            raise CatalogProblem("handoff_agency")
        if self.kind is StepKind.LINKED and not self.children:
            raise CatalogProblem("linked_no_children")
        if self.children and self.kind is not StepKind.LINKED:
            raise CatalogProblem("children_not_linked")
        codes = [c.procedure for c in self.children]
        for c in self.children:
            unknown = [a for a in c.after if a not in codes or a == c.procedure]
            if unknown:
                raise CatalogProblem("children_after", procedure=c.procedure, after=str(unknown))
        if self.deemed_consent and self.kind is not StepKind.CONSULTATION:
            raise CatalogProblem("deemed_consent")
        allowed = ROLES_FOR_KIND[self.kind]
        if self.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise CatalogProblem(
                "role_kind", role=self.role.value, kind=self.kind.value, allowed=names
            )
        return self


class RequiredDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    name: str
    copies: int = Field(default=1, ge=1)
    original: bool = False
    required: bool = True
    source: ComponentSource | None = Field(
        default=None,
        description="a national database that supplies it instead of a paper, with the "
        "citizen's consent (NQ 66.7/2025/NQ-CP; domain/datasources.py)",
    )


class ResultKind(StrEnum):
    PERMIT = "permit"  # giấy phép
    CERTIFICATE = "certificate"  # giấy chứng nhận
    DECISION = "decision"  # quyết định
    NOTICE = "notice"  # văn bản thông báo / xác nhận
    REGISTRATION = "registration"  # đăng ký (trích lục, xác nhận đăng ký)


# Where a result's field takes its value from (ResultField.source):
#   applicant.<name|id_number|address|phone|email>   the applicant's particulars;
#   dossier.<code|procedure_name|procedure_code|received_at|submitted_at>;
#   result.<number|date|decision_text>               the result's own number, date, note;
#   finding.<action>.<key>                           what a step concluded: the latest
#       finding of that action (appraise, approve, schedule_inspection, ...), its `comment`,
#       `actor_name`, `at`, or a key of its data (opinion, recommendation, place, ...);
#   text                                             the field's own `text`, printed as is.
RESULT_SOURCE = re.compile(
    r"^(?:applicant\.(?:name|id_number|address|phone|email)"
    r"|dossier\.(?:code|procedure_name|procedure_code|received_at|submitted_at)"
    r"|result\.(?:number|date|decision_text)"
    r"|finding\.[a-z_]+\.[a-z_]+"
    r"|text)$"
)
_PLACEHOLDER = re.compile(r"\{([a-z_.]+)\}")


def _check_source(source: str) -> str:
    if not RESULT_SOURCE.match(source):
        raise CatalogProblem("unknown_source", source=repr(source))
    return source


class ResultField(BaseModel):
    """One line of the result: its printed label and where its value comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    label: str = Field(min_length=1, description="printed label: Họ và tên, Án tích, ...")
    source: str = Field(
        alias="from", description="where the value comes from (RESULT_SOURCE); text: `text`"
    )
    text: str = Field(
        default="", description="the value when source is text; else printed when it is empty"
    )
    uncertain: bool = Field(
        default=False, description="the field's presence or wording is not verified in law"
    )

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        return _check_source(value)


class ResultTemplate(BaseModel):
    """What the granted result holds, per procedure: its prescribed form, the lines it
    carries and where each comes from, and the closing lines (validity, duties). Text in
    `intro` and `closing` may name a source in braces: "{applicant.name}", "{result.date}".
    What is not verified against the form's legal text is marked `uncertain`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    form: str = Field(default="", description="the prescribed form: Mẫu số ..., its circular")
    basis: list[str] | None = Field(
        default=None,
        description="the 'Căn cứ' lines the result prints; the procedure's legal_basis if unset",
    )
    heading: str = Field(default="CHỨNG NHẬN:", description="the line above the fields")
    intro: list[str] = Field(default_factory=list, description="paragraphs before the heading")
    fields: list[ResultField] = Field(min_length=1)
    closing: list[str] = Field(
        default_factory=list, description="paragraphs after the fields: validity, duties"
    )
    uncertain: str = Field(
        default="", description="what of this template is not verified, and against what"
    )

    @model_validator(mode="after")
    def _known_placeholders(self) -> ResultTemplate:
        for line in (*self.intro, *self.closing):
            for name in _PLACEHOLDER.findall(line):
                _check_source(name)
        return self


class ResultSpec(BaseModel):
    """The document a procedure produces: what the signer signs and the centre seals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ResultKind = ResultKind.DECISION
    title: str = Field(description="printed title, e.g. GIẤY PHÉP XÂY DỰNG")
    number_suffix: str = Field(
        default="QĐ", description="the register's symbol after the number: 12/GP-UBND"
    )
    signer_title: str = Field(
        default="THỦ TRƯỞNG CƠ QUAN", description="printed above the signature: CHỦ TỊCH, ..."
    )
    template: ResultTemplate | None = Field(
        default=None,
        description="what the granted result holds; without one it names the applicant, "
        "the procedure and the approval note",
    )


# A closed dossier's result type: how it ended (domain.dossier.DossierState.outcome).
RESULT_TYPES = ("granted", "refused", "withdrawn", "not_received", "abandoned")
PERMANENT = "permanent"
RetentionPeriod = Annotated[int, Field(ge=1, le=100)] | Literal["permanent"]


class Retention(BaseModel):
    """How long the archive keeps a closed dossier of the procedure, per result type:
    years from the day it closed, or "permanent" (Law on Archives No. 33/2024/QH15 and the
    retention schedule of its implementing circular; the periods of the shipped catalog
    are [uncertain] and meant to be set by the archives officer). A result type not named
    here is kept MOTCUA_RETENTION_DEFAULT_YEARS (`motcua retention list`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    granted: RetentionPeriod | None = Field(default=None, description="a result was issued")
    refused: RetentionPeriod | None = Field(default=None, description="refused with reasons")
    withdrawn: RetentionPeriod | None = Field(default=None, description="the applicant withdrew")
    not_received: RetentionPeriod | None = Field(default=None, description="refused at intake")
    abandoned: RetentionPeriod | None = Field(
        default=None, description="closed: the supplement never came"
    )

    def period(self, result_type: str | None) -> RetentionPeriod | None:
        """The period named for `result_type` (None: not named, the default applies)."""
        if result_type not in RESULT_TYPES:
            return None
        value: RetentionPeriod | None = getattr(self, result_type)
        return value


class FeeKind(StrEnum):
    """Law on Fees and Charges No. 97/2015/QH13: a phí pays for a public service, a lệ phí
    for a State administrative task; a giá dịch vụ is a price the province sets."""

    PHI = "phi"
    LE_PHI = "le_phi"
    GIA_DICH_VU = "gia_dich_vu"


class FeeExemption(BaseModel):
    """A group the law lets pay less or nothing (miễn, giảm): the intake officer names
    the group (and sees its proof) when recording the payment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group: str = Field(description="slug the officer names, e.g. tre_em, nguoi_co_cong")
    name: str = Field(description="the group as the law names it")
    amount_vnd: int = Field(default=0, ge=0, description="what the group pays (0: exempt)")
    legal_basis: str = ""

    @field_validator("group")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise CatalogProblem("slug", value=v)
        return v


class Fee(BaseModel):
    """One fee line of a procedure. Per case, or per copy from `from_copy` on (the
    judicial record's 5.000 đồng for each certificate from the third); collected at
    intake (most), at the procedure's payment step (land: with the tax notice) or at
    return. `configurable`: the amount is the province's to set or not verified, the
    catalog's figure is a placeholder for the finance officer to confirm."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    amount_vnd: int = Field(ge=0)
    kind: FeeKind = FeeKind.LE_PHI
    per: Literal["case", "copy"] = "case"
    from_copy: int = Field(default=1, ge=1, description="per copy: charged from this copy on")
    collected_at: Literal["intake", "payment", "return"] = "intake"
    exemptions: list[FeeExemption] = Field(default_factory=list)
    legal_basis: str = ""
    configurable: bool = False

    def amount_for(self, copies: int, group: str | None) -> int:
        """What this line comes to for `copies` copies and the exempted `group` (if any)."""
        unit = self.amount_vnd
        for e in self.exemptions:
            if e.group == group:
                unit = e.amount_vnd
        if self.per == "case":
            return unit
        return unit * max(0, copies - self.from_copy + 1)


class Procedure(BaseModel):
    """One version of an administrative procedure (thủ tục hành chính)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(description="national procedure code, e.g. 1.009994")
    # Excluded from the workflow's snapshot, as `retention` below: workers of an earlier
    # release forbid unknown fields.
    code_placeholder: bool = Field(
        default=False,
        exclude=True,
        description="the code is a stand-in (mã tạm), not one of the national procedure "
        "database: no national code was found for it; replace it when one is",
    )
    version: int = Field(ge=1)
    name: str
    field: str = Field(description="sector/field (lĩnh vực)")
    level: Literal["province", "commune"]
    competent_agency: str
    legal_basis: list[str] = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    statutory_time: Duration
    receipt_cutoff: time | None = Field(
        default=None, description="received at/after this counts from the next working day"
    )
    on_the_spot: bool = Field(default=False, description="4/5 tại chỗ: every step at the centre")
    steps: list[Step] = Field(min_length=2)
    documents: list[RequiredDocument] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    supplement_wait: Duration = Field(
        default=Duration(value=15, unit=TimeUnit.WORKING_DAYS),
        description="the applicant must supplement within this time, or the dossier is closed",
    )
    max_extensions: int = Field(default=1, ge=0, description="new appointments allowed (law: once)")
    max_extension: Duration | None = Field(
        default=None,
        description="the most a new appointment may add (construction permits: 10 days)",
    )
    remote_area_extra: Duration | None = Field(
        default=None,
        description="added to the statutory time for mountain, island and remote communes "
        "(land: +10 working days)",
    )
    verification_time: Duration | None = Field(
        default=None,
        description="the statutory time when verification is needed (newborn group: 5 days)",
    )
    standalone: bool = Field(
        default=True, description="false: only ever resolved as part of a linked group"
    )
    result: ResultSpec | None = Field(
        default=None,
        description="the result document; by default a decision named after the procedure",
    )
    # Boundary-free intake (Decree 118/2025, "không phụ thuộc địa giới hành chính"): any
    # centre of the province may receive it, wherever the citizen lives. Each province
    # lists its own (MOTCUA_BOUNDARY_FREE_PROCEDURES replaces the catalog's flags). Excluded
    # from the workflow's snapshot for the reason `retention` is (below).
    boundary_free: bool = Field(
        default=False,
        exclude=True,
        description="any centre of the province may receive it (Decree 118/2025)",
    )
    # Excluded from the snapshot a dossier's workflow carries: the archive applies the
    # catalog's current schedule, and workers of an earlier release (whose Procedure has
    # no such field, and forbids unknown ones) keep reading new dossiers' inputs.
    retention: Retention = Field(
        default_factory=Retention,
        exclude=True,
        description="records retention per result type (archives law)",
    )
    notes: str = ""

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not PROCEDURE_CODE.match(v):
            raise CatalogProblem("procedure_code", value=v)
        return v

    @model_validator(mode="after")
    def _shape(self) -> Procedure:
        if self.effective_to and self.effective_to < self.effective_from:
            raise CatalogProblem("effective_to")
        if self.steps[0].kind is not StepKind.INTAKE:
            raise CatalogProblem("first_intake")
        if self.steps[-1].kind is not StepKind.RETURN:
            raise CatalogProblem("last_return")
        ids = [s.id for s in self.steps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise CatalogProblem("duplicate_steps", ids=str(duplicates))
        # A file names the component it satisfies by its kind (domain/checklist.py).
        kinds = [d.kind for d in self.documents]
        twice = sorted({k for k in kinds if kinds.count(k) > 1})
        if twice:
            raise CatalogProblem("duplicate_kinds", kinds=str(twice))
        if not any(s.kind in (StepKind.APPROVAL, StepKind.LINKED) for s in self.steps):
            raise CatalogProblem("needs_approval")
        # Time in a clock-pausing step (paying, public posting) is excluded from the
        # statutory time, so its budget does not use it up.
        total = sum(s.budget.day_equivalent() for s in self.steps if not s.pauses_clock)
        if total > self.statutory_time.day_equivalent() + 1e-9:
            raise CatalogProblem("budgets", total=f"{total:g}", statutory=self.statutory_time)
        if self.on_the_spot:
            handoffs = [s.id for s in self.steps if s.kind is StepKind.HANDOFF]
            if handoffs:
                raise CatalogProblem("on_the_spot_handoff", handoffs=str(handoffs))
        return self

    @property
    def result_spec(self) -> ResultSpec:
        return self.result or ResultSpec(
            title=f"QUYẾT ĐỊNH giải quyết thủ tục {self.name[:1].lower()}{self.name[1:]}"
        )

    def issuing_step(self) -> int | None:
        """Index of the step whose action issues the signed result: the last signature
        step, or else the last approval step (its leader signs the decision); None for a
        linked group, whose results are its sub-dossiers'."""
        for kind in (StepKind.SIGNATURE, StepKind.APPROVAL):
            found = [i for i, s in enumerate(self.steps) if s.kind is kind]
            if found:
                return found[-1]
        return None

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class CatalogError(ValueError):
    """The catalog data is invalid: one problem per line, each naming the file and field,
    in Vietnamese (``str``) or in the reader's language (``render``)."""

    def __init__(self, problems: Text | list[Text]) -> None:
        self.problems = problems if isinstance(problems, list) else [problems]
        super().__init__(self.render())

    def render(self, lang: Lang = DEFAULT_LANG) -> str:
        return "\n".join(p.render(lang) for p in self.problems)


def procedure_document(p: Procedure) -> dict[str, Any]:
    """The whole version as JSON, with the fields a dossier's snapshot leaves out
    (`exclude=True`: retention, the placeholder mark, the boundary-free flag): what the
    catalog stores, imports and exports."""
    doc = p.model_dump(mode="json")
    for name, info in Procedure.model_fields.items():
        if info.exclude:
            value = getattr(p, name)
            doc[name] = (
                value.model_dump(mode="json", exclude_defaults=True)
                if isinstance(value, BaseModel)
                else value
            )
    return doc


def describe_errors(exc: ValidationError, source: str) -> list[str]:
    """One sentence per problem (Vietnamese): where (`source`), which field, what is wrong."""
    return [str(t) for t in _describe(exc, source)]


def _describe(exc: ValidationError, source: str) -> list[Text]:
    out = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        if where:
            out.append(T("at", where=f"{source}: {where}", reason=error_text(err)))
        else:  # a check of the whole record
            out.append(T("at_whole", source=source, reason=error_text(err)))
    return out


class Catalog(BaseModel):
    agencies: dict[str, Agency]
    procedures: dict[str, list[Procedure]]  # code -> versions, oldest first

    def agency(self, code: str) -> Agency:
        try:
            return self.agencies[code]
        except KeyError:
            raise KeyError(f"unknown agency {code}") from None

    def procedure(self, code: str, on: date | None = None) -> Procedure:
        """The version of `code` in force on `on` (the latest version when `on` is None)."""
        versions = self.procedures.get(code)
        if not versions:
            raise KeyError(f"unknown procedure {code}")
        if on is None:
            return versions[-1]
        for p in reversed(versions):
            if p.in_force(on):
                return p
        raise KeyError(f"procedure {code} has no version in force on {on.isoformat()}")

    def procedure_version(self, code: str, version: int) -> Procedure | None:
        """The version of a procedure a dossier runs (None when the catalog no longer
        holds it)."""
        return next((p for p in self.procedures.get(code, []) if p.version == version), None)

    def step_in(self, code: str, version: int, step_id: str) -> Step | None:
        """A step of the version of the procedure a dossier runs (None when the catalog
        no longer holds that version or step)."""
        p = self.procedure_version(code, version)
        try:
            return p.step(step_id) if p else None
        except KeyError:
            return None

    def step_name(self, code: str, version: int, step_id: str) -> str:
        """The name of a step in the version of the procedure a dossier runs (its id when
        the catalog no longer holds that version or step)."""
        step = self.step_in(code, version, step_id)
        return step.name if step else step_id

    def latest(self) -> list[Procedure]:
        """Each procedure's newest version, whatever its effective date (the catalog
        administrator's view)."""
        return [versions[-1] for _, versions in sorted(self.procedures.items())]

    def current(self, code: str, on: date) -> Procedure:
        """The version of `code` a citizen files under on `on`: the one in force that day,
        not one published for a later day; the newest when none is in force."""
        versions = self.procedures.get(code)
        if not versions:
            raise KeyError(f"unknown procedure {code}")
        return next((p for p in reversed(versions) if p.in_force(on)), versions[-1])

    def in_force(self, on: date) -> list[Procedure]:
        """Every procedure as `current` gives it on `on`, by code."""
        return [self.current(code, on) for code in sorted(self.procedures)]

    def resolve_agency(self, ref: str, procedure: Procedure, centre: str) -> str:
        if ref == CENTRE:
            return centre
        if ref == COMPETENT:
            return procedure.competent_agency
        return ref

    # -- intake centres (Decree 118/2025) and mergers (two-level local government) ------

    def commune_of(self, code: str) -> str | None:
        """The commune People's Committee an agency belongs to: itself, the nearest
        commune People's Committee among its parents, or (a commune-level unit of a
        vertical agency, such as the commune police) the one at the same place."""
        seen: set[str] = set()
        at: str | None = code
        while at is not None and at in self.agencies and at not in seen:
            seen.add(at)
            a = self.agencies[at]
            if a.level == "commune" and a.kind is AgencyKind.PEOPLES_COMMITTEE:
                return a.code
            at = a.parent
        agency = self.agencies.get(code)
        if agency is None or agency.level != "commune" or agency.place is None:
            return None
        return next(
            (
                a.code
                for a in self.agencies.values()
                if a.level == "commune"
                and a.kind is AgencyKind.PEOPLES_COMMITTEE
                and a.place == agency.place
            ),
            None,
        )

    def home_centres(self, procedure: Procedure, day: date | None = None) -> list[str]:
        """The centres that receive a procedure that is not boundary-free: the province's
        for a province-level procedure, the competent agency's commune's for a
        commune-level one."""
        out = []
        for a in self.agencies.values():
            if a.kind is not AgencyKind.CENTRE or (day is not None and not a.active_on(day)):
                continue
            if (procedure.level == "province" and a.level == "province") or (
                procedure.level == "commune"
                and a.level == "commune"
                and self.commune_of(a.code) is not None
                and self.commune_of(a.code) == self.commune_of(procedure.competent_agency)
            ):
                out.append(a.code)
        return out

    def may_receive(
        self, centre: str, procedure: Procedure, *, boundary_free: bool, day: date | None = None
    ) -> bool:
        """May `centre` receive a dossier of `procedure`? Any centre (province, commune,
        branch) when the procedure is boundary-free; else only its home centres."""
        agency = self.agencies.get(centre)
        if agency is None or agency.kind is not AgencyKind.CENTRE:
            return False
        if day is not None and not agency.active_on(day):
            return False
        return boundary_free or centre in self.home_centres(procedure, day)

    def centre_for(self, code: str, day: date | None = None) -> str | None:
        """The centre whose counter an agency's officers receive at: the agency itself when
        it is a centre; else the centre of its commune (a commune's People's Committee, its
        police...), or the centre that succeeded it; None for an agency of no commune
        (a provincial department: the deployment's centre receives for it)."""
        agency = self.agencies.get(code)
        if agency is None:
            return None
        if agency.kind is AgencyKind.CENTRE:
            return code
        commune = self.commune_of(code)
        if commune is None:
            return None
        centres = sorted(
            a.code
            for a in self.agencies.values()
            if a.kind is AgencyKind.CENTRE and self.commune_of(a.code) == commune
        )
        for centre in centres:
            if day is None or self.agencies[centre].active_on(day):
                return centre
        for centre in centres:  # the commune merged: its centre's successor receives
            after = self.successor_of(centre)
            if after is not None and after in self.agencies:
                successor = self.agencies[after]
                if successor.kind is AgencyKind.CENTRE and (
                    day is None or successor.active_on(day)
                ):
                    return after
        return None

    def successor_of(self, code: str) -> str | None:
        """The agency that now does `code`'s work: its successor's successor, and so on
        (None: it has none)."""
        seen = {code}
        at = self.agencies[code].successor if code in self.agencies else None
        while at is not None and at in self.agencies and at not in seen:
            seen.add(at)
            nxt = self.agencies[at].successor
            if nxt is None:
                return at
            at = nxt
        return at


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError on bad dates
        raise CatalogError(T("not_yaml", path=str(path), error=str(exc))) from exc


def procedures_seen(grouped: dict[str, list[Procedure]]) -> list[Procedure]:
    return [p for versions in grouped.values() for p in versions]


def build_catalog(agencies: Iterable[Agency], procedures: Iterable[Procedure]) -> Catalog:
    by_code = {a.code: a for a in agencies}
    grouped: dict[str, list[Procedure]] = {}
    problems: list[Text] = []

    def unknown_agency(where: str | Text, field: str, agency: str) -> Text:
        return T("at", where=where, reason=T("unknown_agency", field=field, agency=agency))

    problems += [
        unknown_agency(a.code, "successor", a.successor)
        for a in by_code.values()
        if a.successor is not None and a.successor not in by_code
    ]
    for p in procedures:
        where = T("procedure", code=p.code, version=str(p.version))
        if p.competent_agency not in by_code:
            problems.append(unknown_agency(where, "competent_agency", p.competent_agency))
        for i, s in enumerate(p.steps):
            if s.agency not in (CENTRE, COMPETENT) and s.agency not in by_code:
                problems.append(unknown_agency(where, f"steps.{i}.agency", s.agency))
        grouped.setdefault(p.code, []).append(p)
    for p in procedures_seen(grouped):
        for i, s in enumerate(p.steps):
            for j, child in enumerate(s.children):
                where = T(
                    "at",
                    where=T("procedure", code=p.code, version=str(p.version)),
                    reason=f"steps.{i}.children.{j}",
                )
                target = grouped.get(child.procedure)
                if not target:
                    problems.append(
                        T("at", where=where, reason=T("unknown_procedure", code=child.procedure))
                    )
                elif any(st.kind is StepKind.LINKED for st in target[-1].steps):
                    problems.append(
                        T("at", where=where, reason=T("nested_linked", code=child.procedure))
                    )
                if child.agency is not None and child.agency not in by_code:
                    problems.append(
                        T(
                            "at",
                            where=where,
                            reason=T("unknown_agency", field="agency", agency=child.agency),
                        )
                    )
    for code, versions in grouped.items():
        versions.sort(key=lambda p: p.version)
        numbers = [p.version for p in versions]
        if len(set(numbers)) != len(numbers):
            problems.append(T("duplicate_versions", code=code, versions=str(numbers)))
    if problems:
        raise CatalogError(problems)
    return Catalog(agencies=by_code, procedures=grouped)


def load_catalog(directory: Path) -> Catalog:
    """Load `agencies.yaml` and every other `*.yaml` (one procedure version each)."""
    agencies_file = directory / "agencies.yaml"
    if not agencies_file.exists():
        raise CatalogError(T("missing_file", path=str(agencies_file)))
    raw_agencies = _load_yaml(agencies_file) or []
    agencies: list[Agency] = []
    problems: list[Text] = []
    for i, item in enumerate(raw_agencies):
        try:
            agencies.append(Agency.model_validate(item))
        except ValidationError as exc:
            problems.extend(_describe(exc, f"{agencies_file}[{i}]"))
    procedures: list[Procedure] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "agencies.yaml":
            continue
        try:
            procedures.append(Procedure.model_validate(_load_yaml(path)))
        except ValidationError as exc:
            problems.extend(_describe(exc, str(path)))
    if problems:
        raise CatalogError(problems)
    return build_catalog(agencies, procedures)
