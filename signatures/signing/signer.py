"""Making signatures: an incremental PAdES signature; long-term (B-LTA) with a TSA.

With a time-stamping authority and a validation context (the key store's
``signing_context``), a signature is PAdES B-LTA: the signature's own timestamp (B-T), the
chain and the CRLs or OCSP responses of the signer's and the TSA's certificates in the
document's /DSS (B-LT), then a document timestamp over it all (B-LTA), which an archive
renews before its TSA certificate expires (:func:`signatures.signing.archival.renew_timestamp`). Before signing, the
signer's own certificate is checked the same way: a revoked one is refused
(:class:`CertificateRevoked`), one whose status cannot be learnt is retried
(:class:`SigningUnavailable`).
"""

from __future__ import annotations

import io
import threading
import weakref
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    InsufficientRevinfoError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
)

from signatures.pki import identity_of
from signatures.signing._common import _run
from signatures.signing.errors import (
    CertificateNotValid,
    CertificateRevoked,
    KeyNotFound,
    SigningError,
    SigningUnavailable,
)
from signatures.signing.trust import _to_crypto

if TYPE_CHECKING:
    from asn1crypto import cms, tsp

_VN = ZoneInfo("Asia/Ho_Chi_Minh")


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


def _who(cert: asn1_x509.Certificate) -> str:
    identity = identity_of(_to_crypto(cert))
    if identity is None:
        return str(cert.subject.human_friendly)
    if identity.kind == "seal":
        return f"con dấu của {identity.agency_name}"
    return f"{identity.name} ({identity.agency_name})"


_REASONS_VI = {
    "key_compromise": "lộ khóa bí mật",
    "ca_compromise": "lộ khóa của tổ chức cấp chứng thư",
    "affiliation_changed": "thay đổi cơ quan, chức vụ",
    "superseded": "đã được thay thế",
    "cessation_of_operation": "ngừng sử dụng",
    "certificate_hold": "tạm dừng",
}


def _refusal(
    cert: asn1_x509.Certificate, error: PathValidationError | PathBuildingError
) -> SigningError:
    """What a failed check of the signer's own certificate means, in Vietnamese: the officer
    reads it."""
    who = _who(cert)
    serial = f"{cert.serial_number:x}"
    if isinstance(error, RevokedError):
        when = error.revocation_dt.astimezone(_VN)
        reason = _REASONS_VI.get(str(error.reason.native), str(error.reason.native))
        return CertificateRevoked(
            f"Chứng thư số của {who} (số hiệu {serial}) đã bị thu hồi lúc "
            f"{when:%H:%M} ngày {when:%d/%m/%Y} (lý do: {reason}): không thể ký bằng khóa "
            "này. Đề nghị cấp chứng thư số mới."
        )
    if isinstance(error, InsufficientRevinfoError):
        return SigningUnavailable(
            f"Chưa kiểm tra được tình trạng chứng thư số của {who} (số hiệu {serial}) với tổ "
            f"chức cấp (CRL/OCSP không trả lời): {error}"
        )
    if isinstance(error, PathBuildingError):
        return CertificateNotValid(
            f"Chứng thư số của {who} (số hiệu {serial}) không dẫn tới một tổ chức cấp tin cậy: "
            f"{error}"
        )
    return CertificateNotValid(f"Chứng thư số của {who} (số hiệu {serial}) không hợp lệ: {error}")


async def _check_status(signer: Signer, context: ValidationContext) -> None:
    """The signer's certificate must chain to a trusted root and be neither expired nor
    revoked, as its CA publishes (CRL or OCSP, fetched). A long-term signature leaves this to
    pyHanko, which validates the signer the same way before signing (to embed what it
    fetched); its failure is mapped by ``_refusal`` as well."""
    cert = signer.signing_cert
    assert cert is not None
    registry = signer.cert_registry
    validator = CertificateValidator(
        cert, intermediate_certs=list(registry) if registry else [], validation_context=context
    )
    try:
        await validator.async_validate_path()
    except (PathValidationError, PathBuildingError) as e:
        raise _refusal(cert, e) from e


def sign_pdf(
    pdf: bytes,
    signer: Signer,
    *,
    field_name: str,
    reason: str,
    location: str,
    tsa_url: str | None = None,
    timeout: float = 10,
    validation_context: ValidationContext | None = None,
) -> bytes:
    """Add an incremental PAdES signature in a new invisible field ``field_name``.

    With ``validation_context`` (online: fetching CRLs and OCSP, hard-fail; the key store's
    ``signing_context``), the signer's certificate is checked before signing, and with
    ``tsa_url`` too the signature is long-term: B-LTA (the signature timestamped by that
    RFC 3161 TSA, validation data in /DSS, a document timestamp). ``tsa_url`` alone: B-T;
    neither: B-B. Earlier signatures stay valid. Idempotent for retries: if ``field_name`` is
    already signed with this signer's certificate, ``pdf`` comes back unchanged.

    Raises CertificateRevoked, CertificateNotValid, SigningUnavailable (TSA, CRL or OCSP
    unreachable or answering garbage, token failure: retryable) or SigningError (not a PDF,
    the field signed by someone else, ...)."""
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

    long_term = tsa_url is not None and validation_context is not None
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
        embed_validation_info=long_term,
        validation_context=validation_context if long_term else None,
        use_pades_lta=long_term,
        timestamp_field_name=f"{field_name}_TS" if long_term else None,
    )
    stamper = _timestamper(tsa_url, timeout) if tsa_url else None
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=stamper)
    out = io.BytesIO()

    async def go() -> None:
        if validation_context is not None and not long_term:
            await _check_status(signer, validation_context)
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
        if "signer's certificate could not be validated" in str(e) and isinstance(
            cause, PathValidationError | PathBuildingError
        ):
            raise _refusal(signing_cert, cause) from e
        if isinstance(cause, PathValidationError):
            # the TSA's certificate: its status could not be learnt for the /DSS
            raise SigningUnavailable(f"no validation data for the /DSS: {cause}") from e
        raise SigningError(f"pyHanko could not sign: {e}") from e
    return out.getvalue()
