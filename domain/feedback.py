"""The citizen's voice: feedback and complaints (phản ánh, kiến nghị — PAKN) about a
dossier or about the service, as pure rules: who answers an item, by when, and who may.

An item is routed to the agency responsible for what it is about: the agency handling
the dossier now (its current step's), else the agency deciding it; an item about the
service at large goes to the centre. An officer of that agency answers it (a specialist
or its leader); when the answer is late the agency's leader is told (escalation), and
the item stays open until answered. The answer is published with the filer's personal
data masked.

Statutory time, in working days from the working day after the item is received (an
item received after hours counts from the next working morning, as a dossier does):
- answer: 15 working days, Decision 766/QĐ-TTg index 5.2 ("resolve ≤ 15 working days",
  DOMAIN.md §1.9) [verified as the index's deadline]; Decree 20/2008/NĐ-CP on receiving
  and handling PAKN on administrative regulations sets its own times (10 working days
  is often cited) [uncertain] — so the number is a setting
  (`MOTCUA_FEEDBACK_ANSWER_WORKING_DAYS`), snapshotted into each item when filed;
- publication: the index counts publication within 2 working days of the answer; the
  engine publishes at the answer itself.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.calendar import Duration, TimeUnit, WorkingCalendar
from domain.catalog import Role
from domain.dossier import Actor

# The 766 index's deadline to resolve a PAKN (DOMAIN.md §1.9, index 5.2).
DEFAULT_ANSWER_WORKING_DAYS = 15
# Who may answer an item, at the agency it is routed to.
ANSWERING_ROLES = (Role.SPECIALIST, Role.LEADER)
# Who sees the agency's open items with their countdowns (and is told when one is late).
LEADING_ROLES = (Role.LEADER,)
CODE_PATTERN = re.compile(r"^PAKN-[0-9A-Z]{10}$")


class FeedbackKind(StrEnum):
    COMPLAINT = "complaint"  # phản ánh
    SUGGESTION = "suggestion"  # kiến nghị

    @property
    def label_vi(self) -> str:
        return {"complaint": "Phản ánh", "suggestion": "Kiến nghị"}[self.value]


class FeedbackStatus(StrEnum):
    OPEN = "open"  # waiting for the agency's answer
    ANSWERED = "answered"  # answered and published

    @property
    def label_vi(self) -> str:
        return {"open": "Đang xử lý", "answered": "Đã trả lời"}[self.value]


class Filer(BaseModel):
    """Who filed the item: their token's account when signed in; name and contacts to
    be told the answer; the ID number that lets them read the item without signing in."""

    account: str | None = None
    name: str = ""
    id_number: str = ""
    phone: str | None = None
    email: str | None = None


class FeedbackInput(BaseModel):
    """The workflow's input: everything the item needs, frozen when it is filed."""

    code: str
    kind: FeedbackKind
    text: str
    dossier_code: str | None = None
    agency: str  # the agency that answers
    channel: str = "online"  # online | counter
    filer: Filer
    filed_at: datetime
    calendar: WorkingCalendar
    answer_time: Duration = Duration(value=DEFAULT_ANSWER_WORKING_DAYS)


class AnswerInput(BaseModel):
    actor: Actor
    text: str = Field(min_length=1, max_length=10_000)


class FeedbackView(BaseModel):
    """The item's live state (the workflow's query)."""

    code: str
    status: FeedbackStatus
    agency: str
    due_at: datetime
    escalated_at: datetime | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    late: bool = False


class FeedbackEvent(BaseModel):
    """What happened to an item: `filed`, `escalated` (its answer is late: the agency's
    leader is told), `answered` (and published)."""

    kind: str
    at: datetime
    actor: Actor | None = None  # None: the system (filing, escalation)
    comment: str = ""


def due_at(calendar: WorkingCalendar, filed_at: datetime, answer_time: Duration) -> datetime:
    """The answer's deadline: the statutory time counted as a dossier's is, from the
    working day after the item is received (after hours: the next working day's)."""
    return calendar.appointment(filed_at, answer_time)


def answer_days(days: float) -> Duration:
    return Duration(value=days, unit=TimeUnit.WORKING_DAYS)


def may_answer(actor: Actor, agency: str) -> bool:
    """An officer of the agency the item is routed to, as a specialist or its leader."""
    return actor.role in ANSWERING_ROLES and actor.agency == agency


def routed_agency(
    *, centre: str, competent: str | None = None, current: str | None = None, closed: bool = False
) -> str:
    """Who answers an item: about an open dossier, the agency handling it now (else the
    deciding agency); about a closed one, the deciding agency; about the service, the
    centre."""
    if current and not closed:
        return current
    return competent or centre
