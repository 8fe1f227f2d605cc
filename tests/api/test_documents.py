"""Documents over HTTP, on the real stack: the dossier's signed result and forms,
downloads with access control, the process control slip and the tracking book,
uploads with size and type limits, and `POST /v1/verify` on a valid result, on one
byte changed, on a document from an unknown CA, on a document signed by an officer
of the wrong agency, and on one signed with an expired certificate."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from fpdf import FPDF
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.sign.signers import SimpleSigner
from pypdf import PdfReader

from infra.docstore import FolderStore
from signatures.pki import Identity, init_dev_pki, issue_certificate
from signatures.signing import KeyStore, sign_pdf
from tests.api.support import (
    AUDITOR,
    CENTRE,
    INTAKE,
    LEADER,
    POLICE,
    RETURNER,
    SIGNER,
    SPECIALIST,
    TAX,
    Api,
    act,
    b64,
    caught_up,
    error_of,
    pay_fee,
    submission,
    submit,
    wait_for_step,
)
from tests.files import pdf
from tests.harness import pki_manifest_for_tests


async def returned_dossier(api: Api, http: httpx.AsyncClient) -> tuple[str, Any, dict[str, Any]]:
    person = api.person()
    code = await submit(api, http, person, as_applicant=True, channel="online")
    await pay_fee(api, http, code)
    assert (await act(api, http, code, INTAKE, "accept")).status_code == 200
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    r = await act(api, http, code, SPECIALIST, "appraise", data={"opinion": "Không có án tích"})
    assert r.status_code == 200, r.text
    assert (await act(api, http, code, LEADER, "approve", comment="Đồng ý")).status_code == 200
    r = await act(api, http, code, SIGNER, "sign")
    assert r.status_code == 200, r.text
    view = r.json()
    r = await act(api, http, code, RETURNER, "return", data={"channel": "online"})
    assert r.status_code == 200, r.text
    await caught_up(api, http, code)
    return code, person, view


def verify(http: httpx.AsyncClient, pdf: bytes, lang: str | None = None) -> Any:
    """POST /v1/verify; the problems are Vietnamese unless `lang` asks for another."""
    headers = {"Content-Type": "application/pdf"}
    if lang:
        headers["Accept-Language"] = lang
    return http.post("/v1/verify", content=pdf, headers=headers)


def plain_pdf(code: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("dv", fname="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf.set_font("dv", size=12)
    pdf.cell(text="PHIẾU LÝ LỊCH TƯ PHÁP SỐ 1 – giả mạo")
    pdf.set_keywords(f"motcua-dossier={code} motcua-document=result")
    return bytes(pdf.output())


def signer_from_files(cert: Path, key: Path) -> SimpleSigner:
    return SimpleSigner(
        signing_cert=load_cert_from_pemder(str(cert)),
        signing_key=load_private_key_from_pemder(str(key), passphrase=None),
        cert_registry=None,
    )


async def test_the_signed_result_is_listed_downloaded_and_verified(api: Api) -> None:
    async with api.http() as http:
        code, person, signed_view = await returned_dossier(api, http)
        result = signed_view["result"]
        assert result["sealed_by"] == POLICE and result["signing_agency"] == POLICE

        r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.applicant(person))
        assert r.status_code == 200, r.text
        docs = {d["form"]: d for d in r.json()["documents"]}
        assert {"01", "06", "result", "to_khai"} <= set(docs)
        assert docs["result"]["sha256"] == result["sha256"]
        signer_sub = f"{SIGNER[0].value}@{POLICE}"  # tests/api/support.py's token subject
        assert docs["result"]["signers"] == [f"signer:{signer_sub}@{POLICE}", f"seal:{POLICE}"]

        # The applicant downloads the signed result; the file is the one recorded.
        r = await http.get(docs["result"]["href"], headers=api.applicant(person))
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert hashlib.sha256(r.content).hexdigest() == result["sha256"]
        assert "attachment" in r.headers["content-disposition"]
        pdf = r.content
        # Dated at the issuing agency's place (the catalog's; Decree 30/2020), in its face.
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "Cao Bằng, ngày" in text
        # The Phiếu as its template in the catalog says (procedures/3.000333-v1.yaml): the
        # person's particulars, and the record the specialist's appraisal found.
        words = " ".join(text.split())
        assert "PHIẾU LÝ LỊCH TƯ PHÁP SỐ 1" in words
        assert f"Họ và tên: {person.name}" in words and person.id_number in words
        assert "Án tích: Không có án tích" in words and "Nội dung: Đồng ý" not in words

        # Another citizen, and an officer of an agency the dossier never reached: no.
        stranger = api.applicant(api.person())
        error_of(await http.get(docs["result"]["href"], headers=stranger), 403, "forbidden")
        tax = api.headers("specialist", TAX)
        error_of(await http.get(f"/v1/dossiers/{code}/documents", headers=tax), 403, "forbidden")
        missing = f"/v1/dossiers/{code}/documents/{quote(code + ':nothing', safe='')}"
        error_of(await http.get(missing, headers=api.headers(*AUDITOR)), 404, "not_found")

        # Anyone may verify the file, without a token.
        r = await verify(http, pdf)
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["valid"] is True and report["problems"] == []
        assert report["dossier"]["recorded"] and report["dossier"]["dossier_code"] == code
        sigs = report["signatures"]["signatures"]
        assert [(s["kind"], s["agency_code"]) for s in sigs] == [
            ("signer", POLICE),
            ("seal", POLICE),  # the issuing agency's own seal (issue 26), not the centre's
        ]
        assert all(s["intact"] and s["trusted"] for s in sigs)

        # What was issued, in public (the page the result's QR code opens): no token, and
        # nothing of the applicant; an unknown code answers the same as "nothing issued".
        r = await http.get(f"/v1/issued/{code}")
        assert r.status_code == 200, r.text
        [issued] = r.json()["documents"]
        assert issued["sha256"] == result["sha256"] and issued["number"] == result["number"]
        assert issued["agency"] == POLICE and issued["sealed_by_name"] == issued["agency_name"]
        assert issued["issued_at"].endswith("+07:00") and issued["granted"] is True
        assert person.name not in r.text and person.id_number not in r.text
        r = await http.get(f"/v1/issued/{code[:-4]}9999")
        assert r.status_code == 200 and r.json()["documents"] == []

        # One byte changed after signing (inside the page content): not valid, and why.
        offset = pdf.index(b"stream") + 40
        tampered = pdf[:offset] + bytes([pdf[offset] ^ 0x01]) + pdf[offset + 1 :]
        report = (await verify(http, tampered)).json()
        assert report["valid"] is False and not report["dossier"]["recorded"]
        assert any("đã bị sửa sau khi ký" in p for p in report["problems"]), report["problems"]
        report = (await verify(http, tampered, "en")).json()
        assert any("modified after this signature" in p for p in report["problems"])
        assert any("not a document recorded for dossier" in p for p in report["problems"])

        # Forms are PDFs too, sealed by the centre.
        r = await http.get(docs["01"]["href"], headers=api.headers(*INTAKE))
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
        assert code in text and "GIẤY TIẾP NHẬN HỒ SƠ" in text
        assert (await verify(http, r.content)).json()["valid"] is True


async def test_verification_refuses_unknown_ca_wrong_agency_and_expired_certificates(
    api: Api, tmp_path: Path
) -> None:
    async with api.http() as http:
        code, _, _ = await returned_dossier(api, http)
        pki = pki_manifest_for_tests().parent

        # Signed by an unknown CA (a development CA of its own).
        other = init_dev_pki(
            tmp_path / "other-ca",
            agencies={POLICE: "Công an tỉnh (giả)"},
            signers=[Identity("signer", POLICE, "Công an tỉnh", "Kẻ Giả Mạo", "fake-01")],
        )
        forged = sign_pdf(
            plain_pdf(code),
            KeyStore.load(other).signer(
                "fake-01", name="Kẻ Giả Mạo", agency_code=POLICE, agency_name="Công an tỉnh"
            ),
            field_name="ChuKyNguoiKy",
            reason="thử",
            location="H99",
        )
        report = (await verify(http, forged)).json()
        assert report["valid"] is False
        assert report["signatures"]["signatures"][0]["trusted"] is False
        assert any("không dẫn về chứng thư gốc tin cậy" in p for p in report["problems"])
        report = (await verify(http, forged, "en-US,en;q=0.9")).json()
        assert any("does not chain to a trusted root" in p for p in report["problems"])

        # Signed by a real officer of the test CA, but of the tax department, not the police.
        keys = KeyStore.load(pki_manifest_for_tests())
        tax_officer = keys.signer(
            "thue-ky-01", name="Cán bộ Thuế", agency_code=TAX, agency_name="Cục Thuế tỉnh"
        )
        wrong = sign_pdf(
            plain_pdf(code), tax_officer, field_name="ChuKyNguoiKy", reason="x", location="H99"
        )
        report = (await verify(http, wrong)).json()
        assert report["signatures"]["signatures"][0]["trusted"] is True  # a genuine certificate
        assert report["valid"] is False
        assert any(
            TAX in p and POLICE in p and "chỉ được ký bởi" in p for p in report["problems"]
        ), report["problems"]
        report = (await verify(http, wrong, "en")).json()
        assert any(
            TAX in p and POLICE in p and "may only be signed by" in p for p in report["problems"]
        ), report["problems"]

        # Signed with a certificate that had expired.
        cert, key = issue_certificate(
            pki,
            Identity("signer", POLICE, "Công an tỉnh", "Cán bộ Hết Hạn", "het-han-01"),
            not_before=datetime.now(UTC) - timedelta(days=400),
            not_after=datetime.now(UTC) - timedelta(days=30),
        )
        expired = sign_pdf(
            plain_pdf(code),
            signer_from_files(cert, key),
            field_name="ChuKyNguoiKy",
            reason="x",
            location="H99",
        )
        report = (await verify(http, expired)).json()
        assert report["valid"] is False
        assert report["signatures"]["signatures"][0]["expired"] is True
        assert any("đã hết hạn ngày" in p for p in report["problems"]), report["problems"]
        report = (await verify(http, expired, "en")).json()
        assert any("certificate expired on" in p for p in report["problems"])

        # Not a PDF at all; nothing sent.
        report = (await verify(http, b"hello")).json()
        assert report["valid"] is False
        assert report["problems"][0].startswith("Không phải tệp PDF đọc được")
        report = (await verify(http, b"hello", "en")).json()
        assert report["problems"][0].startswith("not a readable PDF")
        r = await http.post("/v1/verify", content=b"", headers={"Content-Type": "application/pdf"})
        error_of(r, 422, "invalid")


async def test_uploads_are_limited_by_size_and_type_and_kept_by_hash(api: Api) -> None:
    async with api.http() as http:
        person = api.person()
        body = submission(person)
        # An executable renamed .pdf is refused, naming the file and the accepted types.
        body["documents"][0]["content_base64"] = b64(b"MZ\x90\x00 not a pdf")
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
        message = error_of(r, 415, "unsupported_media_type")
        assert "to-khai-03.pdf" in message and "PDF" in message
        # A file over the size limit.
        limit = api.settings.max_upload_bytes
        body["documents"][0]["content_base64"] = b64(pdf("lớn", stream=bytes(limit + 1)))
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
        assert r.status_code in (413, 422), r.text  # 422 when the base64 itself is too long
        # A document named by a hash the centre does not hold.
        body = submission(person)
        body["documents"][1] = {"kind": "x", "filename": "x.pdf", "sha256": "ab" * 32}
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
        assert "content_base64" in error_of(r, 422, "invalid")
        # ... nor one it holds that is no document of a dossier the caller may read.
        held = pdf(f"da luu {person.id_number}")
        FolderStore(Path(api.settings.resolved_document_store)).put(held)
        named = {"kind": "x", "filename": "x.pdf", "sha256": hashlib.sha256(held).hexdigest()}
        body["documents"][1] = named
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
        assert "content_base64" in error_of(r, 422, "invalid")
        # ... and accepted once it is one (uploaded with an earlier dossier of the centre's).
        earlier = submission(api.person())
        earlier["documents"][1] = {
            "kind": "x",
            "filename": "x.pdf",
            "content_base64": b64(held),
        }
        r = await http.post("/v1/dossiers", json=earlier, headers=api.headers(*INTAKE))
        assert r.status_code == 201, r.text
        await caught_up(api, http, r.json()["code"])
        body["documents"][1] = {
            "kind": "x",
            "filename": "x.pdf",
            "sha256": hashlib.sha256(held).hexdigest(),
        }
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        await caught_up(api, http, code)
        r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.headers(*INTAKE))
        uploads = [d for d in r.json()["documents"] if d["source"] == "upload"]
        assert [d["filename"] for d in uploads] == ["to-khai-03.pdf", "x.pdf"]
        r = await http.get(uploads[1]["href"], headers=api.headers(*INTAKE))
        assert r.status_code == 200 and r.content == held


async def test_control_slip_and_tracking_book(api: Api) -> None:
    async with api.http() as http:
        code, _, _ = await returned_dossier(api, http)
        r = await http.get(f"/v1/dossiers/{code}/control-slip", headers=api.headers(*INTAKE))
        assert r.status_code == 200 and r.content.startswith(b"%PDF-")
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
        assert "PHIẾU KIỂM SOÁT" in text.upper() and code in text

        month = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
        path = f"/v1/agencies/{CENTRE}/tracking-book?period={month}"
        r = await http.get(path, headers=api.headers(*INTAKE))
        assert r.status_code == 200, r.text
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
        assert "SỔ THEO DÕI HỒ SƠ" in text.upper()
        assert code in text.replace("\n", "")  # the code cell wraps
        error_of(await http.get(path, headers=api.headers("specialist", TAX)), 403, "forbidden")
        bad = f"/v1/agencies/{CENTRE}/tracking-book?period=2026-13"
        error_of(await http.get(bad, headers=api.headers(*INTAKE)), 422, "invalid")
