"""Small builders for tests: a procedure, a synthetic calendar, a dossier input.

The synthetic calendar lets workflow tests on the time-skipping server (which
starts at today's real time) assert exact appointment dates: days off are
declared relative to an anchor Monday instead of depending on this year's Tết.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.calendar import DayNote, Duration, TimeUnit, WorkingCalendar
from domain.catalog import Procedure, Role
from domain.dossier import Actor, Applicant, Channel, DocumentRef, DossierInput

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CENTRE = "000.00.01.H99"
AGENCY = "000.00.20.H99"  # the competent agency in tests
OTHER_AGENCY = "000.00.30.H99"


def procedure(**overrides: Any) -> Procedure:
    data: dict[str, Any] = {
        "code": "1.009994",
        "version": 1,
        "name": "Cấp giấy phép xây dựng nhà ở riêng lẻ (test)",
        "field": "Xây dựng",
        "level": "commune",
        "competent_agency": AGENCY,
        "legal_basis": ["Luật Xây dựng 2014, Điều 102"],
        "effective_from": "2025-07-01",
        "statutory_time": {"value": 15, "unit": "working_days"},
        "steps": steps(
            step("handoff", "handoff", "system", 0.5, name="Chuyển hồ sơ"),
            step("appraisal", "appraisal", "specialist", 8, name="Thẩm định"),
            step("approval", "approval", "leader", 2, name="Phê duyệt"),
            step("signature", "signature", "signer", 1, name="Ký số"),
        ),
        # No fee: a fee collected at intake must be paid before return (fees-v1), and
        # these procedures test other rules (tests/unit/test_fees.py tests fees).
        "fees": [],
    }
    data.update(overrides)
    return Procedure.model_validate(data)


def anchor_monday(after: datetime, weeks_ahead: int = 1) -> date:
    """A Monday at least `weeks_ahead` weeks after `after` (local date)."""
    d = after.astimezone(TZ).date() + timedelta(days=7 * weeks_ahead)
    return d - timedelta(days=d.weekday())


def synthetic_calendar(
    anchor: date,
    days_off: list[int] = (),  # type: ignore[assignment]
    working_weekend: list[int] = (),  # type: ignore[assignment]
) -> WorkingCalendar:
    """Weekends off, plus days off / make-up days given as offsets from `anchor`."""
    return WorkingCalendar(
        version="synthetic",
        valid_from=anchor - timedelta(days=400),
        valid_to=anchor + timedelta(days=1500),
        days_off=tuple(
            DayNote(day=anchor + timedelta(days=i), name="Nghỉ (test)") for i in days_off
        ),
        working_weekend_days=tuple(
            DayNote(day=anchor + timedelta(days=i), name="Làm bù (test)") for i in working_weekend
        ),
    )


def local(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), tzinfo=TZ)


def doc(name: str, kind: str = "application") -> DocumentRef:
    return DocumentRef(kind=kind, filename=name, sha256=hashlib.sha256(name.encode()).hexdigest())


def officer(role: str, agency: str | None, ident: str | None = None) -> Actor:
    """An officer; user ids are unique across agencies (a signer's certificate is
    issued to one user of one agency)."""
    default = f"{role}-1" if agency is None else f"{role}-1@{agency}"
    return Actor(id=ident or default, name=f"Cán bộ {role}", role=Role(role), agency=agency)


APPLICANT = Actor(id="citizen-001", name="Nguyễn Văn An", role=Role.APPLICANT)


def dossier_input(
    code: str,
    submitted_at: datetime,
    calendar: WorkingCalendar,
    proc: Procedure | None = None,
    channel: Channel = Channel.ONLINE,
) -> DossierInput:
    proc = proc or procedure()
    agencies = [
        CENTRE
        if s.agency == "centre"
        else (proc.competent_agency if s.agency == "competent" else s.agency)
        for s in proc.steps
    ]
    return DossierInput(
        code=code,
        procedure=proc,
        calendar=calendar,
        centre_agency=CENTRE,
        competent_agency=proc.competent_agency,
        step_agencies=agencies,
        channel=channel,
        applicant=Applicant(
            name="Nguyễn Văn An",
            id_number="001090000001",
            phone="0912345678",
            address="Hạ Long, Quảng Ninh",
            account=APPLICANT.id,
        ),
        documents=[doc("don-de-nghi.pdf")],
        submitted_at=submitted_at,
        submitted_by=APPLICANT,
    )


def _unit(u: str) -> TimeUnit:
    return TimeUnit(u)


def duration(value: float, unit: str = "working_days") -> Duration:
    return Duration(value=value, unit=_unit(unit))


def steps(*middle: dict[str, Any]) -> list[dict[str, Any]]:
    """Intake at the centre, the given steps, and return at the centre (0.5 day each end)."""
    return [
        {
            "id": "intake",
            "kind": "intake",
            "name": "Tiếp nhận",
            "role": "intake_officer",
            "agency": "centre",
            "budget": {"value": 0.5},
        },
        *middle,
        {
            "id": "return",
            "kind": "return",
            "name": "Trả kết quả",
            "role": "return_officer",
            "agency": "centre",
            "budget": {"value": 0.5},
        },
    ]


def step(
    step_id: str, kind: str, role: str, value: float, unit: str = "working_days", **extra: Any
) -> dict[str, Any]:
    return {
        "id": step_id,
        "kind": kind,
        "name": step_id,
        "role": role,
        "budget": {"value": value, "unit": unit},
        **extra,
    }
