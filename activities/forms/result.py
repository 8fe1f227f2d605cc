"""The procedure's result: the permit or certificate granted, or the decision refusing it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from activities.forms._common import (
    VERIFY_CAPTION,
    Issuers,
    RenderedDocument,
    _date,
    _place_date,
    _qr,
    _rendered,
    _require_aware,
)
from activities.pdf import DocumentMetadata, DocumentSpec, Paragraph, SignatureBlock
from domain.catalog import ResultTemplate
from domain.dossier import Applicant, DossierView

COMPLAINTS_LAW = "Luật Khiếu nại năm 2011"


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
    template: ResultTemplate | None = None  # what a granted result holds (the catalog's)


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


_PLACEHOLDER = re.compile(r"\{([a-z_.]+)\}")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _date(value)
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value if _text(v))
    return str(value).strip()


class _Sources:
    """The values a result template names (domain.catalog.RESULT_SOURCE), from the
    dossier, its applicant, the steps' findings and the result itself."""

    def __init__(
        self, view: DossierView, applicant: Applicant, info: ResultInfo, at: datetime
    ) -> None:
        self.view, self.applicant, self.info, self.at = view, applicant, info, at

    def value(self, source: str, text: str = "") -> str:
        if source == "text":
            return text
        head, _, rest = source.partition(".")
        found: Any = None
        if head == "applicant":
            found = getattr(self.applicant, rest, None)
        elif head == "dossier":
            found = getattr(self.view, rest, None)
        elif head == "result":
            found = {
                "number": self.info.number,
                "date": _date(self.at),
                "decision_text": self.info.decision_text,
            }.get(rest)
        elif head == "finding":
            kind, _, key = rest.partition(".")
            latest = [f for f in self.view.findings if f.kind == kind]
            if latest:
                finding = latest[-1]
                if key in ("comment", "actor_name", "at"):
                    found = getattr(finding, key)
                else:
                    found = finding.data.get(key)
        return _text(found) or text

    def fill(self, line: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.value(m.group(1)) or "—", line)


def render_result(
    view: DossierView, applicant: Applicant, info: ResultInfo, issuers: Issuers, at: datetime
) -> RenderedDocument:
    """The procedure's result: the permit or certificate granted, or the decision refusing it."""
    _require_aware(at)
    title, subtitle = _split_title(info.kind_title)
    agency = issuers.name(info.signing_agency)
    template = info.template if info.granted else None
    legal_basis = (
        template.basis if template is not None and template.basis is not None else info.legal_basis
    )
    bases: list[str | Paragraph] = [
        Paragraph(
            (basis if basis.lower().startswith("căn cứ") else f"Căn cứ {basis}").rstrip(" ;.")
            + ";",
            style="I",
        )
        for basis in legal_basis
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
    if template is not None:
        # The procedure's own result: its fields and closing lines, as the catalog says.
        sources = _Sources(view, applicant, info, at)
        paragraphs = [
            *bases,
            *(sources.fill(line) for line in template.intro),
            Paragraph(f"{agency}".upper(), style="B", align="C") if is_decision else Paragraph(""),
            Paragraph(template.heading, style="B", align="C"),
        ]
        fields = [(f.label, sources.value(f.source, f.text) or "—") for f in template.fields]
        closing = [sources.fill(line) for line in template.closing]
    elif info.granted and not is_decision:
        fields.append(("Nội dung", info.decision_text or "—"))
        closing = [
            f"{title[:1]}{title[1:].lower()} này có hiệu lực kể từ ngày {effect}.",
            f"Ông/bà {applicant.name} có trách nhiệm thực hiện đúng nội dung được chứng nhận "
            "và các quy định của pháp luật có liên quan./.",
        ]
    elif info.granted:
        # The decision's content is its Article 1, not a row above it as well.
        closing = [
            f"Điều 1. Chấp thuận đề nghị của ông/bà {applicant.name} đối với thủ tục "
            f"{view.procedure_name}. {info.decision_text}".rstrip(),
            f"Điều 2. Văn bản này có hiệu lực kể từ ngày {effect}.",
            f"Điều 3. Ông/bà {applicant.name} và các cơ quan, đơn vị có liên quan chịu trách "
            "nhiệm thi hành văn bản này./.",
        ]
    else:
        # The reason is stated once, in Article 1.
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
    qr_payload, url = _qr(view.code, issuers, verify=True)
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
        qr_caption=VERIFY_CAPTION,
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
