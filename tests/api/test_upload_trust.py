"""Uploads the centre can trust, on the real stack (both databases):

- a file is judged by its content, not its first bytes: a PDF header in front of HTML, a
  truncated PNG or a zip bomb DOCX is refused with the reason, and nothing is stored."""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from motcua.docstore import FolderStore
from tests.api.support import (
    AUDITOR,
    INTAKE,
    LEADER,
    Api,
    Person,
    document,
    error_of,
    submission,
)
from tests.files import png


def stored(api: Api, content: bytes) -> bool:
    return FolderStore(Path(api.settings.resolved_document_store)).has(
        hashlib.sha256(content).hexdigest()
    )


async def no_dossier_of(api: Api, http: httpx.AsyncClient, person: Person) -> None:
    r = await http.get("/v1/dossiers", params={"q": person.name}, headers=api.headers(*AUDITOR))
    assert r.status_code == 200 and r.json()["items"] == [], r.text


def by_hash(sha256: str, filename: str = "phieu-ltp.pdf") -> dict[str, Any]:
    return {"kind": "giay_to_khac", "filename": filename, "sha256": sha256}


def shape(r: httpx.Response, sha256: str) -> tuple[int, str, str]:
    """The answer with the hash it names taken out: what must not tell one refused hash
    from another."""
    message = error_of(r, r.status_code)
    return r.status_code, r.json()["error"]["code"], message.replace(sha256, "<sha256>")


async def reused_this_month(api: Api, http: httpx.AsyncClient) -> int:
    period = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
    r = await http.get("/v1/index", params={"period": period}, headers=api.headers(*LEADER))
    assert r.status_code == 200, r.text
    reused: int = r.json()["total"]["counts"]["reused"]
    return reused


def bomb_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("docProps/custom.xml", f"<id>{uuid.uuid4().hex}</id>")
        with z.open("word/document.xml", "w") as f:
            zeros = bytes(1024 * 1024)
            for _ in range(200):
                f.write(zeros)
    return buffer.getvalue()


async def test_a_file_is_judged_by_its_content_and_nothing_is_stored(
    api: Api, http: httpx.AsyncClient
) -> None:
    html = b"%PDF-1.7\n<html><script>fetch('/v1/dossiers')</script>" + uuid.uuid4().bytes
    whole = png(uuid.uuid4().hex)
    truncated = whole[: len(whole) - 20]
    cases = [
        ("to-khai.pdf", html, "không phải tệp PDF hợp lệ"),
        ("can-cuoc.png", truncated, "không phải tệp PNG hợp lệ"),
        ("don.docx", bomb_docx(), "khi giải nén ra 200 MB"),
    ]
    for filename, content, reason in cases:
        person = api.person("nội dung")
        body = submission(person)
        body["documents"][1] = document("to_khai", filename, content)
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
        message = error_of(r, 422, "invalid")
        assert message.startswith(f"documents.1 ({filename}): ") and reason in message, message
        assert not stored(api, content), filename
        # The first document, valid, was not stored either: all are checked first.
        first = base64.b64decode(body["documents"][0]["content_base64"])
        assert not stored(api, first), filename
        await no_dossier_of(api, http, person)
    # The same file whole is accepted.
    body = submission(api.person("ảnh đủ"))
    body["documents"][1] = document("giay_to_tuy_than", "can-cuoc.png", whole)
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
    assert r.status_code == 201, r.text
    assert stored(api, whole)
