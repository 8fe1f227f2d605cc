"""Personal-data requests (Law 91/2025/QH15 on personal data protection with Decree
356/2025/ND-CP, in force 1/1/2026; DOMAIN.md section 5): a data subject asks to see,
correct or restrict the personal data the centre holds about them, and is answered
within 2 working days (`MOTCUA_DATA_REQUEST_WORKING_DAYS`).

What the law allows to change is a policy, written here so it is read in one place:

- contact data (phone, e-mail, postal address) is corrected where it is still used: the
  notifications not yet sent go to the corrected address. [uncertain] Whether a dossier
  still being processed should take the new contact for later notices too is not built:
  its workflow keeps the contact it was filed with.
- identity data (name, ID number) is part of records kept under the archives law
  (docs/personal-data.md, "Retention"): never changed or erased, only annotated; a wrong
  identity on a dossier is corrected through the procedure itself.
- a restriction is annotated on every dossier of the subject for the officers who handle
  them. [uncertain] What processing must stop (beyond what the procedure needs) is for the
  centre's data protection officer; motcua records and shows the restriction.

Every decision is taken by a leader of the centre, and every change leaves a note on the
dossier it touched, with the values before and after."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from domain.dossier import Status
from domain.labels import event_label, role_label

CONTACT_FIELDS = ("phone", "email", "address")
IDENTITY_FIELDS = ("name", "id_number")
FIELD_LABELS = {
    "name": "họ và tên",
    "id_number": "số định danh",
    "phone": "số điện thoại",
    "email": "thư điện tử",
    "address": "địa chỉ",
}
# Which outbox channel carries a contact field's notifications.
CONTACT_CHANNELS = {"phone": "sms", "email": "email"}


class RequestKind(StrEnum):
    ACCESS = "access"  # see (quyền được biết, truy cập dữ liệu)
    CORRECT = "correct"  # correct (chỉnh sửa)
    RESTRICT = "restrict"  # restrict processing (hạn chế xử lý)

    @property
    def label_vi(self) -> str:
        return {
            RequestKind.ACCESS: "xem dữ liệu cá nhân",
            RequestKind.CORRECT: "chỉnh sửa dữ liệu cá nhân",
            RequestKind.RESTRICT: "hạn chế xử lý dữ liệu cá nhân",
        }[self]


class RequestStatus(StrEnum):
    RECEIVED = "received"
    ANSWERED = "answered"
    REFUSED = "refused"

    @property
    def label_vi(self) -> str:
        return {
            RequestStatus.RECEIVED: "đang xử lý",
            RequestStatus.ANSWERED: "đã trả lời",
            RequestStatus.REFUSED: "từ chối",
        }[self]


def _when(iso: str | None) -> str:
    """An ISO instant as hh:mm dd/mm/yyyy in Viet Nam (the export stores ISO strings)."""
    if not iso:
        return "—"
    local = datetime.fromisoformat(iso).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    return f"{local:%H:%M %d/%m/%Y}"


def _status(status: str) -> str:
    try:
        return Status(status).label_vi
    except ValueError:
        return status


def summary_vi(export: dict[str, Any]) -> str:
    """The export as a Vietnamese text a citizen reads: what is held, dossier by dossier,
    who did what and who read it."""
    lines = [
        "TRÍCH XUẤT DỮ LIỆU CÁ NHÂN",
        f"Yêu cầu số: {export['request']['id']}",
        f"Tài khoản: {export['request']['account']}",
        f"Lập lúc: {_when(export['generated_at'])}",
        "",
        f"Trung tâm đang lưu {len(export['dossiers'])} hồ sơ của ông/bà.",
    ]
    for n, d in enumerate(export["dossiers"], 1):
        a = d["applicant"]
        lines += [
            "",
            f"{n}. Hồ sơ {d['code']}: {d['procedure_name']} (mã {d['procedure_code']})",
            f"   Người nộp: {a['name']}, số định danh {a['id_number']}",
            f"   Nộp lúc {_when(d['submitted_at'])}; trạng thái: {_status(d['status'])}",
        ]
        if d["contacts"]:
            held = ", ".join(f"{c['channel']}: {c['recipient']}" for c in d["contacts"])
            lines.append(f"   Liên lạc đã dùng để gửi thông báo: {held}")
        lines.append(f"   Diễn biến xử lý ({len(d['events'])} bước):")
        for e in d["events"]:
            who = e["actor_name"] or role_label(e["role"])
            where = f" ({e['agency']})" if e["agency"] else ""
            lines.append(f"   - {_when(e['at'])}: {event_label(e['kind'])} – {who}{where}")
        lines.append(f"   Giấy tờ ({len(d['documents'])}):")
        for doc in d["documents"]:
            lines.append(f"   - {doc['title'] or doc['form']}: {doc['filename'] or doc['sha256']}")
        lines.append("   Người đã đọc hồ sơ (nhật ký kiểm toán):")
        if not d["reads"]:
            lines.append("   - không có lượt đọc nào được ghi")
        for r in d["reads"]:
            lines.append(
                f"   - {_when(r['at'])}: {r['actor_id']} ({r['application']}, {r['action']})"
            )
        for note in d["notes"]:
            lines.append(f"   Ghi chú ({_when(note['at'])}): {note['note']}")
        for rating in d["ratings"]:
            lines.append(f"   Đánh giá ({_when(rating['at'])}): {rating['rating']}")
    lines += ["", export["reads_note"], export["temporal_note"]]
    return "\n".join(lines) + "\n"
