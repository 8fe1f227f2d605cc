"""Who is told what, for each dossier event. Delivery (SMS, e-mail, the national
portal, VNeID) reads the outbox; this module only decides the messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from activities.forms import verify_url
from domain.calendar import VIETNAM_TZ
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
    # A component its database could not supply: supplement it, and have the data corrected.
    "database_correction_requested": "Đề nghị điều chỉnh thông tin trong cơ sở dữ liệu",
}


TZ = ZoneInfo(VIETNAM_TZ)


def _local(value: str | datetime | None) -> str:
    """An instant as people read it here: `16:30 12/01/2030`, in Asia/Ho_Chi_Minh."""
    if value is None or value == "":
        return ""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{dt.astimezone(TZ):%H:%M %d/%m/%Y}"


def _step_name(view: DossierView, step_id: str | None) -> str:
    """A step as an officer reads it: its name in the procedure ("Thẩm định hồ sơ"), not
    its id; the id only when the view does not hold the step."""
    step = next((s for s in view.steps if s.step_id == step_id), None)
    return f"“{step.name}”" if step else f"'{step_id}'"


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
            body += f" Ngày hẹn trả: {_local(view.appointment_at)}."
        if event.kind == "step_started" and event.data.get("result_to") == "post":
            body += (
                " Kết quả được gửi qua dịch vụ bưu chính công ích đến địa chỉ ông/bà đã đăng ký."
            )
        if event.kind == "schedule_inspection":
            body += f" Thời gian: {_local(event.data.get('inspection_at'))}, {event.data.get('place', '')}."
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
    officer = event.data.get("to_officer")
    if event.kind in ("escalated", "overdue") and isinstance(officer, str) and officer:
        # The leader who assigned the late step, by name (besides the leader role).
        messages.append(
            _to_officer(event, view, officer, f"Cảnh báo hồ sơ {view.code}", event.comment)
        )
    assignee = event.data.get("assignee_id")
    if event.kind == "assign" and isinstance(assignee, str) and assignee:
        messages.append(
            _to_officer(
                event,
                view,
                assignee,
                f"Hồ sơ {view.code} được phân công cho bạn",
                f"Bước {_step_name(view, event.step_id)}, do "
                f"{event.actor_name or event.actor_id} phân công. "
                f"{event.comment}".strip(),
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
                body=(
                    f"Bước {_step_name(view, event.step_id)}, hạn "
                    f"{_local(event.data.get('due_at'))}"
                ),
            )
        )
    return messages


CHANNEL_CODES = {"counter": 1, "online": 2, "post": 3}  # KenhThucHien

# DuocThanhToanTrucTuyen (766 formula document, DOMAIN.md §1.9): 0 not paid online,
# 1 through the national portal's Payment Platform, 2 through a ministry's or the
# province's own gateway. The payment confirmation's `method` tells them apart: these
# methods name the national platform [uncertain: the platform's own method names].
NATIONAL_PAYMENT_METHODS = frozenset({"dvcqg", "payment_platform"})


def online_payment_code(method: str | None) -> int:
    """DuocThanhToanTrucTuyen for a dossier paid through a gateway with `method`
    (None: not paid online)."""
    if method is None:
        return 0
    return 1 if method.lower() in NATIONAL_PAYMENT_METHODS else 2


def paid_online_by(event: Event) -> str | None:
    """The method of a payment a gateway confirmed (a `pay` by the system role), or None."""
    if event.kind == "pay" and event.role == Role.SYSTEM:
        return str(event.data.get("method") or "online")
    return None


def portal_sync(
    event: Event,
    view: DossierView,
    result_base_url: str,
    *,
    portal_code: str | None = None,
    payment_method: str | None = None,
    later: Sequence[Event] = (),
) -> OutboxMessage | None:
    """A status change, queued for the national portal (Cổng DVCQG) with the national
    status code and the fields the Decision 766 index is computed from, as they stood
    at `event`.

    `view` is the dossier after its whole batch of events; `later`, the batch's events
    after this one: what they changed (a supplement request, the result, the end of
    processing) is not yet so at this event. `portal_code`: the portal's own code of a
    dossier filed there (the portal knows it by that code; motcua's goes along as
    MaHoSoDiaPhuong). `payment_method`: how a gateway confirmed the dossier's payment,
    at this event or before (None: not paid online); the flag stays on every later
    message, so the portal's last record keeps it."""
    if event.status_after is None:
        return None
    if event.kind != "submitted" and event.status_after == event.status_before:
        return None  # the submission is news even though its status is the initial one
    at = event.at

    def by_now(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None and moment <= at else None

    supplements = [x for x in view.exclusions if x.reason == "supplement" and x.start <= at]
    requests = view.supplement_requests - sum(e.kind == "request_supplement" for e in later)
    result = None if any(e.kind == "result_issued" for e in later) else view.result
    overdue = view.overdue is not None and view.overdue.at <= at
    # Received at the dossier's arrival, which may be earlier than its acceptance.
    received = None if any(e.kind == "accept" for e in later) else view.received_at
    appointment = view.appointment_at if received else None
    record = {
        "MaHoSo": portal_code or view.code,
        "MaHoSoDiaPhuong": view.code,
        "MaTTHC": view.procedure_code,
        "TrangThaiHoSo": event.status_after.national_code,
        "TrangThai": event.status_after.value,
        "ThoiDiemCapNhat": at.isoformat(),
        "KenhThucHien": CHANNEL_CODES.get(view.channel.value, 1),
        "CoQuanTiepNhan": view.centre_agency,
        "CoQuanGiaiQuyet": view.competent_agency,
        "NgayNopHoSo": view.submitted_at.isoformat(),
        "NgayTiepNhan": received.isoformat() if received else None,
        "NgayHenTra": appointment.isoformat() if appointment else None,
        "NgayKetThucXuLy": by_now(view.processed_at),
        "YeuCauBoSung": [
            {"NgayYeuCau": x.start.isoformat(), "NgayBoSung": by_now(x.end)} for x in supplements
        ],
        "DuocThanhToanTrucTuyen": online_payment_code(paid_online_by(event) or payment_method),
        "MaKetQua": result.number if result else None,
        # The public verification page of the signed result (its QR code's address).
        "DuongDanTepTinKetQua": verify_url(result_base_url, view.code) if result else None,
        "SoLanYeuCauBoSung": requests,
        # The 766 on-time rule: more than one supplement request counts as overdue.
        "QuaHan": overdue or requests > 1,
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


def _to_officer(
    event: Event, view: DossierView, officer: str, subject: str, body: str
) -> OutboxMessage:
    """A message to one officer by login id (their worklist in the portal)."""
    return OutboxMessage(
        dossier_code=view.code,
        event_id=event.id,
        recipient=f"officer:{officer}",
        channel="portal",
        subject=subject,
        body=body,
        created_at=event.at,
    )
