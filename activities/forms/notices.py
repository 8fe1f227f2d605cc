"""Forms 01-05: the notices a dossier event issues (receipt, supplement, refusal, delay, stop)."""

from __future__ import annotations

from collections.abc import Sequence

from activities.forms._common import (
    FORM_TITLES,
    Issuers,
    RenderedDocument,
    _date,
    _form_label,
    _form_metadata,
    _place_date,
    _qr,
    _rendered,
    _when,
)
from activities.pdf import DocumentSpec, Paragraph, SignatureBlock
from domain.catalog import Role
from domain.checklist import component_line
from domain.dossier import Applicant, Channel, DossierView, Event
from domain.vietnamese import duration

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


def _actor_signature(event: Event, title_override: str | None = None) -> SignatureBlock:
    if event.role is Role.SYSTEM:
        return SignatureBlock(title="BỘ PHẬN MỘT CỬA", note="(Văn bản được lập tự động)")
    title = title_override or _SIGNER_TITLES.get(event.role, "NGƯỜI LẬP")
    return SignatureBlock(title=title, name=event.actor_name or event.actor_id, note="(Ký số)")


def _documents_list(view: DossierView) -> str:
    """What was handed in, as the receipt (Form 01) names it: each component of the
    procedure by its name, original or copy and count (a reused record says so), then any
    file that is none of them by its name; a view from before the checklist, by file."""
    checklist = view.checklist
    if checklist is None:
        lines = [f"{d.kind}: {d.filename}" for d in view.documents]
    else:
        lines = [
            component_line(item) + (" – khai thác lại" if all(f.reused for f in item.files) else "")
            for item in checklist.items
            if item.files
        ]
        lines += [f.filename for f in checklist.unmatched]
    if not lines:
        return "—"
    return "\n".join(f"{i}) {line}" for i, line in enumerate(lines, 1))


def _numbered(items: Sequence[object]) -> str:
    texts = [str(i).strip() for i in items if str(i).strip()]
    if not texts:
        return "—"
    return "\n".join(f"{i}) {t}" for i, t in enumerate(texts, 1))


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
        (
            "3. Thời gian giải quyết hồ sơ theo quy định",
            duration(str(d.get("statutory_time") or "")),
        ),
        ("4. Thời gian nhận hồ sơ", _when(d.get("received_at") or view.received_at)),
        (
            "5. Thời gian trả kết quả giải quyết hồ sơ",
            _when(d.get("appointment_at") or view.appointment_at),
        ),
    ]
    # Where the citizen collects the result: as the officer recorded it at intake, else
    # as the citizen chose when filing (boundary-free intake: another centre, or by post).
    channel = d.get("return_channel") or (
        Channel.POST.value
        if view.return_by_post
        else Channel.COUNTER.value
        if view.return_agency
        else None
    )
    if channel:
        where = _RETURN_CHANNELS.get(str(channel), str(channel))
        if str(channel) == Channel.COUNTER.value:
            returning = issuers.name(view.return_agency) if view.return_agency else centre
            where = f"{where} ({returning})"
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
    rating = issuers.rating_code(view.code)
    if rating:
        # The kiosk at the counter asks for it: only the receipt's holder rates the dossier.
        closing.append(
            Paragraph(
                f"Mã đánh giá sự hài lòng: {rating}. Khi nhận kết quả, ông/bà đánh giá tại "
                "máy tính bảng ở quầy (nhập mã hồ sơ và mã đánh giá)"
                + (f" hoặc tại {url}" if (url := issuers.rating_url(view.code)) else "")
                + ".",
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
        metadata=_form_metadata(form, title, issuers.name(issuer_code), view),
    )
    return _rendered(form, title, f"{view.code}-mau-{form}.pdf", spec)
