"""The electronic receipt for a fee collected (biên lai thu phí, lệ phí điện tử): the
collecting unit, the series' symbol and number, the payer, the dossier, each fee line,
the total in figures and in words, how it was paid; sealed by the collecting unit.
[uncertain] The content follows Decree 11/2020/NĐ-CP and Circular 78/2021/TT-BTC as
remembered (tên tổ chức thu, ký hiệu, số, người nộp, khoản thu, số tiền bằng số và bằng
chữ, hình thức thanh toán, thời điểm lập): the finance officer should confirm the form."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from activities.forms._common import Issuers, RenderedDocument, _place_date, _rendered, _when
from activities.pdf import DocumentMetadata, DocumentSpec, Paragraph, SignatureBlock, Table
from domain.fees import METHODS_VI
from domain.vietnamese import number

TITLE = "BIÊN LAI THU PHÍ, LỆ PHÍ"
KINDS_VI = {"phi": "Phí", "le_phi": "Lệ phí", "gia_dich_vu": "Giá dịch vụ"}

_DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
_GROUPS = ["", "nghìn", "triệu", "tỷ"]


def _three(n: int, full: bool) -> str:
    """Words for 0..999; `full`: a group after a higher one (reads its zero hundreds)."""
    h, t, u = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if h or full:
        words += [_DIGITS[h], "trăm"]
    if t == 0:
        if u and (h or full):
            words.append("linh")
    elif t == 1:
        words.append("mười")
    else:
        words += [_DIGITS[t], "mươi"]
    if u:
        if u == 1 and t > 1:
            words.append("mốt")
        elif u == 5 and t > 0:
            words.append("lăm")
        elif u == 4 and t > 1:
            words.append("tư")
        else:
            words.append(_DIGITS[u])
    return " ".join(words)


def in_words(amount: int) -> str:
    """200000 -> "Hai trăm nghìn đồng" (the total in words, as a receipt writes it)."""
    if amount == 0:
        return "Không đồng"
    groups: list[int] = []
    n = amount
    while n:
        groups.append(n % 1000)
        n //= 1000
    words: list[str] = []
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            continue
        words.append(_three(g, full=i < len(groups) - 1))
        if _GROUPS[i % 4]:
            words.append(_GROUPS[i % 4])
    text = " ".join(words) + " đồng"
    return text[:1].upper() + text[1:]


def _line_name(line: dict[str, Any]) -> str:
    """The fee's name, after its kind unless the name says it already."""
    name, kind = str(line.get("name", "")), KINDS_VI.get(str(line.get("kind")), "")
    return name if not kind or name.lower().startswith(kind.lower()) else f"{kind}: {name}"


@dataclass(frozen=True)
class ReceiptInfo:
    receipt_id: str
    number: int
    symbol: str
    agency_code: str  # the collecting unit
    dossier_code: str
    procedure_name: str
    payer_name: str
    payer_address: str
    amount_vnd: int
    method: str
    issued_at: datetime
    collector_name: str  # the officer, or the gateway
    lines: list[dict[str, Any]] = field(default_factory=list)
    replaces: str | None = None  # the cancelled receipt it replaces


def render_receipt(info: ReceiptInfo, issuers: Issuers) -> RenderedDocument:
    rows = [
        [
            str(i),
            _line_name(line)
            + (f" (đối tượng: {line['exemption']})" if line.get("exemption") else ""),
            str(line.get("copies", 1)) if line.get("per") == "copy" else "1",
            number(int(line.get("amount_vnd", 0))),
        ]
        for i, line in enumerate(info.lines, start=1)
    ]
    rows.append(["", "Tổng cộng", "", number(info.amount_vnd)])
    closing: list[str | Paragraph] = [
        Paragraph(f"Số tiền bằng chữ: {in_words(info.amount_vnd)}.", style="I", align="L"),
    ]
    bases = sorted({str(line["legal_basis"]) for line in info.lines if line.get("legal_basis")})
    if bases:
        closing.append(Paragraph(f"Căn cứ thu: {'; '.join(bases)}.", align="L", size=9))
    if info.replaces:
        closing.append(
            Paragraph(
                f"Biên lai này thay thế biên lai số {info.replaces.rsplit(':', 1)[-1]} đã bị hủy.",
                style="B",
                align="L",
            )
        )
    spec = DocumentSpec(
        issuer=issuers.name(info.agency_code),
        issuer_parent=issuers.parent(info.agency_code),
        title=TITLE,
        subtitle="(Biên lai điện tử)",
        number=f"{info.number:07d}      Ký hiệu: {info.symbol}",
        place_date=_place_date(issuers.place(info.agency_code), info.issued_at),
        created_at=info.issued_at,
        metadata=DocumentMetadata(
            title=f"{TITLE} số {info.number:07d} – {info.dossier_code}",
            subject=f"Biên lai ký hiệu {info.symbol} số {info.number:07d}",
            author=issuers.name(info.agency_code),
            dossier_code=info.dossier_code,
            document="receipt",
            keywords=[f"motcua-receipt={info.receipt_id}"],
        ),
        fields=[
            ("Tên đơn vị thu", issuers.name(info.agency_code)),
            ("Người nộp", info.payer_name),
            ("Địa chỉ", info.payer_address or "—"),
            ("Mã hồ sơ", info.dossier_code),
            ("Thủ tục", info.procedure_name),
            ("Hình thức thanh toán", METHODS_VI.get(info.method, info.method)),
            ("Thời điểm lập biên lai", _when(info.issued_at)),
        ],
        table=Table(
            headers=["STT", "Khoản thu", "Số lượng", "Số tiền (đồng)"],
            rows=rows,
            widths=[0.08, 0.6, 0.12, 0.2],
            align=["C", "L", "C", "R"],
        ),
        closing=closing,
        counter_signature=SignatureBlock(title="NGƯỜI NỘP TIỀN", note=f"({info.payer_name})"),
        signature_block=SignatureBlock(
            title="NGƯỜI THU TIỀN", name=info.collector_name, note="(Ký số, đóng dấu đơn vị thu)"
        ),
    )
    filename = f"bien-lai-{info.symbol}-{info.number:07d}.pdf"
    return _rendered("receipt", f"Biên lai thu phí, lệ phí số {info.number:07d}", filename, spec)
