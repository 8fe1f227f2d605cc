"""Hostile input to the upload and download routes, beyond what the other tests send.

Already covered elsewhere: malformed submissions and actions, one bad base64 string, wrong
JSON and content types on submit and actions, NUL in filters, codes and actions, unknown
dossiers, and bad tokens (garbage, tampered, another key, expired, alg none, wrong
audience, unknown or system role, no agency, huge) on the dossier routes
(tests/api/test_errors.py); an executable named .pdf, a file over the limit and an unknown
hash on submission (tests/api/test_documents.py); the upload checks themselves
(tests/unit/test_uploads.py); JWT verification (tests/api/test_auth.py); schemathesis.

Here: file names that are paths (also percent-encoded, with control characters, NUL,
too long), document ids and codes that are paths on download (sent as raw requests, so
no client normalises the dots away), empty files, content that lies about its type,
base64 that is not, files over the limit and too many files on a supplement, a multipart
upload, and bad tokens on the document routes. Every answer is a clear 4xx naming what is
wrong, never a 5xx, and nothing is written: no dossier, no event, no document row, no
refused attempt, no file in the document store.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from api.auth import issue_token
from domain.catalog import Role
from infra.docstore import FolderStore
from tests.api.support import (
    AUDITOR,
    CENTRE,
    INTAKE,
    Api,
    Person,
    caught_up,
    error_of,
    submission,
)
from tests.files import pdf


def unique() -> bytes:
    return pdf(uuid.uuid4().hex)


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def store(api: Api) -> FolderStore:
    return FolderStore(Path(api.settings.resolved_document_store))


def stored(api: Api, content: bytes) -> bool:
    return store(api).has(hashlib.sha256(content).hexdigest())


async def no_dossier_of(api: Api, http: httpx.AsyncClient, person: Person) -> None:
    r = await http.get("/v1/dossiers", params={"q": person.name}, headers=api.headers(*AUDITOR))
    assert r.status_code == 200 and r.json()["items"] == [], r.text


async def awaiting_supplement(api: Api, http: httpx.AsyncClient) -> tuple[Person, str]:
    """An online dossier the centre asked to supplement: the applicant may upload now."""
    person = api.person("bổ sung")
    r = await http.post(
        "/v1/dossiers",
        json=submission(person, channel="online"),
        headers=api.applicant(person),
    )
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    r = await http.post(
        f"/v1/dossiers/{code}/actions",
        json={"action": "request_supplement", "data": {"missing": ["Tờ khai"]}},
        headers=api.headers(*INTAKE),
    )
    assert r.status_code == 200 and r.json()["status"] == "supplement_requested", r.text
    await caught_up(api, http, code)
    return person, code


async def record(api: Api, http: httpx.AsyncClient, code: str) -> tuple[Any, ...]:
    """What a refused upload must leave as it was: the dossier's event_seq, its events
    and refused attempts in the read model, its document rows."""
    view = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*AUDITOR))
    events = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*AUDITOR))
    docs = await http.get(f"/v1/dossiers/{code}/documents", headers=api.headers(*AUDITOR))
    return (
        view.json()["event_seq"],
        [e["id"] for e in events.json()["events"]],
        events.json()["refused_attempts"],
        [d["id"] for d in docs.json()["documents"]],
    )


PATH_NAMES = [
    "../../etc/passwd.pdf",
    "/etc/passwd",
    "..\\..\\windows\\win.ini",
    "C:\\fakepath\\to-khai.pdf",
    "to-khai.pdf/..",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd.pdf",
    "..%2F..%2Fto-khai.pdf",
    "..%5C..%5Cto-khai.pdf",
    "to-khai\r\nContent-Type: text/html.pdf",
    "to-khai\t.pdf",
    "..",
    ". .",
    "to-khai.pdf\x00.jpg",
    "x" * 252 + ".pdf",
    "",
]


async def test_a_file_name_that_is_a_path_is_refused(api: Api, http: httpx.AsyncClient) -> None:
    """On submission and on a supplement: 422 naming documents.N.filename; nothing kept."""
    _, code = await awaiting_supplement(api, http)
    before = await record(api, http, code)
    for name in PATH_NAMES:
        person = api.person("tên tệp")
        body = submission(person)
        content = unique()
        body["documents"][1] = {"kind": "to_khai", "filename": name, "content_base64": b64(content)}
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
        assert "documents.1.filename" in error_of(r, 422, "invalid"), (name, r.text)
        await no_dossier_of(api, http, person)

        supplement = {
            "documents": [{"kind": "to_khai", "filename": name, "content_base64": b64(content)}]
        }
        r = await http.post(
            f"/v1/dossiers/{code}/supplements", json=supplement, headers=api.headers(*INTAKE)
        )
        assert "documents.0.filename" in error_of(r, 422, "invalid"), (name, r.text)
        assert not stored(api, content), name
    await caught_up(api, http, code)
    assert await record(api, http, code) == before


async def test_plain_names_with_odd_characters_are_kept_as_given(
    api: Api, http: httpx.AsyncClient
) -> None:
    """Not every odd name is a path: Vietnamese, spaces, '%' and dots in the middle are
    names, kept as given and sent back, encoded, in the download's Content-Disposition."""
    person = api.person("tên lạ")
    body = submission(person)
    name = "Tờ khai 100% (bản 2)..v1 %zz.PDF"
    body["documents"][0]["filename"] = name
    r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.headers(*INTAKE))
    [doc] = [d for d in r.json()["documents"] if d["source"] == "upload" and d["filename"] == name]
    r = await http.get(doc["href"], headers=api.headers(*INTAKE))
    assert r.status_code == 200, r.text
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment; filename*=UTF-8''") and "/" not in disposition
    assert r.headers["x-content-type-options"] == "nosniff"


# --------------------------------------------------------------------------- downloads


async def raw_get(api: Api, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET `target` exactly as written (httpx would resolve '..' before sending)."""
    url = urlsplit(api.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    lines = [f"GET {target} HTTP/1.1", f"Host: {url.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest.partition(b"\r\n\r\n")[2]


async def test_document_ids_and_codes_that_are_paths_are_not_found(
    api: Api, http: httpx.AsyncClient
) -> None:
    r = await http.post("/v1/dossiers", json=submission(api.person()), headers=api.headers(*INTAKE))
    code = r.json()["code"]
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.headers(*INTAKE))
    upload = next(d for d in r.json()["documents"] if d["source"] == "upload")
    headers = api.headers(*AUDITOR)  # reads everything: a refusal here is about the path
    status, body = await raw_get(api, upload["href"], headers)
    assert status == 200 and body.startswith(b"%PDF"), (status, body[:100])

    base = f"/v1/dossiers/{code}/documents"
    real = upload["href"].rsplit("/", 1)[1]
    targets = [
        f"{base}/../../../../etc/passwd",
        f"{base}/..",
        f"{base}/%2e%2e",
        f"{base}/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        f"{base}/..%2F..%2F..%2Fetc%2Fpasswd",
        f"{base}/%2Fetc%2Fpasswd",
        f"{base}//etc/passwd",
        f"{base}/{real}%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"{base}/{real}/../../{real}",
        f"{base}/..%5C..%5Cwindows%5Cwin.ini",
        f"{base}/{real}%00",
        f"{base}/%00",
        f"{base}/{'a' * 4000}",
        f"{base}/{real}{'%2e' * 200}",
        f"/v1/dossiers/..%2F..%2F{code}/documents/{real}",
        f"/v1/dossiers/{code}%2F..%2F{code}/documents/{real}",
        f"/v1/dossiers/../dossiers/{code}/documents/{real}",
        f"/v1/dossiers/%2e%2e/documents/{real}",
    ]
    for target in targets:
        status, body = await raw_get(api, target, headers)
        assert status in (404, 422), (target, status, body[:200])
        assert body.startswith(b'{"error":'), (target, body[:200])
        assert b"%PDF" not in body and b"root:" not in body, target


# --------------------------------------------------------------------------- content


LYING_CONTENT = [
    ("empty.pdf", b"", 415),
    ("page.pdf", b"<!doctype html><script>alert(1)</script>", 415),
    ("archive.pdf", b"PK\x03\x04 a zip, not a pdf", 415),
    ("photo.jpg", b"\x7fELF\x02\x01\x01 an executable", 415),
    ("script.xml", b"#!/bin/sh\nrm -rf /", 415),
    ("almost.pdf", b"%PDF", 415),  # no version dash: not the PDF signature
]

BAD_BASE64 = [
    "JVBERi0",  # bad padding
    "data:application/pdf;base64,JVBERi0xLjQK",  # a data URL, not base64
    "JVBE\nRi0xLjQK",  # MIME line breaks
    "JVBE Ri0xLjQK",
    "-_8=",  # the URL-safe alphabet
    "====",
    "JVBERi0xLjQK\u00a0",
]


async def test_empty_lying_and_undecodable_content_is_refused(
    api: Api, http: httpx.AsyncClient
) -> None:
    _, code = await awaiting_supplement(api, http)
    before = await record(api, http, code)
    for filename, content, status in LYING_CONTENT:
        marked = content + uuid.uuid4().hex.encode() if content else content
        doc = {"kind": "to_khai", "filename": filename, "content_base64": b64(marked)}
        person = api.person("nội dung")
        body = submission(person)
        body["documents"][0] = doc
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
        message = error_of(r, status, "unsupported_media_type")
        assert f"documents.0 ({filename})" in message and "PDF" in message, message
        await no_dossier_of(api, http, person)
        r = await http.post(
            f"/v1/dossiers/{code}/supplements",
            json={"documents": [doc]},
            headers=api.headers(*INTAKE),
        )
        assert f"documents.0 ({filename})" in error_of(r, status, "unsupported_media_type")
        assert not marked or not stored(api, marked), filename

    for text in BAD_BASE64:
        doc = {"kind": "to_khai", "filename": "to-khai.pdf", "content_base64": text}
        person = api.person("base64")
        body = submission(person)
        body["documents"][0] = doc
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
        assert "content_base64" in error_of(r, 422, "invalid"), (text, r.text)
        await no_dossier_of(api, http, person)
        r = await http.post(
            f"/v1/dossiers/{code}/supplements",
            json={"documents": [doc]},
            headers=api.headers(*INTAKE),
        )
        assert "content_base64" in error_of(r, 422, "invalid"), (text, r.text)
    await caught_up(api, http, code)
    assert await record(api, http, code) == before


def staged(api: Api) -> list[Path]:
    """Files left in the store's staging folder (multipart uploads being received)."""
    folder = store(api).root / "incoming"
    return sorted(folder.iterdir()) if folder.exists() else []


async def test_a_supplement_over_the_limits_is_refused_before_anything_is_stored(
    api: Api, http: httpx.AsyncClient
) -> None:
    _, code = await awaiting_supplement(api, http)
    before = await record(api, http, code)
    url = f"/v1/dossiers/{code}/supplements"
    small = unique()
    big = unique().ljust(api.settings.max_upload_bytes + 1, b"0")  # one byte over
    # As multipart (the way for large files): the part over the limit is 413, named,
    # cut off as it streams; the small part before it is not kept either.
    r = await http.post(
        url,
        data={"dossier": json.dumps({"comment": "bổ sung"})},
        files=[
            ("to_khai", ("nho.pdf", small, "application/pdf")),
            ("to_khai", ("lon.pdf", big, "application/pdf")),
        ],
        headers=api.headers(*INTAKE),
    )
    message = error_of(r, 413, "too_large")
    assert "lon.pdf" in message and "giới hạn cho mỗi tệp" in message, message
    assert not stored(api, small) and not stored(api, big)
    assert staged(api) == []
    # The same in base64 inside JSON: over the JSON limit, refused unread.
    docs = [
        {"kind": "to_khai", "filename": "nho.pdf", "content_base64": b64(small)},
        {"kind": "to_khai", "filename": "lon.pdf", "content_base64": b64(big)},
    ]
    r = await http.post(url, json={"documents": docs}, headers=api.headers(*INTAKE))
    assert "multipart/form-data" in error_of(r, 413, "too_large")
    assert not stored(api, small)

    many = [
        {"kind": "to_khai", "filename": f"{i}.pdf", "content_base64": b64(unique())}
        for i in range(51)
    ]
    r = await http.post(url, json={"documents": many}, headers=api.headers(*INTAKE))
    assert "documents" in error_of(r, 422, "invalid")

    # Multipart parts that are not a document kind's file, or not an accepted type.
    content = unique()
    cases: list[tuple[list[Any], int]] = [
        ([("Tờ khai", ("to-khai.pdf", content, "application/pdf"))], 422),
        ([("to_khai", ("to-khai.pdf", content, "application/pdf")), ("ghi_chu", (None, "x"))], 422),
        (
            [
                ("to_khai", ("to-khai.pdf", content, "application/pdf")),
                ("to_khai", ("x.exe", b"MZ\x90\x00", "application/pdf")),
            ],
            415,
        ),
    ]
    for files, status in cases:
        r = await http.post(url, files=files, headers=api.headers(*INTAKE))
        error_of(r, status)
        assert not stored(api, content) and staged(api) == []
    # JSON announced as a PDF.
    body = {"documents": [{"kind": "x", "filename": "x.pdf", "content_base64": b64(content)}]}
    r = await http.post(
        url,
        content=httpx.Request("POST", "/", json=body).content,
        headers={**api.headers(*INTAKE), "Content-Type": "application/pdf"},
    )
    assert r.status_code in (400, 415, 422), r.text
    error_of(r, r.status_code)
    assert not stored(api, content)
    await caught_up(api, http, code)
    assert await record(api, http, code) == before


async def test_files_travel_as_multipart_streamed_to_the_store(
    api: Api, http: httpx.AsyncClient
) -> None:
    """A submission and a supplement as a browser form sends them: the JSON in the part
    `dossier`, each file in a part named by its kind; files larger than the JSON limit
    too. Stored under their sha256, listed and downloadable, nothing left staged."""
    person = api.person("multipart")
    body = submission(person, channel="online")
    files = [
        (d["kind"], (d["filename"], base64.b64decode(d["content_base64"]), "application/pdf"))
        for d in body.pop("documents")
    ]
    # A valid PDF that no longer fits in JSON (its page's content: a long comment).
    large = pdf(uuid.uuid4().hex, stream=b"%" + b"0" * api.settings.max_json_bytes * 2)
    files.append(("to_khai", ("phu-luc.pdf", large, "application/pdf")))
    r = await http.post(
        "/v1/dossiers",
        data={"dossier": json.dumps(body)},
        files=files,
        headers=api.applicant(person),
    )
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert stored(api, large) and staged(api) == []
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.applicant(person))
    uploads = {d["filename"]: d for d in r.json()["documents"] if d["source"] == "upload"}
    assert set(uploads) == {"to-khai-03.pdf", "can-cuoc.jpg", "phu-luc.pdf"}, uploads
    r = await http.get(uploads["phu-luc.pdf"]["href"], headers=api.applicant(person))
    assert r.status_code == 200 and r.content == large

    # A supplement: files only (the JSON part is optional).
    r = await http.post(
        f"/v1/dossiers/{code}/actions",
        json={"action": "request_supplement", "data": {"missing": ["Tờ khai"]}},
        headers=api.headers(*INTAKE),
    )
    assert r.status_code == 200, r.text
    extra = unique()
    # As a browser sends a form: the second file input left empty (filename="", no
    # content), which is no document.
    boundary = "motcua-form"
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="to_khai"; '
            'filename="to-khai-moi.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + extra
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="bo_sung"; '
            'filename=""\r\nContent-Type: application/octet-stream\r\n\r\n'
            f"\r\n--{boundary}--\r\n"
        ).encode()
    )
    r = await http.post(
        f"/v1/dossiers/{code}/supplements",
        content=form,
        headers={
            **api.applicant(person),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert r.status_code == 200 and r.json()["status"] != "supplement_requested", r.text
    assert stored(api, extra) and staged(api) == []
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.applicant(person))
    names = [d["filename"] for d in r.json()["documents"] if d["source"] == "upload"]
    assert sorted(names) == ["can-cuoc.jpg", "phu-luc.pdf", "to-khai-03.pdf", "to-khai-moi.pdf"]


# --------------------------------------------------------------------------- tokens


def forged(header: dict[str, Any], claims: dict[str, Any], secret: str) -> str:
    """A token whose header says what it likes, signed HMAC-SHA256 with `secret`."""

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part(claims)}"
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def bad_tokens(api: Api) -> dict[str, str]:
    s = api.settings
    secret = s.jwt_secret.get_secret_value()
    claims = {
        "iss": s.jwt_issuer,
        "aud": s.jwt_audience,
        "sub": "io-1",
        "roles": ["intake_officer"],
        "agency": CENTRE,
        "iat": int(datetime.now(UTC).timestamp()),
        "exp": int((datetime.now(UTC) + timedelta(hours=1)).timestamp()),
    }
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "expired": issue_token(
            s,
            sub="io-1",
            roles=[Role.INTAKE_OFFICER],
            agency=CENTRE,
            ttl=timedelta(minutes=5),
            now=datetime.now(UTC) - timedelta(hours=1),
        ),
        "another key": jwt.encode(claims, "k" * 40, algorithm="HS256"),
        "alg none": jwt.encode(claims, None, algorithm="none"),
        # Signed with the service's own secret but claiming RS256 (algorithm confusion).
        "RS256 header": forged({"alg": "RS256", "typ": "JWT"}, claims, secret),
        "RS256 with a key of its own": jwt.encode(claims, rsa_key, algorithm="RS256"),
    }


async def test_bad_tokens_on_the_document_routes_are_401_and_write_nothing(
    api: Api, http: httpx.AsyncClient
) -> None:
    """tests/api/test_errors.py sends bad tokens to the dossier routes; here the upload
    and download routes, the control slip, tracking book, worklist, index and audit."""
    _, code = await awaiting_supplement(api, http)
    before = await record(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.headers(*AUDITOR))
    href = r.json()["documents"][0]["href"]
    month = datetime.now(UTC).strftime("%Y-%m")
    content = unique()
    supplement = {
        "documents": [
            {"kind": "to_khai", "filename": "to-khai.pdf", "content_base64": b64(content)}
        ]
    }
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"/v1/dossiers/{code}/supplements", supplement),
        ("POST", "/v1/dossiers", submission(api.person())),
        ("GET", f"/v1/dossiers/{code}/documents", None),
        ("GET", href, None),
        ("GET", f"/v1/dossiers/{code}/control-slip", None),
        ("GET", f"/v1/agencies/{CENTRE}/tracking-book?period={month}", None),
        ("GET", "/v1/worklist", None),
        ("GET", f"/v1/index?period={month}", None),
        ("GET", f"/v1/audit/dossiers/{code}/trail", None),
        ("POST", f"/v1/dossiers/{code}/rating", {"rating": "like"}),
    ]
    for why, token in bad_tokens(api).items():
        for method, path, body in routes:
            r = await http.request(
                method, path, json=body, headers={"Authorization": f"Bearer {token}"}
            )
            error_of(r, 401, "unauthenticated")
            assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), (why, path)
    assert not stored(api, content)
    await caught_up(api, http, code)
    assert await record(api, http, code) == before
