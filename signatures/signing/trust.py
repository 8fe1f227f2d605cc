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
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)

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


# How much later than the validation moment revocation data may be dated (see below).
REVINFO_TOLERANCE = dt.timedelta(seconds=60)


def signing_context(
    trust_roots: Iterable[TrustRoot],
    other_certs: Iterable[asn1_x509.Certificate] = (),
    *,
    signer_cert: asn1_x509.Certificate | None = None,
    timeout: float = 10,
) -> ValidationContext:
    """An online validation context for signing: CRLs and OCSP responses are fetched from the
    addresses the certificates name, and a certificate that names where its status is
    published must be found good there (one that names none, as the development CA's
    without ``ca_url``, is judged on its chain alone). Fresh for every signature, so a
    revocation counts at once; what it fetched goes into the /DSS.

    A signer's certificate that names both a CRL and an OCSP responder gets both in the
    /DSS: pyHanko's AdES validation of a long-term signature (``pyhanko sign adesverify``,
    offline, years later) matched the CRLs and not OCSP answers signed by the issuing CA
    itself, and poppler's ``pdfsig`` asks OCSP only.

    Fetching uses ``requests`` (blocking, in the signing thread or process): an aiohttp
    session would be tied to the event loop of one signature."""
    both = signer_cert is not None and bool(
        signer_cert.crl_distribution_points and signer_cert.ocsp_urls
    )
    rule = RevocationCheckingRule
    policy = RevocationCheckingPolicy(
        rule.CRL_AND_OCSP_REQUIRED if both else rule.CHECK_IF_DECLARED, rule.CHECK_IF_DECLARED
    )
    return ValidationContext(
        trust_roots=load_trust_roots(trust_roots),
        other_certs=list(other_certs),
        allow_fetching=True,
        revinfo_policy=CertRevTrustPolicy(policy),
        fetcher_backend=RequestsFetcherBackend(per_request_timeout=timeout),
        # The context's moment is when it was made; a CRL or OCSP answer fetched afterwards
        # is dated later. pyHanko's default tolerance (1 s) refused those as "too recent"
        # whenever fetching took longer (a busy machine, a slow CA).
        time_tolerance=REVINFO_TOLERANCE,
    )
