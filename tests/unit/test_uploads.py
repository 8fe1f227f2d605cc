"""Upload limits, checked before anything is stored: size (413), type by content (415),
content that is not a valid file of its type (422: a PDF header in front of HTML, a
truncated image, a zip bomb, an XML file declaring entities), and a document named by a
hash the caller may not read, answered as one the centre does not hold (422)."""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TypeVar

import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.pdf import render_pdf
from api.auth import Principal
from api.errors import ApiError
from api.routes.dossiers import _store_documents
from api.schemas import DocumentIn
from domain.catalog import Role
from infra.docstore import (
    MAX_UNPACKED_BYTES,
    FolderStore,
    UnsupportedUpload,
    UploadRefused,
    validate_upload,
)
from infra.settings import Settings
from store.models import DocumentRow, DossierRow
from tests.files import image, pdf
from tests.unit.test_pdf import simple_spec

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CENTRE = "000.00.01.H99"
OTHER = "000.00.21.H99"

APPLICANT = Principal(sub="citizen-a", roles=[Role.APPLICANT])
INTAKE = Principal(sub="intake", roles=[Role.INTAKE_OFFICER], agency=CENTRE)

T = TypeVar("T")


def doc(filename: str, content: bytes) -> DocumentIn:
    return DocumentIn(
        kind="to_khai", filename=filename, content_base64=base64.b64encode(content).decode()
    )


@pytest.fixture
def ctx(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(
        settings=Settings(max_upload_bytes=1000), documents=FolderStore(tmp_path / "documents")
    )


def refused(content: bytes, filename: str) -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        validate_upload(content, filename)
    assert caught.value.status in (415, 422) and str(caught.value)
    return caught.value


# --------------------------------------------------------------------------- real files


def package(parts: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buffer.getvalue()


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="xml" ContentType="application/xml"/></Types>'
)


def docx(body: bytes = b"<w:p/>") -> bytes:
    return package(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": b'<?xml version="1.0"?><Relationships/>',
            "word/document.xml": b'<?xml version="1.0"?><w:document xmlns:w="urn:w"><w:body>'
            + body
            + b"</w:body></w:document>",
        }
    )


def photo(fmt: str, size: tuple[int, int] = (320, 240)) -> bytes:
    picture = Image.effect_noise(size, 40).convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, fmt)
    return buffer.getvalue()


def test_real_files_are_accepted_with_their_type() -> None:
    assert validate_upload(render_pdf(simple_spec()), "giay-tiep-nhan.pdf") == "application/pdf"
    assert validate_upload(pdf("to khai", pages=3), "to-khai.pdf") == "application/pdf"
    assert validate_upload(photo("JPEG"), "anh.jpg") == "image/jpeg"
    assert validate_upload(photo("PNG"), "anh.png") == "image/png"
    assert validate_upload(photo("TIFF"), "scan.tif") == "image/tiff"
    assert validate_upload(image("JPEG", "nhỏ"), "nho.jpg") == "image/jpeg"
    assert validate_upload(docx(), "don.docx") == DOCX
    xlsx = package({"[Content_Types].xml": CONTENT_TYPES, "xl/workbook.xml": b"<workbook/>"})
    assert validate_upload(xlsx, "bang.xlsx") == XLSX
    assert validate_upload(b'<?xml version="1.0"?><to-khai so="1"/>', "to-khai.xml") == (
        "application/xml"
    )


# --------------------------------------------------------------------------- PDF


def test_a_pdf_header_in_front_of_html_is_refused() -> None:
    html = b"%PDF-1.7\n<html><body><script>alert(document.cookie)</script></body></html>"
    error = refused(html, "to-khai.pdf")
    assert error.status == 422 and error.code == "invalid"
    assert "không phải tệp PDF hợp lệ" in str(error), error


def test_a_truncated_or_pageless_pdf_is_refused() -> None:
    real = render_pdf(simple_spec())
    assert refused(real[: len(real) // 2], "a.pdf").status == 422
    assert refused(real[:-30], "a.pdf").status == 422  # no trailer, no %%EOF
    assert "không có trang" in str(refused(pdf("x", pages=0), "a.pdf"))


def test_a_ten_megabyte_pdf_of_two_thousand_pages_is_accepted() -> None:
    # What the check costs is measured in bench/uploads.py, not asserted here.
    big = pdf("lớn", pages=2000, stream=bytes(10 * 1024 * 1024))
    assert len(big) > 10 * 1024 * 1024
    assert validate_upload(big, "lon.pdf") == "application/pdf"


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_a_truncated_image_is_refused(fmt: str) -> None:
    whole = photo(fmt)
    assert validate_upload(whole, "anh")
    error = refused(whole[: len(whole) * 2 // 3], "anh")
    assert error.status == 422 and f"không phải tệp {fmt} hợp lệ" in str(error), error


def test_a_png_with_a_broken_chunk_is_refused() -> None:
    whole = bytearray(photo("PNG"))
    whole[len(whole) // 2] ^= 0xFF  # inside IDAT: its CRC no longer matches
    assert refused(bytes(whole), "anh.png").status == 422


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_of_too_many_pixels_is_refused_without_decoding_it() -> None:
    # 10,000 × 10,000 pixels of one colour: a small PNG, 300 MB once decoded.
    huge = Image.new("1", (10_000, 10_000))
    buffer = io.BytesIO()
    huge.save(buffer, "PNG")
    error = refused(buffer.getvalue(), "anh.png")
    assert "điểm ảnh" in str(error), error  # refused on its header's size, not decoded


# --------------------------------------------------------------------------- DOCX/XLSX


def test_a_zip_bomb_docx_is_refused_quickly() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        with z.open("word/document.xml", "w") as f:
            zeros = bytes(1024 * 1024)
            for _ in range(200):  # 200 MB of zeros
                f.write(zeros)
    bomb = buffer.getvalue()
    assert len(bomb) < 300 * 1024
    error, peak = peak_memory(lambda: refused(bomb, "don.docx"))
    assert error.status == 422 and "200 MB" in str(error), error
    assert peak < 4 * 1024 * 1024, f"{peak:,} bytes allocated: the bomb was unpacked"


def peak_memory(check: Callable[[], T]) -> tuple[T, int]:
    """What `check` returns, and the most memory it held at once (Python's allocator: a
    file unpacked whole shows here; what it costs in time is bench/uploads.py's)."""
    tracemalloc.start()
    try:
        return check(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def lying(zip_bytes: bytes, name: str, size: int, crc: int) -> bytes:
    """`zip_bytes` with the sizes and CRC of entry `name` rewritten, in its local header
    and in the central directory: headers that lie about a large stream."""
    out = bytearray(zip_bytes)
    info = zipfile.ZipFile(io.BytesIO(zip_bytes)).getinfo(name)
    struct.pack_into("<L", out, info.header_offset + 14, crc)
    struct.pack_into("<L", out, info.header_offset + 22, size)
    at = struct.unpack_from("<L", out, out.rfind(b"PK\x05\x06") + 16)[0]
    while out[at : at + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<3H", out, at + 28)
        if out[at + 46 : at + 46 + name_len] == name.encode():
            struct.pack_into("<L", out, at + 16, crc)
            struct.pack_into("<L", out, at + 24, size)
            return bytes(out)
        at += 46 + name_len + extra_len + comment_len
    raise AssertionError("entry not found")


def test_a_docx_whose_headers_lie_about_its_size_is_refused_within_the_budget() -> None:
    one_mb = bytes(1024 * 1024)
    big = package(
        {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": one_mb * 20}
    )  # 20 MB inflated (a bomb would be gigabytes); the headers will say 1 MB, with the
    # CRC of its first 1 MB: a reader that trusts them sees a 1 MB entry
    bomb = lying(big, "word/document.xml", len(one_mb), zlib.crc32(one_mb))
    with zipfile.ZipFile(io.BytesIO(bomb)) as z:  # what the headers say passes the stdlib
        assert z.read("word/document.xml") == one_mb
    error, peak = peak_memory(lambda: refused(bomb, "don.docx"))
    assert "lớn hơn kích thước ghi trong mục lục" in str(error), error
    # Inflated a bounded piece at a time, never whole (20 MB).
    assert peak < 8 * 1024 * 1024, f"{peak:,} bytes allocated"


def test_a_damaged_or_foreign_package_is_refused() -> None:
    assert refused(docx()[:-30], "don.docx").status == 422  # no central directory
    assert refused(package({"a.txt": b"x"}), "don.docx").status == 422  # not OOXML
    with_dtd = docx(b'<!DOCTYPE x [<!ENTITY a "aaaa">]>')
    assert "DTD" in str(refused(with_dtd, "don.docx"))
    crafted = package({"[Content_Types].xml": CONTENT_TYPES, "../../etc/x.xml": b"<x/>"})
    assert refused(crafted, "don.docx").status == 422
    many = package({"[Content_Types].xml": CONTENT_TYPES} | {f"{i}.xml": b"" for i in range(2001)})
    assert "mục" in str(refused(many, "bang.xlsx"))
    assert MAX_UNPACKED_BYTES >= 50 * 1024 * 1024  # a 10 MB spreadsheet of text fits


# --------------------------------------------------------------------------- XML


def test_xml_must_be_well_formed_and_declare_no_entities() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    )
    assert "thực thể" in str(refused(laughs, "to-khai.xml"))
    external = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    )
    assert refused(external, "to-khai.xml").status == 422
    assert "sai cú pháp" in str(refused(b'<?xml version="1.0"?><a><b></a>', "to-khai.xml"))


# --------------------------------------------------------------------------- the route's checks


def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(ctx: SimpleNamespace) -> None:
    fine = doc("a.pdf", pdf("nhỏ"))
    big = doc("b.pdf", pdf("lớn", stream=bytes(1000)))
    with pytest.raises(ApiError) as caught:
        _store_documents(ctx, [fine, big], INTAKE)
    assert caught.value.status == 413 and "documents.1 (b.pdf)" in caught.value.message
    assert not ctx.documents.has(hashlib.sha256(pdf("nhỏ")).hexdigest())


def test_the_type_is_judged_by_content_not_by_name(ctx: SimpleNamespace) -> None:
    with pytest.raises(ApiError) as caught:
        _store_documents(ctx, [doc("virus.pdf", b"MZ\x90\x00")], INTAKE)
    assert caught.value.status == 415 and "PDF, JPEG" in caught.value.message
    assert isinstance(refused(b"MZ\x90\x00", "virus.pdf"), UnsupportedUpload)
    [ref] = _store_documents(ctx, [doc("anh.jpg", image("JPEG", "ảnh"))], INTAKE)
    assert ctx.documents.has(ref.sha256) and not ref.reused


def test_an_invalid_file_is_refused_with_its_reason_and_nothing_is_stored(
    ctx: SimpleNamespace,
) -> None:
    fine = pdf("đúng")
    html = b"%PDF-1.7\n<html><script>alert(1)</script></html>"
    with pytest.raises(ApiError) as caught:
        _store_documents(ctx, [doc("a.pdf", fine), doc("b.pdf", html)], APPLICANT)
    assert caught.value.status == 422 and caught.value.code == "invalid"
    assert caught.value.message.startswith("documents.1 (b.pdf): không phải tệp PDF hợp lệ")
    assert not ctx.documents.has(hashlib.sha256(fine).hexdigest())
    assert not ctx.documents.has(hashlib.sha256(html).hexdigest())


# --------------------------------------------------------------------------- by hash


def dossier_row(code: str, account: str | None, agency: str = CENTRE) -> DossierRow:
    now = datetime.now(UTC)
    return DossierRow(
        code=code,
        procedure_code="3.000333",
        procedure_version=1,
        status="received",
        status_code=2,
        channel="online",
        centre_agency=agency,
        competent_agency=agency,
        submitted_at=now,
        applicant_name="Nguyễn Văn A",
        applicant_id_number="001099012345",
        applicant_account=account,
        updated_at=now,
    )


def upload_row(code: str, sha256: str) -> DocumentRow:
    return DocumentRow(
        id=f"{code}:upload:{sha256[:8]}",
        dossier_code=code,
        form="ly_lich_tu_phap",
        source="upload",
        media_type="application/pdf",
        filename="a.pdf",
        sha256=sha256,
        size=1,
        created_at=datetime.now(UTC),
    )


def test_a_hash_is_reused_only_by_who_may_read_a_dossier_holding_it(
    ctx: SimpleNamespace, engine: Engine
) -> None:
    """A's certificate, uploaded to A's dossier at the centre: A and the centre's intake
    officer may name it by its hash; B, an officer of another agency, and anyone naming
    a hash the centre does not hold get the same answer."""
    ctx.engine = engine
    certificate = ctx.documents.put(pdf("phiếu lý lịch tư pháp của A"))
    unheld = hashlib.sha256(b"never uploaded").hexdigest()
    with Session(engine) as s:
        s.add(dossier_row("000.00.01.H99-261207-0001", "citizen-a"))
        s.add(upload_row("000.00.01.H99-261207-0001", certificate))
        s.commit()

    def by_hash(sha256: str, who: Principal) -> list[object]:
        named = DocumentIn(kind="x", filename="x.pdf", sha256=sha256)
        return list(_store_documents(ctx, [named], who))

    def answer(sha256: str, who: Principal) -> tuple[int, str, str]:
        with pytest.raises(ApiError) as caught:
            by_hash(sha256, who)
        error = caught.value
        return error.status, error.code, error.message.replace(sha256, "<sha256>")

    [ref] = by_hash(certificate, APPLICANT)
    assert ref.reused and ref.sha256 == certificate  # type: ignore[attr-defined]
    assert by_hash(certificate, INTAKE)

    stranger = Principal(sub="citizen-b", roles=[Role.APPLICANT])
    other_agency = Principal(sub="o", roles=[Role.INTAKE_OFFICER], agency=OTHER)
    # An applicant's token carrying an agency claim is still not an officer's.
    claims_agency = Principal(sub="citizen-c", roles=[Role.APPLICANT], agency=CENTRE)
    unknown = answer(unheld, stranger)
    assert unknown[:2] == (422, "invalid") and "content_base64" in unknown[2]
    for who in (stranger, other_agency, claims_agency):
        assert answer(certificate, who) == answer(unheld, who) == unknown
