"""Trust roots and certificates: loading roots, offline validation contexts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import TypeAlias

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko_certvalidator import ValidationContext

TrustRoot: TypeAlias = asn1_x509.Certificate | x509.Certificate | bytes | str | Path
"""A trust root: a certificate object, PEM/DER bytes, or the path of a PEM/DER file."""


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
