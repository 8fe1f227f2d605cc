"""The development PKI: layout, certificate profile, identity convention, idempotence."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
import yaml
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signatures.pki import (
    DEV_PKI_VERSION,
    SEAL_TITLE,
    Identity,
    identity_of,
    init_dev_pki,
    issue_certificate,
    load_certificate,
    load_private_key,
)

AGENCY = "000.00.20.H99"
AGENCY_NAME = "UBND xã Phú Thượng"
OTHER = "000.00.21.H99"
OTHER_NAME = "UBND phường Tây Hồ"


def officer(user_id: str, agency: str = AGENCY, agency_name: str = AGENCY_NAME) -> Identity:
    return Identity(
        kind="signer",
        agency_code=agency,
        agency_name=agency_name,
        name="Nguyễn Thị Ánh Tuyết",
        user_id=user_id,
        title="Chủ tịch",
    )


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki") / "dev-pki"
    init_dev_pki(
        directory,
        agencies={AGENCY: AGENCY_NAME, OTHER: OTHER_NAME},
        signers=[officer("ca-ky-01"), officer("ca-ky-02"), officer("tb-ky-01", OTHER, OTHER_NAME)],
    )
    return directory


def test_layout_and_manifest(pki_dir: Path) -> None:
    for name in ("root.pem", "root.key", "intermediate.pem", "intermediate.key", "tsa.pem"):
        assert (pki_dir / name).is_file(), name
    for name in ("signers/ca-ky-01", "signers/tb-ky-01", f"seals/{AGENCY}", f"seals/{OTHER}"):
        assert (pki_dir / f"{name}.pem").is_file()
        assert (pki_dir / f"{name}.key").is_file()
    for key in pki_dir.rglob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
        assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, clear
    manifest = yaml.safe_load((pki_dir / "keys.yaml").read_text(encoding="utf-8"))
    assert manifest["dev_pki_version"] == DEV_PKI_VERSION
    assert manifest["trust_roots"] == ["root.pem"]
    assert manifest["chain"] == ["intermediate.pem"]
    assert manifest["issue_missing"] is True
    assert manifest["signers"]["ca-ky-01"] == {
        "cert": "signers/ca-ky-01.pem",
        "key": "signers/ca-ky-01.key",
    }
    assert manifest["seals"][AGENCY] == {
        "cert": f"seals/{AGENCY}.pem",
        "key": f"seals/{AGENCY}.key",
    }
    assert manifest["tsa"] == {"cert": "tsa.pem", "key": "tsa.key"}


def _ext(
    cert: x509.Certificate, cls: type[x509.ExtensionType]
) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_class(cls)


def test_certificate_profile(pki_dir: Path) -> None:
    root = load_certificate(pki_dir / "root.pem")
    inter = load_certificate(pki_dir / "intermediate.pem")
    signer = load_certificate(pki_dir / "signers/ca-ky-01.pem")
    seal = load_certificate(pki_dir / f"seals/{AGENCY}.pem")
    tsa = load_certificate(pki_dir / "tsa.pem")

    # the chain: root self-signed, intermediate under root, end entities under intermediate
    root.verify_directly_issued_by(root)
    inter.verify_directly_issued_by(root)
    for ee in (signer, seal, tsa):
        ee.verify_directly_issued_by(inter)
        assert isinstance(ee.public_key(), rsa.RSAPublicKey)
        assert ee.public_key().key_size == 2048  # type: ignore[union-attr]
        assert isinstance(ee.signature_hash_algorithm, hashes.SHA256)
        assert _ext(ee, x509.BasicConstraints).value.ca is False  # type: ignore[attr-defined]
        aki = _ext(ee, x509.AuthorityKeyIdentifier).value
        ski_inter = _ext(inter, x509.SubjectKeyIdentifier).value
        assert aki.key_identifier == ski_inter.digest  # type: ignore[attr-defined]
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)

    for ca, path_length in ((root, 1), (inter, 0)):
        basic = _ext(ca, x509.BasicConstraints)
        assert basic.critical and basic.value.ca and basic.value.path_length == path_length  # type: ignore[attr-defined]
        usage = _ext(ca, x509.KeyUsage)
        assert usage.critical
        assert usage.value.key_cert_sign and usage.value.crl_sign  # type: ignore[attr-defined]
        assert not usage.value.digital_signature  # type: ignore[attr-defined]

    for ee in (signer, seal):
        usage = _ext(ee, x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment  # type: ignore[attr-defined]
        assert not usage.key_cert_sign  # type: ignore[attr-defined]
        with pytest.raises(x509.ExtensionNotFound):
            _ext(ee, x509.ExtendedKeyUsage)

    eku = _ext(tsa, x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]  # type: ignore[call-overload]

    # a person's subject: C, O, OU, CN, UID, title, in UTF-8
    subject = signer.subject
    assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "VN"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == AGENCY_NAME
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == AGENCY
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Nguyễn Thị Ánh Tuyết"
    assert subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "ca-ky-01"
    assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Chủ tịch"
    assert seal.subject.get_attributes_for_oid(NameOID.TITLE)[0].value == SEAL_TITLE
    assert seal.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == AGENCY_NAME
    assert not seal.subject.get_attributes_for_oid(NameOID.USER_ID)
    # keys match their certificates
    key = load_private_key(pki_dir / "signers/ca-ky-01.key")
    assert key.public_key().public_numbers() == signer.public_key().public_numbers()


def test_identity_of(pki_dir: Path) -> None:
    signer = load_certificate(pki_dir / "signers/tb-ky-01.pem")
    expected = Identity(
        kind="signer",
        agency_code=OTHER,
        agency_name=OTHER_NAME,
        name="Nguyễn Thị Ánh Tuyết",
        user_id="tb-ky-01",
        title="Chủ tịch",
    )
    assert identity_of(signer) == expected
    # the same from an asn1crypto certificate (what pyHanko hands out)
    assert identity_of(asn1_x509.Certificate.load(signer.public_bytes(Encoding.DER))) == expected
    assert identity_of(load_certificate(pki_dir / f"seals/{AGENCY}.pem")) == Identity(
        kind="seal",
        agency_code=AGENCY,
        agency_name=AGENCY_NAME,
        name=AGENCY_NAME,
        title=SEAL_TITLE,
    )
    tsa = identity_of(load_certificate(pki_dir / "tsa.pem"))
    assert tsa is not None and tsa.kind == "tsa"
    assert identity_of(load_certificate(pki_dir / "root.pem")) is None
    assert identity_of(load_certificate(pki_dir / "intermediate.pem")) is None


def _self_signed(name: x509.Name) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def test_identity_of_foreign_subjects() -> None:
    a = x509.NameAttribute
    # a typical commercial CA subject: no OU agency code, no UID
    foreign = x509.Name([a(NameOID.COUNTRY_NAME, "VN"), a(NameOID.COMMON_NAME, "Nguyễn Văn A")])
    assert identity_of(_self_signed(foreign)) is None
    # the convention's attributes but neither UID nor the seal title: not a signer, not a seal
    nearly = x509.Name(
        [
            a(NameOID.COUNTRY_NAME, "VN"),
            a(NameOID.ORGANIZATION_NAME, AGENCY_NAME),
            a(NameOID.ORGANIZATIONAL_UNIT_NAME, AGENCY),
            a(NameOID.COMMON_NAME, "Nguyễn Văn A"),
            a(NameOID.TITLE, "Chủ tịch"),
        ]
    )
    assert identity_of(_self_signed(nearly)) is None
    # another country
    abroad = x509.Name(
        [
            a(NameOID.COUNTRY_NAME, "FR"),
            a(NameOID.ORGANIZATION_NAME, AGENCY_NAME),
            a(NameOID.ORGANIZATIONAL_UNIT_NAME, AGENCY),
            a(NameOID.COMMON_NAME, "Jean"),
            a(NameOID.USER_ID, "jean"),
        ]
    )
    assert identity_of(_self_signed(abroad)) is None
    # two OUs: ambiguous agency
    two = x509.Name(
        [
            a(NameOID.COUNTRY_NAME, "VN"),
            a(NameOID.ORGANIZATION_NAME, AGENCY_NAME),
            a(NameOID.ORGANIZATIONAL_UNIT_NAME, AGENCY),
            a(NameOID.ORGANIZATIONAL_UNIT_NAME, OTHER),
            a(NameOID.COMMON_NAME, "Nguyễn Văn A"),
            a(NameOID.USER_ID, "a"),
        ]
    )
    assert identity_of(_self_signed(two)) is None


def test_identity_requires_a_user_id_for_signers() -> None:
    with pytest.raises(ValueError, match="user_id"):
        Identity(kind="signer", agency_code=AGENCY, agency_name=AGENCY_NAME, name="A")
    with pytest.raises(ValueError):
        Identity(kind="seal", agency_code="", agency_name=AGENCY_NAME, name="A")


def test_init_is_idempotent_and_adds_missing(pki_dir: Path) -> None:
    before = {p.relative_to(pki_dir): p.read_bytes() for p in pki_dir.rglob("*.key")}
    init_dev_pki(
        pki_dir,
        agencies={AGENCY: AGENCY_NAME, "000.00.22.H99": "UBND xã Mới"},
        signers=[officer("ca-ky-01"), officer("ca-ky-03")],
    )
    after = {p.relative_to(pki_dir): p.read_bytes() for p in pki_dir.rglob("*.key")}
    for path, data in before.items():
        assert after[path] == data, f"{path} was replaced"
    added = set(after) - set(before)
    assert added == {Path("signers/ca-ky-03.key"), Path("seals/000.00.22.H99.key")}
    manifest = yaml.safe_load((pki_dir / "keys.yaml").read_text(encoding="utf-8"))
    assert {"ca-ky-01", "ca-ky-02", "ca-ky-03", "tb-ky-01"} <= set(manifest["signers"])
    assert "000.00.22.H99" in manifest["seals"]
    new = load_certificate(pki_dir / "signers/ca-ky-03.pem")
    new.verify_directly_issued_by(load_certificate(pki_dir / "intermediate.pem"))


def test_force_starts_over(tmp_path: Path) -> None:
    directory = tmp_path / "pki"
    init_dev_pki(directory, agencies={AGENCY: AGENCY_NAME}, signers=[officer("ca-ky-01")])
    root_before = (directory / "root.pem").read_bytes()
    init_dev_pki(directory, agencies={OTHER: OTHER_NAME}, signers=[], force=True)
    assert (directory / "root.pem").read_bytes() != root_before
    assert not (directory / "signers/ca-ky-01.pem").exists()
    manifest = yaml.safe_load((directory / "keys.yaml").read_text(encoding="utf-8"))
    assert list(manifest["seals"]) == [OTHER]
    assert manifest["signers"] == {}


def test_init_issues_a_certificate_for_every_seal_and_signer(tmp_path: Path) -> None:
    # How long this takes is not asserted here (no timing asserts in tests: a busy CI
    # machine fails them); it is a few seconds for a province's twenty certificates.
    agencies = {f"000.00.{20 + i}.H99": f"UBND xã số {i}" for i in range(4)}
    signers = [officer(f"ca-ky-{i:02}") for i in range(15)]
    init_dev_pki(tmp_path / "pki", agencies=agencies, signers=signers)
    assert len(list((tmp_path / "pki").rglob("*.pem"))) == 2 + 4 + 15 + 1


def test_issue_certificate_custom_validity_and_self_signed(pki_dir: Path) -> None:
    expiry = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    cert_path, key_path = issue_certificate(pki_dir, officer("het-han-01"), not_after=expiry)
    assert cert_path == pki_dir / "signers/het-han-01.pem"
    assert key_path == pki_dir / "signers/het-han-01.key"
    cert = load_certificate(cert_path)
    assert cert.not_valid_after_utc == expiry
    assert cert.not_valid_before_utc < expiry
    manifest = yaml.safe_load((pki_dir / "keys.yaml").read_text(encoding="utf-8"))
    assert manifest["signers"]["het-han-01"]["cert"] == "signers/het-han-01.pem"

    cert_path, _ = issue_certificate(pki_dir, officer("tu-ky-01"), issuer="self")
    own = load_certificate(cert_path)
    assert own.issuer == own.subject
    own.verify_directly_issued_by(own)
    assert identity_of(own) == officer("tu-ky-01")

    with pytest.raises(ValueError):
        issue_certificate(
            pki_dir,
            officer("sai-01"),
            not_before=dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
            not_after=expiry,
        )
