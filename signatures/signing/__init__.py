"""Digital signatures on result PDFs: key stores, PAdES signing, offline verification.

A result (kết quả giải quyết TTHC) is returned as a PDF carrying the signature of the officer who
signed it and then the seal of the agency, each an incremental PAdES signature
(``ETSI.CAdES.detached``, SHA-256). With a time-stamping authority configured each is PAdES
B-LTA: timestamped, its chain and CRLs/OCSP responses in the /DSS, then a document timestamp;
B-B otherwise. The signer's certificate is checked with its CA before every signature. Who
signed is read from the certificate subject, by the convention of :mod:`signatures.pki`.

- :class:`KeyStore` reads the manifest ``keys.yaml`` and hands out pyHanko signers for officers
  and seals, from key files or a PKCS#11 token; in development it can issue missing
  certificates on demand.
- :func:`sign_pdf` adds one signature. It raises :class:`SigningError` subclasses whose
  ``retryable`` flag tells an activity whether to retry.
- :func:`verify_pdf` checks every signature of a PDF against given trust roots, offline, and
  never raises on bad input.

Where things are:

- ``errors.py``: :class:`SigningError` and its subclasses.
- ``trust.py``: trust roots, certificate conversions, :func:`validation_context`.
- ``keystore.py``: :class:`KeyStore` (the manifest, key files, PKCS#11 tokens, checks);
  ``keys.py``: the signer objects it hands out (a parsed key file's, a locked PKCS#11 one).
- ``signer.py``: :func:`sign_pdf`, the TSA client, the cached signature sizes.
- ``validator.py``: :func:`verify_pdf` and its reports.
- ``archival.py``: :func:`renew_timestamp` (a new document timestamp before the last one's
  TSA certificate expires), :func:`timestamp_valid_until`.
- ``_common.py``: running pyHanko's coroutines from synchronous code, UTC.
"""

from signatures.signing.archival import renew_timestamp, renewal_of, timestamp_valid_until
from signatures.signing.errors import (
    CertificateNotValid,
    CertificateRevoked,
    KeyNotFound,
    SigningError,
    SigningUnavailable,
    WrongAgency,
)
from signatures.signing.keystore import KeyStore
from signatures.signing.signer import _reserved_size as _reserved_size
from signatures.signing.signer import sign_pdf
from signatures.signing.trust import (
    TrustRoot,
    load_trust_roots,
    signing_context,
    validation_context,
)
from signatures.signing.validator import SignatureReport, VerificationReport, verify_pdf

__all__ = [
    "CertificateNotValid",
    "CertificateRevoked",
    "KeyNotFound",
    "KeyStore",
    "SignatureReport",
    "SigningError",
    "SigningUnavailable",
    "TrustRoot",
    "VerificationReport",
    "WrongAgency",
    "load_trust_roots",
    "renew_timestamp",
    "renewal_of",
    "sign_pdf",
    "signing_context",
    "timestamp_valid_until",
    "validation_context",
    "verify_pdf",
]
