"""The one-stop documents of Circular 03/2025/TT-VPCP Annex I, and each
procedure's result document, rendered as PDF.

* Forms 01-05 come from a dossier event whose data names the form (`render_form`).
* Form 06, the control slip (Phiếu kiểm soát quá trình giải quyết hồ sơ), is built from
  the dossier's steps and events (`render_control_slip`, rows by `control_slip_rows`).
* Form 07, the tracking book (Sổ theo dõi hồ sơ), lists an agency's dossiers
  (`render_tracking_book`).
* The result (permit, certificate or refusal decision) comes from `render_result`.

Every document is a pure function of its inputs, so an activity retry produces the
same bytes and SHA-256; the PDF Keywords carry ``motcua-dossier=<code>`` and
``motcua-document=<form>`` for the verifier. Layout lives in ``activities.pdf``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from activities import render_pool
from activities.pdf import (
    DocumentMetadata,
    DocumentSpec,
    Paragraph,
    SignatureBlock,
    Table,
)
from domain.catalog import Role
from domain.dossier import Applicant, Channel, DossierView, Event, StepView

TZ = ZoneInfo("Asia/Ho_Chi_Minh")

FORM_TITLES: dict[str, str] = {
    "01": "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "02": "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
    "03": "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
    "04": "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
    "05": "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
    "06": "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
    "07": "SỔ THEO DÕI HỒ SƠ",
    "result": "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
}

CIRCULAR = "Thông tư 03/2025/TT-VPCP"
COMPLAINTS_LAW = "Luật Khiếu nại năm 2011"

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

# The signature title of whoever issued a form, by role.
_SIGNER_TITLES: dict[Role, str] = {
    Role.INTAKE_OFFICER: "NGƯỜI TIẾP NHẬN HỒ SƠ",
    Role.RETURN_OFFICER: "NGƯỜI TRẢ KẾT QUẢ",
    Role.SPECIALIST: "CÔNG CHỨC XỬ LÝ HỒ SƠ",
    Role.LEADER: "THỦ TRƯỞNG CƠ QUAN",
    Role.SIGNER: "THỦ TRƯỞNG CƠ QUAN",
    Role.ADMIN: "NGƯỜI LẬP",
    Role.AUDITOR: "NGƯỜI LẬP",
    Role.APPLICANT: "NGƯỜI NỘP HỒ SƠ",
}

_RETURN_CHANNELS = {
    Channel.COUNTER.value: "Bộ phận Một cửa",
    Channel.ONLINE.value: "Trực tuyến, trên Cổng Dịch vụ công",
    Channel.POST.value: "Qua dịch vụ bưu chính công ích",
}

_UNITS_VI = {
    "working days": "ngày làm việc",
    "working hours": "giờ làm việc",
    "calendar days": "ngày",
}

# Events that end a step but are not an officer's act.
_NOT_OFFICERS = (Role.SYSTEM, Role.APPLICANT)


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class RenderedDocument:
    form: str
    title: str
    filename: str
    pdf: bytes
    sha256: str
    media_type: str = "application/pdf"


@dataclass(frozen=True)
class Issuers:
    """How documents name agencies: code -> name, code -> parent body (the line above
    the name), code -> place name for the date line, and the public tracking URL base."""

    names: Mapping[str, str] = field(default_factory=dict)
    parents: Mapping[str, str] = field(default_factory=dict)
    tracking_base_url: str = ""
    public_base_url: str = ""  # where the API is reached (links to documents)
    places: Mapping[str, str] = field(default_factory=dict)

    def name(self, code: str) -> str:
        return self.names.get(code, code)

    def parent(self, code: str) -> str:
        return self.parents.get(code, "")

    def place(self, code: str) -> str:
        return self.places.get(code, "")

    def tracking_url(self, dossier_code: str) -> str | None:
        if not self.tracking_base_url:
            return None
        return self.tracking_base_url + quote(dossier_code, safe="-._~")


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


@dataclass(frozen=True)
class BookRow:
    code: str
    procedure_name: str
    applicant_name: str
    received_at: datetime | None
    appointment_at: datetime | None
    returned_at: datetime | None
    status_label: str
    note: str = ""


@dataclass(frozen=True)
class ResultInfo:
    number: str  # "123/GP-UBND"
    kind_title: str  # "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH", "QUYẾT ĐỊNH về việc ..."
    granted: bool
    decision_text: str
    reasons: str  # refusal reasons; "" when granted
    signer_name: str
    signer_title: str  # "CHỦ TỊCH", "TRƯỞNG PHÒNG"
    signing_agency: str  # agency code
    legal_basis: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- formatting


def _dt(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _when(value: str | datetime | None) -> str:
    dt = _dt(value)
    if dt is None:
        return "—"
    local = dt.astimezone(TZ)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d}/{local:%m}/{local:%Y}"


def _date(value: str | datetime | None) -> str:
    dt = _dt(value)
    return "—" if dt is None else f"{dt.astimezone(TZ):%d/%m/%Y}"


def _short(value: datetime | None) -> str:
    return "" if value is None else f"{value.astimezone(TZ):%H:%M %d/%m/%Y}"


def _place_date(place: str, at: datetime) -> str:
    """'Hòa An, ngày 05 tháng 02 năm 2026': a leading zero on days below 10 and on
    months 1 and 2 (Decree 30/2020/ND-CP)."""
    local = at.astimezone(TZ)
    month = f"{local.month:02d}" if local.month <= 2 else str(local.month)
    text = f"ngày {local.day:02d} tháng {month} năm {local.year}"
    return f"{place}, {text}" if place else text.capitalize()


def _duration_vi(value: object) -> str:
    """'15 working days' (a Duration's str) in Vietnamese."""
    text = str(value or "").strip()
    if not text:
        return "—"
    number, _, unit = text.partition(" ")
    return f"{number.replace('.', ',')} {_UNITS_VI.get(unit, unit)}".strip()


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the document time must be timezone-aware")


def _rendered(form: str, title: str, filename: str, spec: DocumentSpec) -> RenderedDocument:
    pdf = render_pool.render(spec)
    return RenderedDocument(
        form=form,
        title=title,
        filename=filename,
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
    )


def _form_label(form: str) -> str:
    return f"Mẫu số {form} – Phụ lục I, {CIRCULAR}"


def _qr(view_code: str, issuers: Issuers) -> tuple[str, str | None]:
    url = issuers.tracking_url(view_code)
    return (f"{view_code}|{url}" if url else view_code), url


def _actor_signature(event: Event, title_override: str | None = None) -> SignatureBlock:
    if event.role is Role.SYSTEM:
        return SignatureBlock(title="BỘ PHẬN MỘT CỬA", note="(Văn bản được lập tự động)")
    title = title_override or _SIGNER_TITLES.get(event.role, "NGƯỜI LẬP")
    return SignatureBlock(title=title, name=event.actor_name or event.actor_id, note="(Ký số)")


def _documents_list(view: DossierView) -> str:
    if not view.documents:
        return "—"
    return "\n".join(f"{i}) {d.kind}: {d.filename}" for i, d in enumerate(view.documents, 1))


def _numbered(items: Sequence[object]) -> str:
    texts = [str(i).strip() for i in items if str(i).strip()]
    if not texts:
        return "—"
    return "\n".join(f"{i}) {t}" for i, t in enumerate(texts, 1))


# --------------------------------------------------------------------------- forms 01-05


def _applicant_fields(view: DossierView, applicant: Applicant) -> list[tuple[str, str]]:
    rows = [
        ("Mã hồ sơ", view.code),
        ("Thủ tục", f"{view.procedure_name} (mã {view.procedure_code})"),
        ("Người nộp hồ sơ", applicant.name),
        ("Địa chỉ", applicant.address or "—"),
        ("Số điện thoại", applicant.phone or "—"),
    ]
    if applicant.email:
        rows.append(("Thư điện tử", applicant.email))
    return rows


def _form_01(
    event: Event, view: DossierView, applicant: Applicant, issuers: Issuers
) -> tuple[list[str | Paragraph], list[tuple[str, str]], list[str | Paragraph]]:
    d = event.data
    centre = issuers.name(view.centre_agency)
    fields: list[tuple[str, str]] = [
        ("Ông/bà", applicant.name),
        ("Địa chỉ", applicant.address or "—"),
        ("Số điện thoại", applicant.phone or "—"),
    ]
    if applicant.email:
        fields.append(("Thư điện tử", applicant.email))
    fields += [
        ("Nội dung yêu cầu giải quyết", f"{view.procedure_name} (mã {view.procedure_code})"),
        ("Mã hồ sơ", view.code),
        ("Cơ quan giải quyết", issuers.name(view.competent_agency)),
        ("1. Thành phần hồ sơ nộp gồm", _documents_list(view)),
        ("2. Số lượng hồ sơ", "01 bộ"),
        ("3. Thời gian giải quyết hồ sơ theo quy định", _duration_vi(d.get("statutory_time"))),
        ("4. Thời gian nhận hồ sơ", _when(d.get("received_at") or view.received_at)),
        (
            "5. Thời gian trả kết quả giải quyết hồ sơ",
            _when(d.get("appointment_at") or view.appointment_at),
        ),
    ]
    channel = d.get("return_channel")
    if channel:
        where = _RETURN_CHANNELS.get(str(channel), str(channel))
        if str(channel) == Channel.COUNTER.value:
            where = f"{where} ({centre})"
        fields.append(("6. Đăng ký nhận kết quả tại", where))
    closing: list[str | Paragraph] = []
    if d.get("remote_area"):
        closing.append(
            "Hồ sơ thuộc địa bàn miền núi, hải đảo, vùng sâu, vùng xa: thời hạn giải quyết "
            "đã được cộng thêm theo quy định."
        )
    closing.append(
        Paragraph(
            "Tổ chức, cá nhân tra cứu tình trạng giải quyết hồ sơ bằng mã hồ sơ trên Cổng "
            "Dịch vụ công hoặc quét mã QR dưới đây.",
            style="I",
            size=10,
        )
    )
    return [f"{centre} tiếp nhận hồ sơ của:"], fields, closing


def _form_02(
    event: Event, view: DossierView, applicant: Applicant, issuers: Issuers
) -> tuple[list[str | Paragraph], list[tuple[str, str]], list[str | Paragraph]]:
    d = event.data
    issuer = issuers.name(view.centre_agency)
    at_intake = d.get("stage", "intake") == "intake"
    missing = d.get("missing", [])
    missing_items = missing if isinstance(missing, list) else [missing]
    paragraphs: list[str | Paragraph] = [
        f"{issuer} đã tiếp nhận hồ sơ của ông/bà {applicant.name} đề nghị giải quyết thủ tục "
        f"hành chính: {view.procedure_name}.",
        (
            "Qua kiểm tra, hồ sơ chưa đầy đủ, hợp lệ."
            if at_intake
            else "Qua thẩm định, hồ sơ cần được bổ sung, hoàn thiện."
        )
        + " Đề nghị ông/bà bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:",
    ]
    fields = [
        *_applicant_fields(view, applicant),
        ("Nội dung cần bổ sung, hoàn thiện", _numbered(missing_items)),
        ("Lý do", event.comment or "—"),
        ("Hạn bổ sung, hoàn thiện", _when(d.get("supplement_due_at"))),
    ]
    if d.get("request_number"):
        fields.append(("Yêu cầu bổ sung lần thứ", str(d["request_number"])))
    closing: list[str | Paragraph] = [
        (
            "Thời hạn giải quyết được tính từ khi nhận đủ hồ sơ hợp lệ."
            if at_intake
            else "Thời gian chờ bổ sung, hoàn thiện hồ sơ không tính vào thời hạn giải quyết."
        ),
        "Quá thời hạn trên mà ông/bà không bổ sung, hoàn thiện hồ sơ thì hồ sơ sẽ bị dừng "
        "giải quyết theo quy định.",
        f"Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, ông/bà liên hệ {issuer} để "
        "được hướng dẫn./.",
    ]
    return paragraphs, fields, closing


def _form_03(
    event: Event, view: DossierView, applicant: Applicant, issuers: Issuers
) -> tuple[list[str | Paragraph], list[tuple[str, str]], list[str | Paragraph]]:
    issuer = issuers.name(view.centre_agency)
    if event.kind == "supplement_expired":
        reason = "Hết thời hạn bổ sung, hoàn thiện hồ sơ mà ông/bà không bổ sung theo yêu cầu."
    else:
        reason = event.comment or "—"
    paragraphs: list[str | Paragraph] = [
        f"{issuer} tiếp nhận hồ sơ của ông/bà {applicant.name} đề nghị giải quyết thủ tục "
        f"hành chính: {view.procedure_name}.",
        f"Sau khi xem xét, {issuer} từ chối tiếp nhận, giải quyết hồ sơ với lý do sau:",
    ]
    fields = [*_applicant_fields(view, applicant), ("Lý do từ chối", reason)]
    closing: list[str | Paragraph] = ["Xin thông báo để ông/bà được biết./."]
    return paragraphs, fields, closing


def _form_04(
    event: Event, view: DossierView, applicant: Applicant, issuers: Issuers
) -> tuple[list[str | Paragraph], list[tuple[str, str]], list[str | Paragraph]]:
    d = event.data
    centre = issuers.name(view.centre_agency)
    agency = issuers.name(view.competent_agency)
    previous = _when(d.get("previous_appointment"))
    new = _when(d.get("new_appointment"))
    reason = event.comment or "—"
    paragraphs: list[str | Paragraph] = [
        f"Ngày {_date(view.received_at)}, {centre} tiếp nhận hồ sơ của ông/bà {applicant.name} "
        f"đề nghị giải quyết thủ tục hành chính: {view.procedure_name}; mã hồ sơ {view.code}.",
        f"Thời hạn trả kết quả giải quyết hồ sơ theo giấy hẹn là {previous}. Tuy nhiên đến nay, "
        f"{agency} chưa thể trả kết quả giải quyết hồ sơ cho ông/bà đúng hạn. Lý do: {reason}",
        f"Sự chậm trễ này đã gây phiền hà, tốn kém thời gian và chi phí của ông/bà. {agency} "
        f"trân trọng xin lỗi ông/bà và hẹn trả kết quả giải quyết hồ sơ vào {new}.",
    ]
    fields = [
        *_applicant_fields(view, applicant),
        ("Ngày hẹn trả trước đây", previous),
        ("Lý do chậm", reason),
        ("Ngày hẹn trả mới", new),
    ]
    closing: list[str | Paragraph] = ["Xin trân trọng cảm ơn./."]
    return paragraphs, fields, closing


def _form_05(
    event: Event, view: DossierView, applicant: Applicant, issuers: Issuers
) -> tuple[list[str | Paragraph], list[tuple[str, str]], list[str | Paragraph]]:
    d = event.data
    issuer = issuers.name(view.centre_agency)
    if event.kind == "supplement_expired":
        reason = "Hết thời hạn bổ sung, hoàn thiện hồ sơ mà ông/bà không bổ sung theo yêu cầu."
    elif event.kind == "stopped" and d.get("reason") is not None:
        said = str(d.get("reason") or "").strip()
        reason = "Ông/bà đề nghị rút hồ sơ" + (f": {said}" if said else ".")
    else:
        reason = str(d.get("reason") or event.comment or "—")
    paragraphs: list[str | Paragraph] = [
        f"{issuer} thông báo dừng giải quyết hồ sơ mã {view.code} của ông/bà {applicant.name} "
        f"đề nghị giải quyết thủ tục hành chính: {view.procedure_name}, kể từ {_when(event.at)}.",
    ]
    fields = [
        *_applicant_fields(view, applicant),
        ("Lý do dừng giải quyết", reason),
        ("Thời điểm dừng", _when(event.at)),
    ]
    closing: list[str | Paragraph] = ["Xin thông báo để ông/bà được biết./."]
    return paragraphs, fields, closing


_FORM_BODIES = {"01": _form_01, "02": _form_02, "03": _form_03, "04": _form_04, "05": _form_05}


def render_form(
    form: str, event: Event, view: DossierView, applicant: Applicant, issuers: Issuers
) -> RenderedDocument:
    """Forms 01-05, from the event that issues them (its data names the form)."""
    body = _FORM_BODIES.get(form)
    if body is None:
        raise ValueError(f"unknown form {form}")
    title = FORM_TITLES[form]
    issuer_code = view.competent_agency if form == "04" else view.centre_agency
    paragraphs, fields, closing = body(event, view, applicant, issuers)
    qr_payload, url = _qr(view.code, issuers)
    counter = None
    recipients: list[str] = []
    if form == "01" and view.channel is Channel.COUNTER:
        counter = SignatureBlock(
            title="NGƯỜI NỘP HỒ SƠ", name=applicant.name, note="(Ký, ghi rõ họ tên)"
        )
    elif form == "04":
        recipients = [
            f"Ông/bà {applicant.name};",
            f"{issuers.name(view.centre_agency)};",
            "Lưu: VT.",
        ]
    signer_title = "NGƯỜI HƯỚNG DẪN" if form == "02" and event.role is Role.INTAKE_OFFICER else None
    spec = DocumentSpec(
        issuer=issuers.name(issuer_code),
        issuer_parent=issuers.parent(issuer_code),
        title=title,
        created_at=event.at,
        number=str(event.data.get("number") or view.code),
        place_date=_place_date(issuers.place(issuer_code), event.at),
        form_label=_form_label(form),
        paragraphs=paragraphs,
        fields=fields,
        closing=closing,
        signature_block=_actor_signature(event, signer_title),
        counter_signature=counter,
        recipients=recipients,
        qr_payload=qr_payload,
        tracking_url=url,
        metadata=DocumentMetadata(
            title=f"{title} – {view.code}",
            subject=f"Mẫu số {form}, {CIRCULAR}: {view.procedure_name}",
            author=issuers.name(issuer_code),
            dossier_code=view.code,
            document=form,
        ),
    )
    return _rendered(form, title, f"{view.code}-mau-{form}.pdf", spec)


# --------------------------------------------------------------------------- form 06


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
    actor of its last event that is not the system's (nor the applicant's)."""
    officers: dict[str, str] = {}
    supplements: dict[str, int] = {}
    extensions: dict[str, list[str]] = {}
    for e in sorted(events, key=lambda e: e.seq):
        if e.step_id is None:
            continue
        if e.role not in _NOT_OFFICERS:
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
        metadata=DocumentMetadata(
            title=f"{title} – {view.code}",
            subject=f"Mẫu số 06, {CIRCULAR}: {view.procedure_name}",
            author=issuers.name(issuer),
            dossier_code=view.code,
            document="06",
        ),
    )
    return _rendered("06", title, f"{view.code}-mau-06.pdf", spec)


# --------------------------------------------------------------------------- form 07


def render_tracking_book(
    agency_code: str, rows: list[BookRow], period_label: str, issuers: Issuers, at: datetime
) -> RenderedDocument:
    """Form 07: Sổ theo dõi hồ sơ, landscape; the table repeats its header on every page."""
    _require_aware(at)
    title = FORM_TITLES["07"]
    table_rows = [
        [
            str(i),
            r.code,
            r.procedure_name,
            r.applicant_name,
            _short(r.received_at),
            _short(r.appointment_at),
            _short(r.returned_at),
            r.status_label,
            r.note,
        ]
        for i, r in enumerate(rows, 1)
    ]
    spec = DocumentSpec(
        issuer=issuers.name(agency_code),
        issuer_parent=issuers.parent(agency_code),
        title=title,
        subtitle=period_label,
        created_at=at,
        place_date=_place_date(issuers.place(agency_code), at),
        form_label=_form_label("07"),
        table=Table(
            headers=[
                "STT",
                "Mã hồ sơ",
                "Tên TTHC",
                "Tên tổ chức/cá nhân",
                "Ngày nhận",
                "Ngày hẹn trả",
                "Ngày trả/chuyển",
                "Tình trạng",
                "Ghi chú",
            ],
            rows=table_rows,
            widths=[0.045, 0.125, 0.2, 0.14, 0.085, 0.085, 0.085, 0.1, 0.135],
            align=["C", "L", "L", "L", "C", "C", "C", "L", "L"],
            font_size=8.0,
        ),
        closing=[Paragraph(f"Tổng số: {len(rows)} hồ sơ.", style="B", align="L", size=10)],
        landscape=True,
        metadata=DocumentMetadata(
            title=f"{title} – {issuers.name(agency_code)} – {period_label}",
            subject=f"Mẫu số 07, {CIRCULAR}",
            author=issuers.name(agency_code),
            document="07",
            keywords=[f"motcua-agency={agency_code}"],
        ),
    )
    return _rendered("07", title, f"so-theo-doi-{agency_code}-{at.astimezone(TZ):%Y%m%d}.pdf", spec)


# --------------------------------------------------------------------------- the result


def _split_title(kind_title: str) -> tuple[str, str]:
    """'QUYẾT ĐỊNH về việc từ chối ...' -> ('QUYẾT ĐỊNH', 'Về việc từ chối ...')."""
    words = kind_title.split()
    for i, word in enumerate(words):
        if word != word.upper():
            head, tail = " ".join(words[:i]), " ".join(words[i:])
            if head:
                return head, tail[:1].upper() + tail[1:]
            break
    return kind_title, ""


def render_result(
    view: DossierView, applicant: Applicant, info: ResultInfo, issuers: Issuers, at: datetime
) -> RenderedDocument:
    """The procedure's result: the permit or certificate granted, or the decision refusing it."""
    _require_aware(at)
    title, subtitle = _split_title(info.kind_title)
    agency = issuers.name(info.signing_agency)
    bases: list[str | Paragraph] = [
        Paragraph(
            (basis if basis.lower().startswith("căn cứ") else f"Căn cứ {basis}").rstrip(" ;.")
            + ";",
            style="I",
        )
        for basis in info.legal_basis
    ]
    bases.append(
        Paragraph(
            f"Xét hồ sơ đề nghị của ông/bà {applicant.name}, mã hồ sơ {view.code}, tiếp nhận "
            f"ngày {_date(view.received_at or view.submitted_at)}.",
            style="I",
        )
    )
    is_decision = title.upper().startswith("QUYẾT ĐỊNH")
    heading = "QUYẾT ĐỊNH:" if is_decision or not info.granted else "CHỨNG NHẬN:"
    paragraphs: list[str | Paragraph] = [
        *bases,
        Paragraph(f"{agency}".upper(), style="B", align="C") if is_decision else Paragraph(""),
        Paragraph(heading, style="B", align="C"),
    ]
    fields = [
        ("Họ và tên", applicant.name),
        ("Số định danh cá nhân", applicant.id_number),
        ("Địa chỉ", applicant.address or "—"),
        ("Thủ tục hành chính", f"{view.procedure_name} (mã {view.procedure_code})"),
        ("Mã hồ sơ", view.code),
    ]
    effect = _date(at)
    closing: list[str | Paragraph]
    if info.granted and not is_decision:
        fields.append(("Nội dung", info.decision_text or "—"))
        closing = [
            f"{title[:1]}{title[1:].lower()} này có hiệu lực kể từ ngày {effect}.",
            f"Ông/bà {applicant.name} có trách nhiệm thực hiện đúng nội dung được chứng nhận "
            "và các quy định của pháp luật có liên quan./.",
        ]
    elif info.granted:
        fields.append(("Nội dung", info.decision_text or "—"))
        closing = [
            f"Điều 1. Chấp thuận đề nghị của ông/bà {applicant.name} đối với thủ tục "
            f"{view.procedure_name}. {info.decision_text}".rstrip(),
            f"Điều 2. Văn bản này có hiệu lực kể từ ngày {effect}.",
            f"Điều 3. Ông/bà {applicant.name} và các cơ quan, đơn vị có liên quan chịu trách "
            "nhiệm thi hành văn bản này./.",
        ]
    else:
        fields.append(("Lý do từ chối", info.reasons or "—"))
        closing = [
            f"Điều 1. Từ chối giải quyết hồ sơ mã {view.code} của ông/bà {applicant.name} đề "
            f"nghị giải quyết thủ tục {view.procedure_name}. Lý do: {info.reasons or '—'}",
        ]
        if info.decision_text:
            closing.append(info.decision_text)
        closing += [
            f"Điều 2. Trường hợp không đồng ý với quyết định này, ông/bà có quyền khiếu nại "
            f"theo quy định của {COMPLAINTS_LAW} hoặc khởi kiện vụ án hành chính theo quy "
            "định của pháp luật.",
            f"Điều 3. Quyết định này có hiệu lực kể từ ngày {effect}./.",
        ]
    qr_payload, url = _qr(view.code, issuers)
    spec = DocumentSpec(
        issuer=agency,
        issuer_parent=issuers.parent(info.signing_agency),
        title=title,
        subtitle=subtitle,
        created_at=at,
        number=info.number,
        place_date=_place_date(issuers.place(info.signing_agency), at),
        paragraphs=[p for p in paragraphs if not (isinstance(p, Paragraph) and not p.text)],
        fields=fields,
        closing=closing,
        signature_block=SignatureBlock(
            title=info.signer_title, name=info.signer_name, note="(Đã ký số)"
        ),
        recipients=[f"Ông/bà {applicant.name};", f"Lưu: VT, hồ sơ {view.code}."],
        qr_payload=qr_payload,
        tracking_url=url,
        metadata=DocumentMetadata(
            title=f"{info.kind_title} – {view.code}",
            subject=f"Kết quả giải quyết thủ tục {view.procedure_name}",
            author=agency,
            dossier_code=view.code,
            document="result",
            keywords=[
                f"motcua-number={info.number}",
                "motcua-outcome=" + ("granted" if info.granted else "refused"),
            ],
        ),
    )
    return _rendered("result", info.kind_title, f"{view.code}-ket-qua.pdf", spec)
