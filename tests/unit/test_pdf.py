"""The PDF documents: layout engine (activities.pdf) and the one-stop forms
(activities.forms): Vietnamese text, embedded font, determinism, QR code,
Form 06 rows, the tracking book, and that pyHanko can open and sign the output."""

from __future__ import annotations

import hashlib
import html
import io
import itertools
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from activities import forms, pdf
from activities.forms import (
    FORM_TITLES,
    BookRow,
    Issuers,
    RenderedDocument,
    ResultInfo,
    control_slip_rows,
    render_control_slip,
    render_form,
    render_result,
    render_tracking_book,
)
from activities.pdf import DocumentMetadata, DocumentSpec, Paragraph, Table, render_pdf
from domain.calendar import TimeUnit
from domain.catalog import Role, StepKind
from domain.dossier import (
    Applicant,
    Channel,
    DocumentRef,
    DossierView,
    Event,
    Status,
    StepView,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 11, 2, 8, 30, tzinfo=TZ)  # Monday
CENTRE = "000.00.01.H99"
AGENCY = "000.00.20.H99"
CODE = "H99.01-261102-0001"
PUBLIC = "http://127.0.0.1:8000"
TRACK = f"{PUBLIC}/ui/track?code="

ISSUERS = Issuers(
    names={
        CENTRE: "Trung tâm Phục vụ hành chính công xã Hòa An",
        AGENCY: "Ủy ban nhân dân xã Hòa An",
    },
    parents={CENTRE: "Ủy ban nhân dân xã Hòa An", AGENCY: "Tỉnh Cao Bằng"},
    tracking_base_url=TRACK,
    public_base_url=PUBLIC,
    places={CENTRE: "Hòa An", AGENCY: "Hòa An"},
)
APPLICANT = Applicant(
    name="Nguyễn Thị Ánh Tuyết",
    id_number="001190012345",
    phone="0912345678",
    address="Số 12, đường Lê Lợi, xã Hòa An, tỉnh Cao Bằng",
)


# --------------------------------------------------------------------------- builders


def step_view(
    index: int,
    step_id: str,
    name: str,
    kind: StepKind,
    role: Role,
    agency: str,
    started: datetime | None = None,
    due: datetime | None = None,
    ended: datetime | None = None,
    verdict: str | None = None,
) -> StepView:
    return StepView(
        index=index,
        step_id=step_id,
        name=name,
        kind=kind,
        role=role,
        agency=agency,
        budget="1 working days",
        started_at=started,
        due_at=due,
        ended_at=ended,
        verdict=verdict,
    )


def make_view(steps: list[StepView] | None = None, **overrides: Any) -> DossierView:
    steps = steps or [
        step_view(0, "intake", "Tiếp nhận hồ sơ", StepKind.INTAKE, Role.INTAKE_OFFICER, CENTRE),
        step_view(1, "return", "Trả kết quả", StepKind.RETURN, Role.RETURN_OFFICER, CENTRE),
    ]
    data: dict[str, Any] = {
        "code": CODE,
        "procedure_code": "1.001612",
        "procedure_version": 1,
        "procedure_name": "Đăng ký thành lập hộ kinh doanh",
        "status": Status.IN_PROGRESS,
        "status_code": 4,
        "status_label": "Đang xử lý",
        "channel": Channel.COUNTER,
        "centre_agency": CENTRE,
        "competent_agency": AGENCY,
        "submitted_at": T0,
        "received_at": T0,
        "appointment_at": T0 + timedelta(days=14),
        "original_appointment_at": T0 + timedelta(days=14),
        "current_step": None,
        "holder": None,
        "steps": steps,
        "clock_unit": TimeUnit.WORKING_DAYS,
        "clock_budget_minutes": 15 * 480,
        "clock_consumed_minutes": 0,
        "clock_paused": False,
        "paused_since": None,
        "time_paused_minutes": 0,
        "exclusions": [],
        "supplement_requests": 0,
        "supplement_due_at": None,
        "extensions": [],
        "escalations": [],
        "overdue": None,
        "outcome": None,
        "decided_at": None,
        "processed_at": None,
        "closed_at": None,
        "allowed_actions": [],
        "forms": [],
        "handoff_acks": [],
        "calendar_version": "test",
        "documents": [
            DocumentRef(kind="Đơn đề nghị", filename="don-de-nghi.pdf", sha256="a" * 64),
            DocumentRef(kind="Bản sao giấy tờ nhà đất", filename="so-do.pdf", sha256="b" * 64),
        ],
        "event_seq": 1,
    }
    data.update(overrides)
    return DossierView.model_validate(data)


def event(
    seq: int,
    kind: str,
    at: datetime,
    *,
    actor: str = "",
    role: Role = Role.SYSTEM,
    step_id: str | None = None,
    agency: str | None = None,
    comment: str = "",
    **data: Any,
) -> Event:
    return Event(
        id=f"{CODE}:{seq}",
        seq=seq,
        dossier_code=CODE,
        kind=kind,
        at=at,
        actor_id=f"id-{actor or 'system'}",
        actor_name=actor or "motcua",
        role=role,
        agency=agency,
        step_id=step_id,
        comment=comment,
        data=data,
    )


def simple_spec(**overrides: Any) -> DocumentSpec:
    data: dict[str, Any] = {
        "issuer": "Trung tâm Phục vụ hành chính công xã Hòa An",
        "issuer_parent": "Ủy ban nhân dân xã Hòa An",
        "title": "Giấy tiếp nhận hồ sơ",
        "created_at": T0,
        "number": CODE,
        "place_date": "Hòa An, ngày 02 tháng 11 năm 2026",
        "form_label": "Mẫu số 01 – Phụ lục I, Thông tư 03/2025/TT-VPCP",
        "paragraphs": ["Người nộp: Nguyễn Thị Ánh Tuyết."],
        "fields": [("Mã hồ sơ", CODE)],
        "qr_payload": f"{CODE}|{TRACK}{CODE}",
        "tracking_url": f"{TRACK}{CODE}",
        "metadata": DocumentMetadata(
            title="Giấy tiếp nhận",
            subject="Mẫu 01",
            author="Trung tâm",
            dossier_code=CODE,
            document="01",
        ),
    }
    data.update(overrides)
    return DocumentSpec(**data)


# --------------------------------------------------------------------------- PDF helpers


def reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in reader(data).pages)


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in reader(data).pages]


def fonts_of(data: bytes) -> Iterator[Any]:
    for page in reader(data).pages:
        resources = page["/Resources"].get_object()
        for font in resources["/Font"].get_object().values():
            yield font.get_object()


def filled_rects(data: bytes) -> tuple[int, list[tuple[float, float, float, float]]]:
    """(page index, rectangles) of the page whose content has filled rectangles: the
    QR code is the only thing drawn with `re f` (table headers are `re B`)."""
    r = reader(data)
    for i, page in enumerate(r.pages):
        ops = ContentStream(page.get_contents(), r).operations
        rects = [
            tuple(float(v) for v in operands)
            for (operands, op), (_, nxt) in itertools.pairwise(ops)
            if op == b"re" and nxt == b"f"
        ]
        if rects:
            return i, rects  # type: ignore[return-value]
    raise AssertionError("no QR code drawn")


def modules_from_rects(rects: list[tuple[float, float, float, float]]) -> list[list[int]]:
    """The module matrix back from the drawn runs (PDF points, y upwards, h < 0)."""
    module = abs(rects[0][3])
    left = min(x for x, _, _, _ in rects)
    top = max(y for _, y, _, _ in rects)
    n = round((max(x + w for x, _, w, _ in rects) - left) / module)
    matrix = [[0] * n for _ in range(n)]
    for x, y, w, _h in rects:
        row = round((top - y) / module)
        start = round((x - left) / module)
        for c in range(start, start + round(w / module)):
            matrix[row][c] = 1
    return matrix


# --------------------------------------------------------------------------- fonts


def test_the_shipped_font_files_are_small_subsets_with_their_licence() -> None:
    files = sorted(p.name for p in pdf.FONT_DIR.glob("*.ttf"))
    # Tinos: Times New Roman's metrics, the face Decree 30/2020 asks for.
    assert files == ["Tinos-Bold.ttf", "Tinos-Italic.ttf", "Tinos-Regular.ttf"]
    for name in files:
        size = (pdf.FONT_DIR / name).stat().st_size
        assert 20_000 < size < 100_000, (name, size)
    licence = (pdf.FONT_DIR / "LICENSE-Tinos.txt").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Google" in licence
    assert "pyftsubset" in (pdf.FONT_DIR / "README.md").read_text()
    for style in ("", "B", "I"):
        cmap, _ = pdf._metrics(style)
        # every precomposed Vietnamese letter, đ/ơ/ư, the dong sign and the symbols
        wanted = [*range(0x1EA0, 0x1EFA), 0x0111, 0x0110, 0x01A1, 0x01B0, 0x20AB, 0x2116]
        wanted += [0x2022, 0x2014, 0x2013, 0x2026]
        assert [hex(c) for c in wanted if c not in cmap] == []


def test_the_font_is_embedded_and_no_external_font_is_referenced() -> None:
    data = render_pdf(
        simple_spec(paragraphs=[Paragraph("nghiêng", style="I"), Paragraph("đậm", style="B")])
    )
    fonts = list(fonts_of(data))
    assert len(fonts) == 3  # regular, bold, italic
    names = set()
    for font in fonts:
        assert font["/Subtype"] == "/Type0" and font["/Encoding"] == "/Identity-H"
        assert "/ToUnicode" in font
        (cid,) = font["/DescendantFonts"]
        cid = cid.get_object()
        assert cid["/Subtype"] == "/CIDFontType2"
        descriptor = cid["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor
        embedded = descriptor["/FontFile2"].get_object().get_data()
        assert 1_000 < len(embedded) < 60_000  # a subset, not the whole face
        names.add(str(font["/BaseFont"]))
        # a subset tag, then the face's name as fpdf2 reads it from the font
        assert re.fullmatch(r"/[A-Z]{6}\+Tinos\S*", str(font["/BaseFont"]))
        assert cid["/BaseFont"] == font["/BaseFont"]
    assert {n.split("+")[1] for n in names} == {"Tinos", "TinosBold", "TinosItalic"}
    assert b"/Type1" not in data and b"/FontFile " not in data and b"/FontFile3" not in data
    assert b"Helvetica" not in data and b"Times" not in data


def test_the_embedded_glyphs_are_the_font_files_own() -> None:
    """The subset carries each glyph as the shipped face has it (bounding box, outline,
    a composite letter's parts), so what a viewer draws is the face."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    text = "Cộng hòa xã hội chủ nghĩa Việt Nam: Độc lập - Tự do - Hạnh phúc ỹ Ữ ặ"
    data = render_pdf(simple_spec(paragraphs=[Paragraph(text)]))
    (font,) = [f for f in fonts_of(data) if str(f["/BaseFont"]).endswith("+Tinos")]
    descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    embedded = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
    shipped = TTFont(pdf.FONT_DIR / "Tinos-Regular.ttf")
    sub, full = embedded["glyf"], shipped["glyf"]
    cmap = shipped.getBestCmap()
    wanted = {cmap[ord(c)] for c in unicodedata.normalize("NFC", text) if c != " "}
    assert wanted <= set(embedded.getGlyphOrder())
    composites = 0
    for name in wanted:
        ours, theirs = sub[name], full[name]
        bbox = ("xMin", "yMin", "xMax", "yMax")
        assert [getattr(ours, k) for k in bbox] == [getattr(theirs, k) for k in bbox], name
        composites += theirs.isComposite()
        # A composite's outline resolved through its parts: right only if the parts'
        # numbers were renumbered with the subset.
        assert ours.getCoordinates(sub)[0] == theirs.getCoordinates(full)[0], name
    assert composites > 0  # Vietnamese letters built from a base and marks


# --------------------------------------------------------------------------- text


def test_vietnamese_text_comes_back_exactly_and_precomposed() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết")
    assert decomposed != "Nguyễn Thị Ánh Tuyết"
    data = render_pdf(
        simple_spec(
            paragraphs=[
                f"Người nộp: {decomposed}",
                "Các chữ khó: ỷ ữ ợ ặ Ỹ Ỵ ẫ ẩ đ Đ ơ ư; lệ phí 75.000 ₫ – № 12 • —",
            ],
            fields=[
                ("Họ và tên", "Nguyễn Thị Ánh Tuyết"),
                ("Ghi chú", "中文 không có trong phông"),
            ],
        )
    )
    text = text_of(data)
    assert unicodedata.is_normalized("NFC", text)
    assert "Người nộp: Nguyễn Thị Ánh Tuyết" in text
    assert "Họ và tên: Nguyễn Thị Ánh Tuyết" in text
    assert "ỷ ữ ợ ặ Ỹ Ỵ ẫ ẩ đ Đ ơ ư; lệ phí 75.000 ₫ – № 12 • —" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "Hòa An, ngày 02 tháng 11 năm 2026" in text
    assert "ỦY BAN NHÂN DÂN XÃ HÒA AN" in text  # issuer parent, upper case
    assert "GIẤY TIẾP NHẬN HỒ SƠ" in text  # title, upper case
    assert f"Số: {CODE}" in text
    assert "Mẫu số 01 – Phụ lục I, Thông tư 03/2025/TT-VPCP" in text
    # A character the font lacks becomes "?" instead of an invisible .notdef box.
    assert "?? không có trong phông" in text


def test_the_motto_is_underlined() -> None:
    data = render_pdf(simple_spec())
    r = reader(data)
    ops = ContentStream(r.pages[0].get_contents(), r).operations
    lines = [op for op, name in ops if name == b"l"]
    assert lines, "the rules under the motto and the issuer are drawn as lines"


def test_justified_paragraphs_keep_their_spaces() -> None:
    long = " ".join(["Thủ tục hành chính được giải quyết đúng hạn."] * 12)
    text = text_of(render_pdf(simple_spec(paragraphs=[long])))
    flat = " ".join(text.split())
    assert long in flat


def test_long_documents_break_pages_and_number_them() -> None:
    paragraph = "Căn cứ Luật Khiếu nại năm 2011; " * 30
    data = render_pdf(simple_spec(paragraphs=[paragraph] * 12))
    pages = page_texts(data)
    assert len(pages) >= 2
    for i, page in enumerate(pages, 1):
        assert f"Trang {i}/{len(pages)}" in page


def test_a_table_repeats_its_header_and_wraps_cells() -> None:
    rows = [[str(i), f"Mã {i:04d}", "Một ghi chú rất dài " * 6] for i in range(1, 121)]
    data = render_pdf(
        simple_spec(
            table=Table(
                headers=["STT", "Mã hồ sơ", "Ghi chú"],
                rows=rows,
                widths=[0.1, 0.3, 0.6],
                align=["C", "L", "L"],
            )
        )
    )
    pages = page_texts(data)
    assert len(pages) > 2
    for page in pages:
        assert "MÃ HỒ SƠ" in page and "GHI CHÚ" in page
    text = "\n".join(pages)
    assert "Mã 0001" in text and "Mã 0120" in text
    # wrapped: the 120-character note does not fit one line of its column
    assert max(len(line) for line in text.splitlines()) < 110


def test_a_table_row_must_match_its_header() -> None:
    with pytest.raises(ValueError, match="row 0"):
        Table(headers=["a", "b"], rows=[["1"]], widths=[0.5, 0.5])


# --------------------------------------------------------------------------- determinism


def test_the_same_spec_gives_the_same_bytes_and_another_time_other_bytes() -> None:
    first = render_pdf(simple_spec())
    assert render_pdf(simple_spec()) == first
    # the same instant written in another zone is the same document
    assert render_pdf(simple_spec(created_at=T0.astimezone(UTC))) == first
    later = render_pdf(simple_spec(created_at=T0 + timedelta(seconds=1)))
    assert later != first
    r = reader(first)
    assert r.metadata is not None
    assert r.metadata["/CreationDate"] == "D:20261102083000+07'00'"
    assert "/ModDate" not in r.metadata
    # The XMP packet (PDF/A) carries the document's own time, never "now".
    xmp = r.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<xmp:CreateDate>2026-11-02T08:30:00+07:00</xmp:CreateDate>" in xmp
    assert re.findall(r"\d{4}-\d\d-\d\dT[^<]*", xmp) == ["2026-11-02T08:30:00+07:00"] * 3
    file_id = r.trailer["/ID"]
    assert file_id[0] == file_id[1] and file_id == reader(render_pdf(simple_spec())).trailer["/ID"]
    assert file_id != reader(later).trailer["/ID"]
    assert f"D:{datetime.now(UTC):%Y%m%d}".encode() not in first


def test_the_bytes_do_not_depend_on_the_process() -> None:
    """A retried activity runs in another worker process: same SHA-256 there."""
    view = make_view()
    accept = event(
        3,
        "accept",
        T0 + timedelta(minutes=20),
        actor="Trần Văn Bình",
        role=Role.INTAKE_OFFICER,
        step_id="intake",
        agency=CENTRE,
        form="01",
        statutory_time="15 working days",
        received_at=T0.isoformat(),
        appointment_at=(T0 + timedelta(days=14)).isoformat(),
    )
    here = render_form("01", accept, view, APPLICANT, ISSUERS).sha256
    script = (
        "import sys, json\n"
        "from tests.unit.test_pdf import *\n"
        "view = make_view()\n"
        f"accept = Event.model_validate_json({accept.model_dump_json()!r})\n"
        "print(render_form('01', accept, view, APPLICANT, ISSUERS).sha256)\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == here


def test_a_document_owes_nothing_to_the_documents_rendered_before_it() -> None:
    """The faces are parsed once per process and copied for each document (writing a
    PDF subsets its font in place): what one document drew must not show in the next,
    which has the bytes it would have as the first document of a fresh process."""
    crowded = simple_spec(
        paragraphs=["ẞ Ỹ ỹ Ƀ ƀ Ǆ ǅ ǆ № ₫ € ✓ ✗ " * 4, "ĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚě" * 3],
        title="Nhiều ký tự",
    )
    render_pdf(crowded)
    plain = render_pdf(simple_spec())
    assert b"/FontFile2" in plain  # an embedded subset (not a core font)
    script = (
        "import hashlib\n"
        "from tests.unit.test_pdf import render_pdf, simple_spec\n"
        "print(hashlib.sha256(render_pdf(simple_spec())).hexdigest())\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == hashlib.sha256(plain).hexdigest()
    assert len(render_pdf(crowded)) > len(plain)  # the crowded one embeds more glyphs


def test_a_naive_creation_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        simple_spec(created_at=datetime(2026, 11, 2, 8, 30))


def test_metadata_and_the_keywords_convention() -> None:
    data = render_pdf(
        simple_spec(
            metadata=DocumentMetadata(
                title="Giấy tiếp nhận – Nguyễn Thị Ánh Tuyết",
                subject="Mẫu số 01",
                author="Trung tâm Phục vụ hành chính công xã Hòa An",
                dossier_code=CODE,
                document="01",
                keywords=["một cửa"],
            )
        )
    )
    meta = reader(data).metadata
    assert meta is not None
    assert meta["/Title"] == "Giấy tiếp nhận – Nguyễn Thị Ánh Tuyết"
    assert meta["/Subject"] == "Mẫu số 01"
    assert meta["/Author"] == "Trung tâm Phục vụ hành chính công xã Hòa An"
    assert meta["/Creator"] == "motcua"
    words = str(meta["/Keywords"]).split(" ")
    assert words == [f"motcua-dossier={CODE}", "motcua-document=01", "một_cửa"]
    assert b"/Encrypt" not in data


# --------------------------------------------------------------------------- QR


def test_the_qr_code_is_drawn_module_for_module() -> None:
    payload = f"{TRACK}{CODE}"
    data = render_pdf(simple_spec(qr_payload=payload))
    _, rects = filled_rects(data)
    expected = [list(row) for row in pdf.qr_matrix(payload)]
    assert modules_from_rects(rects) == expected
    dark = sum(map(sum, expected))
    assert dark > 100 and len(rects) < dark  # horizontal runs are merged
    text = text_of(data)
    assert f"{TRACK}{CODE}" in text


def test_the_qr_code_decodes() -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image, ImageDraw

    payload = f"{TRACK}{CODE}"
    data = render_pdf(simple_spec(qr_payload=payload))
    index, rects = filled_rects(data)
    page = reader(data).pages[index]
    scale = 6.0  # pixels per point, about 430 dpi
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    image = Image.new("L", (int(width * scale), int(height * scale)), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w, h in rects:  # PDF space: y upwards; h is negative (drawn downwards)
        x0, x1 = x * scale, (x + w) * scale
        y0, y1 = (height - y) * scale, (height - y - h) * scale
        draw.rectangle([x0, min(y0, y1), x1 - 1, max(y0, y1) - 1], fill=0)
    found = zxingcpp.read_barcodes(image)
    assert [b.text for b in found] == [payload]


# --------------------------------------------------------------------------- Form 06 rows


def slip_fixture() -> tuple[DossierView, list[Event]]:
    intake_due = T0 + timedelta(hours=4)
    appraisal_due = T0 + timedelta(days=3)
    steps = [
        step_view(0, "intake", "Tiếp nhận hồ sơ", StepKind.INTAKE, Role.INTAKE_OFFICER, CENTRE,
                  T0, intake_due, T0 + timedelta(hours=1), "early"),
        step_view(1, "handoff", "Chuyển hồ sơ", StepKind.HANDOFF, Role.SYSTEM, AGENCY,
                  T0 + timedelta(hours=1), T0 + timedelta(hours=5), T0 + timedelta(hours=2), "early"),
        # no verdict recorded: computed from ended_at > due_at
        step_view(2, "appraisal", "Thẩm định", StepKind.APPRAISAL, Role.SPECIALIST, AGENCY,
                  T0 + timedelta(hours=2), appraisal_due, appraisal_due + timedelta(days=1)),
        # never entered: the refusal went straight to the return step
        step_view(3, "approval", "Phê duyệt", StepKind.APPROVAL, Role.LEADER, AGENCY),
        step_view(4, "return", "Trả kết quả", StepKind.RETURN, Role.RETURN_OFFICER, CENTRE,
                  appraisal_due + timedelta(days=1), appraisal_due + timedelta(days=1, hours=4),
                  appraisal_due + timedelta(days=1, hours=4), "on_time"),
    ]  # fmt: skip
    view = make_view(steps, status=Status.RETURNED, status_label="Đã trả kết quả")
    events = [
        event(1, "submitted", T0, actor="Nguyễn Thị Ánh Tuyết", role=Role.APPLICANT),
        event(2, "step_started", T0, step_id="intake"),
        event(3, "accept", T0 + timedelta(hours=1), actor="Trần Văn Bình",
              role=Role.INTAKE_OFFICER, step_id="intake", agency=CENTRE, form="01"),
        event(4, "step_started", T0 + timedelta(hours=1), step_id="handoff"),
        event(5, "handoff_acknowledged", T0 + timedelta(hours=2), step_id="handoff"),
        event(6, "request_supplement", T0 + timedelta(days=1), actor="Lê Thị Cúc",
              role=Role.SPECIALIST, step_id="appraisal", agency=AGENCY, form="02"),
        event(7, "supplement", T0 + timedelta(days=2), actor="Nguyễn Thị Ánh Tuyết",
              role=Role.APPLICANT, step_id="appraisal"),
        event(8, "request_extension", T0 + timedelta(days=3), actor="Lê Thị Cúc",
              role=Role.SPECIALIST, step_id="appraisal", agency=AGENCY, form="04",
              new_appointment=(T0 + timedelta(days=20)).isoformat()),
        event(9, "refuse", appraisal_due + timedelta(days=1), actor="Lê Thị Cúc",
              role=Role.SPECIALIST, step_id="appraisal", agency=AGENCY),
        event(10, "escalated", appraisal_due + timedelta(days=1), step_id="appraisal"),
        event(11, "return", appraisal_due + timedelta(days=1, hours=4), actor="Phạm Văn Đức",
              role=Role.RETURN_OFFICER, step_id="return", agency=CENTRE),
    ]  # fmt: skip
    return view, events


def test_control_slip_rows_name_giver_receiver_and_verdict() -> None:
    view, events = slip_fixture()
    rows = control_slip_rows(view, list(reversed(events)))  # order of the list does not matter
    got = [
        (r.step_id, r.giver, r.giver_agency, r.receiver, r.receiver_agency, r.verdict) for r in rows
    ]
    assert got == [
        ("intake", "Trần Văn Bình", CENTRE, "Hệ thống (tự động)", AGENCY, "early"),
        ("handoff", "Hệ thống (tự động)", AGENCY, "Lê Thị Cúc", AGENCY, "early"),
        # late, and handed straight to the return step (approval was skipped)
        ("appraisal", "Lê Thị Cúc", AGENCY, "Phạm Văn Đức", CENTRE, "late"),
        ("return", "Phạm Văn Đức", CENTRE, "Tổ chức, cá nhân", "", "on_time"),
    ]
    appraisal = rows[2]
    assert appraisal.at == T0 + timedelta(days=4) and appraisal.due_at == T0 + timedelta(days=3)
    assert "Thẩm định" in appraisal.note
    assert "Yêu cầu bổ sung hồ sơ 1 lần" in appraisal.note
    assert "Gia hạn, hẹn trả mới 22/11/2026" in appraisal.note
    assert rows[0].step_name == "Tiếp nhận hồ sơ"


def test_control_slip_rows_never_name_the_leader_who_assigned_a_step() -> None:
    """Who holds a step by name is not who worked it: a leader's assignment, even the
    step's last officer event, gives no hand-over in the leader's name."""
    view, events = slip_fixture()
    late = T0 + timedelta(days=4)
    events.append(
        event(12, "assign", late, actor="Phạm Lãnh Đạo", role=Role.LEADER,
              step_id="appraisal", agency=AGENCY, assignee_id="id-Lê Thị Cúc")
    )  # fmt: skip
    rows = control_slip_rows(view, events)
    assert rows[2].giver == "Lê Thị Cúc"
    assert "Phạm Lãnh Đạo" not in {r.giver for r in rows} | {r.receiver for r in rows}


def test_control_slip_rows_stop_where_nothing_was_handed_over() -> None:
    steps = [
        step_view(0, "intake", "Tiếp nhận", StepKind.INTAKE, Role.INTAKE_OFFICER, CENTRE,
                  T0, T0 + timedelta(hours=4), T0 + timedelta(hours=5)),
        step_view(1, "appraisal", "Thẩm định", StepKind.APPRAISAL, Role.SPECIALIST, AGENCY),
        step_view(2, "return", "Trả kết quả", StepKind.RETURN, Role.RETURN_OFFICER, CENTRE),
    ]  # fmt: skip
    view = make_view(steps)
    refused = event(2, "refuse", T0 + timedelta(hours=5), actor="Trần Văn Bình",
                    role=Role.INTAKE_OFFICER, step_id="intake", form="03")  # fmt: skip
    assert control_slip_rows(view, [refused]) == []
    # once the next step has started, the hand-over shows, with a computed verdict
    started = steps[1].model_copy(update={"started_at": T0 + timedelta(hours=5)})
    view = make_view([steps[0], started, steps[2]])
    (row,) = control_slip_rows(view, [refused])
    assert (row.giver, row.receiver, row.receiver_agency, row.verdict) == (
        "Trần Văn Bình",
        "Chuyên viên xử lý",
        AGENCY,
        "late",
    )


def test_the_control_slip_renders_the_rows() -> None:
    view, events = slip_fixture()
    doc = render_control_slip(view, events, ISSUERS, T0 + timedelta(days=5))
    text = text_of(doc.pdf)
    assert FORM_TITLES["06"] in text
    for expected in ("Trần Văn Bình", "Lê Thị Cúc", "Phạm Văn Đức", "Trước hạn", "Quá hạn"):
        assert expected in text
    assert "Đúng hạn" in text
    assert "Ủy ban nhân dân xã Hòa An" in text  # agencies by name, not code
    assert doc.filename == f"{CODE}-mau-06.pdf"


# --------------------------------------------------------------------------- forms 01-05


def form_event(form: str) -> Event:
    at = T0 + timedelta(minutes=20)
    common: dict[str, Any] = {"step_id": "intake", "agency": CENTRE}
    if form == "01":
        return event(3, "accept", at, actor="Trần Văn Bình", role=Role.INTAKE_OFFICER,
                     form="01", statutory_time="15 working days", received_at=T0.isoformat(),
                     appointment_at=(T0 + timedelta(days=14)).isoformat(),
                     return_channel="post", **common)  # fmt: skip
    if form == "02":
        return event(3, "request_supplement", at, actor="Trần Văn Bình",
                     role=Role.INTAKE_OFFICER, comment="Thiếu bản sao",
                     form="02", missing=["Bản sao sổ đỏ", "Ảnh 3x4"], stage="intake",
                     request_number=1, supplement_due_at=(T0 + timedelta(days=5)).isoformat(),
                     **common)  # fmt: skip
    if form == "03":
        return event(3, "refuse", at, actor="Trần Văn Bình", role=Role.INTAKE_OFFICER,
                     comment="Không thuộc thẩm quyền", form="03", **common)  # fmt: skip
    if form == "04":
        return event(9, "request_extension", at + timedelta(days=13), actor="Hoàng Văn Dũng",
                     role=Role.LEADER, comment="Cần xác minh thực địa", form="04",
                     step_id="appraisal", agency=AGENCY,
                     previous_appointment=(T0 + timedelta(days=14)).isoformat(),
                     new_appointment=(T0 + timedelta(days=21)).isoformat())  # fmt: skip
    return event(5, "stopped", at, comment="Thông báo dừng giải quyết hồ sơ", form="05",
                 reason="Tôi không còn nhu cầu")  # fmt: skip


@pytest.mark.parametrize("form", ["01", "02", "03", "04", "05"])
def test_forms_01_to_05(form: str) -> None:
    view = make_view()
    ev = form_event(form)
    doc = render_form(form, ev, view, APPLICANT, ISSUERS)
    assert isinstance(doc, RenderedDocument)
    assert (doc.form, doc.title, doc.media_type) == (form, FORM_TITLES[form], "application/pdf")
    assert doc.filename == f"{CODE}-mau-{form}.pdf"
    assert doc.sha256 == hashlib.sha256(doc.pdf).hexdigest()
    assert doc.pdf.startswith(b"%PDF-")
    text = text_of(doc.pdf)
    assert FORM_TITLES[form] in " ".join(text.split())
    assert CODE in text and "Nguyễn Thị Ánh Tuyết" in text
    assert f"Mẫu số {form} – Phụ lục I" in text
    meta = reader(doc.pdf).metadata
    assert meta is not None
    assert f"motcua-dossier={CODE}" in str(meta["/Keywords"]).split()
    assert f"motcua-document={form}" in str(meta["/Keywords"]).split()
    issuer = ISSUERS.name(AGENCY if form == "04" else CENTRE)
    assert meta["/Author"] == issuer
    assert issuer.upper() in " ".join(text.split())
    _, rects = filled_rects(doc.pdf)
    # The QR code holds the tracking page's link itself: a phone's camera opens it.
    assert modules_from_rects(rects) == [list(r) for r in pdf.qr_matrix(f"{TRACK}{CODE}")]
    # rendering the same event again (an activity retry) gives the same document
    assert render_form(form, ev, view, APPLICANT, ISSUERS).sha256 == doc.sha256


def test_form_01_lists_documents_times_and_return_channel() -> None:
    text = " ".join(
        text_of(render_form("01", form_event("01"), make_view(), APPLICANT, ISSUERS).pdf).split()
    )
    assert "1) Đơn đề nghị: don-de-nghi.pdf" in text
    assert "2) Bản sao giấy tờ nhà đất: so-do.pdf" in text
    assert "15 ngày làm việc" in text
    assert "08 giờ 30 phút, ngày 02/11/2026" in text  # receipt
    assert "08 giờ 30 phút, ngày 16/11/2026" in text  # appointment
    assert "Qua dịch vụ bưu chính công ích" in text
    assert "NGƯỜI TIẾP NHẬN HỒ SƠ" in text and "Trần Văn Bình" in text
    assert "NGƯỜI NỘP HỒ SƠ" in text  # a counter dossier: the applicant signs too
    assert "Hòa An, ngày 02 tháng 11 năm 2026" in text


def test_form_01_says_where_the_citizen_chose_to_collect_the_result() -> None:
    """Boundary-free intake: the receipt names the centre the citizen chose (not the one
    that received it), or the post, as they filed it, when the officer recorded nothing
    else."""
    event = form_event("01")
    event = event.model_copy(
        update={"data": {k: v for k, v in event.data.items() if k != "return_channel"}}
    )

    def text(view: DossierView) -> str:
        return " ".join(text_of(render_form("01", event, view, APPLICANT, ISSUERS).pdf).split())

    assert "6. Đăng ký nhận kết quả tại" not in text(make_view())
    by_post = text(make_view(return_by_post=True))
    assert "6. Đăng ký nhận kết quả tại" in by_post
    assert "Qua dịch vụ bưu chính công ích" in by_post
    elsewhere = text(make_view(centre_agency=AGENCY, return_agency=CENTRE))
    assert "Bộ phận Một cửa (Trung tâm Phục vụ hành chính công xã Hòa An)" in elsewhere


def test_form_01_names_the_components_not_the_internal_keys() -> None:
    """The receipt lists what was handed in by the procedure's component names, original
    or copy and count (Circular 03/2025, Form 01), never by the catalog's keys."""
    from domain.catalog import RequiredDocument
    from domain.checklist import intake_checklist

    components = [
        RequiredDocument(kind="to_khai", name="Giấy đề nghị đăng ký hộ kinh doanh", original=True),
        RequiredDocument(kind="cccd", name="Bản sao căn cước của chủ hộ", copies=2),
        RequiredDocument(kind="hop_dong", name="Hợp đồng thuê địa điểm", required=False),
    ]
    documents = [
        DocumentRef(kind="to_khai", filename="to-khai.pdf", sha256="a" * 64),
        DocumentRef(kind="cccd", filename="cccd.pdf", sha256="b" * 64, reused=True),
        DocumentRef(kind="anh", filename="anh-cua-hang.jpg", sha256="c" * 64),
    ]
    view = make_view(documents=documents, checklist=intake_checklist(components, documents))
    text = " ".join(
        text_of(render_form("01", form_event("01"), view, APPLICANT, ISSUERS).pdf).split()
    )
    assert "1) Giấy đề nghị đăng ký hộ kinh doanh (bản chính)" in text
    assert "2) Bản sao căn cước của chủ hộ (bản sao, 2 bộ) – khai thác lại" in text
    assert "3) anh-cua-hang.jpg" in text
    assert "Hợp đồng thuê" not in text  # not handed in: not listed as received
    assert "to_khai" not in text and "cccd:" not in text


def test_form_texts_read_like_the_forms() -> None:
    view = make_view()

    def text(form: str) -> str:
        return " ".join(
            text_of(render_form(form, form_event(form), view, APPLICANT, ISSUERS).pdf).split()
        )

    t02 = text("02")
    assert "1) Bản sao sổ đỏ" in t02 and "2) Ảnh 3x4" in t02 and "Thiếu bản sao" in t02
    assert "07/11/2026" in t02  # supplement due date
    assert "Không thuộc thẩm quyền" in text("03")
    t04 = text("04")
    assert "xin lỗi" in t04 and "Cần xác minh thực địa" in t04
    assert "23/11/2026" in t04 and "16/11/2026" in t04
    assert "Nơi nhận:" in t04
    t05 = text("05")
    assert "Ông/bà đề nghị rút hồ sơ: Tôi không còn nhu cầu" in t05
    assert "(Văn bản được lập tự động)" in t05  # a system event signs as the centre


def test_dates_are_local_with_the_decree_30_leading_zeros() -> None:
    # 20:30 UTC on 4 February is 03:30 on 5 February in Hà Nội
    at = datetime(2026, 2, 4, 20, 30, tzinfo=UTC)
    ev = form_event("03").model_copy(update={"at": at})
    text = text_of(render_form("03", ev, make_view(), APPLICANT, ISSUERS).pdf)
    assert "Hòa An, ngày 05 tháng 02 năm 2026" in text
    assert (
        forms._place_date("", datetime(2026, 11, 22, 9, tzinfo=TZ)) == "Ngày 22 tháng 11 năm 2026"
    )
    assert forms._when(at) == "03 giờ 30 phút, ngày 05/02/2026"


def test_an_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown form 09"):
        render_form("09", form_event("01"), make_view(), APPLICANT, ISSUERS)


# --------------------------------------------------------------------------- Form 07


def test_the_tracking_book_handles_thousands_of_rows() -> None:
    rows = [
        BookRow(
            code=f"H99.01-261102-{i:04d}",
            procedure_name="Cấp giấy phép xây dựng nhà ở riêng lẻ",
            applicant_name="Nguyễn Thị Ánh Tuyết",
            received_at=T0 + timedelta(minutes=i),
            appointment_at=T0 + timedelta(days=14),
            returned_at=None if i % 3 else T0 + timedelta(days=10),
            status_label="Đã trả kết quả" if i % 3 == 0 else "Đang xử lý",
            note="Quá hạn" if i % 50 == 0 else "",
        )
        for i in range(1, 2001)
    ]
    doc = render_tracking_book(CENTRE, rows, "Tháng 11 năm 2026", ISSUERS, T0 + timedelta(days=30))
    r = reader(doc.pdf)
    assert len(r.pages) > 1
    first, last = r.pages[0], r.pages[-1]
    assert first.mediabox.width > first.mediabox.height  # landscape
    last_text = last.extract_text()
    assert "H99.01-261102-2000" in last_text and "Tổng số: 2000 hồ sơ." in last_text
    header = " ".join(last_text.split())
    assert "MÃ HỒ SƠ" in header and "NGÀY HẸN TRẢ" in header  # header repeated
    assert f"Trang {len(r.pages)}/{len(r.pages)}" in last_text
    assert "SỔ THEO DÕI HỒ SƠ" in first.extract_text()
    assert doc.form == "07" and doc.filename == f"so-theo-doi-{CENTRE}-20261202.pdf"
    meta = r.metadata
    assert meta is not None and "motcua-document=07" in str(meta["/Keywords"]).split()


# --------------------------------------------------------------------------- the result


GRANTED = ResultInfo(
    number="123/GCN-UBND",
    kind_title="GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH",
    granted=True,
    decision_text="Cấp giấy chứng nhận đăng ký hộ kinh doanh Tiệm tạp hóa Ánh Tuyết.",
    reasons="",
    signer_name="Hoàng Văn Dũng",
    signer_title="CHỦ TỊCH",
    signing_agency=AGENCY,
    legal_basis=["Luật Tổ chức chính quyền địa phương năm 2025", "Nghị định số 168/2025/NĐ-CP"],
)
REFUSED = ResultInfo(
    number="124/QĐ-UBND",
    kind_title="QUYẾT ĐỊNH về việc từ chối giải quyết hồ sơ",
    granted=False,
    decision_text="",
    reasons="Địa điểm kinh doanh nằm trong hành lang an toàn giao thông.",
    signer_name="Hoàng Văn Dũng",
    signer_title="CHỦ TỊCH",
    signing_agency=AGENCY,
    legal_basis=["Luật Tổ chức chính quyền địa phương năm 2025"],
)


def test_the_granted_result_names_its_holder_fully() -> None:
    doc = render_result(make_view(), APPLICANT, GRANTED, ISSUERS, T0 + timedelta(days=10))
    text = " ".join(text_of(doc.pdf).split())
    assert doc.filename == f"{CODE}-ket-qua.pdf" and doc.form == "result"
    assert "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH" in text
    assert "Số: 123/GCN-UBND" in text
    assert "Căn cứ Luật Tổ chức chính quyền địa phương năm 2025;" in text
    assert "Căn cứ Nghị định số 168/2025/NĐ-CP;" in text
    assert "Nguyễn Thị Ánh Tuyết" in text and "001190012345" in text  # full ID number
    assert APPLICANT.address in text
    assert "Tiệm tạp hóa Ánh Tuyết" in text
    assert "có hiệu lực kể từ ngày 12/11/2026" in text
    assert "CHỦ TỊCH" in text and "(Đã ký số)" in text and "Hoàng Văn Dũng" in text
    assert "Nơi nhận:" in text and f"Lưu: VT, hồ sơ {CODE}." in text
    assert "TỈNH CAO BẰNG" in text and "ỦY BAN NHÂN DÂN XÃ HÒA AN" in text
    meta = reader(doc.pdf).metadata
    assert meta is not None
    assert {f"motcua-dossier={CODE}", "motcua-document=result"} <= set(
        str(meta["/Keywords"]).split()
    )
    # Its QR code opens the public verification page, not the tracking route.
    verify = f"{PUBLIC}/ui/verify?code={CODE}"
    _, rects = filled_rects(doc.pdf)
    assert modules_from_rects(rects) == [list(r) for r in pdf.qr_matrix(verify)]
    assert verify in text and "để kiểm tra văn bản này" in text


def test_a_refusal_gives_reasons_and_the_right_to_complain() -> None:
    doc = render_result(make_view(), APPLICANT, REFUSED, ISSUERS, T0 + timedelta(days=10))
    text = " ".join(text_of(doc.pdf).split())
    assert "QUYẾT ĐỊNH Về việc từ chối giải quyết hồ sơ" in text
    assert text.count(REFUSED.reasons) == 1  # once, in Article 1: not again in a table
    assert "có quyền khiếu nại theo quy định của Luật Khiếu nại năm 2011" in text
    assert "Số: 124/QĐ-UBND" in text


# --------------------------------------------------------------------------- pyHanko


def every_document() -> list[RenderedDocument]:
    view = make_view()
    slip_view, slip_events = slip_fixture()
    book = [
        BookRow(CODE, "Đăng ký hộ kinh doanh", "Nguyễn Thị Ánh Tuyết", T0, T0, None, "Đang xử lý")
    ]
    return [
        *(
            render_form(f, form_event(f), view, APPLICANT, ISSUERS)
            for f in ("01", "02", "03", "04", "05")
        ),
        render_control_slip(slip_view, slip_events, ISSUERS, T0 + timedelta(days=5)),
        render_tracking_book(CENTRE, book, "Tháng 11 năm 2026", ISSUERS, T0),
        render_result(view, APPLICANT, GRANTED, ISSUERS, T0),
        render_result(view, APPLICANT, REFUSED, ISSUERS, T0),
    ]


def test_every_document_opens_in_pyhanko() -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader

    docs = every_document()
    assert sorted({d.form for d in docs}) == ["01", "02", "03", "04", "05", "06", "07", "result"]
    for doc in docs:
        r = PdfFileReader(io.BytesIO(doc.pdf), strict=True)
        assert r.root["/Type"] == "/Catalog"
        assert r.document_meta_view.creator == "motcua"
        assert not r.encrypted
        # an incremental update appends to the original bytes
        w = IncrementalPdfFileWriter(io.BytesIO(doc.pdf))
        out = io.BytesIO()
        w.write(out)
        assert out.getvalue().startswith(doc.pdf)


def test_every_document_meets_the_structure_pdf_a_3b_asks_for() -> None:
    """PDF/A-3b (ISO 19005-3), checked structurally: no validator the project did not write
    can be installed here (veraPDF is a Java download from outside the package registries
    this workplace reaches). The conformance declared in XMP, the XMP agreeing with the
    Info dictionary, an sRGB output intent, every font embedded, nothing encrypted, a file
    identifier, an uncompressed metadata stream, and a version PDF/A-3 admits."""
    import re as _re

    from signatures.signing import KeyStore, sign_pdf
    from tests.harness import pki_manifest_for_tests

    documents = [d.pdf for d in every_document()]
    # Signed (an incremental revision: pyHanko updates the Info and XMP), still PDF/A-3b.
    seal = KeyStore.load(pki_manifest_for_tests()).seal(CENTRE, agency_name="Trung tâm")
    documents.append(sign_pdf(documents[0], seal, field_name="DauCoQuan", reason="r", location="l"))
    for data in documents:
        assert _re.match(rb"%PDF-1\.[4-7]\n%[\x80-\xff]{4}", data), data[:16]
        r = reader(data)
        root, info = r.trailer["/Root"], r.trailer["/Info"].get_object()
        assert "/Encrypt" not in r.trailer and len(r.trailer["/ID"]) == 2
        stream = root["/Metadata"].get_object()
        assert stream["/Subtype"] == "/XML" and "/Filter" not in stream
        xmp = stream.get_data().decode()
        # (element or attribute form: pyHanko rewrites the packet with attributes)
        assert _re.search(r'pdfaid:part(>|=")3[<"]', xmp), xmp
        assert _re.search(r'pdfaid:conformance(>|=")B[<"]', xmp), xmp
        title = _re.search(
            r'<rdf:li xml:lang="x-default">([^<]*)</rdf:li></rdf:Alt></dc:title>', xmp
        )
        assert title is not None and html.unescape(title.group(1)) == info["/Title"]
        keywords = _re.search(r'pdf:Keywords(?:>|=")([^<"]*)', xmp)
        assert keywords is not None and html.unescape(keywords.group(1)) == info["/Keywords"]
        created = info["/CreationDate"]  # D:YYYYMMDDHHmmSS+07'00'
        iso = f"{created[2:6]}-{created[6:8]}-{created[8:10]}T{created[10:12]}:{created[12:14]}"
        assert _re.search(f'xmp:CreateDate(>|="){iso}:{created[14:16]}\\+07:00[<"]', xmp), xmp
        if "/Producer" in info:  # set by pyHanko when signing: the same in both
            producer = _re.escape(info["/Producer"])
            assert _re.search(f'pdf:Producer(>|="){producer}[<"]', xmp), (info, xmp)
        [intent] = root["/OutputIntents"]
        intent = intent.get_object()
        assert intent["/S"] == "/GTS_PDFA1"
        profile = intent["/DestOutputProfile"].get_object()
        assert profile["/N"] == 3 and profile.get_data()[36:40] == b"acsp"
        for page in r.pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                for cid in font.get("/DescendantFonts", [font]):
                    descriptor = cid.get_object()["/FontDescriptor"].get_object()
                    assert "/FontFile2" in descriptor, font["/BaseFont"]


def test_pyhanko_can_sign_a_form_incrementally() -> None:
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Trần Văn Bình")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, True, False, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    a_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    a_key = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signer = signers.SimpleSigner(signing_cert=a_cert, signing_key=a_key, cert_registry=None)  # type: ignore[arg-type]
    doc = render_form("01", form_event("01"), make_view(), APPLICANT, ISSUERS)
    signed = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(doc.pdf)),
        signers.PdfSignatureMetadata(field_name="TiepNhan"),
        signer=signer,
    ).getvalue()
    assert signed.startswith(doc.pdf)
    (sig,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[a_cert]))
    assert status.intact and status.valid and status.coverage.name == "ENTIRE_FILE"
