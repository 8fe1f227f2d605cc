"""A small layout engine for Vietnamese administrative documents, on fpdf2.

`render_pdf(spec)` lays out one document in the shape of Decree 30/2020/ND-CP
(the issuing agency top-left, the national motto top-right, number and date,
title, body, signature block, "Nơi nhận") and returns the PDF bytes.

Properties the callers rely on:

* Vietnamese text comes back exactly: every string is NFC-normalised (precomposed
  letters) and drawn with Tinos (Times New Roman's metrics), subset and shipped in
  ``activities/fonts``,
  embedded in the PDF (nothing is fetched at run time).
* The output is a pure function of the spec: the creation date is ``created_at``,
  the file /ID is a hash of the content, fpdf2 writes no XMP packet (so no "now").
  A retried activity produces the same SHA-256.
* A plain PDF (classic xref table, no encryption, no object streams), so pyHanko
  can append incremental signatures to it.
* The QR code is drawn as vector squares from ``segno``'s module matrix.
"""

from __future__ import annotations

import html
import pickle
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import segno
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.enums import OutputIntentSubType
from fpdf.fonts import TTFFont
from fpdf.output import PDFICCProfile

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FONT_DIR = Path(__file__).parent / "fonts"
# The output intent of PDF/A: sRGB (Debian's icc-profiles-free, zlib licence; color/).
SRGB_PROFILE = Path(__file__).parent / "color" / "sRGB.icc"
# Tinos: a serif with the metrics of Times New Roman, the face Decree 30/2020 asks
# administrative documents to use (Times New Roman itself cannot be shipped).
FONT_FAMILY = "Tinos"
_FONT_FILES = {"": "Tinos-Regular.ttf", "B": "Tinos-Bold.ttf", "I": "Tinos-Italic.ttf"}

Style = Literal["", "B", "I"]
Align = Literal["L", "C", "R", "J"]

MOTTO_1 = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"

PT = 25.4 / 72  # millimetres per point
BODY_SIZE = 11.0
LINE = 1.4  # line height as a multiple of the font size
_SOFT_BREAK = re.compile(r"[^/.\-]*[/.\-]|[^/.\-]+")


# --------------------------------------------------------------------------- the spec


@dataclass(frozen=True)
class Paragraph:
    """A paragraph with its own style; a plain ``str`` in a spec is a justified body paragraph."""

    text: str
    style: Style = ""
    align: Align = "J"
    size: float | None = None  # points; the body size when None


@dataclass(frozen=True)
class Table:
    """A table whose header repeats on every page it spans; cell text wraps."""

    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    widths: Sequence[float]  # fractions of the text width (normalised to sum to 1)
    align: Sequence[Literal["L", "C", "R"]] = ()  # per column; "L" when missing
    font_size: float = 9.0

    def __post_init__(self) -> None:
        if len(self.widths) != len(self.headers):
            raise ValueError("a table needs one width per column")
        if any(w <= 0 for w in self.widths):
            raise ValueError("table column widths must be positive")
        for i, row in enumerate(self.rows):
            if len(row) != len(self.headers):
                raise ValueError(f"table row {i} has {len(row)} cells, not {len(self.headers)}")


@dataclass(frozen=True)
class SignatureBlock:
    title: str  # role title: "NGƯỜI TIẾP NHẬN HỒ SƠ", "CHỦ TỊCH"
    name: str = ""
    note: str = ""  # "(Ký số)", "(Đã ký số)"
    on_behalf: str = ""  # "TM. ỦY BAN NHÂN DÂN", printed above the title


@dataclass(frozen=True)
class DocumentMetadata:
    """The PDF Info dictionary. Keywords always carry ``motcua-dossier=<code>`` and
    ``motcua-document=<form>`` (space separated) when given: the verifier parses them."""

    title: str
    subject: str = ""
    author: str = ""
    dossier_code: str | None = None
    document: str | None = None  # "01".."07" or "result"
    keywords: Sequence[str] = ()

    def keyword_string(self) -> str:
        words: list[str] = []
        if self.dossier_code:
            words.append(f"motcua-dossier={_token(self.dossier_code)}")
        if self.document:
            words.append(f"motcua-document={_token(self.document)}")
        words.extend(_token(k) for k in self.keywords if k.strip())
        return " ".join(words)


@dataclass(frozen=True)
class DocumentSpec:
    issuer: str  # the issuing agency, top-left
    title: str  # printed bold, centred, upper case
    created_at: datetime  # timezone-aware; the PDF creation date
    metadata: DocumentMetadata
    issuer_parent: str = ""  # the line above the issuer (its parent body)
    number: str = ""  # "Số: ..."
    place_date: str = ""  # "Hòa An, ngày 22 tháng 11 năm 2026"
    subtitle: str = ""
    form_label: str = ""  # "Mẫu số 01 – Phụ lục I, Thông tư 03/2025/TT-VPCP"
    paragraphs: Sequence[str | Paragraph] = ()
    fields: Sequence[tuple[str, str]] = ()  # label / value rows
    table: Table | None = None
    closing: Sequence[str | Paragraph] = ()  # paragraphs after the fields and table
    signature_block: SignatureBlock | None = None  # right-hand side
    counter_signature: SignatureBlock | None = None  # left-hand side (e.g. the applicant)
    recipients: Sequence[str] = ()  # "Nơi nhận", left-hand side when no counter signature
    qr_payload: str | None = None  # what the QR code holds: the link it opens
    tracking_url: str | None = None  # the same link, printed under the code
    qr_caption: str = "Quét mã QR hoặc truy cập đường dẫn dưới đây để tra cứu hồ sơ:"
    landscape: bool = False
    field_label_width: float = 0.34  # fraction of the text width for field labels

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError("created_at must be timezone-aware")


# --------------------------------------------------------------------------- text helpers


def _token(value: str) -> str:
    return "_".join(clean(value).split())


@lru_cache(maxsize=4)
def _metrics(style: str) -> tuple[frozenset[int], dict[int, float]]:
    """The characters a face has, and their advance widths in em."""
    font = TTFont(FONT_DIR / _FONT_FILES[style], lazy=True)
    try:
        cmap = font.getBestCmap()
        hmtx = font["hmtx"]
        upem = float(font["head"].unitsPerEm)
        widths = {cp: hmtx[name][0] / upem for cp, name in cmap.items()}
        return frozenset(cmap), widths
    finally:
        font.close()


def clean(text: str) -> str:
    """NFC-normalised text the embedded font can draw: control characters become
    spaces (newlines are kept), characters outside the font become "?"."""
    text = unicodedata.normalize("NFC", str(text))
    cmap, _ = _metrics("")
    out = []
    for ch in text:
        cp = ord(ch)
        if ch == "\n":
            out.append(ch)
        elif cp < 0x20 or 0x7F <= cp < 0xA0:
            out.append(" ")
        elif cp in cmap:
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)


def text_width(text: str, style: str, size: float) -> float:
    """Width in millimetres of already cleaned text."""
    _, widths = _metrics(style)
    return sum(widths.get(ord(c), 0.6) for c in text) * size * PT


def wrap(text: str, width: float, style: str, size: float) -> list[str]:
    """Greedy word wrap of cleaned text into lines no wider than `width` (mm);
    a word longer than a line is cut. Explicit newlines are kept."""
    _, widths = _metrics(style)
    scale = size * PT
    space = widths.get(32, 0.318) * scale
    lines: list[str] = []
    for raw in text.split("\n"):
        words = raw.split()
        if not words:
            lines.append("")
            continue
        current, current_w = "", 0.0
        for word in words:
            w = sum(widths.get(ord(c), 0.6) for c in word) * scale
            if current and current_w + space + w <= width:
                current, current_w = f"{current} {word}", current_w + space + w
                continue
            if current:
                lines.append(current)
            if w <= width:
                current, current_w = word, w
                continue
            # A word wider than the line: break it after "/", "-" or ".", else anywhere.
            piece, piece_w = "", 0.0
            for part in _SOFT_BREAK.findall(word):
                pw = sum(widths.get(ord(c), 0.6) for c in part) * scale
                if piece and piece_w + pw <= width:
                    piece, piece_w = piece + part, piece_w + pw
                    continue
                if piece:
                    lines.append(piece)
                piece, piece_w = "", 0.0
                for c in part:
                    cw = widths.get(ord(c), 0.6) * scale
                    if piece and piece_w + cw > width:
                        lines.append(piece)
                        piece, piece_w = "", 0.0
                    piece, piece_w = piece + c, piece_w + cw
            current, current_w = piece, piece_w
        lines.append(current)
    return lines


def _upper(text: str) -> str:
    return unicodedata.normalize("NFC", text.upper())


# --------------------------------------------------------------------------- the renderer


@lru_cache(maxsize=1)
def _parsed_faces() -> bytes:
    """The three faces as fpdf2 loads them (`add_font`: fontTools parses the file
    again for every document), pickled once per process. A document takes its own
    copy (`pickle.loads`, a fraction of the parse: docs/benchmarks.md): writing a PDF
    subsets its fonts in place, so a face is never shared between documents."""
    template = FPDF()
    for style, filename in _FONT_FILES.items():
        template.add_font(FONT_FAMILY, style, str(FONT_DIR / filename))
    for face in template.fonts.values():
        # fpdf2's glyph widths default to the face's width through a lambda, which
        # does not pickle; the same default, from a class that does.
        assert isinstance(face, TTFFont) and isinstance(face.cw, defaultdict)
        assert face.cw.default_factory is not None
        face.cw = defaultdict(_Width(face.cw.default_factory()), face.cw)
        # The glyphs go into the PDF as the font file has them: fontTools would otherwise
        # decode and encode again every glyph of the subset to recompute bounding boxes
        # that the font already holds (a third of a document's rendering time).
        face.ttfont.recalcBBoxes = False
    return pickle.dumps(template.fonts, protocol=pickle.HIGHEST_PROTOCOL)


@dataclass(frozen=True)
class _Width:
    default: float

    def __call__(self) -> float:
        return self.default


class _Document(FPDF):
    def __init__(self, landscape: bool) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        # What add_font would do for each face (its number is its place, 1, 2, 3, as
        # in the template), from the parsed copy.
        assert not self.fonts
        self.fonts.update(pickle.loads(_parsed_faces()))  # bytes this process pickled
        if landscape:
            self.set_margins(left=20, top=15, right=15)
            self.set_auto_page_break(True, margin=18)
        else:
            self.set_margins(left=30, top=20, right=15)
            self.set_auto_page_break(True, margin=20)
        self.set_line_width(0.2)
        self.set_text_color(0)
        self.set_draw_color(0)
        self.set_fill_color(0)

    @property
    def text_w(self) -> float:
        return float(self.w - self.l_margin - self.r_margin)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT_FAMILY, "", 8)
        self.cell(0, 5, f"Trang {self.page_no()}/{{nb}}", align="C")


class _Renderer:
    def __init__(self, spec: DocumentSpec) -> None:
        self.spec = spec
        self.pdf = _Document(spec.landscape)

    # -- primitives

    def font(self, style: str, size: float) -> None:
        self.pdf.set_font(FONT_FAMILY, style, size)

    def room(self, height: float) -> bool:
        return bool(self.pdf.get_y() + height <= self.pdf.page_break_trigger)

    def ensure(self, height: float) -> None:
        if not self.room(height):
            self.pdf.add_page()

    def lines_at(
        self,
        lines: Sequence[str],
        x: float,
        y: float,
        width: float,
        style: str,
        size: float,
        align: str = "L",
        underline_last: bool = False,
    ) -> float:
        """Draw lines in a box starting at (x, y); returns the y below them."""
        self.font(style, size)
        lh = size * PT * LINE
        for line in lines:
            w = text_width(line, style, size)
            if align == "C":
                tx = x + (width - w) / 2
            elif align == "R":
                tx = x + width - w
            else:
                tx = x
            baseline = y + lh * 0.75
            if line:
                self.pdf.text(tx, baseline, line)
            y += lh
        if underline_last and lines:
            w = text_width(lines[-1], style, size)
            tx = x + (width - w) / 2 if align == "C" else x
            self.pdf.line(tx, y - lh * 0.08, tx + w, y - lh * 0.08)
        return y

    def flow(self, text: str, style: str, size: float, align: str, indent: float = 0.0) -> None:
        """A paragraph in the body, breaking pages line by line."""
        pdf = self.pdf
        width = pdf.text_w - indent
        lines = wrap(clean(text), width, style, size)
        lh = size * PT * LINE
        self.font(style, size)
        for i, line in enumerate(lines):
            self.ensure(lh)
            y = pdf.get_y()
            x = pdf.l_margin + indent
            last = i == len(lines) - 1
            if align == "J" and not last and line.count(" ") > 0:
                self._justified(line, x, y + lh * 0.75, width, style, size)
            else:
                self.lines_at([line], x, y, width, style, size, "L" if align == "J" else align)
            pdf.set_y(y + lh)

    def _justified(
        self, line: str, x: float, baseline: float, width: float, style: str, size: float
    ) -> None:
        words = line.split(" ")
        natural = sum(text_width(w, style, size) for w in words)
        gap = (width - natural) / (len(words) - 1)
        if gap > 3 * text_width(" ", style, size):  # too loose: leave it ragged
            self.pdf.text(x, baseline, line)
            return
        # Each word carries its space, so text extraction and search see real spaces.
        for i, word in enumerate(words):
            self.pdf.text(x, baseline, word if i == len(words) - 1 else f"{word} ")
            x += text_width(word, style, size) + gap

    # -- blocks

    def header(self) -> None:
        spec, pdf = self.spec, self.pdf
        x0, top, total = pdf.l_margin, pdf.t_margin, pdf.text_w
        if spec.form_label:
            label = clean(spec.form_label)
            self.lines_at(wrap(label, total, "I", 8), x0, top - 6, total, "I", 8, "R")
        left_w = total * (0.42 if not spec.landscape else 0.36)
        right_x = x0 + left_w
        right_w = total - left_w
        if spec.landscape:
            right_w = total * 0.46
            right_x = x0 + total - right_w

        # Left: parent body, issuing agency (bold, underlined short rule), number.
        y = top
        if spec.issuer_parent:
            y = self.lines_at(
                wrap(_upper(clean(spec.issuer_parent)), left_w, "", 10),
                x0,
                y,
                left_w,
                "",
                10,
                "C",
            )
        issuer_lines = wrap(_upper(clean(spec.issuer)), left_w, "B", 10)
        y = self.lines_at(issuer_lines, x0, y, left_w, "B", 10, "C")
        rule = min(left_w * 0.4, max(text_width(s, "B", 10) for s in issuer_lines))
        pdf.line(x0 + (left_w - rule) / 2, y + 1.0, x0 + (left_w + rule) / 2, y + 1.0)
        y += 2.5
        if spec.number:
            y = self.lines_at(
                wrap(clean(f"Số: {spec.number}"), left_w, "", 10), x0, y, left_w, "", 10, "C"
            )
        left_bottom = y

        # Right: the national motto, underlined, then place and date.
        size = 10.5
        while text_width(MOTTO_1, "B", size) > right_w and size > 7:
            size -= 0.25
        y = self.lines_at([MOTTO_1], right_x, top, right_w, "B", size, "C")
        y = self.lines_at([MOTTO_2], right_x, y, right_w, "B", 11, "C", underline_last=True)
        y += 2.5
        if spec.place_date:
            y = self.lines_at(
                wrap(clean(spec.place_date), right_w, "I", 10), right_x, y, right_w, "I", 10, "C"
            )
        pdf.set_y(max(left_bottom, y) + 6)

    def title(self) -> None:
        spec, pdf = self.spec, self.pdf
        width = pdf.text_w
        lines = wrap(_upper(clean(spec.title)), width * 0.9, "B", 13)
        self.ensure(len(lines) * 13 * PT * LINE + 10)
        y = self.lines_at(lines, pdf.l_margin, pdf.get_y(), width, "B", 13, "C")
        if spec.subtitle:
            y = self.lines_at(
                wrap(clean(spec.subtitle), width * 0.9, "B", 11),
                pdf.l_margin,
                y,
                width,
                "B",
                11,
                "C",
            )
            # Decree 30/2020: a short rule under the summary line.
            rule = min(
                width * 0.3,
                max(
                    text_width(s, "B", 11) for s in wrap(clean(spec.subtitle), width * 0.9, "B", 11)
                ),
            )
            pdf.line(
                pdf.l_margin + (width - rule) / 2,
                y + 1.2,
                pdf.l_margin + (width + rule) / 2,
                y + 1.2,
            )
        pdf.set_y(y + 5)

    def paragraphs(self, items: Sequence[str | Paragraph]) -> None:
        for item in items:
            p = item if isinstance(item, Paragraph) else Paragraph(item)
            self.flow(p.text, p.style, p.size or BODY_SIZE, p.align)
            self.pdf.set_y(self.pdf.get_y() + 1.2)

    def fields(self) -> None:
        pdf, spec = self.pdf, self.spec
        size = BODY_SIZE
        lh = size * PT * LINE
        label_w = pdf.text_w * spec.field_label_width
        value_x = pdf.l_margin + label_w + 2
        value_w = pdf.text_w - label_w - 2
        for label, value in spec.fields:
            label_lines = wrap(clean(f"{label}:"), label_w, "", size)
            value_lines = wrap(clean(value) or "—", value_w, "B", size)
            # Keep short rows together; long values flow across pages line by line.
            rows = max(len(label_lines), len(value_lines))
            self.ensure(min(rows, 3) * lh)
            for i in range(rows):
                self.ensure(lh)
                y = pdf.get_y()
                if i < len(label_lines):
                    self.lines_at([label_lines[i]], pdf.l_margin, y, label_w, "", size)
                if i < len(value_lines):
                    self.lines_at([value_lines[i]], value_x, y, value_w, "B", size)
                pdf.set_y(y + lh)
            pdf.set_y(pdf.get_y() + 0.8)

    def table(self, table: Table) -> None:
        pdf = self.pdf
        total = sum(table.widths)
        widths = [pdf.text_w * w / total for w in table.widths]
        aligns = [table.align[i] if i < len(table.align) else "L" for i in range(len(widths))]
        size = table.font_size
        lh = size * PT * 1.3
        pad = 1.0
        headers = [
            wrap(_upper(clean(h)), w - 2 * pad, "B", size)
            for h, w in zip(table.headers, widths, strict=True)
        ]
        header_h = max(len(h) for h in headers) * lh + 2 * pad
        page_room = pdf.page_break_trigger - pdf.t_margin - header_h

        def draw_header() -> None:
            y = pdf.get_y()
            x = pdf.l_margin
            pdf.set_fill_color(230)
            for lines, w in zip(headers, widths, strict=True):
                pdf.rect(x, y, w, header_h, style="DF")
                self.lines_at(lines, x + pad, y + pad, w - 2 * pad, "B", size, "C")
                x += w
            pdf.set_fill_color(0)
            pdf.set_y(y + header_h)

        self.ensure(header_h + lh + 2 * pad)
        draw_header()
        for row in table.rows:
            cells = [
                wrap(clean(c), w - 2 * pad, "", size) for c, w in zip(row, widths, strict=True)
            ]
            n = max(1, *(len(c) for c in cells))
            max_lines = max(1, int((page_room - 2 * pad) // lh))
            if n > max_lines:  # a row taller than a page: cut it
                cells = [[*c[: max_lines - 1], "…"] if len(c) > max_lines else c for c in cells]
                n = max_lines
            row_h = n * lh + 2 * pad
            if not self.room(row_h):
                pdf.add_page()
                draw_header()
            y = pdf.get_y()
            x = pdf.l_margin
            for lines, w, a in zip(cells, widths, aligns, strict=True):
                pdf.rect(x, y, w, row_h)
                self.lines_at(lines, x + pad, y + pad, w - 2 * pad, "", size, a)
                x += w
            pdf.set_y(y + row_h)
        pdf.set_y(pdf.get_y() + 3)

    def _signature_lines(
        self, sig: SignatureBlock, width: float
    ) -> list[tuple[list[str], str, float]]:
        parts: list[tuple[list[str], str, float]] = []
        if sig.on_behalf:
            parts.append((wrap(_upper(clean(sig.on_behalf)), width, "B", 11), "B", 11))
        parts.append((wrap(_upper(clean(sig.title)), width, "B", 11), "B", 11))
        if sig.note:
            parts.append((wrap(clean(sig.note), width, "I", 10), "I", 10))
        return parts

    def _block_height(self, parts: list[tuple[list[str], str, float]]) -> float:
        return sum(len(lines) * size * PT * LINE for lines, _, size in parts)

    def signatures(self) -> None:
        spec, pdf = self.spec, self.pdf
        sig, counter = spec.signature_block, spec.counter_signature
        if sig is None and counter is None and not spec.recipients:
            return
        total = pdf.text_w
        right_w = total * 0.5
        right_x = pdf.l_margin + total - right_w
        left_w = total * 0.45
        gap = 22.0  # room for a wet or visible signature
        name_h = BODY_SIZE * PT * LINE

        heights = [0.0]
        if sig is not None:
            heights.append(self._block_height(self._signature_lines(sig, right_w)) + gap + name_h)
        if counter is not None:
            heights.append(
                self._block_height(self._signature_lines(counter, left_w)) + gap + name_h
            )
        recipient_lines: list[str] = []
        if counter is None and spec.recipients:
            for r in spec.recipients:
                recipient_lines.extend(wrap(clean(f"- {r}"), left_w, "", 8.5))
            heights.append(11 * PT * LINE + len(recipient_lines) * 8.5 * PT * LINE)
        self.ensure(max(heights) + 4)
        top = pdf.get_y() + 2

        def block(s: SignatureBlock, x: float, w: float) -> None:
            y = top
            for lines, style, size in self._signature_lines(s, w):
                y = self.lines_at(lines, x, y, w, style, size, "C")
            if s.name:
                self.lines_at(
                    wrap(clean(s.name), w, "B", BODY_SIZE), x, y + gap, w, "B", BODY_SIZE, "C"
                )

        if sig is not None:
            block(sig, right_x, right_w)
        if counter is not None:
            block(counter, pdf.l_margin, left_w)
        elif recipient_lines:
            y = self.lines_at(["Nơi nhận:"], pdf.l_margin, top, left_w, "B", 10.5)
            self.lines_at(recipient_lines, pdf.l_margin, y, left_w, "", 8.5)
        pdf.set_y(top + max(heights) + 4)

    def qr(self) -> None:
        spec, pdf = self.spec, self.pdf
        if not spec.qr_payload:
            return
        matrix = qr_matrix(spec.qr_payload)
        n = len(matrix)
        quiet = 4
        size = 30.0 if n <= 41 else 36.0
        module = size / (n + 2 * quiet)
        url_lines = (
            wrap(clean(spec.tracking_url or ""), max(size, 90.0), "", 7.5)
            if spec.tracking_url
            else []
        )
        caption = spec.qr_caption
        caption_lines = wrap(caption, max(size, 90.0), "I", 7.5) if spec.tracking_url else []
        lh = 7.5 * PT * LINE
        self.ensure(size + (len(url_lines) + len(caption_lines)) * lh + 2)
        x0 = pdf.l_margin
        y0 = pdf.get_y()
        origin_x = x0 + quiet * module
        origin_y = y0 + quiet * module
        pdf.set_fill_color(0)
        for r, row in enumerate(matrix):
            c = 0
            while c < n:
                if row[c]:
                    start = c
                    while c < n and row[c]:
                        c += 1
                    pdf.rect(
                        origin_x + start * module,
                        origin_y + r * module,
                        (c - start) * module,
                        module,
                        style="F",
                    )
                else:
                    c += 1
        y = y0 + size
        y = self.lines_at(caption_lines, x0, y, max(size, 90.0), "I", 7.5)
        y = self.lines_at(url_lines, x0, y, max(size, 90.0), "", 7.5)
        pdf.set_y(y + 2)

    # -- the document

    def render(self) -> bytes:
        spec, pdf = self.spec, self.pdf
        meta = spec.metadata
        pdf.set_creation_date(spec.created_at.astimezone(TZ))
        pdf.set_title(clean(meta.title))
        if meta.subject:
            pdf.set_subject(clean(meta.subject))
        if meta.author:
            pdf.set_author(clean(meta.author))
        keywords = meta.keyword_string()
        if keywords:
            pdf.set_keywords(keywords)
        pdf.set_creator("motcua")
        pdf.set_lang("vi")
        _declare_pdfa(pdf, spec.created_at, meta.title, meta.subject, meta.author, keywords)
        pdf.add_page()
        self.header()
        self.title()
        self.paragraphs(spec.paragraphs)
        if spec.fields:
            self.fields()
            pdf.set_y(pdf.get_y() + 1.5)
        if spec.table is not None:
            self.table(spec.table)
        self.paragraphs(spec.closing)
        self.signatures()
        self.qr()
        return bytes(pdf.output())


@lru_cache(maxsize=1)
def _srgb() -> bytes:
    return SRGB_PROFILE.read_bytes()


def _xmp(created_at: datetime, title: str, subject: str, author: str, keywords: str) -> str:
    """The XMP packet of a PDF/A-3b document: its conformance, and the Info dictionary's
    entries again (PDF/A wants the two to agree), with the document's own time (never
    "now": a retried rendering is the same bytes)."""

    def esc(text: str) -> str:
        return html.escape(clean(text), quote=True)

    when = created_at.astimezone(TZ).isoformat(timespec="seconds")
    lines = [
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
        '  <rdf:Description rdf:about=""',
        '    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"',
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"',
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
        '    xmlns:pdf="http://ns.adobe.com/pdf/1.3/">',
        "   <pdfaid:part>3</pdfaid:part>",
        "   <pdfaid:conformance>B</pdfaid:conformance>",
        "   <dc:format>application/pdf</dc:format>",
        f'   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{esc(title)}</rdf:li></rdf:Alt>'
        "</dc:title>",
    ]
    if author:
        lines.append(
            f"   <dc:creator><rdf:Seq><rdf:li>{esc(author)}</rdf:li></rdf:Seq></dc:creator>"
        )
    if subject:
        lines.append(
            f'   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{esc(subject)}</rdf:li>'
            "</rdf:Alt></dc:description>"
        )
    if keywords:
        lines.append(f"   <pdf:Keywords>{esc(keywords)}</pdf:Keywords>")
    lines += [
        "   <xmp:CreatorTool>motcua</xmp:CreatorTool>",
        f"   <xmp:CreateDate>{when}</xmp:CreateDate>",
        f"   <xmp:ModifyDate>{when}</xmp:ModifyDate>",
        f"   <xmp:MetadataDate>{when}</xmp:MetadataDate>",
        "  </rdf:Description>",
        " </rdf:RDF>",
        "</x:xmpmeta>",
    ]
    return "\n".join(lines)


def _declare_pdfa(
    pdf: FPDF, created_at: datetime, title: str, subject: str, author: str, keywords: str
) -> None:
    """Make the document PDF/A-3b: an sRGB output intent and the XMP that declares the
    conformance (the fonts are embedded already; nothing is encrypted or transparent).
    fpdf2's own compliance mode is not used: it drops the Info dictionary, which the
    signatures' verifier reads the dossier code from, and dates its XMP "now". No Producer
    is written: pyHanko, signing, sets "pyHanko x.y" in both the Info dictionary and the
    XMP when there is none, and appends it to an existing one in the Info dictionary only,
    which would leave the two disagreeing after every signature."""
    pdf.add_output_intent(
        OutputIntentSubType.PDFA,
        output_condition_identifier="sRGB IEC61966-2.1",
        output_condition="sRGB IEC61966-2.1",
        registry_name="http://www.color.org",
        dest_output_profile=PDFICCProfile(contents=_srgb(), n=3, alternate="DeviceRGB"),
        info="sRGB IEC61966-2.1",
    )
    pdf.set_xmp_metadata(_xmp(created_at, title, subject or "", author or "", keywords or ""))


@lru_cache(maxsize=256)
def qr_matrix(payload: str) -> tuple[bytes, ...]:
    """The QR modules (1 = dark, no quiet zone) exactly as drawn for `payload`. Kept for
    the next documents: a dossier's forms and result all carry its tracking address."""
    matrix: tuple[bytearray, ...] = segno.make(payload, error="m", micro=False).matrix
    return tuple(bytes(row) for row in matrix)


def render_pdf(spec: DocumentSpec) -> bytes:
    """Lay out `spec` as an A4 PDF (landscape when asked); deterministic bytes."""
    return _Renderer(spec).render()
