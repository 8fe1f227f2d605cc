"""Digital signatures on result PDFs: key stores, PAdES signing, offline verification.

A result (kết quả giải quyết TTHC) is returned as a PDF carrying the signature of the officer who
signed it and then the seal of the agency, each an incremental PAdES signature
(``ETSI.CAdES.detached``, SHA-256), with a signature timestamp (PAdES B-T) when a time-stamping
authority is configured, B-B otherwise. Who signed is read from the certificate subject, by the
convention of :mod:`motcua.pki`.

- :class:`KeyStore` reads the manifest ``keys.yaml`` and hands out pyHanko signers for officers
  and seals, from key files or a PKCS#11 token; in development it can issue missing
  certificates on demand.
- :func:`sign_pdf` adds one signature. It raises :class:`SigningError` subclasses whose
  ``retryable`` flag tells an activity whether to retry.
- :func:`verify_pdf` checks every signature of a PDF against given trust roots, offline, and
  never raises on bad input.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import hashlib
import io
import logging
import os
import re
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias, TypeVar

from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pydantic import BaseModel, Field
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from motcua import pki
from motcua.pki import Identity, identity_of

if TYPE_CHECKING:
    from asn1crypto import cms, tsp

__all__ = [
    "CertificateNotValid",
    "KeyNotFound",
    "KeyStore",
    "SignatureReport",
    "SigningError",
    "SigningUnavailable",
    "VerificationReport",
    "WrongAgency",
    "load_trust_roots",
    "sign_pdf",
    "validation_context",
    "verify_pdf",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

TrustRoot: TypeAlias = asn1_x509.Certificate | x509.Certificate | bytes | str | Path
"""A trust root: a certificate object, PEM/DER bytes, or the path of a PEM/DER file."""


# -- errors --------------------------------------------------------------------------------------


class SigningError(Exception):
    """Signing failed. ``retryable`` says whether trying again later may succeed."""

    retryable: ClassVar[bool] = False


class KeyNotFound(SigningError):
    """No certificate/key is configured for that officer or seal (fix keys.yaml)."""


class WrongAgency(SigningError):
    """The configured certificate belongs to another agency than the one expected."""


class CertificateNotValid(SigningError):
    """The certificate is expired or not yet valid at signing time."""


class SigningUnavailable(SigningError):
    """A transient failure: the time-stamping authority or the token can't be reached."""

    retryable: ClassVar[bool] = True


# -- running pyHanko's coroutines from synchronous code -----------------------------------------


def _run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running event loop
    (an async API handler calling verify_pdf): then in a helper thread with its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


# -- trust roots and certificates ----------------------------------------------------------------


def _to_asn1(cert: asn1_x509.Certificate | x509.Certificate) -> asn1_x509.Certificate:
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    from cryptography.hazmat.primitives.serialization import Encoding

    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _to_crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def load_trust_roots(roots: Iterable[TrustRoot]) -> list[asn1_x509.Certificate]:
    """Certificates from objects, PEM/DER bytes or files (a PEM file may hold several)."""
    out: list[asn1_x509.Certificate] = []
    for root in roots:
        if isinstance(root, asn1_x509.Certificate | x509.Certificate):
            out.append(_to_asn1(root))
        elif isinstance(root, bytes):
            out.extend(load_certs_from_pemder_data(root))
        else:
            out.extend(load_certs_from_pemder_data(Path(root).read_bytes()))
    return out


def validation_context(
    trust_roots: Iterable[TrustRoot], at: dt.datetime | None = None
) -> ValidationContext:
    """An offline validation context: the given roots only, no fetching, revocation soft-fail
    (the development CA publishes no CRL or OCSP); ``at`` is the validation time (now)."""
    return ValidationContext(
        trust_roots=load_trust_roots(trust_roots),
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=at,
    )


# -- the key store -------------------------------------------------------------------------------


_pkcs11_signer_class: type[Any] | None = None


def _pkcs11_signer_cls() -> type[Any]:
    """A PKCS11Signer that serialises signing on its session (a PKCS#11 session runs one
    operation at a time) and remembers a failure, so the key store reopens the session."""
    global _pkcs11_signer_class
    if _pkcs11_signer_class is None:
        from pkcs11 import PKCS11Error
        from pyhanko.sign.pkcs11 import PKCS11Signer

        class LockedPKCS11Signer(PKCS11Signer):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.sign_lock = threading.Lock()
                self.broken = False

            async def async_sign_raw(
                self, data: bytes, digest_algorithm: str, dry_run: bool = False
            ) -> bytes:
                if dry_run:
                    return await super().async_sign_raw(data, digest_algorithm, dry_run=True)
                with self.sign_lock:
                    try:
                        return await super().async_sign_raw(data, digest_algorithm)
                    except PKCS11Error as e:
                        self.broken = True
                        raise SigningUnavailable(
                            f"the PKCS#11 token failed to sign: {type(e).__name__}: {e}"
                        ) from e

        _pkcs11_signer_class = LockedPKCS11Signer
    return _pkcs11_signer_class


@dataclass
class _Loaded:
    signer: Signer
    cert: x509.Certificate
    identity: Identity | None
    declared_agency: str | None
    session: Any = None

    @property
    def stale(self) -> bool:
        return bool(getattr(self.signer, "broken", False))


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class _KeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner, with its private key parsed once.

    SimpleSigner turns its key into a `cryptography` key for every raw signature, and signs
    twice per PDF (once to size the signature container); OpenSSL checks an RSA key's
    consistency each time it loads one. That was about 60 ms of the 125 ms a seal or a
    signature took (bench/activities.py, docs/benchmarks.md). The same signatures, from a
    key loaded when the key store first needs it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key = serialization.load_der_private_key(self.signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algorithm = mechanism.signature_algo
        except ValueError:
            algorithm = mechanism["algorithm"].native
        key = self._key
        if algorithm == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algorithm == "rsassa_pss" and isinstance(key, rsa.RSAPrivateKey):
            padding, hash_algorithm = process_pss_params(mechanism["parameters"])
            return key.sign(data, padding, hash_algorithm)
        if algorithm == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return bytes(super().sign_raw(data, digest_algorithm))


def _parse_names(*certs: asn1_x509.Certificate) -> None:
    """Parse the certificates' subject and issuer names now, in one thread: asn1crypto
    fills `Name.native` lazily and not thread-safely, and a signer is shared by activity
    threads; two first signatures at once failed with KeyError('organization_name')."""
    for cert in certs:
        _ = cert.subject.native, cert.issuer.native
        _ = cert.subject.human_friendly, cert.issuer.human_friendly


class KeyStore:
    """Officers' and seals' signing keys, as the manifest ``keys.yaml`` lists them.

    Loaded signers are cached; identity and validity are checked on every request. Safe to use
    from an activity thread pool."""

    def __init__(self, manifest_path: Path, manifest: Mapping[str, Any]) -> None:
        self.path = manifest_path
        self.base = manifest_path.parent
        self._manifest = dict(manifest)
        self._mtime = self._stat()
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, str], _Loaded] = {}
        roots = [self._resolve(p) for p in self._list("trust_roots")]
        try:
            self._trust_roots = load_trust_roots(roots)
            self._chain = load_trust_roots(self._resolve(p) for p in self._list("chain"))
        except (OSError, ValueError) as e:
            raise KeyNotFound(
                f"{self.path}: cannot read a trust root or chain certificate: {e}"
            ) from e
        if not self._trust_roots:
            raise KeyNotFound(f"{self.path}: no trust_roots")

    @classmethod
    def load(cls, manifest: Path) -> KeyStore:
        manifest = Path(manifest).expanduser().resolve()
        try:
            data = pki.read_manifest(manifest)
        except (OSError, ValueError, TypeError) as e:
            raise KeyNotFound(f"cannot read the key manifest {manifest}: {e}") from e
        return cls(manifest, data)

    # manifest ---------------------------------------------------------------------------------

    def _stat(self) -> float | None:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return None

    def _list(self, key: str) -> list[str]:
        value = self._manifest.get(key) or []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise KeyNotFound(f"{self.path}: {key} is a list of file paths")
        return value

    def _resolve(self, value: str) -> Path:
        path = Path(os.path.expandvars(value)).expanduser()
        return path if path.is_absolute() else self.base / path

    def _refresh(self) -> None:
        """Re-read the manifest if it changed on disk (another process issued a certificate)."""
        mtime = self._stat()
        if mtime is not None and mtime != self._mtime:
            try:
                self._manifest = pki.read_manifest(self.path)
                self._mtime = mtime
            except (OSError, ValueError) as e:
                logger.warning("cannot re-read %s: %s", self.path, e)

    def _entry(self, section: str, key: str) -> dict[str, Any] | None:
        for attempt in (0, 1):
            entries = self._manifest.get(section) or {}
            entry = entries.get(key) if isinstance(entries, dict) else None
            if isinstance(entry, dict):
                return entry
            if attempt == 0:
                self._refresh()
        return None

    @property
    def trust_roots(self) -> list[asn1_x509.Certificate]:
        return list(self._trust_roots)

    @property
    def chain(self) -> list[asn1_x509.Certificate]:
        return list(self._chain)

    @property
    def issue_missing(self) -> bool:
        return self._manifest.get("issue_missing") is True

    @property
    def tsa_entry(self) -> dict[str, Path] | None:
        """The development TSA's cert and key files, for the local test TSA."""
        entry = self._manifest.get("tsa")
        if not isinstance(entry, dict) or "cert" not in entry or "key" not in entry:
            return None
        return {"cert": self._resolve(entry["cert"]), "key": self._resolve(entry["key"])}

    def validation_context(self, at: dt.datetime | None = None) -> ValidationContext:
        return validation_context(self._trust_roots, at)

    # signers ----------------------------------------------------------------------------------

    def signer(
        self,
        user_id: str,
        *,
        name: str,
        agency_code: str,
        agency_name: str,
        title: str | None = None,
    ) -> Signer:
        """The signer of officer ``user_id`` of agency ``agency_code``.

        Raises KeyNotFound, WrongAgency, CertificateNotValid, SigningUnavailable."""
        wanted = Identity(
            kind="signer",
            agency_code=agency_code,
            agency_name=agency_name,
            name=name,
            user_id=user_id,
            title=title,
        )
        return self._get("signers", user_id, wanted, f"officer {user_id} of {agency_code}")

    def seal(self, agency_code: str, *, agency_name: str) -> Signer:
        """The signer of the seal (chữ ký số cơ quan) of agency ``agency_code``."""
        wanted = Identity.seal(agency_code, agency_name)
        return self._get("seals", agency_code, wanted, f"the seal of {agency_code}")

    def signer_identity(self, user_id: str) -> Identity | None:
        """The identity named by officer ``user_id``'s configured certificate, if any."""
        return self._identity("signers", user_id, f"officer {user_id}")

    def seal_identity(self, agency_code: str) -> Identity | None:
        return self._identity("seals", agency_code, f"the seal of {agency_code}")

    def _identity(self, section: str, key: str, who: str) -> Identity | None:
        with self._lock:
            loaded = self._cache.get((section, key))
            if loaded is None:
                entry = self._entry(section, key)
                if entry is None:
                    return None
                loaded = self._load(section, key, entry, who)
                self._cache[(section, key)] = loaded
        return loaded.identity

    def _get(self, section: str, key: str, wanted: Identity, who: str) -> Signer:
        with self._lock:
            loaded = self._cache.get((section, key))
            if loaded is None or loaded.stale:
                if loaded is not None:
                    self._close(loaded)
                    del self._cache[(section, key)]
                entry = self._entry(section, key)
                if entry is None:
                    if not self.issue_missing:
                        raise KeyNotFound(
                            f"no signing certificate for {who}; add it to {self.path}"
                        )
                    self._issue(wanted)
                    entry = self._entry(section, key)
                    if entry is None:  # pragma: no cover - issue registers the entry
                        raise KeyNotFound(f"issuing a certificate for {who} failed")
                loaded = self._load(section, key, entry, who)
                self._cache[(section, key)] = loaded
        self._check(loaded, wanted, who)
        return loaded.signer

    def _issue(self, identity: Identity) -> None:
        if not (self.base / "intermediate.key").exists():
            raise KeyNotFound(
                f"issue_missing is set in {self.path} but there is no intermediate.key beside it"
            )
        pki.ensure_certificate(self.base, identity, manifest_path=self.path)
        self._manifest = pki.read_manifest(self.path)
        self._mtime = self._stat()
        logger.info("issued a development certificate for %s", identity)

    def _check(self, loaded: _Loaded, wanted: Identity, who: str) -> None:
        cert = loaded.cert
        found = loaded.identity
        agency = found.agency_code if found is not None else loaded.declared_agency
        if agency is None:
            raise WrongAgency(
                f"the certificate configured for {who} ({cert.subject.rfc4514_string()}) names no "
                f"agency code in its OU; reissue it or declare agency_code in {self.path}"
            )
        if agency != wanted.agency_code:
            raise WrongAgency(
                f"the certificate configured for {who} belongs to agency {agency}, not "
                f"{wanted.agency_code}"
            )
        if found is not None:
            if found.kind != wanted.kind:
                raise KeyNotFound(
                    f"the certificate configured for {who} is a {found.kind} certificate, "
                    f"not a {wanted.kind} certificate; fix {self.path}"
                )
            if wanted.kind == "signer" and found.user_id != wanted.user_id:
                raise KeyNotFound(
                    f"the certificate configured for {who} names user {found.user_id}; fix "
                    f"{self.path}"
                )
        now = dt.datetime.now(dt.UTC)
        serial = f"{cert.serial_number:x}"
        if now > cert.not_valid_after_utc:
            raise CertificateNotValid(
                f"the certificate of {who} (serial {serial}) expired on "
                f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; renew it and update {self.path}"
            )
        if now < cert.not_valid_before_utc:
            raise CertificateNotValid(
                f"the certificate of {who} (serial {serial}) is not valid before "
                f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
            )

    def _load(self, section: str, key: str, entry: Mapping[str, Any], who: str) -> _Loaded:
        declared = entry.get("agency_code")
        declared = str(declared) if declared is not None else None
        if "pkcs11" in entry:
            return self._load_pkcs11(entry, who, declared)
        cert_file, key_file = entry.get("cert"), entry.get("key")
        if not isinstance(cert_file, str) or not isinstance(key_file, str):
            raise KeyNotFound(f"the entry for {who} in {self.path} needs cert and key (or pkcs11)")
        password: bytes | None = None
        password_env = entry.get("key_password_env")
        if password_env:
            value = os.environ.get(str(password_env))
            if value is None:
                raise KeyNotFound(
                    f"the key of {who} is encrypted; set the environment variable {password_env}"
                )
            password = value.encode("utf-8")
        try:
            cert_path, key_path = self._resolve(cert_file), self._resolve(key_file)
            certs = list(load_certs_from_pemder_data(cert_path.read_bytes()))
            key_info: asn1_keys.PrivateKeyInfo = load_private_key_from_pemder_data(
                key_path.read_bytes(), passphrase=password
            )
        except FileNotFoundError as e:
            raise KeyNotFound(f"the key or certificate of {who} is missing: {e.filename}") from e
        except (OSError, ValueError, TypeError) as e:
            raise KeyNotFound(f"cannot load the key or certificate of {who}: {e}") from e
        if not certs:
            raise KeyNotFound(f"no certificate in {cert_file} (for {who})")
        cert = certs[0]
        registry = SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [*self._chain, *certs[1:]]
        )
        signer = _KeySigner(signing_cert=cert, signing_key=key_info, cert_registry=registry)
        _parse_names(cert, *certs[1:], *self._chain)
        crypto_cert = _to_crypto(cert)
        return _Loaded(signer, crypto_cert, identity_of(crypto_cert), declared)

    def _load_pkcs11(self, entry: Mapping[str, Any], who: str, declared: str | None) -> _Loaded:
        spec = entry["pkcs11"]
        if not isinstance(spec, dict) or not spec.get("module"):
            raise KeyNotFound(f"the pkcs11 entry for {who} in {self.path} needs a module")
        try:
            import pkcs11
            from pyhanko.config.pkcs11 import TokenCriteria
            from pyhanko.sign.pkcs11 import open_pkcs11_session
        except ImportError as e:
            raise KeyNotFound(
                f"{who} signs on a PKCS#11 token but python-pkcs11 is not installed "
                "(pip install 'motcua[pkcs11]')"
            ) from e
        module = str(self._resolve(str(spec["module"])))
        if not Path(module).exists():
            raise KeyNotFound(f"the PKCS#11 module {module} (for {who}) does not exist")
        pin: str | None = None
        if spec.get("pin_env"):
            pin = os.environ.get(str(spec["pin_env"]))
            if pin is None:
                raise KeyNotFound(f"set the PIN of the token of {who} in ${spec['pin_env']}")
        token = spec.get("token")
        slot = spec.get("slot")
        criteria = TokenCriteria(label=str(token)) if token is not None else None
        key_label = spec.get("key_label")
        cert_label = spec.get("cert_label")
        key_id = bytes.fromhex(str(spec["key_id"])) if spec.get("key_id") else None
        cert_id = bytes.fromhex(str(spec["cert_id"])) if spec.get("cert_id") else None
        signing_cert: asn1_x509.Certificate | None = None
        cert_file = entry.get("cert") or spec.get("cert")
        if cert_file:
            try:
                data = self._resolve(str(cert_file)).read_bytes()
                signing_cert = next(iter(load_certs_from_pemder_data(data)))
            except (OSError, ValueError, StopIteration) as e:
                raise KeyNotFound(f"cannot load the certificate of {who}: {e}") from e
        pin_errors = tuple(
            getattr(pkcs11.exceptions, name)
            for name in ("PinIncorrect", "PinInvalid", "PinLenRange", "PinLocked", "PinExpired")
            if hasattr(pkcs11.exceptions, name)
        )
        try:
            session = open_pkcs11_session(
                module,
                slot_no=int(slot) if slot is not None else None,
                token_criteria=criteria,
                user_pin=pin,
            )
        except pin_errors as e:
            raise SigningError(
                f"the PIN of the token of {who} was refused ({type(e).__name__}); fix it "
                "before retrying, a token locks itself after a few wrong PINs"
            ) from e
        except pkcs11.PKCS11Error as e:
            raise SigningUnavailable(
                f"the PKCS#11 token of {who} is not available: {type(e).__name__}: {e}"
            ) from e
        except (OSError, RuntimeError) as e:
            raise KeyNotFound(f"cannot load the PKCS#11 module {module}: {e}") from e
        cls = _pkcs11_signer_cls()
        try:
            signer = cls(
                session,
                cert_label=str(cert_label) if cert_label is not None else None,
                key_label=str(key_label) if key_label is not None else None,
                key_id=key_id,
                cert_id=cert_id,
                signing_cert=signing_cert,
                ca_chain=self._chain,
            )
            signer._load_objects()  # the certificate and the key handle, now, in this thread
            cert = signer.signing_cert
        except pkcs11.PKCS11Error as e:
            session.close()
            raise KeyNotFound(f"the token of {who} lacks the key or certificate: {e}") from e
        _parse_names(cert, *self._chain)
        crypto_cert = _to_crypto(cert)
        return _Loaded(signer, crypto_cert, identity_of(crypto_cert), declared, session)

    @staticmethod
    def _close(loaded: _Loaded) -> None:
        if loaded.session is not None:
            try:
                loaded.session.close()
            except Exception:  # the token may be gone: nothing to close
                logger.debug("closing a PKCS#11 session failed", exc_info=True)

    def close(self) -> None:
        """Close PKCS#11 sessions."""
        with self._lock:
            for loaded in self._cache.values():
                self._close(loaded)
            self._cache.clear()


# -- signing -------------------------------------------------------------------------------------


class _GuardedTimeStamper(HTTPTimeStamper):
    """An HTTP time stamper whose every failure is a TimestampRequestError (a TSA answering
    garbage makes asn1crypto raise anything)."""

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        try:
            result: cms.ContentInfo = await super().async_timestamp(message_digest, md_algorithm)
            # touch the token so that a malformed answer fails here, not while embedding
            result["content"]["encap_content_info"]["content"].parsed.native  # noqa: B018
            return result
        except TimestampRequestError:
            raise
        except Exception as e:
            raise TimestampRequestError(
                f"the time-stamping authority sent an unusable answer: {type(e).__name__}: {e}"
            ) from e

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:
            response: tsp.TimeStampResp = await super().async_request_tsa_response(req)
            return response
        except TimestampRequestError as e:
            cause = e.__cause__
            raise TimestampRequestError(
                f"{e}: {type(cause).__name__}: {cause}" if cause else str(e)
            ) from e
        except TimeoutError as e:
            raise TimestampRequestError(f"no answer from {self.url} in {self.timeout} s") from e


_timestampers: dict[tuple[str, float], _GuardedTimeStamper] = {}
_timestampers_lock = threading.Lock()


def _timestamper(url: str, timeout: float) -> _GuardedTimeStamper:
    """One time stamper per TSA: pyHanko asks the TSA for a dummy token once per stamper, to
    size the signature, and caches it."""
    with _timestampers_lock:
        stamper = _timestampers.get((url, timeout))
        if stamper is None:
            stamper = _GuardedTimeStamper(url, timeout=timeout)
            _timestampers[(url, timeout)] = stamper
        return stamper


# pyHanko sizes the signature container by making a dummy signature before the real one,
# for every PDF. The size depends only on the signer (its certificates) and the TSA, so it
# is estimated once per signer and TSA, the same way, and reused (bench/activities.py).
_reserved_sizes: weakref.WeakKeyDictionary[Signer, dict[str | None, int]] = (
    weakref.WeakKeyDictionary()
)
_reserved_lock = threading.Lock()


def _reserved_size(signer: Signer, tsa_url: str | None) -> int | None:
    with _reserved_lock:
        return _reserved_sizes.get(signer, {}).get(tsa_url)


def _remember_reserved_size(signer: Signer, tsa_url: str | None, size: int) -> None:
    with _reserved_lock:
        _reserved_sizes.setdefault(signer, {})[tsa_url] = size


def _cert_der(cert: asn1_x509.Certificate | None) -> bytes | None:
    return cert.dump() if cert is not None else None


def sign_pdf(
    pdf: bytes,
    signer: Signer,
    *,
    field_name: str,
    reason: str,
    location: str,
    tsa_url: str | None = None,
    timeout: float = 10,
) -> bytes:
    """Add an incremental PAdES signature in a new invisible field ``field_name``.

    With ``tsa_url`` the signature carries a timestamp from that RFC 3161 TSA (B-T); without,
    B-B. Earlier signatures stay valid. Idempotent for retries: if ``field_name`` is already
    signed with this signer's certificate, ``pdf`` comes back unchanged.

    Raises SigningUnavailable (TSA unreachable or answering garbage, token failure: retryable)
    or SigningError (not a PDF, the field signed by someone else, ...)."""
    signing_cert = signer.signing_cert
    if signing_cert is None:
        raise KeyNotFound("the signer has no certificate")
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        for existing in reader.embedded_signatures:
            if existing.field_name == field_name:
                if _cert_der(existing.signer_cert) == signing_cert.dump():
                    return pdf
                raise SigningError(
                    f"the field {field_name} is already signed by "
                    f"{existing.signer_cert.subject.human_friendly}"
                )
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    except SigningError:
        raise
    except Exception as e:
        raise SigningError(f"not a readable PDF: {type(e).__name__}: {e}") from e

    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    stamper = _timestamper(tsa_url, timeout) if tsa_url else None
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=stamper)
    out = io.BytesIO()

    async def go() -> None:
        reserved = _reserved_size(signer, tsa_url)
        if reserved is None:
            # pyHanko's own estimate (a dummy signature), on a throwaway writer.
            session = pdf_signer.init_signing_session(IncrementalPdfFileWriter(io.BytesIO(pdf)))
            reserved = await session.estimate_signature_container_size(
                None, tight=meta.tight_size_estimates
            )
            _remember_reserved_size(signer, tsa_url, reserved)
        await pdf_signer.async_sign_pdf(writer, output=out, bytes_reserved=reserved)

    try:
        _run(go)
    except SigningError:
        raise
    except TimestampRequestError as e:
        raise SigningUnavailable(f"the time-stamping authority {tsa_url} failed: {e}") from e
    except PyHankoSigningError as e:
        cause = e.__cause__
        if isinstance(cause, SigningError):
            raise cause from e
        if isinstance(cause, TimestampRequestError):
            raise SigningUnavailable(
                f"the time-stamping authority {tsa_url} failed: {cause}"
            ) from e
        raise SigningError(f"pyHanko could not sign: {e}") from e
    return out.getvalue()


# -- verification --------------------------------------------------------------------------------

Coverage = Literal["entire_file", "entire_revision", "partial"]

_ALLOWED_MODIFICATIONS = {
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
}


class SignatureReport(BaseModel):
    """One signature of a PDF, as an offline verifier sees it."""

    field_name: str
    # who signed, by the motcua.pki subject convention (all None when the subject doesn't follow it)
    kind: Literal["signer", "seal", "tsa"] | None = None
    agency_code: str | None = None
    agency_name: str | None = None
    name: str | None = None
    user_id: str | None = None
    title: str | None = None
    subject: str = ""
    issuer: str = ""
    serial: str = ""
    cert_valid_from: dt.datetime | None = None
    cert_valid_until: dt.datetime | None = None
    reason: str | None = None
    location: str | None = None
    signing_time: dt.datetime | None = Field(
        default=None, description="the time the signer claims (not proof)"
    )
    timestamp_time: dt.datetime | None = Field(
        default=None, description="the time in the embedded signature timestamp token, if any"
    )
    timestamp_valid: bool | None = Field(
        default=None, description="None without a timestamp; else intact, valid and trusted"
    )
    validated_at: dt.datetime | None = Field(
        default=None,
        description=(
            "the time the certificate chain was judged at: the trusted timestamp's time when "
            "the signer's certificate has expired since, else the verification time"
        ),
    )
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    expired: bool = Field(
        default=False,
        description=(
            "the signer's certificate was expired at validated_at, or at the claimed signing "
            "time (it signed after its expiry)"
        ),
    )
    coverage: Coverage = "partial"
    modification_level: str = "unknown"
    ok: bool = False
    problems: list[str] = Field(default_factory=list)


class VerificationReport(BaseModel):
    """A PDF's signatures, checked offline against given trust roots."""

    sha256: str
    signed: bool = False
    signatures: list[SignatureReport] = Field(default_factory=list)
    ok: bool = False
    dossier_code: str | None = None
    document: str | None = None
    title: str | None = None
    problems: list[str] = Field(default_factory=list)


_DOSSIER_RE = re.compile(r"(?:^|[\s,;])motcua-dossier=(\S+?)(?=$|[\s,;])")
_DOCUMENT_RE = re.compile(r"(?:^|[\s,;])motcua-document=(\S+?)(?=$|[\s,;])")


def _info(handler: Any) -> tuple[str | None, str | None]:
    """(Keywords, Title) of the Info dictionary of a reader or of one historical revision.

    References are resolved through ``handler`` itself: resolving them through the reference
    (``trailer_view["/Info"]``) would read the latest revision, whatever the handler."""

    def resolve(value: Any) -> Any:
        if isinstance(value, generic.IndirectObject):
            return handler.get_object(value.reference)
        return value

    try:
        info = resolve(handler.trailer_view.raw_get("/Info"))
    except Exception:
        return None, None

    def text(key: str) -> str | None:
        try:
            value = resolve(info.raw_get(key))
        except Exception:
            return None
        return str(value) if value is not None else None

    return text("/Keywords"), text("/Title")


def _keyword(pattern: re.Pattern[str], keywords: str | None) -> str | None:
    if not keywords:
        return None
    match = pattern.search(keywords)
    return match.group(1) if match else None


def _coverage(level: SignatureCoverageLevel | None) -> Coverage:
    if level == SignatureCoverageLevel.ENTIRE_FILE:
        return "entire_file"
    if level == SignatureCoverageLevel.ENTIRE_REVISION:
        return "entire_revision"
    return "partial"


def _date(value: dt.datetime) -> str:
    value = _utc(value).astimezone(dt.UTC)
    if value.hour == 0 and value.minute == 0 and value.second == 0:
        return f"{value:%Y-%m-%d}"
    return f"{value:%Y-%m-%d %H:%M} UTC"


async def _validate(
    sig: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate], at: dt.datetime | None
) -> PdfSignatureStatus:
    context = validation_context(roots, at)
    return await async_validate_pdf_signature(
        sig, signer_validation_context=context, ts_validation_context=validation_context(roots, at)
    )


def _signature_report(
    sig: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate], at: dt.datetime
) -> SignatureReport:
    report = SignatureReport(field_name=str(sig.field_name))
    problems = report.problems
    sig_dict = sig.sig_object
    for attr, key in (("reason", "/Reason"), ("location", "/Location")):
        try:
            value = sig_dict.get(key)
            if value is not None:
                setattr(report, attr, str(value))
        except Exception:
            pass
    try:
        cert = sig.signer_cert
        crypto_cert = _to_crypto(cert)
    except Exception as e:
        problems.append(f"the signature carries no readable signer certificate: {e}")
        return report
    identity = identity_of(crypto_cert)
    if identity is not None:
        report.kind = identity.kind
        report.agency_code = identity.agency_code
        report.agency_name = identity.agency_name
        report.name = identity.name
        report.user_id = identity.user_id
        report.title = identity.title
    report.subject = cert.subject.human_friendly
    report.issuer = cert.issuer.human_friendly
    report.serial = f"{cert.serial_number:x}"
    report.cert_valid_from = crypto_cert.not_valid_before_utc
    report.cert_valid_until = crypto_cert.not_valid_after_utc
    if sig.sig_object_type == "/DocTimeStamp":
        return _document_timestamp_report(sig, roots, at, report, crypto_cert)

    try:
        status = _run(lambda: _validate(sig, roots, at))
    except Exception as e:
        logger.info("validation of %s failed", sig.field_name, exc_info=True)
        problems.append(f"the signature could not be validated: {type(e).__name__}: {e}")
        return report

    ts = status.timestamp_validity
    ts_ok = ts is not None and ts.intact and ts.valid and ts.trusted
    if ts is not None:
        report.timestamp_time = ts.timestamp
        report.timestamp_valid = ts_ok
    validated_at = at
    not_after = crypto_cert.not_valid_after_utc
    not_before = crypto_cert.not_valid_before_utc
    if (
        not status.trusted
        and status.trust_problem_indic == AdESIndeterminate.OUT_OF_BOUNDS_NO_POE
        and ts is not None
        and ts_ok
        and not_before <= _utc(ts.timestamp) <= not_after
    ):
        # the certificate has expired since, but a trusted timestamp proves the signature
        # existed while it was valid: judge the chain at the timestamp's time
        validated_at = _utc(ts.timestamp)
        try:
            status = _run(lambda: _validate(sig, roots, validated_at))
        except Exception as e:
            problems.append(f"the signature could not be validated: {type(e).__name__}: {e}")
            return report
    report.validated_at = validated_at

    report.signing_time = status.signer_reported_dt
    report.intact = bool(status.intact)
    report.valid = bool(status.valid)
    report.trusted = bool(status.trusted)
    report.coverage = _coverage(status.coverage)
    level = status.modification_level
    report.modification_level = level.name.lower() if level is not None else "unknown"

    claimed = status.signer_reported_dt
    expired_at_validation = validated_at > not_after
    signed_after_expiry = claimed is not None and _utc(claimed) > not_after
    report.expired = expired_at_validation or signed_after_expiry

    if not report.intact:
        problems.append(
            "the document was modified after this signature: the signed bytes no longer "
            "match the signature"
        )
    elif not report.valid:
        problems.append("the signature value is not valid for the signer's certificate")
    if report.expired:
        if signed_after_expiry and claimed is not None:
            problems.append(
                f"the signer's certificate expired on {_date(not_after)}, before the claimed "
                f"signing time {_date(claimed)}"
            )
        else:
            problems.append(
                f"the signer's certificate expired on {_date(not_after)} (validated at "
                f"{_date(validated_at)})"
            )
    if validated_at < not_before:
        problems.append(f"the signer's certificate is not valid before {_date(not_before)}")
    if report.intact and report.valid and not report.trusted and not report.expired:
        indic = status.trust_problem_indic
        if indic == AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND or status.validation_path is None:
            problems.append("the signer's certificate does not chain to a trusted root")
        elif validated_at >= not_before:
            name = str(getattr(indic, "name", indic))
            problems.append(f"the signer's certificate chain is not trusted ({name})")
    if ts is not None and not ts_ok:
        problems.append("the signature timestamp is not valid or not from a trusted authority")
    if report.coverage == "partial":
        problems.append("the signature does not cover its whole revision of the document")
    modifications_ok = level in _ALLOWED_MODIFICATIONS and status.docmdp_ok is not False
    if report.intact and not modifications_ok:
        problems.append(
            "the document was modified after this signature (changes other than adding signatures)"
        )
    if not status.seed_value_ok:
        problems.append(
            f"the signature breaks its field's constraints: {status.seed_value_constraint_error}"
        )
    report.ok = bool(
        report.intact
        and report.valid
        and report.trusted
        and not report.expired
        and report.coverage != "partial"
        and modifications_ok
        and status.bottom_line
    )
    return report


def _document_timestamp_report(
    sig: EmbeddedPdfSignature,
    roots: list[asn1_x509.Certificate],
    at: dt.datetime,
    report: SignatureReport,
    cert: x509.Certificate,
) -> SignatureReport:
    """A document timestamp (PAdES B-LTA, added by an archive): a TSA's signature over the file."""
    problems = report.problems

    async def validate() -> DocumentTimestampStatus:
        return await async_validate_pdf_timestamp(sig, validation_context(roots, at))

    try:
        status = _run(validate)
    except Exception as e:
        problems.append(f"the document timestamp could not be validated: {type(e).__name__}: {e}")
        return report
    report.validated_at = at
    report.signing_time = report.timestamp_time = status.timestamp
    report.intact, report.valid = bool(status.intact), bool(status.valid)
    report.trusted = bool(status.trusted)
    report.timestamp_valid = report.intact and report.valid and report.trusted
    report.coverage = _coverage(status.coverage)
    level = status.modification_level
    report.modification_level = level.name.lower() if level is not None else "unknown"
    report.expired = at > cert.not_valid_after_utc
    if not report.intact:
        problems.append(
            "the document was modified after this timestamp: the timestamped bytes no longer match"
        )
    elif not report.valid:
        problems.append("the timestamp's signature is not valid")
    elif report.expired:
        problems.append(
            f"the time-stamping authority's certificate expired on "
            f"{_date(cert.not_valid_after_utc)} (validated at {_date(at)})"
        )
    elif not report.trusted:
        problems.append("the time-stamping authority does not chain to a trusted root")
    modifications_ok = level in _ALLOWED_MODIFICATIONS
    if report.intact and not modifications_ok:
        problems.append("the document was modified after this timestamp")
    report.ok = bool(report.timestamp_valid and report.coverage != "partial" and modifications_ok)
    return report


def verify_pdf(
    pdf: bytes, trust_roots: Iterable[TrustRoot], *, at: dt.datetime | None = None
) -> VerificationReport:
    """Check every signature of ``pdf`` against ``trust_roots``, offline, at ``at`` (now).

    Never raises on bad input: an unreadable file gives a report with ``ok`` False and a
    problem. The dossier code and document kind come from the Keywords of the revision the
    first signature covers (a later, unsigned change of the Keywords is reported)."""
    report = VerificationReport(sha256=hashlib.sha256(pdf).hexdigest())
    moment = _utc(at) if at is not None else dt.datetime.now(dt.UTC)
    try:
        roots = load_trust_roots(trust_roots)
    except Exception as e:
        report.problems.append(f"cannot read the trust roots: {e}")
        roots = []
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as e:
        report.problems.append(f"not a readable PDF: {type(e).__name__}: {e}")
        return report

    keywords, title = _info(reader)
    report.title = title
    if embedded:
        # what the signers signed: the metadata of each signed revision, the first one's wins
        try:
            signed = [
                _info(reader.get_historical_resolver(rev))
                for rev in sorted({s.signed_revision for s in embedded})
            ]
        except Exception:
            signed = [(keywords, title)]
        if any(kw != keywords for kw, _ in signed):
            report.problems.append(
                "the document's keywords (dossier code) were changed after it was signed"
            )
        keywords, report.title = signed[0]
    report.dossier_code = _keyword(_DOSSIER_RE, keywords)
    report.document = _keyword(_DOCUMENT_RE, keywords)

    for sig in embedded:
        try:
            report.signatures.append(_signature_report(sig, roots, moment))
        except Exception as e:  # belt and braces: verify_pdf never raises
            logger.warning("verifying %s failed", getattr(sig, "field_name", "?"), exc_info=True)
            report.signatures.append(
                SignatureReport(
                    field_name=str(getattr(sig, "field_name", "?")),
                    problems=[f"the signature could not be verified: {type(e).__name__}: {e}"],
                )
            )
    report.signed = bool(report.signatures)
    if not report.signed:
        report.problems.append("no signature")
    report.ok = report.signed and all(s.ok for s in report.signatures) and not report.problems
    return report
