"""Who is told what, for each dossier event. Delivery (SMS, e-mail, the national
portal, VNeID) reads the outbox; this module only decides the messages."""

from __future__ import annotations

import json

from domain.catalog import Role
from domain.dossier import Applicant, DossierView, Event
from store.schemas import OutboxMessage

# Events the applicant hears about, with the message subject.
APPLICANT_SUBJECTS = {
    "accept": "Hồ sơ đã được tiếp nhận",
    "request_supplement": "Yêu cầu bổ sung, hoàn thiện hồ sơ",
    "refuse": "Hồ sơ bị từ chối",
    "reject": "Hồ sơ không được chấp thuận",
    "request_extension": "Thư xin lỗi và hẹn lại ngày trả kết quả",
    "stopped": "Thông báo dừng giải quyết hồ sơ",
    "supplement_expired": "Hồ sơ đã đóng do không bổ sung đúng hạn",
    "return": "Đã trả kết quả",
    "schedule_inspection": "Lịch kiểm tra hiện trạng",
}


def _applicant_channels(applicant: Applicant) -> list[tuple[str, str]]:
    channels = [("portal", applicant.account or applicant.id_number)]
    if applicant.phone:
        channels.append(("sms", applicant.phone))
    if applicant.email:
        channels.append(("email", applicant.email))
    return channels


def notifications_for(event: Event, view: DossierView, applicant: Applicant) -> list[OutboxMessage]:
    messages: list[OutboxMessage] = []
    subject = APPLICANT_SUBJECTS.get(event.kind)
    if (
        event.kind == "step_started"
        and event.status_after
        and event.status_after.value == "processed"
    ):
        subject = "Hồ sơ đã có kết quả, mời nhận kết quả"
    if subject:
        body = f"{subject}. Mã hồ sơ {view.code}."
        if view.appointment_at and event.kind in ("accept", "request_extension"):
            body += f" Ngày hẹn trả: {view.appointment_at.isoformat()}."
        if event.kind == "schedule_inspection":
            body += f" Thời gian: {event.data.get('inspection_at')}, {event.data.get('place', '')}."
        if event.comment:
            body += f" {event.comment}"
        for channel, address in _applicant_channels(applicant):
            messages.append(
                OutboxMessage(
                    dossier_code=view.code,
                    event_id=event.id,
                    recipient_role=Role.APPLICANT,
                    recipient=f"{channel}:{address}",
                    channel=channel,
                    subject=subject,
                    body=body,
                    created_at=event.at,
                )
            )
    if event.kind in ("escalated", "overdue", "inspection_due"):
        messages.append(
            _to_officers(
                event,
                view,
                str(event.data.get("to_role", Role.LEADER.value)),
                event.data.get("to_agency"),
                subject=f"Cảnh báo hồ sơ {view.code}",
                body=event.comment,
            )
        )
    role = event.data.get("owner_role")
    if event.kind == "step_started" and role not in (None, Role.SYSTEM.value, Role.APPLICANT.value):
        messages.append(
            _to_officers(
                event,
                view,
                str(role),
                event.data.get("owner_agency"),
                subject=f"Hồ sơ {view.code} chờ xử lý",
                body=f"Bước '{event.step_id}' hạn {event.data.get('due_at')}",
            )
        )
    return messages


CHANNEL_CODES = {"counter": 1, "online": 2, "post": 3}  # KenhThucHien


def portal_sync(event: Event, view: DossierView, result_base_url: str) -> OutboxMessage | None:
    """A status change, queued for the national portal (Cổng DVCQG) with the national
    status code and the fields the Decision 766 index is computed from."""
    if event.status_after is None:
        return None
    if event.kind != "submitted" and event.status_after == event.status_before:
        return None  # the submission is news even though its status is the initial one
    supplements = [x for x in view.exclusions if x.reason == "supplement"]
    result = view.result
    record = {
        "MaHoSo": view.code,
        "MaTTHC": view.procedure_code,
        "TrangThaiHoSo": event.status_after.national_code,
        "TrangThai": event.status_after.value,
        "ThoiDiemCapNhat": event.at.isoformat(),
        "KenhThucHien": CHANNEL_CODES.get(view.channel.value, 1),
        "CoQuanTiepNhan": view.centre_agency,
        "CoQuanGiaiQuyet": view.competent_agency,
        "NgayNopHoSo": view.submitted_at.isoformat(),
        "NgayTiepNhan": view.received_at.isoformat() if view.received_at else None,
        "NgayHenTra": view.appointment_at.isoformat() if view.appointment_at else None,
        "NgayKetThucXuLy": view.processed_at.isoformat() if view.processed_at else None,
        "YeuCauBoSung": [
            {
                "NgayYeuCau": x.start.isoformat(),
                "NgayBoSung": x.end.isoformat() if x.end else None,
            }
            for x in supplements
        ],
        "DuocThanhToanTrucTuyen": 2 if event.kind == "pay" and event.role == Role.SYSTEM else 0,
        "MaKetQua": result.number if result else None,
        "DuongDanTepTinKetQua": (
            f"{result_base_url}/v1/dossiers/{view.code}/documents/{result.document_id}"
            if result
            else None
        ),
        "SoLanYeuCauBoSung": view.supplement_requests,
        "QuaHan": view.overdue is not None,
    }
    return OutboxMessage(
        id=f"{event.id}:dvcqg",
        dossier_code=view.code,
        event_id=event.id,
        recipient="dvcqg",
        channel="dvcqg",
        subject=f"{view.code} {event.status_after.value}",
        body=json.dumps(record, ensure_ascii=False, sort_keys=True),
        created_at=event.at,
    )


def _to_officers(
    event: Event, view: DossierView, role: str, agency: str | None, *, subject: str, body: str
) -> OutboxMessage:
    """A message to whoever holds `role` at `agency` (their worklist in the portal)."""
    return OutboxMessage(
        dossier_code=view.code,
        event_id=event.id,
        recipient_role=Role(role),
        recipient_agency=agency,
        recipient=f"{role}@{agency}",
        channel="portal",
        subject=subject,
        body=body,
        created_at=event.at,
    )
