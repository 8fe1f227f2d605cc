"""Making signatures: an incremental PAdES signature, with a TSA's timestamp when configured."""

from __future__ import annotations

import io
import threading
import weakref
from typing import TYPE_CHECKING

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError

from signatures.signing._common import _run
from signatures.signing.errors import KeyNotFound, SigningError, SigningUnavailable

if TYPE_CHECKING:
    from asn1crypto import cms, tsp


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
