"""The signer objects a key store hands out: a key file's signer, a PKCS#11 token's."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.sign import signers
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from signatures.pki import Identity
from signatures.signing.errors import SigningUnavailable

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
