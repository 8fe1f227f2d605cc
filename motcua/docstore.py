"""The content-addressed document store: every file a dossier holds (uploads,
forms, the signed result) is stored once under its SHA-256.

A folder by default (<root>/ab/cdef...); the `DocumentStore` protocol is what the
API and the workers use, so an S3-compatible store can take its place. The store
must be shared by the API and every worker that renders or signs documents (one
folder on one machine, a shared volume, or object storage).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class DocumentNotFound(KeyError):
    pass


class DocumentStore(Protocol):
    def put(self, content: bytes, sha256: str | None = None) -> str: ...
    def get(self, sha256: str) -> bytes: ...
    def has(self, sha256: str) -> bool: ...
    def staging(self) -> Path: ...
    def put_file(self, path: Path, sha256: str) -> str: ...


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


def open_document_store(location: str) -> DocumentStore:
    """`location` is a folder path (or file:// URL). Object storage plugs in here."""
    if location.startswith("file://"):
        return FolderStore(Path(location.removeprefix("file://")))
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise ValueError(
            f"document store '{scheme}://' is not supported by this build; "
            "use a folder path (shared by the API and the workers)"
        )
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
    """The media type of an uploaded file from its first bytes, or None if unknown."""
    head = content[:16]
    for media_type, magics in MEDIA_TYPES.items():
        if any(head.startswith(m) for m in magics):
            return media_type
    suffix = Path(filename).suffix.lower()
    if head.startswith(b"PK\x03\x04") and suffix in OFFICE_TYPES:
        return OFFICE_TYPES[suffix]
    return None
