"""Form 07, the tracking book: an agency's dossiers of a period, landscape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from activities.forms._common import (
    CIRCULAR,
    FORM_TITLES,
    TZ,
    Issuers,
    RenderedDocument,
    _form_label,
    _place_date,
    _rendered,
    _require_aware,
    _short,
)
from activities.pdf import DocumentMetadata, DocumentSpec, Paragraph, Table


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
