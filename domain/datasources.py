"""Data instead of paper (NQ 66.7/2025/NQ-CP, in force 1/1/2026; Công điện 201/CĐ-TTg):
a procedure's component that a national database already holds is taken from it, with the
citizen's consent, instead of a paper.

The catalog marks such a component (`RequiredDocument.source`: which database, which
fields). The citizen consents per component when filing (`DataConsent`: who, when, whose
record; at the counter the intake officer confirms it). At intake the workflow fetches the
record through the data-source adapter (an activity) and attaches it as a reused component
with its source (`DataRecordSource`: database, record ids, fetched at, a hash of what was
fetched; no values). When the record is missing or disagrees with what the citizen
declared, the citizen is asked to supplement the component and to have the database
corrected. Pure: the catalog, the machine, the API and the activity share it.

[uncertain] Which components of which procedures a database replaces is the province's to
set in its catalog (procedures/*.yaml): the lists of NQ 66.7 (786 procedures) and Công
điện 201 (734 procedures, 15 documents) were not read here. The databases' display names
below are the common ones; a component may name its database otherwise (`label`).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

FIELD = re.compile(r"^[a-z][a-z0-9_]*$")


class Database(StrEnum):
    POPULATION = "population"  # CSDL quốc gia về dân cư (Ministry of Public Security)
    CIVIL_STATUS = "civil_status"  # CSDL hộ tịch điện tử (Ministry of Justice)
    BUSINESS_REGISTRATION = "business_registration"  # CSDL quốc gia về đăng ký doanh nghiệp
    LAND = "land"  # CSDL quốc gia về đất đai
    INSURANCE = "insurance"  # CSDL quốc gia về bảo hiểm


DATABASE_NAMES: dict[Database, str] = {
    Database.POPULATION: "CSDL quốc gia về dân cư",
    Database.CIVIL_STATUS: "CSDL hộ tịch điện tử",
    Database.BUSINESS_REGISTRATION: "CSDL quốc gia về đăng ký doanh nghiệp",
    Database.LAND: "CSDL quốc gia về đất đai",
    Database.INSURANCE: "CSDL quốc gia về bảo hiểm",
}


class ComponentSource(BaseModel):
    """In the catalog: the database that can supply a component, and the fields it needs
    (only those are asked for)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database: Database
    fields: list[str] = Field(min_length=1, description="the record's fields the component needs")
    label: str | None = Field(
        default=None, description="the database's name as the province writes it"
    )

    @field_validator("fields")
    @classmethod
    def _slugs(cls, v: list[str]) -> list[str]:
        bad = [f for f in v if not FIELD.match(f)]
        if bad:
            raise ValueError(f"fields must be lowercase slugs: {bad}")
        return v

    @property
    def name(self) -> str:
        return self.label or DATABASE_NAMES[self.database]


class DataConsent(BaseModel):
    """The citizen's consent that one component be taken from its database: recorded with
    the submission (who consented, when, for which component, whose record)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    component: str = Field(description="the component's kind")
    subject_ids: list[str] = Field(
        min_length=1,
        max_length=4,
        description="personal identification numbers of the people whose records are "
        "needed (the parents', for a birth); kept in the workflow's encrypted payloads only",
    )
    declared: list[dict[str, str]] = Field(
        default_factory=list,
        max_length=4,
        description="what the citizen declared for each person, in the order of "
        "subject_ids; a record that disagrees is wrong data",
    )
    consented_by: str = Field(description="the account, or the applicant at the counter")
    consented_at: datetime
    confirmed_by: str | None = Field(
        default=None, description="the intake officer who recorded the consent at the counter"
    )

    def record(self) -> dict[str, str | None]:
        """The consent as events keep it: who, when, for which component (no ID numbers)."""
        return {
            "component": self.component,
            "consented_by": self.consented_by,
            "consented_at": self.consented_at.isoformat(),
            "confirmed_by": self.confirmed_by,
        }


class FetchOutcome(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"  # no record: the citizen supplements and asks for a correction
    MISMATCH = "mismatch"  # the record disagrees with the declaration: likewise
    UNAVAILABLE = "unavailable"  # the database did not answer (or none is configured)


# Outcomes that are the record's fault, not the connection's.
NEEDS_CORRECTION = frozenset({FetchOutcome.NOT_FOUND, FetchOutcome.MISMATCH})


class DataRecordSource(BaseModel):
    """Where a reused component came from. No values of the record: its ids, the fields
    taken, when, and the SHA-256 of what was fetched (to show later what it was)."""

    model_config = ConfigDict(frozen=True)

    database: Database
    label: str | None = None
    record_ids: list[str]
    fields: list[str]
    fetched_at: datetime
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def database_name(self) -> str:
        return self.label or DATABASE_NAMES[self.database]


class FetchRequest(BaseModel):
    """The adapter's input: one component, from one database, with the consent for it."""

    dossier_code: str
    component: str
    source: ComponentSource
    consent: DataConsent


class FetchedComponent(BaseModel):
    """The adapter's answer for one component."""

    component: str
    database: Database
    outcome: FetchOutcome
    record: DataRecordSource | None = None
    mismatched: list[str] = Field(default_factory=list, description="fields that disagree")
    message: str = ""


def issue_text(f: FetchedComponent, database_name: str) -> str:
    """How the checklist and the supplement request say what went wrong, in Vietnamese."""
    if f.outcome is FetchOutcome.NOT_FOUND:
        return f"không có dữ liệu trong {database_name}"
    if f.outcome is FetchOutcome.MISMATCH:
        fields = ", ".join(f.mismatched) or "thông tin"
        return f"dữ liệu trong {database_name} không khớp với tờ khai ({fields})"
    if f.outcome is FetchOutcome.UNAVAILABLE:
        return f"chưa khai thác được {database_name}"
    return f"khai thác từ {database_name}"
