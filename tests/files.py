"""Small valid files for tests that upload documents: uploads are checked by content
(`infra.docstore.validate_upload`), so a test file must be a real PDF or image.

Each carries `text` (a person's ID number, a uuid) so that its SHA-256 is its own.
"""

from __future__ import annotations

import io

from PIL import Image


def pdf(text: str | bytes = "", *, pages: int = 1, stream: bytes = b"") -> bytes:
    """A minimal PDF (classic cross-reference table): `pages` blank A4 pages, `text` in
    its /Subject, and `stream` as the content of the first page (if any)."""
    if isinstance(text, str):
        text = text.encode()
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{5 + i} 0 R".encode() for i in range(pages))
        + f"] /Count {pages} >>".encode(),
        b"<< /Subject <" + text.hex().encode() + b"> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        + (b" /Contents 4 0 R" if i == 0 and stream else b"")
        + b" >>"
        for i in range(pages)
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 3 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def image(fmt: str, text: str | bytes = "", size: tuple[int, int] = (32, 24)) -> bytes:
    """A small image (JPEG, PNG or TIFF) whose pixels depend on `text`."""
    if isinstance(text, str):
        text = text.encode()
    seed = sum(text) % 256
    picture = Image.new("RGB", size, (seed, 255 - seed, len(text) % 256))
    picture.putpixel((0, 0), (len(text) % 256, seed, 7))
    buffer = io.BytesIO()
    extra = {"comment": text} if fmt == "JPEG" else {}
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", text.decode(errors="replace"))
        extra = {"pnginfo": info}
    elif fmt == "TIFF":
        extra = {"description": text.decode(errors="replace")}
    picture.save(buffer, fmt, **extra)
    return buffer.getvalue()


def jpeg(text: str | bytes = "") -> bytes:
    return image("JPEG", text)


def png(text: str | bytes = "") -> bytes:
    return image("PNG", text)
