"""What every form shares: titles, the rendered document, issuers, dates and rendering."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from activities import render_pool
from activities.pdf import DocumentMetadata, DocumentSpec
from domain.dossier import DossierView
from domain.ratings import rating_code

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


@dataclass(frozen=True)
class RenderedDocument:
    form: str
    title: str
    filename: str
    pdf: bytes
    sha256: str
    media_type: str = "application/pdf"


def verify_url(public_base_url: str, dossier_code: str) -> str | None:
    """The public verification page of what was issued for a dossier, on the public
    address (MOTCUA_PUBLIC_BASE_URL); None without one."""
    if not public_base_url:
        return None
    base = public_base_url.rstrip("/")
    return f"{base}/ui/verify?code={quote(dossier_code, safe='-._~')}"


@dataclass(frozen=True)
class Issuers:
    """How documents name agencies: code -> name, code -> parent body (the line above
    the name), code -> place name for the date line, and the public tracking URL base."""

    names: Mapping[str, str] = field(default_factory=dict)
    parents: Mapping[str, str] = field(default_factory=dict)
    tracking_base_url: str = ""
    public_base_url: str = ""  # where the API is reached (links to documents)
    places: Mapping[str, str] = field(default_factory=dict)
    rating_key: bytes = b""  # the key of receipts' rating codes (none: no code printed)

    def name(self, code: str) -> str:
        return self.names.get(code, code)

    def parent(self, code: str) -> str:
        return self.parents.get(code, "")

    def place(self, code: str) -> str:
        return self.places.get(code, "")

    def tracking_url(self, dossier_code: str) -> str | None:
        """The public tracking page, the dossier's code filled in (the applicant adds
        their ID number)."""
        if not self.tracking_base_url:
            return None
        return self.tracking_base_url + quote(dossier_code, safe="-._~")

    def verify_url(self, dossier_code: str) -> str | None:
        """The public verification page of what was issued for the dossier."""
        return verify_url(self.public_base_url, dossier_code)

    def rating_code(self, dossier_code: str) -> str | None:
        """The receipt's rating code (domain/ratings.py), when a key is configured."""
        return rating_code(self.rating_key, dossier_code) if self.rating_key else None

    def rating_url(self, dossier_code: str) -> str | None:
        """The counter kiosk's page for the dossier, its rating code filled in."""
        code = self.rating_code(dossier_code)
        if not code or not self.public_base_url:
            return None
        return f"{self.public_base_url}/ui/rate?code={quote(dossier_code, safe='-._~')}&t={code}"


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


# What the QR code under a result says: it opens the verification page.
VERIFY_CAPTION = "Quét mã QR hoặc truy cập đường dẫn dưới đây để kiểm tra văn bản này:"


def _qr(view_code: str, issuers: Issuers, *, verify: bool = False) -> tuple[str, str | None]:
    """The QR code's content and the link printed under it: the link itself (a phone's
    camera opens it), to the tracking page, or for a result to its verification page;
    the bare dossier code where no public address is configured."""
    url = issuers.verify_url(view_code) if verify else issuers.tracking_url(view_code)
    return (url or view_code), url


def _form_metadata(form: str, title: str, author: str, view: DossierView) -> DocumentMetadata:
    """The PDF metadata of a numbered form (01–06) of a dossier: its title, the circular
    that prescribes it, who issued it, and the dossier code (what `verify` reads back)."""
    return DocumentMetadata(
        title=f"{title} – {view.code}",
        subject=f"Mẫu số {form}, {CIRCULAR}: {view.procedure_name}",
        author=author,
        dossier_code=view.code,
        document=form,
    )
