"""Form 06, the control slip: one row per hand-over of the dossier between officers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from activities.forms._common import (
    FORM_TITLES,
    TZ,
    Issuers,
    RenderedDocument,
    _date,
    _form_label,
    _form_metadata,
    _place_date,
    _qr,
    _rendered,
    _require_aware,
    _short,
    _when,
)
from activities.pdf import DocumentSpec, Paragraph, Table
from domain.catalog import Role
from domain.dossier import DossierView, Event, StepView

VERDICT_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}

ROLE_LABELS: dict[Role, str] = {
    Role.APPLICANT: "Tổ chức, cá nhân",
    Role.INTAKE_OFFICER: "Công chức tiếp nhận hồ sơ",
    Role.SPECIALIST: "Chuyên viên xử lý",
    Role.LEADER: "Lãnh đạo",
    Role.SIGNER: "Người có thẩm quyền ký",
    Role.RETURN_OFFICER: "Công chức trả kết quả",
    Role.AUDITOR: "Kiểm soát viên",
    Role.ADMIN: "Quản trị hệ thống",
    Role.SYSTEM: "Hệ thống (tự động)",
}

# Events that end a step but are not an officer's act.
_NOT_OFFICERS = (Role.SYSTEM, Role.APPLICANT)
# A leader's assignment (or a claim) names who holds a step, not who worked it.
_NOT_STEP_WORK = ("assign", "claim")


@dataclass(frozen=True)
class HandoverRow:
    """One hand-over of Form 06: the step that ended and who took the dossier next."""

    step_id: str
    step_name: str
    giver: str
    giver_agency: str  # agency code
    receiver: str
    receiver_agency: str  # agency code ("" for the applicant)
    at: datetime  # when the giving step ended
    due_at: datetime | None  # the giving step's deadline
    verdict: str | None  # "early" | "on_time" | "late" | None (no deadline)
    note: str = ""


def _verdict(step: StepView) -> str | None:
    if step.verdict:
        return step.verdict
    if step.due_at is None or step.ended_at is None:
        return None
    if step.ended_at > step.due_at:
        return "late"
    if step.ended_at.astimezone(TZ).date() == step.due_at.astimezone(TZ).date():
        return "on_time"
    return "early"


def control_slip_rows(view: DossierView, events: list[Event]) -> list[HandoverRow]:
    """One row per hand-over: each step that ended, given on to the next step that
    started (or, for the return step, to the applicant). The officer of a step is the
    actor of its last event that is not the system's (nor the applicant's, nor an
    assignment or a claim)."""
    officers: dict[str, str] = {}
    supplements: dict[str, int] = {}
    extensions: dict[str, list[str]] = {}
    for e in sorted(events, key=lambda e: e.seq):
        if e.step_id is None:
            continue
        if e.role not in _NOT_OFFICERS and e.kind not in _NOT_STEP_WORK:
            officers[e.step_id] = e.actor_name or e.actor_id
        if e.kind == "request_supplement":
            supplements[e.step_id] = supplements.get(e.step_id, 0) + 1
        elif e.kind == "request_extension":
            extensions.setdefault(e.step_id, []).append(
                f"Gia hạn, hẹn trả mới {_date(e.data.get('new_appointment'))}"
            )
    steps = sorted(view.steps, key=lambda s: s.index)
    rows: list[HandoverRow] = []
    for i, step in enumerate(steps):
        if step.ended_at is None:
            continue
        nxt = next((s for s in steps[i + 1 :] if s.started_at is not None), None)
        if nxt is not None:
            receiver = officers.get(nxt.step_id) or ROLE_LABELS.get(nxt.role, nxt.role.value)
            receiver_agency = nxt.agency
        elif step.kind.value == "return" or i == len(steps) - 1:
            receiver, receiver_agency = ROLE_LABELS[Role.APPLICANT], ""
        else:
            continue  # the dossier ended at this step: nothing was handed over
        notes = [step.name]
        if supplements.get(step.step_id):
            notes.append(f"Yêu cầu bổ sung hồ sơ {supplements[step.step_id]} lần")
        notes.extend(extensions.get(step.step_id, []))
        rows.append(
            HandoverRow(
                step_id=step.step_id,
                step_name=step.name,
                giver=officers.get(step.step_id) or ROLE_LABELS.get(step.role, step.role.value),
                giver_agency=step.agency,
                receiver=receiver,
                receiver_agency=receiver_agency,
                at=step.ended_at,
                due_at=step.due_at,
                verdict=_verdict(step),
                note="; ".join(notes),
            )
        )
    return rows


def render_control_slip(
    view: DossierView, events: list[Event], issuers: Issuers, at: datetime
) -> RenderedDocument:
    """Form 06: Phiếu kiểm soát quá trình giải quyết hồ sơ."""
    _require_aware(at)
    title = FORM_TITLES["06"]
    rows = control_slip_rows(view, events)
    table_rows = [
        [
            str(i),
            f"{r.giver}\n{issuers.name(r.giver_agency)}",
            f"{r.receiver}\n{issuers.name(r.receiver_agency)}" if r.receiver_agency else r.receiver,
            _short(r.at),
            _short(r.due_at) or "—",
            VERDICT_LABELS.get(r.verdict or "", "—"),
            r.note,
        ]
        for i, r in enumerate(rows, 1)
    ]
    fields = [
        ("Mã hồ sơ", view.code),
        ("Thủ tục", f"{view.procedure_name} (mã {view.procedure_code})"),
        ("Cơ quan giải quyết", issuers.name(view.competent_agency)),
        ("Thời điểm tiếp nhận", _when(view.received_at)),
        ("Ngày hẹn trả kết quả", _when(view.appointment_at)),
    ]
    if view.original_appointment_at and view.original_appointment_at != view.appointment_at:
        fields.append(("Ngày hẹn trả ban đầu", _when(view.original_appointment_at)))
    fields.append(("Tình trạng", view.status_label))
    closing: list[str | Paragraph] = []
    if not rows:
        closing.append("Chưa có lần giao, nhận hồ sơ nào.")
    qr_payload, url = _qr(view.code, issuers)
    issuer = view.centre_agency
    spec = DocumentSpec(
        issuer=issuers.name(issuer),
        issuer_parent=issuers.parent(issuer),
        title=title,
        created_at=at,
        number=view.code,
        place_date=_place_date(issuers.place(issuer), at),
        form_label=_form_label("06"),
        fields=fields,
        table=Table(
            headers=[
                "STT",
                "Bên giao",
                "Bên nhận",
                "Thời gian giao, nhận",
                "Hạn xử lý",
                "Kết quả",
                "Ghi chú",
            ],
            rows=table_rows,
            widths=[0.06, 0.19, 0.19, 0.13, 0.13, 0.11, 0.19],
            align=["C", "L", "L", "C", "C", "C", "L"],
            font_size=8.0,
        ),
        closing=closing,
        qr_payload=qr_payload,
        tracking_url=url,
        metadata=_form_metadata("06", title, issuers.name(issuer), view),
    )
    return _rendered("06", title, f"{view.code}-mau-06.pdf", spec)
