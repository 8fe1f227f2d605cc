"""Keeping long-term signatures alive: renewing a PDF's document timestamp (PAdES B-LTA).

A B-LTA document ends with a document timestamp; what it proves holds while its TSA's
certificate does. Before that certificate expires, an archive adds the validation data of
that timestamp to the /DSS and a new document timestamp over everything, from a TSA whose
certificate lasts longer: the chain of timestamps carries the proof on, decade after decade.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.timestamps import TimestampRequestError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator.errors import PathValidationError

from signatures.signing._common import _run
from signatures.signing.errors import SigningError, SigningUnavailable
from signatures.signing.signer import _timestamper
from signatures.signing.trust import TrustRoot, _to_crypto, signing_context


def _last_timestamp(pdf: bytes) -> EmbeddedPdfSignature | None:
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        stamps = [s for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"]
    except Exception:
        return None
    return max(stamps, key=lambda s: s.signed_revision) if stamps else None


def timestamp_valid_until(pdf: bytes) -> dt.datetime | None:
    """When the certificate of the TSA behind the PDF's last document timestamp expires;
    None when the PDF has no document timestamp (not B-LTA) or cannot be read."""
    last = _last_timestamp(pdf)
    return _to_crypto(last.signer_cert).not_valid_after_utc if last is not None else None


def renew_timestamp(
    pdf: bytes,
    *,
    tsa_url: str,
    trust_roots: Iterable[TrustRoot],
    other_certs: Iterable[asn1_x509.Certificate] = (),
    timeout: float = 10,
) -> bytes:
    """Add the last document timestamp's validation data (fetched now from the addresses
    its certificates name) to the /DSS and a new document timestamp from ``tsa_url`` (an
    incremental update: every signature stays valid).

    Raises SigningUnavailable (the TSA, a CRL or OCSP responder did not answer: retry) or
    SigningError (not a long-term PDF)."""
    last = _last_timestamp(pdf)
    if last is None:
        raise SigningError("the document has no document timestamp (it is not PAdES B-LTA)")
    context = signing_context(
        trust_roots, other_certs, signer_cert=last.signer_cert, timeout=timeout
    )
    out = io.BytesIO()
    stamper = signers.PdfTimeStamper(_timestamper(tsa_url, timeout))

    async def go() -> None:
        reader = PdfFileReader(io.BytesIO(pdf))
        await stamper.async_update_archival_timestamp_chain(
            reader, context, in_place=False, output=out
        )

    try:
        _run(go)
    except TimestampRequestError as e:
        raise SigningUnavailable(f"the time-stamping authority {tsa_url} failed: {e}") from e
    except (PathValidationError, PyHankoSigningError) as e:
        raise SigningUnavailable(f"no validation data for the last timestamp: {e}") from e
    return out.getvalue()


def renewal_of(earlier: bytes, later: bytes) -> bool:
    """Whether ``later`` is ``earlier`` with renewed timestamps only: its first bytes are
    ``earlier`` and every signature in it (not a document timestamp) was already there."""
    if not earlier or not later.startswith(earlier):
        return False
    try:
        reader = PdfFileReader(io.BytesIO(later), strict=False)
        signatures = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
    except Exception:
        return False
    for sig in signatures:
        # /ByteRange [0, before the signature, after it, to the end of its revision]
        end = int(sig.byte_range[2]) + int(sig.byte_range[3])
        if end > len(earlier):
            return False
    return bool(signatures)
