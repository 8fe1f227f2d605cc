"""The one-stop forms of Circular 03/2025/TT-VPCP Annex I, rendered as HTML.

An event whose data names a form ("01".."05") produces that form when the
event is recorded. The documents are stored with their SHA-256 so an auditor
can show a citizen's paper slip matches the record. Digital signatures on
them come with the signature work (issue 5).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from domain.dossier import Applicant, DossierView, Event

TZ = ZoneInfo("Asia/Ho_Chi_Minh")

FORM_TITLES = {
    "01": "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "02": "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
    "03": "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
    "04": "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
    "05": "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
}


@dataclass(frozen=True)
class RenderedForm:
    form: str
    title: str
    html: str
    sha256: str


def _when(value: str | datetime | None) -> str:
    if value is None:
        return "—"
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = dt.astimezone(TZ)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d}/{local:%m}/{local:%Y}"


def _rows(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs)


def _body(
    form: str, event: Event, view: DossierView, applicant: Applicant
) -> list[tuple[str, str]]:
    common = [
        ("Mã hồ sơ", view.code),
        ("Thủ tục", f"{view.procedure_name} ({view.procedure_code})"),
        ("Người nộp", applicant.name),
        ("Địa chỉ", applicant.address or "—"),
        ("Điện thoại", applicant.phone or "—"),
    ]
    d = event.data
    if form == "01":
        return [
            *common,
            ("Cơ quan tiếp nhận", view.centre_agency),
            ("Cơ quan giải quyết", view.competent_agency),
            ("Thời hạn giải quyết", str(d.get("statutory_time", ""))),
            ("Thời điểm nhận hồ sơ", _when(d.get("received_at"))),
            ("Ngày hẹn trả kết quả", _when(d.get("appointment_at"))),
        ]
    if form == "02":
        missing = "; ".join(str(m) for m in d.get("missing", []))
        return [
            *common,
            ("Nội dung cần bổ sung, hoàn thiện", missing),
            ("Lý do", event.comment or "—"),
            ("Hạn bổ sung", _when(d.get("supplement_due_at"))),
        ]
    if form == "03":
        return [*common, ("Lý do từ chối", event.comment or "—")]
    if form == "04":
        return [
            *common,
            ("Ngày hẹn trả trước đây", _when(d.get("previous_appointment"))),
            ("Lý do chậm", event.comment or "—"),
            ("Ngày hẹn trả mới", _when(d.get("new_appointment"))),
            (
                "Lời xin lỗi",
                "Cơ quan xin lỗi ông/bà vì sự chậm trễ và hẹn lại ngày trả kết quả như trên.",
            ),
        ]
    if form == "05":
        return [
            *common,
            ("Lý do dừng giải quyết", str(d.get("reason") or event.comment or "—")),
            ("Thời điểm dừng", _when(event.at)),
        ]
    raise ValueError(f"unknown form {form}")


def render_form(form: str, event: Event, view: DossierView, applicant: Applicant) -> RenderedForm:
    title = FORM_TITLES[form]
    issued_by = view.competent_agency if form == "04" else view.centre_agency
    html = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Mẫu số {form} – {escape(view.code)}</title></head>
<body>
<header><p>{escape(issued_by)}</p>
<p><strong>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</strong><br>Độc lập - Tự do - Hạnh phúc</p></header>
<h1>{title}</h1>
<p>Mẫu số {form}, Phụ lục I, Thông tư 03/2025/TT-VPCP</p>
<table>
{_rows(_body(form, event, view, applicant))}
</table>
<footer><p>Lập lúc {escape(_when(event.at))} bởi {escape(event.actor_name or event.actor_id)}.
Sự kiện {escape(event.id)}.</p></footer>
</body></html>
"""
    return RenderedForm(
        form=form, title=title, html=html, sha256=hashlib.sha256(html.encode("utf-8")).hexdigest()
    )
