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


class Role(StrEnum):
    APPLICANT = "applicant"
    INTAKE_OFFICER = "intake_officer"
    SPECIALIST = "specialist"
    LEADER = "leader"
    SIGNER = "signer"
    RETURN_OFFICER = "return_officer"
    AUDITOR = "auditor"
    ADMIN = "admin"
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

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not AGENCY_CODE.match(v):
            raise ValueError(f"'{v}' is not an agency electronic identifier like 000.45.30.H99")
        return v

    @property
    def task_queue(self) -> str:
        return agency_task_queue(self.code)


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
            raise ValueError(f"'{v}' must be a lowercase slug (letters, digits, _)")
        return v

    @model_validator(mode="after")
    def _role_fits_kind(self) -> Step:
        if self.kind is StepKind.HANDOFF and self.agency == CENTRE:
            raise ValueError(
                "agency: a handoff step names the receiving agency (who must acknowledge), "
                "not the centre that sends it"
            )
        if self.kind is StepKind.LINKED and not self.children:
            raise ValueError("children: a linked step names at least one sub-procedure")
        if self.children and self.kind is not StepKind.LINKED:
            raise ValueError("children: only a linked step has sub-procedures")
        codes = [c.procedure for c in self.children]
        for c in self.children:
            unknown = [a for a in c.after if a not in codes or a == c.procedure]
            if unknown:
                raise ValueError(
                    f"children: {c.procedure} waits for {unknown}, not earlier children"
                )
        if self.deemed_consent and self.kind is not StepKind.CONSULTATION:
            raise ValueError("deemed_consent: only a consultation can be deemed agreed")
        allowed = ROLES_FOR_KIND[self.kind]
        if self.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise ValueError(
                f"role '{self.role.value}' cannot own a {self.kind.value} step (allowed: {names})"
            )
        return self


class RequiredDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    name: str
    copies: int = Field(default=1, ge=1)
    original: bool = False
    required: bool = True


class ResultKind(StrEnum):
    PERMIT = "permit"  # giấy phép
    CERTIFICATE = "certificate"  # giấy chứng nhận
    DECISION = "decision"  # quyết định
    NOTICE = "notice"  # văn bản thông báo / xác nhận
    REGISTRATION = "registration"  # đăng ký (trích lục, xác nhận đăng ký)


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


class Fee(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    amount_vnd: int = Field(ge=0)


class Procedure(BaseModel):
    """One version of an administrative procedure (thủ tục hành chính)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(description="national procedure code, e.g. 1.009994")
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
            raise ValueError(f"'{v}' is not a national procedure code like 1.009994")
        return v

    @model_validator(mode="after")
    def _shape(self) -> Procedure:
        if self.effective_to and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        if self.steps[0].kind is not StepKind.INTAKE:
            raise ValueError("steps: the first step must be an intake step")
        if self.steps[-1].kind is not StepKind.RETURN:
            raise ValueError("steps: the last step must be a return step")
        ids = [s.id for s in self.steps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"steps: duplicate step ids {duplicates}")
        if not any(s.kind in (StepKind.APPROVAL, StepKind.LINKED) for s in self.steps):
            raise ValueError(
                "steps: a procedure needs an approval step (the decision) or a linked step"
            )
        # Time in a clock-pausing step (paying, public posting) is excluded from the
        # statutory time, so its budget does not use it up.
        total = sum(s.budget.day_equivalent() for s in self.steps if not s.pauses_clock)
        if total > self.statutory_time.day_equivalent() + 1e-9:
            raise ValueError(
                f"steps: budgets add up to {total:g} days, beyond the statutory "
                f"time of {self.statutory_time}"
            )
        if self.on_the_spot:
            handoffs = [s.id for s in self.steps if s.kind is StepKind.HANDOFF]
            if handoffs:
                raise ValueError(f"steps: an on-the-spot procedure has no handoff ({handoffs})")
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
    """The catalog data is invalid; the message names the file and field."""


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(document)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {where}: {msg}")
    return "\n".join(lines)


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

    def step_name(self, code: str, version: int, step_id: str) -> str:
        """The name of a step in the version of the procedure a dossier runs (its id when
        the catalog no longer holds that version or step)."""
        for p in self.procedures.get(code, []):
            if p.version == version:
                try:
                    return p.step(step_id).name
                except KeyError:
                    break
        return step_id

    def latest(self) -> list[Procedure]:
        return [versions[-1] for _, versions in sorted(self.procedures.items())]

    def resolve_agency(self, ref: str, procedure: Procedure, centre: str) -> str:
        if ref == CENTRE:
            return centre
        if ref == COMPETENT:
            return procedure.competent_agency
        return ref


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError on bad dates
        raise CatalogError(f"{path}: not valid YAML: {exc}") from exc


def procedures_seen(grouped: dict[str, list[Procedure]]) -> list[Procedure]:
    return [p for versions in grouped.values() for p in versions]


def build_catalog(agencies: Iterable[Agency], procedures: Iterable[Procedure]) -> Catalog:
    by_code = {a.code: a for a in agencies}
    grouped: dict[str, list[Procedure]] = {}
    problems: list[str] = []
    for p in procedures:
        where = f"procedure {p.code} v{p.version}"
        if p.competent_agency not in by_code:
            problems.append(f"{where}: competent_agency: unknown agency {p.competent_agency}")
        for i, s in enumerate(p.steps):
            if s.agency not in (CENTRE, COMPETENT) and s.agency not in by_code:
                problems.append(f"{where}: steps.{i}.agency: unknown agency {s.agency}")
        grouped.setdefault(p.code, []).append(p)
    for p in procedures_seen(grouped):
        for i, s in enumerate(p.steps):
            for j, child in enumerate(s.children):
                where = f"procedure {p.code} v{p.version}: steps.{i}.children.{j}"
                target = grouped.get(child.procedure)
                if not target:
                    problems.append(f"{where}: unknown procedure {child.procedure}")
                elif any(st.kind is StepKind.LINKED for st in target[-1].steps):
                    problems.append(f"{where}: {child.procedure} is itself a linked group")
                if child.agency is not None and child.agency not in by_code:
                    problems.append(f"{where}.agency: unknown agency {child.agency}")
    for code, versions in grouped.items():
        versions.sort(key=lambda p: p.version)
        numbers = [p.version for p in versions]
        if len(set(numbers)) != len(numbers):
            problems.append(f"procedure {code}: duplicate version numbers {numbers}")
    if problems:
        raise CatalogError("\n".join(problems))
    return Catalog(agencies=by_code, procedures=grouped)


def load_catalog(directory: Path) -> Catalog:
    """Load `agencies.yaml` and every other `*.yaml` (one procedure version each)."""
    agencies_file = directory / "agencies.yaml"
    if not agencies_file.exists():
        raise CatalogError(f"{agencies_file}: missing")
    raw_agencies = _load_yaml(agencies_file) or []
    agencies: list[Agency] = []
    problems: list[str] = []
    for i, item in enumerate(raw_agencies):
        try:
            agencies.append(Agency.model_validate(item))
        except ValidationError as exc:
            problems.append(_describe(exc, f"{agencies_file}[{i}]"))
    procedures: list[Procedure] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "agencies.yaml":
            continue
        try:
            procedures.append(Procedure.model_validate(_load_yaml(path)))
        except ValidationError as exc:
            problems.append(_describe(exc, str(path)))
    if problems:
        raise CatalogError("\n".join(problems))
    return build_catalog(agencies, procedures)
