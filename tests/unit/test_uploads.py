"""Upload limits, checked before anything is stored: size (413), type by content (415),
and a document named by a hash the centre does not hold (422)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from api.errors import ApiError
from api.routes.dossiers import _store_documents
from api.schemas import DocumentIn
from motcua.docstore import FolderStore
from motcua.settings import Settings


def doc(filename: str, content: bytes) -> DocumentIn:
    return DocumentIn(
        kind="to_khai", filename=filename, content_base64=base64.b64encode(content).decode()
    )


@pytest.fixture
def ctx(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(
        settings=Settings(max_upload_bytes=100), documents=FolderStore(tmp_path / "documents")
    )


def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(ctx: SimpleNamespace) -> None:
    fine = doc("a.pdf", b"%PDF-1.7 small")
    big = doc("b.pdf", b"%PDF-1.7 " + b"0" * 100)
    with pytest.raises(ApiError) as refused:
        _store_documents(ctx, [fine, big])
    assert refused.value.status == 413 and "documents.1 (b.pdf)" in refused.value.message
    assert not ctx.documents.has(hashlib.sha256(b"%PDF-1.7 small").hexdigest())


def test_the_type_is_judged_by_content_not_by_name(ctx: SimpleNamespace) -> None:
    with pytest.raises(ApiError) as refused:
        _store_documents(ctx, [doc("virus.pdf", b"MZ\x90\x00")])
    assert refused.value.status == 415 and "PDF, JPEG" in refused.value.message
    [ref] = _store_documents(ctx, [doc("anh.jpg", b"\xff\xd8\xff\xe0 jpeg")])
    assert ctx.documents.has(ref.sha256) and not ref.reused


def test_a_hash_the_centre_holds_is_reused_and_one_it_does_not_is_refused(
    ctx: SimpleNamespace,
) -> None:
    held = ctx.documents.put(b"%PDF-1.7 held")
    [ref] = _store_documents(ctx, [DocumentIn(kind="x", filename="x.pdf", sha256=held)])
    assert ref.reused and ref.sha256 == held
    with pytest.raises(ApiError) as refused:
        _store_documents(ctx, [DocumentIn(kind="x", filename="y.pdf", sha256="ab" * 32)])
    assert refused.value.status == 422 and "content_base64" in refused.value.message
