"""Signing results with officers' keys and agency seals, and verifying them offline."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fpdf import FPDF
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers

from signatures.pki import Identity, init_dev_pki, issue_certificate
from signatures.signing import (
    CertificateNotValid,
    KeyNotFound,
    KeyStore,
    SigningError,
    SigningUnavailable,
    WrongAgency,
    sign_pdf,
    verify_pdf,
)
from tests.tsa_server import running_tsa

AGENCY = "000.00.20.H99"
AGENCY_NAME = "UBND xã Phú Thượng"
OTHER = "000.00.21.H99"
OTHER_NAME = "UBND phường Tây Hồ"
DOSSIER = "000.00.20.H99-261122-0001"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
OFFICER = {"name": "Nguyễn Văn Ký", "agency_code": AGENCY, "agency_name": AGENCY_NAME}


def officer(user_id: str, agency: str = AGENCY, agency_name: str = AGENCY_NAME) -> Identity:
    return Identity(
        kind="signer",
        agency_code=agency,
        agency_name=agency_name,
        name="Nguyễn Văn Ký",
        user_id=user_id,
        title="Chủ tịch",
    )


def make_pdf(dossier: str = DOSSIER) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("dejavu", fname=str(FONT))
    pdf.set_font("dejavu", size=12)
    pdf.set_title("Giấy chứng nhận đăng ký hộ kinh doanh")
    pdf.set_keywords(f"motcua-dossier={dossier} motcua-document=result")
    pdf.multi_cell(
        w=0,
        text="GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH\nChủ hộ: Nguyễn Thị Ánh Tuyết — ỷ ữ ợ ặ",
    )
    pdf.set_creation_date(dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC))
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("signing") / "pki"
    init_dev_pki(
        directory,
        agencies={AGENCY: AGENCY_NAME, OTHER: OTHER_NAME},
        signers=[officer("ca-ky-01"), officer("tb-ky-01", OTHER, OTHER_NAME)],
    )
    return directory


@pytest.fixture(scope="module")
def store(pki_dir: Path) -> KeyStore:
    return KeyStore.load(pki_dir / "keys.yaml")


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return make_pdf()


@pytest.fixture(scope="module")
def sealed(store: KeyStore, unsigned: bytes) -> bytes:
    signed = sign_pdf(
        unsigned,
        store.signer("ca-ky-01", title="Chủ tịch", **OFFICER),
        field_name="ChuKyNguoiKy",
        reason="Ký kết quả giải quyết TTHC",
        location="Phú Thượng, Hà Nội",
    )
    return sign_pdf(
        signed,
        store.seal(AGENCY, agency_name=AGENCY_NAME),
        field_name="DauCoQuan",
        reason="Đóng dấu cơ quan",
        location="Phú Thượng, Hà Nội",
    )


# 1 -----------------------------------------------------------------------------------------------


def test_signed_and_sealed_result_verifies(sealed: bytes, store: KeyStore, unsigned: bytes) -> None:
    assert sealed.startswith(unsigned)  # incremental: the original bytes stay as they were
    report = verify_pdf(sealed, store.trust_roots)
    assert report.ok, report.model_dump()
    assert report.signed and report.problems == []
    assert report.dossier_code == DOSSIER
    assert report.document == "result"
    assert report.title == "Giấy chứng nhận đăng ký hộ kinh doanh"
    assert len(report.sha256) == 64
    officer_sig, seal_sig = report.signatures
    assert officer_sig.field_name == "ChuKyNguoiKy"
    assert officer_sig.kind == "signer"
    assert officer_sig.user_id == "ca-ky-01"
    assert officer_sig.agency_code == AGENCY
    assert officer_sig.agency_name == AGENCY_NAME
    assert officer_sig.name == "Nguyễn Văn Ký"
    assert officer_sig.title == "Chủ tịch"
    assert officer_sig.reason == "Ký kết quả giải quyết TTHC"
    assert officer_sig.coverage == "entire_revision"  # the seal came after it
    assert officer_sig.modification_level == "form_filling"
    assert seal_sig.field_name == "DauCoQuan"
    assert seal_sig.kind == "seal"
    assert seal_sig.title == "Dấu cơ quan"
    assert seal_sig.user_id is None
    assert seal_sig.agency_code == AGENCY
    assert seal_sig.coverage == "entire_file"
    for sig in report.signatures:
        assert sig.ok and sig.intact and sig.valid and sig.trusted and not sig.expired
        assert sig.problems == []
        assert sig.signing_time is not None
        assert abs(sig.signing_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=10)
        assert sig.timestamp_time is None and sig.timestamp_valid is None
        assert "motcua dev intermediate CA" in sig.issuer
        assert "000.00.20.H99" in sig.subject
        int(sig.serial, 16)


def test_signing_is_idempotent_for_retries(sealed: bytes, store: KeyStore) -> None:
    seal = store.seal(AGENCY, agency_name=AGENCY_NAME)
    again = sign_pdf(sealed, seal, field_name="DauCoQuan", reason="Đóng dấu", location="Hà Nội")
    assert again == sealed
    other_seal = store.seal(OTHER, agency_name=OTHER_NAME)
    with pytest.raises(SigningError, match="already signed") as err:
        sign_pdf(sealed, other_seal, field_name="DauCoQuan", reason="x", location="y")
    assert not err.value.retryable


def test_sign_rejects_a_non_pdf(store: KeyStore) -> None:
    with pytest.raises(SigningError, match="not a readable PDF") as err:
        sign_pdf(
            b"hello",
            store.seal(AGENCY, agency_name=AGENCY_NAME),
            field_name="F",
            reason="r",
            location="l",
        )
    assert not err.value.retryable


# 2 -----------------------------------------------------------------------------------------------


def test_one_byte_changed_after_signing(sealed: bytes, store: KeyStore, unsigned: bytes) -> None:
    # flip a byte inside the page's content stream, in the first (signed) revision
    start = unsigned.index(b"stream\n") + len(b"stream\n") + 10
    assert start < len(unsigned) - 100
    tampered = bytearray(sealed)
    tampered[start] ^= 0x01
    report = verify_pdf(bytes(tampered), store.trust_roots)
    assert not report.ok
    assert report.signed and len(report.signatures) == 2
    for sig in report.signatures:
        assert not sig.ok
        assert sig.intact is False
        assert any("đã bị sửa sau khi ký" in p for p in sig.problems), sig.problems
    # the identities are still reported, for the investigation
    assert report.signatures[0].user_id == "ca-ky-01"


def test_content_added_after_signing(sealed: bytes, store: KeyStore) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    overlay = writer.add_object(generic.StreamObject(stream_data=b"1 0 0 rg 0 0 200 200 re f"))
    writer.add_stream_to_page(0, overlay, prepend=False)
    out = io.BytesIO()
    writer.write(out)
    report = verify_pdf(out.getvalue(), store.trust_roots)
    assert not report.ok
    for sig in report.signatures:
        assert sig.intact  # the signed bytes are unchanged ...
        assert not sig.ok  # ... but what came after is not a signature
        assert sig.modification_level == "other"
        assert any("đã bị sửa sau khi ký" in p for p in sig.problems)


def test_keywords_changed_after_signing(sealed: bytes, store: KeyStore) -> None:
    # pyHanko accepts an updated Info dictionary as harmless; the dossier code is not
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    info_ref = writer.trailer.raw_get("/Info")
    info = writer.trailer["/Info"]
    info[generic.NameObject("/Keywords")] = generic.TextStringObject(
        "motcua-dossier=000.00.20.H99-261122-9999 motcua-document=result"
    )
    writer.mark_update(info_ref)
    out = io.BytesIO()
    writer.write(out)
    report = verify_pdf(out.getvalue(), store.trust_roots)
    assert all(sig.ok for sig in report.signatures)
    assert report.dossier_code == DOSSIER  # what was signed
    assert not report.ok
    assert any("Từ khóa của văn bản" in p for p in report.problems)


# 3 -----------------------------------------------------------------------------------------------


def test_signed_by_an_unknown_ca(tmp_path: Path, store: KeyStore, unsigned: bytes) -> None:
    foreign_dir = tmp_path / "foreign-pki"
    init_dev_pki(foreign_dir, agencies={AGENCY: AGENCY_NAME}, signers=[officer("ca-ky-01")])
    foreign = KeyStore.load(foreign_dir / "keys.yaml")
    signed = sign_pdf(
        unsigned,
        foreign.signer("ca-ky-01", **OFFICER),
        field_name="ChuKy",
        reason="Ký",
        location="Hà Nội",
    )
    report = verify_pdf(signed, store.trust_roots)
    assert not report.ok
    (sig,) = report.signatures
    assert sig.intact and sig.valid
    assert sig.trusted is False
    assert not sig.ok
    assert sig.user_id == "ca-ky-01"  # the subject claims it; the chain says otherwise
    assert any("không dẫn về chứng thư gốc tin cậy" in p for p in sig.problems), sig.problems
    # ... and against its own root, the same file is fine
    assert verify_pdf(signed, foreign.trust_roots).ok


def test_self_signed_certificate_is_not_trusted(
    pki_dir: Path, store: KeyStore, unsigned: bytes
) -> None:
    cert, key = issue_certificate(pki_dir, officer("tu-ky-01"), issuer="self")
    signer = signers.SimpleSigner.load(str(key), str(cert))
    assert signer is not None
    signed = sign_pdf(unsigned, signer, field_name="ChuKy", reason="Ký", location="Hà Nội")
    (sig,) = verify_pdf(signed, store.trust_roots).signatures
    assert sig.intact and sig.valid and not sig.trusted and not sig.ok
    assert any("không dẫn về chứng thư gốc tin cậy" in p for p in sig.problems)


# 4 -----------------------------------------------------------------------------------------------


def test_officer_of_another_agency(store: KeyStore, unsigned: bytes) -> None:
    # tb-ky-01's certificate says OU=000.00.21.H99
    with pytest.raises(WrongAgency, match=re.escape(OTHER)) as err:
        store.signer("tb-ky-01", name="Trần Bình", agency_code=AGENCY, agency_name=AGENCY_NAME)
    assert not err.value.retryable
    signer = store.signer("tb-ky-01", name="Trần Bình", agency_code=OTHER, agency_name=OTHER_NAME)
    signed = sign_pdf(unsigned, signer, field_name="ChuKy", reason="Ký", location="Tây Hồ")
    report = verify_pdf(signed, store.trust_roots)
    # cryptographically fine: comparing with the dossier's agency is the caller's business
    assert report.ok
    assert report.dossier_code == DOSSIER
    (sig,) = report.signatures
    assert sig.agency_code == OTHER
    assert sig.agency_name == OTHER_NAME
    assert sig.user_id == "tb-ky-01"


def test_seal_of_another_agency(pki_dir: Path, tmp_path: Path) -> None:
    manifest = yaml.safe_load((pki_dir / "keys.yaml").read_text(encoding="utf-8"))
    # an operator pasted the wrong files under an agency's seal
    manifest["seals"][AGENCY] = {
        "cert": str(pki_dir / f"seals/{OTHER}.pem"),
        "key": str(pki_dir / f"seals/{OTHER}.key"),
    }
    manifest["trust_roots"] = [str(pki_dir / "root.pem")]
    manifest["chain"] = [str(pki_dir / "intermediate.pem")]
    path = tmp_path / "keys.yaml"
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    with pytest.raises(WrongAgency, match=re.escape(f"belongs to agency {OTHER}, not {AGENCY}")):
        KeyStore.load(path).seal(AGENCY, agency_name=AGENCY_NAME)


# 5 -----------------------------------------------------------------------------------------------


def test_expired_certificate(pki_dir: Path, unsigned: bytes) -> None:
    expiry = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    cert, key = issue_certificate(pki_dir, officer("het-han-01"), not_after=expiry)
    store = KeyStore.load(pki_dir / "keys.yaml")
    with pytest.raises(CertificateNotValid, match="expired on 2025-01-01") as err:
        store.signer("het-han-01", **OFFICER)
    assert not err.value.retryable

    # signed anyway, bypassing the key store's check
    signer = signers.SimpleSigner.load(
        str(key), str(cert), ca_chain_files=(str(pki_dir / "intermediate.pem"),)
    )
    assert signer is not None
    signed = sign_pdf(unsigned, signer, field_name="ChuKy", reason="Ký", location="Hà Nội")
    report = verify_pdf(signed, store.trust_roots)
    assert not report.ok
    (sig,) = report.signatures
    assert sig.intact and sig.valid
    assert sig.expired is True
    assert not sig.trusted and not sig.ok
    assert sig.cert_valid_until == expiry
    assert any("đã hết hạn ngày 01/01/2025" in p for p in sig.problems), sig.problems
    # validated at a time the certificate was valid, it was still signed after its expiry
    at = dt.datetime(2024, 12, 1, tzinfo=dt.UTC)
    (sig,) = verify_pdf(signed, store.trust_roots, at=at).signatures
    assert sig.expired and not sig.ok
    assert any("trước thời điểm ký được khai là" in p for p in sig.problems), sig.problems


def test_not_yet_valid_certificate(pki_dir: Path) -> None:
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    issue_certificate(
        pki_dir,
        officer("chua-hieu-luc-01"),
        not_before=start,
        not_after=start + dt.timedelta(days=365),
    )
    with pytest.raises(CertificateNotValid, match="not valid before"):
        KeyStore.load(pki_dir / "keys.yaml").signer("chua-hieu-luc-01", **OFFICER)


# 6 -----------------------------------------------------------------------------------------------


def test_on_demand_issuance(pki_dir: Path, store: KeyStore, unsigned: bytes) -> None:
    assert store.issue_missing
    signer = store.signer(
        "moi-01",
        name="Lê Thị Mới",
        agency_code=AGENCY,
        agency_name=AGENCY_NAME,
        title="Phó Chủ tịch",
    )
    manifest = yaml.safe_load((pki_dir / "keys.yaml").read_text(encoding="utf-8"))
    assert manifest["signers"]["moi-01"] == {
        "cert": "signers/moi-01.pem",
        "key": "signers/moi-01.key",
    }
    assert (pki_dir / "signers/moi-01.key").stat().st_mode & 0o077 == 0
    assert store.signer_identity("moi-01") == Identity(
        kind="signer",
        agency_code=AGENCY,
        agency_name=AGENCY_NAME,
        name="Lê Thị Mới",
        user_id="moi-01",
        title="Phó Chủ tịch",
    )
    # cached: the same signer, and another key store (another worker) finds the same key
    assert store.signer("moi-01", **OFFICER) is signer
    other = KeyStore.load(pki_dir / "keys.yaml")
    assert other.signer("moi-01", **OFFICER).signing_cert.dump() == signer.signing_cert.dump()
    # a seal too, for an agency the PKI didn't know
    seal = store.seal("000.00.30.H99", agency_name="UBND xã Mới Lập")
    signed = sign_pdf(unsigned, signer, field_name="ChuKy", reason="Ký", location="Hà Nội")
    signed = sign_pdf(signed, seal, field_name="Dau", reason="Đóng dấu", location="Hà Nội")
    report = verify_pdf(signed, store.trust_roots)
    assert report.ok
    assert [s.agency_code for s in report.signatures] == [AGENCY, "000.00.30.H99"]
    assert report.signatures[1].agency_name == "UBND xã Mới Lập"


def test_concurrent_on_demand_issuance_issues_once(pki_dir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    stores = [KeyStore.load(pki_dir / "keys.yaml") for _ in range(3)]  # three "workers"

    def get(i: int) -> bytes:
        signer = stores[i % 3].signer("dong-thoi-01", **OFFICER)
        return bytes(signer.signing_cert.dump())

    with ThreadPoolExecutor(max_workers=6) as pool:
        certs = set(pool.map(get, range(12)))
    assert len(certs) == 1


def test_missing_key_without_issuance(pki_dir: Path) -> None:
    manifest = yaml.safe_load((pki_dir / "keys.yaml").read_text(encoding="utf-8"))
    manifest["issue_missing"] = False
    path = pki_dir / "keys-production.yaml"
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    strict = KeyStore.load(path)
    with pytest.raises(
        KeyNotFound,
        match=re.escape("no signing certificate for officer ca-ky-09 of 000.00.20.H99; add it to"),
    ) as err:
        strict.signer("ca-ky-09", **OFFICER)
    assert not err.value.retryable
    assert "keys-production.yaml" in str(err.value)
    assert not (pki_dir / "signers/ca-ky-09.pem").exists()
    with pytest.raises(KeyNotFound, match=re.escape("the seal of 000.00.99.H99")):
        strict.seal("000.00.99.H99", agency_name="UBND xã Không Có")
    # configured entries still work
    assert strict.signer("ca-ky-01", **OFFICER).signing_cert is not None


def test_missing_key_file(pki_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "trust_roots": [str(pki_dir / "root.pem")],
                "signers": {
                    "ca-ky-01": {
                        "cert": str(pki_dir / "signers/ca-ky-01.pem"),
                        "key": "nowhere.key",
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(KeyNotFound, match="missing"):
        KeyStore.load(path).signer("ca-ky-01", **OFFICER)


def test_encrypted_key_with_password_env(
    pki_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization

    from signatures.pki import load_private_key

    key = load_private_key(pki_dir / f"seals/{AGENCY}.key")
    encrypted = tmp_path / "seal.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"mat-khau"),
        )
    )
    path = tmp_path / "keys.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "trust_roots": [str(pki_dir / "root.pem")],
                "chain": [str(pki_dir / "intermediate.pem")],
                "seals": {
                    AGENCY: {
                        "cert": str(pki_dir / f"seals/{AGENCY}.pem"),
                        "key": str(encrypted),
                        "key_password_env": "MOTCUA_TEST_SEAL_PASSWORD",
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.delenv("MOTCUA_TEST_SEAL_PASSWORD", raising=False)
    with pytest.raises(KeyNotFound, match="MOTCUA_TEST_SEAL_PASSWORD"):
        KeyStore.load(path).seal(AGENCY, agency_name=AGENCY_NAME)
    monkeypatch.setenv("MOTCUA_TEST_SEAL_PASSWORD", "mat-khau")
    seal = KeyStore.load(path).seal(AGENCY, agency_name=AGENCY_NAME)
    signed = sign_pdf(make_pdf(), seal, field_name="Dau", reason="Đóng dấu", location="Hà Nội")
    assert verify_pdf(signed, [pki_dir / "root.pem"]).ok


# 7 -----------------------------------------------------------------------------------------------


def test_timestamped_signatures(
    pki_dir: Path, store: KeyStore, unsigned: bytes, tmp_path: Path
) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    with running_tsa(pki_dir) as url:
        signed = sign_pdf(
            unsigned,
            store.signer("ca-ky-01", **OFFICER),
            field_name="ChuKy",
            reason="Ký",
            location="Hà Nội",
            tsa_url=url,
        )
        signed = sign_pdf(
            signed,
            store.seal(AGENCY, agency_name=AGENCY_NAME),
            field_name="Dau",
            reason="Đóng dấu",
            location="Hà Nội",
            tsa_url=url,
        )
    report = verify_pdf(signed, store.trust_roots)
    assert report.ok, report.model_dump()
    for sig in report.signatures:
        assert sig.timestamp_valid is True
        assert sig.timestamp_time is not None
        assert before <= sig.timestamp_time <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    # the timestamp counts only from a trusted TSA: against another PKI's root, neither counts
    foreign = tmp_path / "foreign-pki"
    init_dev_pki(foreign, agencies={}, signers=[])
    for sig in verify_pdf(signed, [foreign / "root.pem"]).signatures:
        assert sig.timestamp_time is not None
        assert sig.timestamp_valid is False and not sig.trusted and not sig.ok
        assert any("dấu thời gian" in p for p in sig.problems)


def test_signature_size_estimated_once_per_signer_and_tsa(pki_dir: Path, store: KeyStore) -> None:
    """The signature container's size is estimated once per signer and TSA (a dummy
    signature) and reused; the reuse must hold for every later document, whatever its
    size, and with a TSA whose tokens (serial numbers, times) differ from call to call."""
    from signatures import signing

    signer = store.signer("ca-ky-01", **OFFICER)
    with running_tsa(pki_dir) as url:
        assert signing._reserved_size(signer, url) is None
        documents = [make_pdf(f"{DOSSIER[:-4]}{n:04d}") for n in range(1, 7)]
        signed = []
        for n, document in enumerate(documents):
            signed.append(
                sign_pdf(
                    document,
                    signer,
                    field_name="ChuKy",
                    reason="Ký",
                    location="Hà Nội",
                    tsa_url=url,
                )
            )
            if n == 0:
                reserved = signing._reserved_size(signer, url)
                assert reserved is not None
        assert signing._reserved_size(signer, url) == reserved
    sign_pdf(documents[0], signer, field_name="ChuKy", reason="Ký", location="Hà Nội")
    without_tsa = signing._reserved_size(signer, None)
    assert without_tsa is not None and without_tsa < reserved  # a token takes room
    for document in signed:
        report = verify_pdf(document, store.trust_roots)
        assert report.ok, report.model_dump()
        assert [s.timestamp_valid for s in report.signatures] == [True]


def test_timestamp_outlives_the_signer_certificate(pki_dir: Path, unsigned: bytes) -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    cert, key = issue_certificate(pki_dir, officer("ngan-han-01"), not_after=soon)
    signer = signers.SimpleSigner.load(
        str(key), str(cert), ca_chain_files=(str(pki_dir / "intermediate.pem"),)
    )
    assert signer is not None
    roots = [pki_dir / "root.pem"]
    later = soon + dt.timedelta(days=30)
    with running_tsa(pki_dir) as url:
        stamped = sign_pdf(
            unsigned, signer, field_name="ChuKy", reason="Ký", location="HN", tsa_url=url
        )
    plain = sign_pdf(unsigned, signer, field_name="ChuKy", reason="Ký", location="HN")
    # a month after the certificate expired: the timestamp proves it signed while valid
    (sig,) = verify_pdf(stamped, roots, at=later).signatures
    assert sig.ok, sig.problems
    assert sig.timestamp_time is not None and sig.validated_at == sig.timestamp_time
    # without a timestamp, nothing proves when it was signed
    (sig,) = verify_pdf(plain, roots, at=later).signatures
    assert not sig.ok and sig.expired
    assert sig.validated_at == later
    assert any("đã hết hạn ngày" in p for p in sig.problems)


def test_document_timestamp_added_by_an_archive(
    pki_dir: Path, sealed: bytes, store: KeyStore
) -> None:
    from pyhanko.sign.timestamps import HTTPTimeStamper

    with running_tsa(pki_dir) as url:
        writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
        out = io.BytesIO()
        signers.PdfTimeStamper(HTTPTimeStamper(url)).timestamp_pdf(writer, "sha256", output=out)
    report = verify_pdf(out.getvalue(), store.trust_roots)
    assert report.ok, report.model_dump()
    assert [s.field_name for s in report.signatures][:2] == ["ChuKyNguoiKy", "DauCoQuan"]
    stamp = report.signatures[2]
    assert stamp.kind == "tsa"
    assert stamp.timestamp_valid is True and stamp.timestamp_time is not None
    assert stamp.coverage == "entire_file"
    assert report.signatures[1].modification_level == "lta_updates"


@pytest.mark.parametrize("mode", ["error", "garbage"])
def test_tsa_failure_is_retryable(
    pki_dir: Path, store: KeyStore, unsigned: bytes, mode: str
) -> None:
    with running_tsa(pki_dir, mode=mode) as url, pytest.raises(SigningUnavailable) as err:  # type: ignore[arg-type]
        sign_pdf(
            unsigned,
            store.signer("ca-ky-01", **OFFICER),
            field_name="ChuKy",
            reason="Ký",
            location="Hà Nội",
            tsa_url=url,
        )
    assert err.value.retryable
    assert url in str(err.value)


def test_unreachable_tsa_is_retryable(store: KeyStore, unsigned: bytes) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SigningUnavailable, match="time-stamping authority"):
        sign_pdf(
            unsigned,
            store.signer("ca-ky-01", **OFFICER),
            field_name="ChuKy",
            reason="Ký",
            location="Hà Nội",
            tsa_url=f"http://127.0.0.1:{port}/tsa",
            timeout=2,
        )


# 8 -----------------------------------------------------------------------------------------------


def _pyhanko_validate(pki_dir: Path, pdf: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "pyhanko"
    assert script.exists(), script
    return subprocess.run(
        [
            str(script),
            "sign",
            "validate",
            "--executive-summary",
            "--no-revocation-check",
            "--trust-replace",
            "--trust",
            str(pki_dir / "root.pem"),
            str(pdf),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_pyhankos_own_validator_agrees(
    pki_dir: Path, sealed: bytes, unsigned: bytes, tmp_path: Path
) -> None:
    good = tmp_path / "ket-qua.pdf"
    good.write_bytes(sealed)
    result = _pyhanko_validate(pki_dir, good)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("ChuKyNguoiKy:") and lines[0].endswith(":VALID")
    assert lines[1].startswith("DauCoQuan:") and lines[1].endswith(":VALID")

    tampered = bytearray(sealed)
    tampered[unsigned.index(b"stream\n") + len(b"stream\n") + 10] ^= 0x01
    bad = tmp_path / "ket-qua-sua.pdf"
    bad.write_bytes(bytes(tampered))
    result = _pyhanko_validate(pki_dir, bad)
    assert result.returncode != 0
    assert "INVALID" in result.stdout


# 9 -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        b"\x00" * 1000,
    ],
)
def test_garbage_never_raises(data: bytes, store: KeyStore) -> None:
    report = verify_pdf(data, store.trust_roots)
    assert not report.ok and not report.signed
    assert report.problems
    assert report.problems[0].startswith(("Không phải tệp PDF đọc được", "Văn bản không có chữ ký"))


def test_truncated_signed_file(sealed: bytes, store: KeyStore) -> None:
    report = verify_pdf(sealed[: len(sealed) // 2], store.trust_roots)
    assert not report.ok


def test_unsigned_pdf(unsigned: bytes, store: KeyStore) -> None:
    report = verify_pdf(unsigned, store.trust_roots)
    assert not report.ok and not report.signed
    assert report.problems == ["Văn bản không có chữ ký"]
    assert report.dossier_code == DOSSIER


async def test_verify_from_a_running_event_loop(sealed: bytes, store: KeyStore) -> None:
    # an async API handler may call verify_pdf directly
    assert verify_pdf(sealed, store.trust_roots).ok


# 10 ----------------------------------------------------------------------------------------------

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")


def test_pkcs11_token(
    pki_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unsigned: bytes
) -> None:
    if not SOFTHSM_MODULE.exists() or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM is not installed (apt-get install softhsm2)")
    pkcs11 = pytest.importorskip("pkcs11")
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from pkcs11 import Attribute
    from pkcs11.util.x509 import decode_x509_certificate

    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))  # read by the library when it initialises
    monkeypatch.setenv("MOTCUA_TEST_PKCS11_PIN", "123456")

    def util(*args: str) -> None:
        subprocess.run(
            ["softhsm2-util", *args], env=env, check=True, capture_output=True, timeout=60
        )

    util("--init-token", "--free", "--label", "motcua", "--pin", "123456", "--so-pin", "87654321")
    cert_path, key_path = issue_certificate(pki_dir, officer("hsm-ky-01"))
    util(
        "--import",
        str(key_path),
        "--token",
        "motcua",
        "--label",
        "hsm-ky-01",
        "--id",
        "a1",
        "--pin",
        "123456",
    )
    key_path.unlink()  # the key lives on the token only
    der = x509.load_pem_x509_certificate(cert_path.read_bytes()).public_bytes(Encoding.DER)
    lib = pkcs11.lib(str(SOFTHSM_MODULE))
    with lib.get_token(token_label="motcua").open(rw=True, user_pin="123456") as session:
        attrs = decode_x509_certificate(der)
        attrs.update({Attribute.TOKEN: True, Attribute.LABEL: "hsm-ky-01", Attribute.ID: b"\xa1"})
        session.create_object(attrs)

    manifest = {
        "trust_roots": [str(pki_dir / "root.pem")],
        "chain": [str(pki_dir / "intermediate.pem")],
        "issue_missing": False,
        "signers": {
            "hsm-ky-01": {
                "pkcs11": {
                    "module": str(SOFTHSM_MODULE),
                    "token": "motcua",
                    "key_label": "hsm-ky-01",
                    "cert_label": "hsm-ky-01",
                    "pin_env": "MOTCUA_TEST_PKCS11_PIN",
                }
            },
            "hsm-ky-02": {
                "pkcs11": {
                    "module": str(SOFTHSM_MODULE),
                    "token": "no-such-token",
                    "key_label": "hsm-ky-02",
                    "pin_env": "MOTCUA_TEST_PKCS11_PIN",
                }
            },
        },
    }
    path = tmp_path / "keys.yaml"
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    store = KeyStore.load(path)
    try:
        signer = store.signer("hsm-ky-01", **OFFICER)
        signed = sign_pdf(
            unsigned, signer, field_name="ChuKy", reason="Ký bằng token", location="Hà Nội"
        )
        report = verify_pdf(signed, store.trust_roots)
        assert report.ok, report.model_dump()
        assert report.signatures[0].user_id == "hsm-ky-01"
        # a wrong agency is caught for tokens too
        with pytest.raises(WrongAgency):
            store.signer("hsm-ky-01", name="x", agency_code=OTHER, agency_name=OTHER_NAME)
        # a token that isn't plugged in: try again later
        with pytest.raises(SigningUnavailable) as err:
            store.signer("hsm-ky-02", **OFFICER)
        assert err.value.retryable
    finally:
        store.close()
