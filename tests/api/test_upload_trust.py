"""Uploads the centre can trust, on the real stack (both databases):

- a file named by its SHA-256 instead of sent must be one the caller may already read
  (a document of a dossier they may read); any other hash is answered exactly as one
  the centre does not hold, on submission and on a supplement, and no file of another
  applicant ever becomes the caller's to download;
- a file is judged by its content, not its first bytes: a PDF header in front of HTML, a
  truncated PNG or a zip bomb DOCX is refused with the reason, and nothing is stored."""

from __future__ import annotations

import asyncio
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

from domain.catalog import Role
from infra.docstore import FolderStore
from store import repository
from tests.api.support import (
    AUDITOR,
    COMMUNE_CENTRE,
    INTAKE,
    LEADER,
    Api,
    Person,
    act,
    caught_up,
    document,
    error_of,
    submission,
)
from tests.files import pdf, png


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


async def test_a_hash_names_only_a_file_the_caller_may_read(
    api: Api, http: httpx.AsyncClient
) -> None:
    # A submits online with a signed criminal-record certificate of theirs.
    a = api.person("chủ tệp")
    certificate = pdf(f"Phiếu lý lịch tư pháp số 1 của {a.name}, CCCD {a.id_number}")
    body = submission(a, channel="online")
    body["documents"].append(document("giay_to_khac", "phieu-ltp.pdf", certificate))
    r = await http.post("/v1/dossiers", json=body, headers=api.applicant(a))
    assert r.status_code == 201, r.text
    a_code = r.json()["code"]
    await caught_up(api, http, a_code)
    sha = hashlib.sha256(certificate).hexdigest()
    unheld = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    r = await http.get(f"/v1/dossiers/{a_code}/documents", headers=api.applicant(a))
    [a_doc] = [d for d in r.json()["documents"] if d["sha256"] == sha]

    # B names A's certificate by its hash: answered as a hash the centre does not hold.
    b = api.person("người lạ")
    submitted = set()
    for named in (sha, unheld):
        body = submission(b, channel="online")
        body["documents"].append(by_hash(named))
        r = await http.post("/v1/dossiers", json=body, headers=api.applicant(b))
        submitted.add(shape(r, named))
        assert "content_base64" in error_of(r, 422, "invalid")
    assert len(submitted) == 1, submitted
    await no_dossier_of(api, http, b)

    # ... nor in a supplement to a dossier of B's own.
    r = await http.post(
        "/v1/dossiers", json=submission(b, channel="online"), headers=api.applicant(b)
    )
    assert r.status_code == 201, r.text
    b_code = r.json()["code"]
    r = await act(api, http, b_code, INTAKE, "request_supplement", data={"missing": ["Phiếu LLTP"]})
    assert r.status_code == 200, r.text
    supplemented = set()
    for named in (sha, unheld):
        r = await http.post(
            f"/v1/dossiers/{b_code}/supplements",
            json={"documents": [by_hash(named)]},
            headers=api.applicant(b),
        )
        supplemented.add(shape(r, named))
        error_of(r, 422, "invalid")
    assert len(supplemented) == 1, supplemented
    await caught_up(api, http, b_code)
    b_docs = await asyncio.to_thread(repository.list_documents, api.engine, b_code)
    assert sha not in {d.sha256 for d in b_docs}

    # An intake officer of another centre, at its counter: the same answer.
    other = (Role.INTAKE_OFFICER, COMMUNE_CENTRE)
    at_counter = set()
    for named in (sha, unheld):
        body = submission(api.person("quầy khác"))
        body["centre_agency"] = COMMUNE_CENTRE
        body["documents"].append(by_hash(named))
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*other))
        at_counter.add(shape(r, named))
    assert at_counter == submitted, at_counter

    # A's certificate is never B's to download: not through A's dossier, not through B's.
    r = await http.get(a_doc["href"], headers=api.applicant(b))
    assert r.status_code == 403 and certificate not in r.content
    r = await http.get(f"/v1/dossiers/{b_code}/documents/{a_doc['id']}", headers=api.applicant(b))
    assert r.status_code == 404 and certificate not in r.content
    r = await http.get(f"/v1/dossiers/{b_code}/documents", headers=api.applicant(b))
    assert sha not in {d["sha256"] for d in r.json()["documents"]}

    # A reuses their own certificate in a new dossier: accepted, and counted as reuse
    # (Decision 766 indicator 4.3) once the centre receives the dossier.
    before = await reused_this_month(api, http)
    body = submission(a, channel="online")
    body["documents"].append(by_hash(sha))
    r = await http.post("/v1/dossiers", json=body, headers=api.applicant(a))
    assert r.status_code == 201, r.text
    again = r.json()["code"]
    assert (await act(api, http, again, INTAKE, "accept")).status_code == 200
    await caught_up(api, http, again)
    rows = await asyncio.to_thread(repository.list_documents, api.engine, again)
    assert [d.reused for d in rows if d.sha256 == sha] == [True]
    assert await reused_this_month(api, http) == before + 1
    r = await http.get(
        f"/v1/dossiers/{again}/documents/{next(d.id for d in rows if d.sha256 == sha)}",
        headers=api.applicant(a),
    )
    assert r.status_code == 200 and r.content == certificate

    # The intake officer of A's centre may name it at the counter (their agency reads
    # A's dossiers); the file still is not B's.
    body = submission(api.person("tại quầy"))
    body["documents"].append(by_hash(sha))
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
    assert r.status_code == 201, r.text


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
