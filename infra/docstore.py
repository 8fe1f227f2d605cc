"""The content-addressed document store: every file a dossier holds (uploads,
forms, the signed result) is stored once under its SHA-256.

A folder by default (<root>/ab/cdef...); the `DocumentStore` protocol is what the
API and the workers use, so an S3-compatible store can take its place. The store
must be shared by the API and every worker that renders or signs documents (one
folder on one machine, a shared volume, or object storage).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import mimetypes
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Collection
from pathlib import Path
from typing import Protocol
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeXml  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.reader import PdfFileReader

from domain.i18n import Text
from domain.validation import Invalid
from infra.messages import T as U
from infra.settings_messages import S


class DocumentNotFound(KeyError):
    pass


class DocumentStore(Protocol):
    def put(self, content: bytes, sha256: str | None = None) -> str: ...
    def get(self, sha256: str) -> bytes: ...
    def has(self, sha256: str) -> bool: ...
    def staging(self) -> Path: ...
    def put_file(self, path: Path, sha256: str) -> str: ...
    def peek(self, sha256: str, n: int = 16) -> tuple[int, bytes]: ...


# Files still being received (a multipart upload): a folder inside the store, so that
# put_file moves a finished file into place on the same file system, whole or not at all.
STAGING = "incoming"


class FolderStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, content: bytes, sha256: str | None = None) -> str:
        """Store `content`; written before anything refers to it, atomically."""
        digest = hashlib.sha256(content).hexdigest()
        if sha256 is not None and sha256 != digest:
            raise ValueError("content does not match its sha256")
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        return digest

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise DocumentNotFound(sha256) from None

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def staging(self) -> Path:
        """Where an upload is written while it is received (see put_file)."""
        folder = self.root / STAGING
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def put_file(self, path: Path, sha256: str) -> str:
        """Store the file at `path` (written whole and synced to disk, in `staging()`,
        its SHA-256 computed as it was written) by moving it into place; the store
        already holding that content, the file is removed instead."""
        target = self.path(sha256)
        if target.exists():
            path.unlink(missing_ok=True)
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        return sha256

    def peek(self, sha256: str, n: int = 16) -> tuple[int, bytes]:
        """The stored file's size and its first `n` bytes, without reading the rest."""
        try:
            with self.path(sha256).open("rb") as f:
                return os.fstat(f.fileno()).st_size, f.read(n)
        except FileNotFoundError:
            raise DocumentNotFound(sha256) from None


def open_document_store(location: str) -> DocumentStore:
    """`location` is a folder path (or file:// URL). Object storage plugs in here."""
    if location.startswith("file://"):
        return FolderStore(Path(location.removeprefix("file://")))
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise Invalid(S("document_store", scheme=scheme))
    return FolderStore(Path(location))


# What an applicant may upload, recognised by content (never by the name alone).
MEDIA_TYPES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "application/xml": (b"<?xml",),
}
OFFICE_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


SHORT_NAMES = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/tiff": "TIFF",
    "application/xml": "XML",
    **{t: suffix[1:].upper() for suffix, t in OFFICE_TYPES.items()},
}


def sniff_media_type(content: bytes, filename: str) -> str | None:
    """The media type of an uploaded file from its first bytes, or None if unknown.
    Only a guess: `validate_upload` checks that the content is what it starts like."""
    head = content[:16]
    for media_type, magics in MEDIA_TYPES.items():
        if any(head.startswith(m) for m in magics):
            return media_type
    suffix = Path(filename).suffix.lower()
    if head.startswith(b"PK\x03\x04") and suffix in OFFICE_TYPES:
        return OFFICE_TYPES[suffix]
    return None


def stored_file_facts(store: DocumentStore, sha256: str, filename: str) -> tuple[int, str]:
    """The size and media type of a file the store holds (an upload): the type its
    first bytes show (what `validate_upload` accepted it as), else the one its name
    suggests, else application/octet-stream. Raises DocumentNotFound."""
    size, head = store.peek(sha256)
    media_type = sniff_media_type(head, filename) or mimetypes.guess_type(filename)[0]
    return size, media_type or "application/octet-stream"


# --------------------------------------------------------------------------- validation
#
# An upload is judged by its content, before anything is stored: its first bytes say
# which format it claims to be (`sniff_media_type`), and `validate_upload` checks that
# it is one, within bounds that keep the work small (a 10 MB file in well under a
# second): a PDF's structure (trailer, cross-references, catalogue, page tree: no
# content stream is decoded), an image's header and data (PNG: every chunk's CRC; JPEG:
# decoded at 1/8 scale; TIFF: every strip and tile inside the file), a DOCX/XLSX's
# archive (entries, sizes, every entry inflated with a budget and its CRC checked) and
# an XML file's syntax (without entities, with defusedxml).

MiB = 1024 * 1024
# Unpacked size and entry count of a DOCX/XLSX. A 10 MB spreadsheet of text unpacks to
# about 100 MB; a zip bomb to gigabytes.
MAX_UNPACKED_BYTES = 100 * MiB
MAX_ARCHIVE_ENTRIES = 2000
# Pixels of one image (or one TIFF page): Pillow's own limit against decompression
# bombs (about 89 million: an A3 page scanned at 600 dpi is 70 million).
MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
MAX_TIFF_PAGES = 1000
# A progressive JPEG is decoded once per scan; encoders write about ten.
MAX_JPEG_SCANS = 100
MAX_PDF_NODES = 1000  # page tree nodes walked

_ZIP_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_ZIP_LOCAL_MAGIC = b"PK\x03\x04"
_ZIP_END_MAGIC = b"PK\x05\x06"
_DTD_MARKS = tuple(
    mark.encode(encoding)
    for mark in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)
_MARK_LEN = max(len(m) for m in _DTD_MARKS)


class UploadRefused(ValueError):
    """An upload refused for its content, before anything is stored. The message, a
    `Text` (infra/messages.py; `str()` is its Vietnamese), tells the person who sent it
    why; `status` and `code` are the API's answer (422 invalid: the file is not a valid
    file of its type)."""

    status = 422
    code = "invalid"


class UnsupportedUpload(UploadRefused):
    """Not a type of file the centre accepts (415)."""

    status = 415
    code = "unsupported_media_type"


def validate_upload(content: bytes, filename: str, allowed: Collection[str] | None = None) -> str:
    """The media type of an uploaded file, checked by its content; `allowed` (the
    setting `upload_media_types`; every type we know if None) are the types accepted.

    Raises `UnsupportedUpload` (415) for a file of no accepted type, `UploadRefused`
    (422) for one that starts like an accepted type but is not a valid file of it
    (damaged, truncated, another format behind a PDF header, a zip bomb, an XML file
    declaring entities). Pure: reads nothing but `content`; the work is bounded."""
    known = [*MEDIA_TYPES, *OFFICE_TYPES.values()]
    accepted = [t for t in known if allowed is None or t in allowed]
    media_type = sniff_media_type(content, filename)
    if media_type is None or media_type not in accepted:
        names = ", ".join(SHORT_NAMES.get(t, t) for t in accepted)
        found = (
            U("found", kind=SHORT_NAMES.get(media_type, media_type))
            if media_type
            else U("unrecognised")
        )
        raise UnsupportedUpload(U("unsupported", found=found, names=names))
    short = SHORT_NAMES[media_type]
    if media_type == "application/pdf":
        _check_pdf(content)
    elif media_type.startswith("image/"):
        _check_image(content, short)
    elif media_type == "application/xml":
        _check_xml(content)
    else:
        _check_office(content, short)
    return media_type


def _damaged(short: str, why: Text) -> UploadRefused:
    return UploadRefused(U("damaged", kind=short, why=why))


def _check_pdf(content: bytes) -> None:
    """Header, trailer and cross-references, the catalogue and the page tree. pyHanko's
    reader resolves objects on demand and bounds what it inflates (an object stream
    holding the pages); no page's content is decoded."""
    try:
        reader = PdfFileReader(io.BytesIO(content), strict=False)
        if reader.encrypted and reader.decrypt("").status is AuthStatus.FAILED:
            raise UploadRefused(U("pdf_password"))
        pages = _pdf_pages(reader)
    except UploadRefused:
        raise
    except Exception:  # whatever a parser of untrusted bytes raises: not a readable PDF
        raise _damaged("PDF", U("pdf_unreadable")) from None
    if pages < 1:
        raise _damaged("PDF", U("pdf_no_pages"))


def _pdf_pages(reader: PdfFileReader) -> int:
    """The page count the page tree declares, checked by walking the tree (refusing a
    loop, a node that is not a dictionary, a count that does not match) up to
    MAX_PDF_NODES nodes: each costs a parse (about 0.1 ms), so a PDF of ten thousand
    pages is checked on its first thousand."""
    root = reader.root
    if root.get("/Type", "/Catalog") != "/Catalog":
        raise ValueError("the trailer's /Root is not a catalogue")
    top = root.raw_get("/Pages")
    declared = int(top.get_object()["/Count"])
    seen: set[object] = set()
    stack = [top]
    pages = 0
    while stack and len(seen) < MAX_PDF_NODES:
        ref = stack.pop()
        if isinstance(ref, generic.IndirectObject):
            if ref.reference in seen:
                raise ValueError("a loop in the page tree")
            seen.add(ref.reference)
        node = ref.get_object()
        if not isinstance(node, generic.DictionaryObject):
            raise ValueError("a page tree node is not a dictionary")
        if node.get("/Type") == "/Pages":
            stack.extend(reversed(list(node["/Kids"])))
        else:
            pages += 1
    if not stack and pages != declared:
        raise ValueError("the page count does not match the page tree")
    return declared


def _check_image(content: bytes, short: str) -> None:
    try:
        with Image.open(io.BytesIO(content), formats=[short]) as image:
            _check_pixels(*image.size)
            if image.format == "TIFF":
                frames = getattr(image, "n_frames", 1)  # reads every page's directory
                if frames > MAX_TIFF_PAGES:
                    raise UploadRefused(U("tiff_pages", pages=MAX_TIFF_PAGES))
                for frame in range(frames):
                    image.seek(frame)
                    _check_pixels(*image.size)
                    _check_tiff_frame(image, len(content))
            elif image.format == "PNG":
                image.verify()  # every chunk's CRC, to IEND; nothing is inflated
            elif image.format == "JPEG":
                if content.count(b"\xff\xda") > MAX_JPEG_SCANS:  # start-of-scan markers
                    raise UploadRefused(U("jpeg_scans", scans=MAX_JPEG_SCANS))
                # Decoded at 1/8 scale: all of the data is read (a truncated file
                # fails), a sixty-fourth of the pixels are made.
                width, height = image.size
                image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
                image.load()
    except UploadRefused:
        raise
    except Image.DecompressionBombError:
        raise UploadRefused(_too_many_pixels()) from None
    except Exception:  # whatever a decoder of untrusted bytes raises
        raise _damaged(short, U("image_damaged")) from None


def _too_many_pixels(width: int | None = None, height: int | None = None) -> Text:
    if width and height:
        return U("pixels_sized", width=width, height=height, limit=MAX_IMAGE_PIXELS)
    return U("pixels", limit=MAX_IMAGE_PIXELS)


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise UploadRefused(_too_many_pixels(width, height))


def _check_tiff_frame(image: Image.Image, size: int) -> None:
    """Every strip (or tile) of the current TIFF page lies inside the file: a truncated
    TIFF points past its end. Nothing is decompressed."""
    tags = image.tag_v2  # type: ignore[attr-defined]
    offsets, counts = tags.get(273), tags.get(279)  # StripOffsets, StripByteCounts
    if offsets is None:
        offsets, counts = tags.get(324), tags.get(325)  # TileOffsets, TileByteCounts
    if not offsets or not counts or len(offsets) != len(counts):
        raise ValueError("no image data")
    if any(o + c > size for o, c in zip(offsets, counts, strict=True)):
        raise ValueError("image data past the end of the file")


def _check_xml(content: bytes) -> None:
    try:
        SafeXml.fromstring(content)  # entities and external references refused
    except DefusedXmlException:
        raise UploadRefused(U("xml_entities")) from None
    except (ParseError, ValueError) as exc:
        raise _damaged("XML", U("xml_syntax", error=str(exc))) from None


def _check_office(content: bytes, short: str) -> None:
    """A DOCX/XLSX is a ZIP package (ECMA-376 Part 2): entries stored or deflated, no
    DTD in its XML. The central directory's sizes are checked first (a bomb is refused
    before anything is inflated), then each entry is inflated from its own bytes with a
    budget, its real size and CRC compared with what the headers say: headers that lie
    (a small size in front of a large stream) are caught after at most the budget."""
    end = content.rfind(_ZIP_END_MAGIC, max(0, len(content) - 65_557))
    if end < 0:
        raise _damaged(short, U("zip_no_directory"))
    entries = int.from_bytes(content[end + 10 : end + 12], "little")
    if entries != 0xFFFF and entries > MAX_ARCHIVE_ENTRIES:
        raise UploadRefused(
            U("zip_entries", kind=short, entries=entries, limit=MAX_ARCHIVE_ENTRIES)
        )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError):
        raise _damaged(short, U("zip_directory_damaged")) from None
    if len(infos) > MAX_ARCHIVE_ENTRIES:
        raise UploadRefused(
            U("zip_entries", kind=short, entries=len(infos), limit=MAX_ARCHIVE_ENTRIES)
        )
    declared = sum(info.file_size for info in infos)
    if declared > MAX_UNPACKED_BYTES:
        raise UploadRefused(
            U("zip_unpacked", kind=short, mb=declared // MiB, limit=MAX_UNPACKED_BYTES // MiB)
        )
    if "[Content_Types].xml" not in {info.filename for info in infos}:
        raise _damaged(short, U("ooxml_no_content_types"))
    spans = []
    for info in infos:
        name = info.filename
        if name.startswith("/") or "\\" in name or ".." in name.split("/"):
            raise _damaged(short, U("zip_bad_name", name=repr(name)))
        spans.append(_entry_span(content, info, short))
    ordered = sorted(spans)
    if any(a[1] > b[0] for a, b in itertools.pairwise(ordered)):
        raise _damaged(short, U("zip_overlap"))
    budget = MAX_UNPACKED_BYTES
    for info, (start, stop) in zip(infos, spans, strict=True):
        budget -= _inflate_entry(content[start:stop], info, budget, short)


def _entry_span(content: bytes, info: zipfile.ZipInfo, short: str) -> tuple[int, int]:
    """Where the entry's compressed bytes are, from its local header."""
    at = info.header_offset
    try:
        magic, _, flags, method, _, _, _, _, _, name_len, extra_len = _ZIP_LOCAL_HEADER.unpack_from(
            content, at
        )
    except struct.error:
        raise _damaged(short, U("zip_truncated")) from None
    if magic != _ZIP_LOCAL_MAGIC:
        raise _damaged(short, U("zip_header_damaged"))
    if flags & 0x1:
        raise _damaged(short, U("zip_password"))
    if method != info.compress_type or info.compress_type not in (
        zipfile.ZIP_STORED,
        zipfile.ZIP_DEFLATED,
    ):
        raise _damaged(short, U("zip_not_deflate"))
    start = at + _ZIP_LOCAL_HEADER.size + name_len + extra_len
    stop = start + info.compress_size
    if stop > len(content):
        raise _damaged(short, U("zip_truncated"))
    return start, stop


def _inflate_entry(raw: bytes, info: zipfile.ZipInfo, budget: int, short: str) -> int:
    """Inflate one entry 1 MiB at a time, never past `budget` nor past its declared
    size; check that its stream ends there, and its CRC. Returns its size."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    stored = info.compress_type == zipfile.ZIP_STORED
    xml = info.filename.endswith((".xml", ".rels"))
    size, crc, carry, pending = 0, 0, b"", raw
    while pending:
        if stored:
            chunk, pending = pending[:MiB], pending[MiB:]
        else:
            try:
                chunk = inflater.decompress(pending, MiB)
            except zlib.error:
                raise _damaged(short, U("zip_entry_damaged", entry=info.filename)) from None
            pending = inflater.unconsumed_tail
            if not chunk:
                break
        size += len(chunk)
        if size > info.file_size or size > budget:
            raise UploadRefused(U("zip_larger", kind=short, entry=info.filename))
        crc = zlib.crc32(chunk, crc)
        if xml:
            window = carry + chunk
            if any(mark in window for mark in _DTD_MARKS):
                raise UploadRefused(U("ooxml_dtd", kind=short, entry=info.filename))
            carry = window[-_MARK_LEN:]
    if not stored and (not inflater.eof or inflater.unused_data):
        raise _damaged(short, U("zip_entry_damaged", entry=info.filename))
    if size != info.file_size or crc != info.CRC:
        raise _damaged(short, U("zip_entry_mismatch", entry=info.filename))
    return size
