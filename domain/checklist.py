"""The intake checklist: the procedure's components (thành phần hồ sơ) and which of the
dossier's files, or reused records, satisfies each.

A document names the component it satisfies by its `kind` (the component's `kind` in
the procedure's `documents`). A component the catalog marks as supplied by a national
database is satisfied by the record fetched from it (`ChecklistFile.source`); when the
database had no record or wrong data, the item says so (`data_issue`). A file whose kind names no component is kept and listed
apart (`unmatched`): submissions from before the checklist stay valid. Pure: the
machine's view and its intake rule, the API and the read model all use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from pydantic import BaseModel, Field, computed_field

from domain.catalog import RequiredDocument
from domain.datasources import (
    ComponentSource,
    DataRecordSource,
    FetchedComponent,
    FetchOutcome,
    issue_text,
)


class _Document(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def filename(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def reused(self) -> bool: ...
    @property
    def source(self) -> DataRecordSource | None: ...


class ChecklistFile(BaseModel):
    """One file given for a component: uploaded, reused from the centre's store, or a
    record taken from a national database (`source`)."""

    kind: str
    filename: str
    sha256: str
    reused: bool = Field(default=False, description="a record the centre already held")
    source: DataRecordSource | None = Field(
        default=None,
        exclude_if=lambda v: v is None,  # a file's entry keeps its shape
        description="taken from this database's record instead of a file (absent for a file)",
    )


class ChecklistItem(BaseModel):
    """One component of the procedure and the files that satisfy it."""

    kind: str
    name: str
    required: bool
    original: bool = Field(description="true: the original (bản chính); false: a copy (bản sao)")
    copies: int = Field(description="how many (bộ, bản) the procedure asks for")
    source: ComponentSource | None = Field(
        default=None, description="the national database that can supply it"
    )
    files: list[ChecklistFile] = Field(default_factory=list)
    missing: bool = Field(description="required, and no file or reused record satisfies it")
    data_outcome: FetchOutcome | None = Field(
        default=None, description="what its database answered, when it was asked"
    )
    data_issue: str | None = Field(
        default=None,
        description="why its database could not supply it (no record, wrong data): the "
        "citizen supplements it and asks for the database to be corrected",
    )


class IntakeChecklist(BaseModel):
    items: list[ChecklistItem] = Field(default_factory=list)
    unmatched: list[ChecklistFile] = Field(
        default_factory=list, description="files whose kind names none of the components"
    )

    @property
    def missing(self) -> list[ChecklistItem]:
        return [i for i in self.items if i.missing]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def complete(self) -> bool:
        """Every required component has a file or a reused record."""
        return not self.missing


def intake_checklist(
    components: Sequence[RequiredDocument],
    documents: Iterable[_Document],
    fetches: Iterable[FetchedComponent] = (),
) -> IntakeChecklist:
    """Each component with the files whose kind names it, in the procedure's order, and
    what its database answered when it was asked (`fetches`)."""
    by_kind: dict[str, list[ChecklistFile]] = {}
    for d in documents:
        by_kind.setdefault(d.kind, []).append(
            ChecklistFile(
                kind=d.kind, filename=d.filename, sha256=d.sha256, reused=d.reused, source=d.source
            )
        )
    answers = {f.component: f for f in fetches}
    items = []
    for c in components:
        files = by_kind.pop(c.kind, [])
        answer = answers.get(c.kind)
        issue = None
        if answer is not None and answer.outcome is not FetchOutcome.FOUND and c.source:
            issue = issue_text(answer, c.source.name)
        items.append(
            ChecklistItem(
                **c.model_dump(),
                files=files,
                missing=c.required and not files,
                data_outcome=answer.outcome if answer else None,
                data_issue=issue,
            )
        )
    return IntakeChecklist(items=items, unmatched=[f for fs in by_kind.values() for f in fs])


def component_line(item: ChecklistItem) -> str:
    """How a supplement request (Form 02) names a component: its name, original or copy,
    and how many when more than one."""
    form = "bản chính" if item.original else "bản sao"
    count = f", {item.copies} bộ" if item.copies > 1 else ""
    issue = f"; {item.data_issue}" if item.data_issue else ""
    return f"{item.name} ({form}{count}{issue})"
