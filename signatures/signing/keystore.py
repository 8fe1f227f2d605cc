"""The key store: the manifest keys.yaml, its officers' and seals' keys and certificates."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signatures import pki
from signatures.pki import Identity, identity_of
from signatures.signing.errors import (
    CertificateNotValid,
    KeyNotFound,
    SigningError,
    SigningUnavailable,
    WrongAgency,
)
from signatures.signing.keys import _KeySigner, _Loaded, _parse_names, _pkcs11_signer_cls
from signatures.signing.trust import (
    _to_crypto,
    load_trust_roots,
    signing_context,
    validation_context,
)

logger = logging.getLogger(__name__)


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

    def signing_context(self, signer: Signer, timeout: float = 10) -> ValidationContext:
        """A fresh online validation context for one signature by ``signer``
        (signatures.signing.trust)."""
        return signing_context(
            self._trust_roots, self._chain, signer_cert=signer.signing_cert, timeout=timeout
        )

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
        wanted = Identity.signer(agency_code, agency_name, name, user_id, title)
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
