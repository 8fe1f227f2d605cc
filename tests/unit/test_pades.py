"""Long-term signatures (PAdES B-LTA) against a development CA that behaves like a real one.

The CA's certificates name a CRL distribution point and an OCSP responder; its services
(signatures/dev_ca.py) answer them on a local port, with a time-stamping authority. A
result signed by an officer and sealed by the agency must then be accepted, by tools this
project did not write, as long-term validatable:

- pyHanko's CLI, `pyhanko sign validate --force-revinfo` (online, revocation required) and
  `pyhanko sign adesverify` with the CA switched off: the chain, the CRLs and the OCSP
  answers embedded in the document's /DSS, and its document timestamps, are enough;
- poppler's `pdfsig`, with the development root in an NSS database (its OCSP check online).

A revoked officer cannot sign. Skipped where pdfsig or certutil (NSS) is missing, except
under CI, where they must be installed (`make pdfsig`).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import crl, ocsp
from pyhanko.pdf_utils.reader import PdfFileReader

from signatures import dev_ca
from signatures.pki import DEV_TSA_IDENTITY, init_dev_pki, issue_certificate
from signatures.signing import (
    CertificateRevoked,
    KeyStore,
    SigningUnavailable,
    renew_timestamp,
    sign_pdf,
    timestamp_valid_until,
    verify_pdf,
)
from tests.conftest import in_ci
from tests.unit.test_signing import AGENCY, AGENCY_NAME, OFFICER, make_pdf, officer

PYHANKO = str(Path(sys.executable).with_name("pyhanko"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A development PKI whose certificates point at a port chosen for it."""
    port = _free_port()
    directory = tmp_path_factory.mktemp("pades") / "pki"
    init_dev_pki(
        directory,
        agencies={AGENCY: AGENCY_NAME},
        signers=[officer("ca-ky-01"), officer("ca-ky-02")],
        ca_url=f"http://127.0.0.1:{port}",
    )
    yield directory, port


@pytest.fixture
def online(ca: tuple[Path, int]) -> Iterator[dev_ca.DevCAServer]:
    directory, port = ca
    with dev_ca.serving(directory, port=port) as server:
        yield server


def _sign(keys: KeyStore, pdf: bytes, tsa_url: str, user: str | None) -> bytes:
    if user is None:
        signer = keys.seal(AGENCY, agency_name=AGENCY_NAME)
        field, reason = "DauCoQuan", "Đóng dấu"
    else:
        signer = keys.signer(user, **OFFICER)
        field, reason = "ChuKyNguoiKy", "Ký"
    return sign_pdf(
        pdf,
        signer,
        field_name=field,
        reason=reason,
        location="Hà Nội",
        tsa_url=tsa_url,
        validation_context=keys.signing_context(signer),
    )


def _signed_and_sealed(directory: Path, tsa_url: str) -> bytes:
    keys = KeyStore.load(directory / "keys.yaml")
    return _sign(keys, _sign(keys, make_pdf(), tsa_url, "ca-ky-01"), tsa_url, None)


def _pyhanko(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYHANKO, "sign", *args], capture_output=True, text=True, timeout=120)


def test_certificates_name_where_their_status_is_published(ca: tuple[Path, int]) -> None:
    directory, port = ca
    keys = KeyStore.load(directory / "keys.yaml")
    cert = keys.signer("ca-ky-01", **OFFICER).signing_cert
    assert cert is not None
    base = f"http://127.0.0.1:{port}"
    assert cert.crl_distribution_points[0].url == f"{base}/crl/intermediate.crl"
    assert cert.ocsp_urls == [f"{base}/ocsp/intermediate"]
    issuers = [
        a["access_location"].native
        for a in cert.authority_information_access_value
        if a["access_method"].native == "ca_issuers"
    ]
    assert issuers == [f"{base}/certs/intermediate.cer"]
    inter = keys.chain[0]
    assert inter.crl_distribution_points[0].url == f"{base}/crl/root.crl"


def test_result_is_long_term_validatable(ca: tuple[Path, int], tmp_path: Path) -> None:
    directory, port = ca
    pdf_path = tmp_path / "ket-qua.pdf"
    root = str(directory / "root.pem")
    with dev_ca.serving(directory, port=port) as server:
        signed = _signed_and_sealed(directory, server.tsa_url)
        pdf_path.write_bytes(signed)
        online = _pyhanko(
            "validate", "--force-revinfo", "--trust-replace", "--trust", root, str(pdf_path)
        )
    assert online.returncode == 0, online.stdout + online.stderr
    lines = [line for line in online.stdout.splitlines() if ":INTACT:" in line]
    assert [line.split(":")[0] for line in lines] == ["ChuKyNguoiKy", "DauCoQuan"]
    for line in lines:
        assert ":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>" in line, line
    assert "EXTENDED_WITH_LTA_UPDATES" in lines[-1]

    # the CA is off: what the document carries must be enough (B-LT), under its
    # document timestamps (B-LTA)
    offline = _pyhanko("adesverify", "--trust-replace", "--trust", root, str(pdf_path))
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert offline.stdout.count(":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>") == 2

    reader = PdfFileReader(pdf_path.open("rb"))
    dss = reader.root["/DSS"]
    crls = [crl.CertificateList.load(c.get_object().data) for c in dss["/CRLs"]]
    answers = [ocsp.OCSPResponse.load(o.get_object().data) for o in dss["/OCSPs"]]
    assert {c.issuer.native["common_name"] for c in crls} >= {
        "motcua dev root CA v2",
        "motcua dev intermediate CA v2",
    }
    assert answers and all(a["response_status"].native == "successful" for a in answers)
    kinds = [s.sig_object_type for s in reader.embedded_signatures]
    assert kinds == ["/Sig", "/DocTimeStamp", "/Sig", "/DocTimeStamp"]
    report = verify_pdf(signed, [directory / "root.pem"])
    assert report.ok, report.model_dump()
    assert [s.kind for s in report.signatures] == ["signer", "tsa", "seal", "tsa"]


def _nss_db(directory: Path, root: Path) -> str | None:
    if not shutil.which("certutil"):
        return None
    db = f"sql:{directory}"
    subprocess.run(["certutil", "-N", "-d", db, "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-A", "-d", db, "-n", "motcua-dev-root", "-t", "CT,C,C", "-i", str(root)],
        check=True,
    )
    return db


def test_pdfsig_accepts_signature_and_seal(ca: tuple[Path, int], tmp_path: Path) -> None:
    missing = [tool for tool in ("pdfsig", "certutil") if not shutil.which(tool)]
    if missing:
        message = (
            f"{' and '.join(missing)} not installed (Debian poppler-utils, libnss3-tools: "
            "make pdfsig)"
        )
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    directory, port = ca
    (tmp_path / "nss").mkdir()
    db = _nss_db(tmp_path / "nss", directory / "root.pem")
    assert db is not None
    keys = KeyStore.load(directory / "keys.yaml")

    def pdfsig(pdf: bytes) -> list[str]:
        path = tmp_path / "ket-qua.pdf"
        path.write_bytes(pdf)
        # pdfsig asks the OCSP responder the certificates name
        result = subprocess.run(
            ["pdfsig", "-nssdir", db, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "LANG": "C"},
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.split("Signature #")[1:]

    with dev_ca.serving(directory, port=port) as server:
        for user in ("ca-ky-01", None):  # the officer's signature, the agency's seal
            blocks = pdfsig(_sign(keys, make_pdf(), server.tsa_url, user))
            assert len(blocks) == 2  # the signature, the document timestamp
            assert "ETSI.CAdES.detached" in blocks[0]
            assert "Signature Validation: Signature is Valid." in blocks[0], blocks[0]
            assert "Certificate Validation: Certificate is Trusted." in blocks[0], blocks[0]
            # poppler 22 lists a document timestamp but cannot validate one
            assert "time-stamping authority" in blocks[1]
        blocks = pdfsig(_signed_and_sealed(directory, server.tsa_url))
    signatures = [b for b in blocks if "ETSI.CAdES.detached" in b]
    assert len(blocks) == 4 and len(signatures) == 2
    for block in signatures:
        assert "Signature Validation: Signature is Valid." in block, block
    # In one run poppler 22.12 (NSS) trusts the first signature's certificate only: the
    # second, whichever it is, gets "Unknown issue with Certificate" after its OCSP answer
    # (B-T files with two signatures too; openssl and pyHanko accept the same answers).
    assert "Certificate Validation: Certificate is Trusted." in signatures[0]


def test_revoked_officer_cannot_sign(ca: tuple[Path, int], online: dev_ca.DevCAServer) -> None:
    directory, _ = ca
    keys = KeyStore.load(directory / "keys.yaml")
    before = _sign(keys, make_pdf(), online.tsa_url, "ca-ky-02")
    entry = dev_ca.revoke(directory, directory / "signers" / "ca-ky-02.pem")
    assert dev_ca.revoke(directory, directory / "signers" / "ca-ky-02.pem") == entry
    with pytest.raises(ValueError, match="lý do thu hồi 'oops' không hợp lệ"):  # as the CLI says
        dev_ca.revoke(directory, directory / "signers" / "ca-ky-02.pem", reason="oops")
    with pytest.raises(CertificateRevoked) as refused:
        _sign(keys, make_pdf(), online.tsa_url, "ca-ky-02")
    message = str(refused.value)
    assert "đã bị thu hồi" in message and "lộ khóa bí mật" in message
    assert "Nguyễn Văn Ký" in message and f"{entry.serial:x}" in message
    assert not refused.value.retryable
    # the CRL lists it too
    listed = crl.CertificateList.load(online.ca.crl("intermediate"))
    assert entry.serial in {
        r["user_certificate"].native for r in listed["tbs_cert_list"]["revoked_certificates"]
    }
    # what it signed before the revocation stays valid: the /DSS proves it was good then
    path = directory.parent / "before.pdf"
    path.write_bytes(before)
    root = str(directory / "root.pem")
    assert _pyhanko("adesverify", "--trust-replace", "--trust", root, str(path)).returncode == 0
    # another officer of the agency still signs
    assert _sign(keys, make_pdf(), online.tsa_url, "ca-ky-01")


def test_an_unreachable_ca_is_a_retryable_failure(ca: tuple[Path, int], tmp_path: Path) -> None:
    directory, _ = ca
    keys = KeyStore.load(directory / "keys.yaml")
    with pytest.raises(SigningUnavailable) as err:  # the CA and its TSA are down
        _sign(keys, make_pdf(), f"http://127.0.0.1:{_free_port()}/tsa", "ca-ky-01")
    assert err.value.retryable
    signer = keys.signer("ca-ky-01", **OFFICER)
    with pytest.raises(SigningUnavailable) as err:  # without a TSA (B-B): still checked
        sign_pdf(
            make_pdf(),
            signer,
            field_name="ChuKy",
            reason="Ký",
            location="Hà Nội",
            validation_context=keys.signing_context(signer),
        )
    assert err.value.retryable
    assert "Chưa kiểm tra được tình trạng chứng thư số" in str(err.value)


def test_archive_renews_the_document_timestamp(ca: tuple[Path, int], tmp_path: Path) -> None:
    """A TSA certificate that expires in 30 days: the document's last timestamp must be
    renewed, from the TSA's new certificate, and the document stays long-term valid."""
    directory, port = ca
    now = dt.datetime.now(dt.UTC)
    issue_certificate(directory, DEV_TSA_IDENTITY, not_after=now + dt.timedelta(days=30))
    with dev_ca.serving(directory, port=port) as server:
        signed = _signed_and_sealed(directory, server.tsa_url)
    until = timestamp_valid_until(signed)
    assert until is not None and until < now + dt.timedelta(days=31)

    issue_certificate(directory, DEV_TSA_IDENTITY)  # the TSA's next certificate: 3 years
    keys = KeyStore.load(directory / "keys.yaml")
    with dev_ca.serving(directory, port=port) as server:
        renewed = renew_timestamp(
            signed, tsa_url=server.tsa_url, trust_roots=keys.trust_roots, other_certs=keys.chain
        )
    assert renewed.startswith(signed)  # incremental: the issued bytes are all still there
    later = timestamp_valid_until(renewed)
    assert later is not None and later > now + dt.timedelta(days=3 * 365 - 2)
    path = tmp_path / "renewed.pdf"
    path.write_bytes(renewed)
    root = str(directory / "root.pem")
    offline = _pyhanko("adesverify", "--trust-replace", "--trust", root, str(path))
    assert offline.returncode == 0, offline.stdout + offline.stderr
    report = verify_pdf(renewed, [directory / "root.pem"])
    assert report.ok and [s.kind for s in report.signatures][-1] == "tsa"
    assert len(report.signatures) == 5


@pytest.mark.devserver
def test_motcua_dev_issues_long_term_results(tmp_path: Path) -> None:
    """`make run`: the demo's result, signed and sealed by `motcua dev` against its own
    development CA, is long-term validatable once the stack (and the CA) have stopped."""
    import sqlite3

    from motcua.devserver import find_free_port

    # The CA's port chosen free too: its default, the API's + 1, may be taken (CI saw it).
    api_port, ca_port = find_free_port(), find_free_port()
    state = tmp_path / "state"
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("motcua")), "dev", "--state-dir", str(state),
         "--temporal-port", str(find_free_port()), "--api-port", str(api_port),
         "--exit-after-demo"],
        capture_output=True, text=True, timeout=240,
        env={k: v for k, v in os.environ.items() if k != "MOTCUA_TSA_URL"}
        | {"MOTCUA_DEV_CA_PORT": str(ca_port)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    served = f"Dịch vụ của CA phát triển (CRL, OCSP, cấp dấu thời gian): http://127.0.0.1:{ca_port}"
    assert served in proc.stdout
    with sqlite3.connect(state / "motcua.db") as db:
        (sha,) = db.execute("SELECT sha256 FROM documents WHERE form = 'result'").fetchone()
    result = next((state / "documents").rglob(sha[2:]))
    root = str(state / "pki" / "root.pem")
    offline = _pyhanko("adesverify", "--trust-replace", "--trust", root, str(result))
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert offline.stdout.count(":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>") == 2
