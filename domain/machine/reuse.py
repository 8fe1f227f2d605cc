"""Data instead of paper: components taken from a national database at intake
(NQ 66.7/2025/NQ-CP; domain/datasources.py).

The workflow asks `components_to_fetch()` once the dossier is recorded, has the
data-source adapter (an activity) fetch each, and hands the answers to
`components_fetched()`: a record found is attached as a reused component with its
source; a record missing or wrong is recorded, the citizen is asked to have the database
corrected, and an online dossier held at intake for it gets one supplement request that
names every missing component (the system's, so the 766 count of requests stays one).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from domain.checklist import ChecklistItem, component_line, intake_checklist
from domain.datasources import (
    NEEDS_CORRECTION,
    FetchedComponent,
    FetchOutcome,
    FetchRequest,
)
from domain.dossier import SYSTEM_ACTOR, ActionInput, DocumentRef
from domain.machine.intake import Intake


class DataReuse(Intake):
    def components_to_fetch(self) -> list[FetchRequest]:
        """Consented components a database supplies, not yet asked for, while the dossier
        is open and at its own intake (a linked group's sub-dossier was checked by the
        group's)."""
        if self.closed or self.inp.parent_code is not None or not self.inp.data_consents:
            return []
        sources = {d.kind: d.source for d in self.procedure.documents if d.source}
        asked = {f.component for f in self.s.data_fetches}
        held = {d.kind for d in self.s.documents}
        return [
            FetchRequest(
                dossier_code=self.inp.code,
                component=c.component,
                source=source,
                consent=c,
            )
            for c in self.inp.data_consents
            if (source := sources.get(c.component)) is not None
            and c.component not in asked
            and c.component not in held
        ]

    def components_fetched(self, answers: Iterable[FetchedComponent], now: datetime) -> None:
        consents = {c.component: c for c in self.inp.data_consents}
        asked = {f.component for f in self.s.data_fetches}
        wrong = False
        for answer in answers:
            if answer.component in asked or answer.component not in consents:
                continue  # recorded once
            asked.add(answer.component)
            self.s.data_fetches.append(answer)
            consent = consents[answer.component].record()
            data: dict[str, Any] = {
                "component": answer.component,
                "database": answer.database.value,
                "answer": answer.outcome.value,
                "consent": consent,
            }
            if answer.outcome is FetchOutcome.FOUND and answer.record is not None:
                ref = DocumentRef(
                    kind=answer.component,
                    filename=f"{answer.record.database_name} ({', '.join(answer.record.record_ids)})",
                    sha256=answer.record.sha256,
                    reused=True,
                    source=answer.record,
                )
                self.s.documents.append(ref)
                self._emit(
                    "data_reused",
                    SYSTEM_ACTOR,
                    now,
                    data={**data, "documents": [ref.model_dump(mode="json")]},
                )
                continue
            item = self._item(answer.component)
            self._emit(
                "data_not_supplied",
                SYSTEM_ACTOR,
                now,
                comment=f"{item.name}: {item.data_issue}" if item.data_issue else answer.message,
                data={**data, "mismatched": answer.mismatched, "message": answer.message},
            )
            if answer.outcome in NEEDS_CORRECTION:
                wrong = True
                self._emit(
                    "database_correction_requested",
                    SYSTEM_ACTOR,
                    now,
                    comment=(
                        f"Thành phần “{item.name}”: {item.data_issue}. Đề nghị công dân bổ "
                        "sung giấy tờ và đề nghị cơ quan quản lý cơ sở dữ liệu điều chỉnh, "
                        "cập nhật thông tin."
                    ),
                    data=data,
                )
        missing = self.held_for_components()
        if wrong and missing:
            lines = [component_line(i) for i in missing]
            self._do_request_supplement(
                ActionInput(
                    actor=SYSTEM_ACTOR,
                    comment="Hồ sơ còn thiếu thành phần không khai thác được từ cơ sở dữ liệu.",
                    data={"missing": lines},
                ),
                now,
            )

    def _item(self, kind: str) -> ChecklistItem:
        checklist = intake_checklist(
            self.procedure.documents, self.s.documents, self.s.data_fetches
        )
        return next(i for i in checklist.items if i.kind == kind)
