"""What the steps so far concluded (kết quả các bước trước): the specialist's appraisal
opinion and recommendation, a scheduled inspection, the leader's decision and note, the
signature, a payment, an extension's reason, a supplement request's list. The next
holders read them beside their own action (the leader approves with the appraisal in
view, the signer signs what was approved).

The machine keeps the latest finding of each kind at each step (a step visited again
after a supplement replaces its earlier conclusion) as it emits the action's event:
the finding is that event's own content, so it says nothing the record does not.
Actions whose data is the applicant's personal data (the return's receiver and
address) or the applicant's own (submission, supplement, withdrawal, their payment) are
not findings: the view carries no personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.catalog import Role, StepKind

# The event kinds (Action values) an officer concludes a step with.
FINDING_KINDS = frozenset(
    {
        "accept",
        "request_supplement",
        "refuse",
        "forward",
        "appraise",
        "schedule_inspection",
        "approve",
        "reject",
        "sign",
        "pay",
        "request_extension",
    }
)


class StepFinding(BaseModel):
    """One step's conclusion, as its action's event recorded it."""

    event_id: str
    kind: str = Field(description="the action: appraise, approve, reject, sign, ...")
    step_id: str | None
    step_kind: StepKind | None = None
    step_name: str = ""
    at: datetime
    actor_id: str
    actor_name: str = ""
    role: Role
    agency: str | None = None
    comment: str = ""
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="the event's data: appraise {opinion, recommendation}, schedule_inspection "
        "{inspection_at, place}, approve/reject {outcome}, request_extension "
        "{previous_appointment, new_appointment}, request_supplement {missing}, ...",
    )


def is_finding(kind: str, role: Role) -> bool:
    """Whether an event of `kind` by `role` concludes a step: an officer's action (an
    applicant's payment is theirs, and their name is personal data)."""
    return kind in FINDING_KINDS and role not in (Role.APPLICANT, Role.SYSTEM)


# A finding is carried in every view (and so in every record activity's input) until the
# dossier closes: its text is cut at the length a comment may have (the event keeps it all).
MAX_TEXT = 4000


def capped(value: Any) -> Any:
    """`value` with every text in it at most MAX_TEXT characters."""
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[: MAX_TEXT - 1] + "…"
    if isinstance(value, list):
        return [capped(v) for v in value]
    if isinstance(value, dict):
        return {k: capped(v) for k, v in value.items()}
    return value


def with_finding(findings: list[StepFinding], finding: StepFinding) -> list[StepFinding]:
    """`findings` with `finding` in place of the earlier one of its kind at its step."""
    kept = [f for f in findings if (f.step_id, f.kind) != (finding.step_id, finding.kind)]
    return [*kept, finding]
