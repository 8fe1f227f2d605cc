"""Development PKI and the certificate-identity convention of signing officers and agency seals.

Every certificate motcua signs with names who signed, in its subject:

- an officer (chữ ký số cá nhân): ``C=VN, O=<agency name>, OU=<agency code>, CN=<person name>,
  UID=<user id>, title=<the person's title, e.g. "Chủ tịch">``. The user id is the officer's
  login subject (e.g. ``ca-ky-01``).
- an agency seal (chữ ký số cơ quan, "dấu"): ``C=VN, O=<agency name>, OU=<agency code>,
  CN=<agency name>, title=Dấu cơ quan``.
- a time-stamping authority: any ``C, O, OU, CN`` subject, with the timeStamping extended key
  usage.

:func:`init_dev_pki` makes a complete development PKI in one directory (a root CA, an
intermediate CA, one seal per agency, one certificate per officer, a TSA certificate) and the
manifest ``keys.yaml`` that :class:`signatures.signing.KeyStore` reads; production deployments write
the same manifest by hand, pointing at certificates from a real CA and keys in files or on a
PKCS#11 token. The development keys are unencrypted PKCS#8 PEM files, chmod 600.

Given ``ca_url`` (``motcua pki init`` and ``motcua dev`` give one), the development CA behaves
like a real one: every certificate it issues names where its status is published, a CRL
distribution point (``<ca_url>/crl/<issuer>.crl``) and, in its Authority Information Access,
an OCSP responder (``<ca_url>/ocsp/<issuer>``) and its issuer's certificate
(``<ca_url>/certs/<issuer>.cer``), ``<issuer>`` being ``root`` or ``intermediate``. The
services behind those addresses, and the time-stamping authority at ``<ca_url>/tsa``, are
:mod:`signatures.dev_ca`'s; ``ca_url`` is kept in the manifest.

Layout of a development PKI directory::

    root.pem root.key intermediate.pem intermediate.key tsa.pem tsa.key keys.yaml
    signers/<user_id>.pem|.key
    seals/<agency_code>.pem|.key
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

__all__ = [
    "DEV_PKI_VERSION",
    "MANIFEST_NAME",
    "REVOCATIONS_NAME",
    "SEAL_TITLE",
    "CaName",
    "Identity",
    "ca_cert_url",
    "crl_url",
    "ensure_certificate",
    "identity_of",
    "init_dev_pki",
    "issue_certificate",
    "load_certificate",
    "load_private_key",
    "manifest_lock",
    "ocsp_url",
    "read_manifest",
    "subject_of",
    "tsa_url",
    "write_manifest",
]

DEV_PKI_VERSION = 2
"""Bumped when the layout or the certificate profile of the development PKI changes."""

MANIFEST_NAME = "keys.yaml"
SEAL_TITLE = "Dấu cơ quan"
"""The ``title`` attribute that marks an agency seal certificate."""

DEV_PKI_ORG = "motcua development PKI - NOT FOR PRODUCTION"

ROOT_VALIDITY = dt.timedelta(days=20 * 365)
INTERMEDIATE_VALIDITY = dt.timedelta(days=10 * 365)
END_ENTITY_VALIDITY = dt.timedelta(days=3 * 365)
BACKDATE = dt.timedelta(hours=1)  # tolerate clock skew between the issuing and a verifying host

CaName = Literal["root", "intermediate"]


def crl_url(ca_url: str, ca: CaName) -> str:
    """Where the development CA publishes the CRL of the certificates ``ca`` issued."""
    return f"{ca_url.rstrip('/')}/crl/{ca}.crl"


def ocsp_url(ca_url: str, ca: CaName) -> str:
    """Where the development CA answers OCSP requests about certificates ``ca`` issued."""
    return f"{ca_url.rstrip('/')}/ocsp/{ca}"


def ca_cert_url(ca_url: str, ca: CaName) -> str:
    return f"{ca_url.rstrip('/')}/certs/{ca}.cer"


def tsa_url(ca_url: str) -> str:
    """The development time-stamping authority's address (RFC 3161 over HTTP)."""
    return f"{ca_url.rstrip('/')}/tsa"


def _revocation_pointers(
    builder: x509.CertificateBuilder, ca_url: str | None, issuer: CaName
) -> x509.CertificateBuilder:
    """A CRL distribution point and the AIA (OCSP, the issuer's certificate) of a certificate
    issued by ``issuer``: how a verifier learns, years later, whether it was revoked."""
    if ca_url is None:
        return builder
    uri = x509.UniformResourceIdentifier
    access = [
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, uri(ca_cert_url(ca_url, issuer))
        )
    ]
    if issuer == "intermediate":
        # the root publishes a CRL only, as real roots do (an offline key): OCSP answers for
        # a CA certificate signed by the trust anchor itself are not matched by pyHanko's
        # AdES (long-term) validation
        access.insert(
            0,
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, uri(ocsp_url(ca_url, issuer))
            ),
        )
    return builder.add_extension(
        x509.CRLDistributionPoints(
            [
                x509.DistributionPoint(
                    full_name=[uri(crl_url(ca_url, issuer))],
                    relative_name=None,
                    reasons=None,
                    crl_issuer=None,
                )
            ]
        ),
        critical=False,
    ).add_extension(x509.AuthorityInformationAccess(access), critical=False)


IdentityKind = Literal["signer", "seal", "tsa"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Identity:
    """Who a certificate says signed: an officer, an agency's seal, or a time-stamping authority."""

    kind: IdentityKind
    agency_code: str
    agency_name: str
    name: str
    user_id: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "signer" and not self.user_id:
            raise ValueError("a signer identity needs a user_id")
        if not self.agency_code or not self.agency_name or not self.name:
            raise ValueError("an identity needs agency_code, agency_name and name")

    @classmethod
    def signer(
        cls, agency_code: str, agency_name: str, name: str, user_id: str, title: str | None
    ) -> Identity:
        """Officer `user_id` (`name`, `title`) of agency `agency_code`."""
        return cls("signer", agency_code, agency_name, name, user_id=user_id, title=title)

    @classmethod
    def seal(cls, agency_code: str, agency_name: str) -> Identity:
        return cls(
            kind="seal",
            agency_code=agency_code,
            agency_name=agency_name,
            name=agency_name,
            title=SEAL_TITLE,
        )

    @property
    def file_stem(self) -> str:
        """Where the layout keeps this identity's files, relative to the PKI directory."""
        if self.kind == "signer":
            assert self.user_id is not None
            return f"signers/{_safe_file_name(self.user_id)}"
        if self.kind == "seal":
            return f"seals/{_safe_file_name(self.agency_code)}"
        return "tsa"


DEV_TSA_IDENTITY = Identity(
    kind="tsa",
    agency_code="dev",
    agency_name=DEV_PKI_ORG,
    name="motcua dev time-stamping authority",
)


def _safe_file_name(value: str) -> str:
    if not value or "/" in value or "\\" in value or value in {".", ".."} or "\0" in value:
        raise ValueError(f"{value!r} cannot name a key file")
    return value


def subject_of(identity: Identity) -> x509.Name:
    """The X.509 subject the convention gives ``identity``."""
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, identity.agency_name),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, identity.agency_code),
        x509.NameAttribute(NameOID.COMMON_NAME, identity.name),
    ]
    if identity.kind == "signer":
        assert identity.user_id is not None
        attrs.append(x509.NameAttribute(NameOID.USER_ID, identity.user_id))
        if identity.title:
            attrs.append(x509.NameAttribute(NameOID.TITLE, identity.title))
    elif identity.kind == "seal":
        attrs.append(x509.NameAttribute(NameOID.TITLE, SEAL_TITLE))
    return x509.Name(attrs)


def _single(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if len(values) != 1:
        return None
    value = values[0].value
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def identity_of(cert: x509.Certificate | asn1_x509.Certificate) -> Identity | None:
    """The identity a certificate's subject names, or None if it doesn't follow the convention.

    CA certificates never name an identity."""
    if isinstance(cert, asn1_x509.Certificate):
        try:
            cert = x509.load_der_x509_certificate(cert.dump())
        except ValueError:
            return None
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if basic.ca:
            return None
    except x509.ExtensionNotFound:
        pass
    except ValueError:  # a malformed extension
        return None
    try:
        subject = cert.subject
        country = _single(subject, NameOID.COUNTRY_NAME)
        agency_name = _single(subject, NameOID.ORGANIZATION_NAME)
        agency_code = _single(subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
        name = _single(subject, NameOID.COMMON_NAME)
        user_id = _single(subject, NameOID.USER_ID)
        title = _single(subject, NameOID.TITLE)
    except ValueError:
        return None
    if country != "VN" or not agency_name or not agency_code or not name:
        return None
    if _has_timestamping_eku(cert):
        return Identity(kind="tsa", agency_code=agency_code, agency_name=agency_name, name=name)
    if user_id is not None:
        return Identity.signer(agency_code, agency_name, name, user_id, title)
    if title == SEAL_TITLE:
        return Identity(
            kind="seal", agency_code=agency_code, agency_name=agency_name, name=name, title=title
        )
    return None


def _has_timestamping_eku(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return ExtendedKeyUsageOID.TIME_STAMPING in eku


# -- files ---------------------------------------------------------------------------------------


def load_certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def load_private_key(path: Path, password: bytes | None = None) -> PrivateKey:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        key = serialization.load_pem_private_key(data, password=password)
    else:
        key = serialization.load_der_private_key(data, password=password)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: only RSA and EC keys are supported, not {type(key).__name__}")
    return key


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest as a dict (empty if the file is empty)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a manifest is a mapping")
    return data


def write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    text = yaml.safe_dump(dict(manifest), allow_unicode=True, sort_keys=False)
    _write_public(path, text.encode("utf-8"))


@contextlib.contextmanager
def manifest_lock(directory: Path) -> Iterator[None]:
    """An exclusive lock (across processes) for read-modify-write of a directory's manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".keys.lock", "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


# -- issuing -------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _builder(
    subject: x509.Name,
    issuer_name: x509.Name,
    key: PrivateKey,
    issuer_key: PrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    *,
    ca: bool,
) -> x509.CertificateBuilder:
    """What every certificate of the PKI has: names, key, serial, validity, the key usage
    of a CA (certificates and CRLs) or of a signer (signatures, non-repudiation), and the
    key identifiers. The caller adds its basic constraints and the rest."""
    usage = x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )


def _ca_cert(
    subject: x509.Name,
    key: PrivateKey,
    issuer_name: x509.Name,
    issuer_key: PrivateKey,
    *,
    path_length: int | None,
    validity: dt.timedelta,
    ca_url: str | None = None,
) -> x509.Certificate:
    now = _now()
    builder = _builder(
        subject, issuer_name, key, issuer_key, now - BACKDATE, now + validity, ca=True
    ).add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
    if subject != issuer_name:  # the intermediate: its status is the root's to publish
        builder = _revocation_pointers(builder, ca_url, "root")
    return builder.sign(issuer_key, hashes.SHA256())


def _end_entity_cert(
    identity: Identity,
    key: rsa.RSAPrivateKey,
    issuer_name: x509.Name | None,
    issuer_key: PrivateKey,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    ca_url: str | None = None,
) -> x509.Certificate:
    subject = subject_of(identity)
    builder = _builder(
        subject,
        issuer_name if issuer_name is not None else subject,
        key,
        issuer_key,
        not_before,
        not_after,
        ca=False,
    ).add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    if identity.kind == "tsa":
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    if issuer_name is not None:
        builder = _revocation_pointers(builder, ca_url, "intermediate")
    return builder.sign(issuer_key, hashes.SHA256())


def _manifest_entry_key(identity: Identity) -> tuple[str, str] | None:
    if identity.kind == "signer":
        assert identity.user_id is not None
        return "signers", identity.user_id
    if identity.kind == "seal":
        return "seals", identity.agency_code
    return None


def _issue(
    directory: Path,
    identity: Identity,
    *,
    not_before: dt.datetime | None,
    not_after: dt.datetime | None,
    issuer: Literal["intermediate", "self"],
    ca: tuple[x509.Certificate, PrivateKey] | None,
    ca_url: str | None,
) -> tuple[Path, Path]:
    now = _now()
    if not_before is not None:
        start = not_before
    elif not_after is not None:
        start = min(now - BACKDATE, not_after - dt.timedelta(days=365))
    else:
        start = now - BACKDATE
    end = not_after if not_after is not None else max(start, now) + END_ENTITY_VALIDITY
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("not_before and not_after must be timezone-aware")
    if end <= start:
        # cryptography refuses an empty validity; a certificate expired before it started is
        # not something tests need
        raise ValueError("not_after must come after not_before")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if issuer == "self":
        cert = _end_entity_cert(identity, key, None, key, not_before=start, not_after=end)
    else:
        if ca is None:
            ca = (
                load_certificate(directory / "intermediate.pem"),
                load_private_key(directory / "intermediate.key"),
            )
        ca_cert, ca_key = ca
        cert = _end_entity_cert(
            identity,
            key,
            ca_cert.subject,
            ca_key,
            not_before=start,
            not_after=end,
            ca_url=ca_url,
        )
    cert_path = directory / f"{identity.file_stem}.pem"
    key_path = directory / f"{identity.file_stem}.key"
    _write_private(key_path, _key_pem(key))
    _write_public(cert_path, _cert_pem(cert))
    return cert_path, key_path


def _register(manifest: dict[str, Any], identity: Identity) -> None:
    stem = identity.file_stem
    entry = {"cert": f"{stem}.pem", "key": f"{stem}.key"}
    where = _manifest_entry_key(identity)
    if where is None:
        manifest["tsa"] = entry
        return
    section, name = where
    if not isinstance(manifest.get(section), dict):
        manifest[section] = {}
    manifest[section][name] = entry


def issue_certificate(
    directory: Path,
    identity: Identity,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    issuer: Literal["intermediate", "self"] = "intermediate",
) -> tuple[Path, Path]:
    """Issue a certificate for ``identity`` from the development PKI in ``directory``.

    Writes the certificate and a fresh RSA 2048 key into the layout (replacing any earlier one
    of the same identity) and registers them in the directory's ``keys.yaml``. ``issuer="self"``
    makes a self-signed certificate, which chains to no trusted root. Returns (cert, key) paths.
    """
    directory = Path(directory)
    with manifest_lock(directory):
        manifest_path = directory / MANIFEST_NAME
        manifest = read_manifest(manifest_path) if manifest_path.exists() else {}
        paths = _issue(
            directory,
            identity,
            not_before=not_before,
            not_after=not_after,
            issuer=issuer,
            ca=None,
            ca_url=_ca_url(manifest),
        )
        _register(manifest, identity)
        write_manifest(manifest_path, manifest)
    return paths


def ensure_certificate(
    directory: Path, identity: Identity, *, manifest_path: Path | None = None
) -> tuple[Path, Path]:
    """The (cert, key) of ``identity`` in the directory's manifest (``keys.yaml`` unless
    ``manifest_path`` says otherwise), issuing them first if they are missing (checked again
    under the manifest lock, so two processes issue only once)."""
    directory = Path(directory)
    with manifest_lock(directory):
        manifest_path = manifest_path or directory / MANIFEST_NAME
        manifest = read_manifest(manifest_path) if manifest_path.exists() else {}
        where = _manifest_entry_key(identity)
        if where is not None:
            section, name = where
            entries = manifest.get(section)
            entry = entries.get(name) if isinstance(entries, dict) else None
            if _entry_present(directory, entry):
                assert isinstance(entry, dict)
                return directory / str(entry.get("cert")), directory / str(entry.get("key"))
        paths = _issue(
            directory,
            identity,
            not_before=None,
            not_after=None,
            issuer="intermediate",
            ca=None,
            ca_url=_ca_url(manifest),
        )
        _register(manifest, identity)
        write_manifest(manifest_path, manifest)
    return paths


REVOCATIONS_NAME = "revoked.yaml"
"""The development CA's record of the certificates it revoked (signatures.dev_ca)."""

_OWNED = (
    "root.pem",
    "root.key",
    "intermediate.pem",
    "intermediate.key",
    "tsa.pem",
    "tsa.key",
    REVOCATIONS_NAME,
)


def _ca_url(manifest: Mapping[str, Any]) -> str | None:
    value = manifest.get("ca_url")
    return str(value) if value else None


def _entry_present(directory: Path, entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    if "pkcs11" in entry:
        return True
    cert, key = entry.get("cert"), entry.get("key")
    if not isinstance(cert, str) or not isinstance(key, str):
        return False
    return (directory / cert).exists() and (directory / key).exists()


def init_dev_pki(
    directory: Path,
    *,
    agencies: Mapping[str, str],
    signers: Iterable[Identity],
    force: bool = False,
    ca_url: str | None = None,
) -> Path:
    """Create (or complete) a development PKI in ``directory``; return its manifest's path.

    ``agencies`` maps agency code to agency name: each gets a seal. ``signers`` are officer
    identities (kind "signer"). Idempotent: an existing PKI keeps its CA and keys, and only the
    missing seals, officers and TSA are issued; ``force`` starts from scratch, and so does a
    ``ca_url`` other than the one the existing certificates name (they would point nowhere).
    With ``ca_url``, every certificate names the CRL and OCSP addresses under it.
    """
    directory = Path(directory)
    signer_list = list(signers)
    for identity in signer_list:
        if identity.kind != "signer":
            raise ValueError(f"not an officer identity: {identity}")
    manifest_path = directory / MANIFEST_NAME
    with manifest_lock(directory):
        if ca_url is not None and manifest_path.exists():
            force = force or _ca_url(read_manifest(manifest_path)) != ca_url
        if force:
            for name in (*_OWNED, MANIFEST_NAME):
                (directory / name).unlink(missing_ok=True)
            for sub in ("signers", "seals"):
                shutil.rmtree(directory / sub, ignore_errors=True)
        existing = (
            manifest_path.exists()
            and (directory / "intermediate.key").exists()
            and (directory / "root.pem").exists()
        )
        if existing:
            manifest = read_manifest(manifest_path)
            ca = (
                load_certificate(directory / "intermediate.pem"),
                load_private_key(directory / "intermediate.key"),
            )
        else:
            manifest = {}
            ca = _new_ca(directory, ca_url)
        manifest["dev_pki_version"] = DEV_PKI_VERSION
        if ca_url is not None:
            manifest["ca_url"] = ca_url
        ca_url = _ca_url(manifest)
        manifest.setdefault("trust_roots", ["root.pem"])
        manifest.setdefault("chain", ["intermediate.pem"])
        manifest.setdefault("issue_missing", True)
        for section in ("signers", "seals"):
            if not isinstance(manifest.get(section), dict):
                manifest[section] = {}
        wanted = [Identity.seal(code, name) for code, name in agencies.items()] + signer_list
        for identity in wanted:
            where = _manifest_entry_key(identity)
            assert where is not None
            section, name = where
            if _entry_present(directory, manifest[section].get(name)):
                continue
            _issue(
                directory,
                identity,
                not_before=None,
                not_after=None,
                issuer="intermediate",
                ca=ca,
                ca_url=ca_url,
            )
            _register(manifest, identity)
        if not _entry_present(directory, manifest.get("tsa")):
            _issue(
                directory,
                DEV_TSA_IDENTITY,
                not_before=None,
                not_after=None,
                issuer="intermediate",
                ca=ca,
                ca_url=ca_url,
            )
            _register(manifest, DEV_TSA_IDENTITY)
        # keep the canonical key order on first write
        ordered: dict[str, Any] = {
            key: manifest[key]
            for key in (
                "dev_pki_version",
                "ca_url",
                "trust_roots",
                "chain",
                "issue_missing",
                "signers",
                "seals",
                "tsa",
            )
            if key in manifest
        }
        ordered.update({k: v for k, v in manifest.items() if k not in ordered})
        write_manifest(manifest_path, ordered)
    return manifest_path


def _new_ca(directory: Path, ca_url: str | None) -> tuple[x509.Certificate, PrivateKey]:
    directory.mkdir(parents=True, exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_PKI_ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, f"motcua dev root CA v{DEV_PKI_VERSION}"),
        ]
    )
    root = _ca_cert(root_name, root_key, root_name, root_key, path_length=1, validity=ROOT_VALIDITY)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_PKI_ORG),
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"motcua dev intermediate CA v{DEV_PKI_VERSION}"
            ),
        ]
    )
    inter = _ca_cert(
        inter_name,
        inter_key,
        root_name,
        root_key,
        path_length=0,
        validity=INTERMEDIATE_VALIDITY,
        ca_url=ca_url,
    )
    _write_private(directory / "root.key", _key_pem(root_key))
    _write_public(directory / "root.pem", _cert_pem(root))
    _write_private(directory / "intermediate.key", _key_pem(inter_key))
    _write_public(directory / "intermediate.pem", _cert_pem(inter))
    return inter, inter_key
