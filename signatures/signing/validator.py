"""Verifying signatures offline: integrity, the certificate chain, timestamps, coverage."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
from collections.abc import Iterable
from typing import Any, Literal
from zoneinfo import ZoneInfo

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from pydantic import BaseModel, Field
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)

from domain.calendar import VIETNAM_TZ
from domain.i18n import DEFAULT_LANG, Lang
from signatures.pki import identity_of
from signatures.signing._common import _run, _utc
from signatures.signing.messages import T
from signatures.signing.trust import TrustRoot, _to_crypto, load_trust_roots, validation_context

logger = logging.getLogger(__name__)


Coverage = Literal["entire_file", "entire_revision", "partial"]

_ALLOWED_MODIFICATIONS = {
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
}


class SignatureReport(BaseModel):
    """One signature of a PDF, as an offline verifier sees it."""

    field_name: str
    # who signed, by the signatures.pki subject convention (all None when the subject doesn't follow it)
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


VIETNAM = ZoneInfo(VIETNAM_TZ)
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


def _when(value: dt.datetime, lang: Lang) -> str:
    """A certificate's date in the reader's way: "2025-01-01" / "2025-01-01 08:00 UTC" in
    English; "01/01/2025" / "15:00 01/01/2025" (Asia/Ho_Chi_Minh) in Vietnamese."""
    if lang == "en":
        return _date(value)
    local = _utc(value).astimezone(VIETNAM)
    midnight = _utc(value).hour == 0 and _utc(value).minute == 0 and _utc(value).second == 0
    return f"{local:%d/%m/%Y}" if midnight else f"{local:%H:%M %d/%m/%Y}"


def _error(e: Exception) -> str:
    return f"{type(e).__name__}: {e}"


def _signature_report(
    sig: EmbeddedPdfSignature,
    roots: list[asn1_x509.Certificate],
    at: dt.datetime,
    lang: Lang = DEFAULT_LANG,
) -> SignatureReport:
    report = SignatureReport(field_name=str(sig.field_name))
    problems = report.problems

    def say(key: str, **params: Any) -> None:
        problems.append(T(key, **params).render(lang))

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
        say("no_certificate", error=e)
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
        return _document_timestamp_report(sig, roots, at, report, crypto_cert, lang)

    try:
        status = _run(lambda: _validate(sig, roots, at))
    except Exception as e:
        logger.info("validation of %s failed", sig.field_name, exc_info=True)
        say("not_validated", error=_error(e))
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
            say("not_validated", error=_error(e))
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
        say("modified_after_signature")
    elif not report.valid:
        say("bad_value")
    if report.expired:
        if signed_after_expiry and claimed is not None:
            say(
                "expired_before_signing",
                expired=_when(not_after, lang),
                claimed=_when(claimed, lang),
            )
        else:
            say("expired", expired=_when(not_after, lang), at=_when(validated_at, lang))
    if validated_at < not_before:
        say("not_yet_valid", start=_when(not_before, lang))
    if report.intact and report.valid and not report.trusted and not report.expired:
        indic = status.trust_problem_indic
        if indic == AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND or status.validation_path is None:
            say("no_chain")
        elif validated_at >= not_before:
            name = str(getattr(indic, "name", indic))
            say("untrusted_chain", reason=name)
    if ts is not None and not ts_ok:
        say("bad_timestamp")
    if report.coverage == "partial":
        say("partial")
    modifications_ok = level in _ALLOWED_MODIFICATIONS and status.docmdp_ok is not False
    if report.intact and not modifications_ok:
        say("modified_not_signatures")
    if not status.seed_value_ok:
        say("seed_value", error=status.seed_value_constraint_error)
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
    lang: Lang = DEFAULT_LANG,
) -> SignatureReport:
    """A document timestamp (PAdES B-LTA, added by an archive): a TSA's signature over the file."""
    problems = report.problems

    def say(key: str, **params: Any) -> None:
        problems.append(T(key, **params).render(lang))

    async def validate() -> DocumentTimestampStatus:
        return await async_validate_pdf_timestamp(sig, validation_context(roots, at))

    try:
        status = _run(validate)
    except Exception as e:
        say("timestamp_not_validated", error=_error(e))
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
        say("modified_after_timestamp_bytes")
    elif not report.valid:
        say("timestamp_bad_value")
    elif report.expired:
        say("tsa_expired", expired=_when(cert.not_valid_after_utc, lang), at=_when(at, lang))
    elif not report.trusted:
        say("tsa_no_chain")
    modifications_ok = level in _ALLOWED_MODIFICATIONS
    if report.intact and not modifications_ok:
        say("modified_after_timestamp")
    report.ok = bool(report.timestamp_valid and report.coverage != "partial" and modifications_ok)
    return report


def verify_pdf(
    pdf: bytes,
    trust_roots: Iterable[TrustRoot],
    *,
    at: dt.datetime | None = None,
    lang: Lang = DEFAULT_LANG,
) -> VerificationReport:
    """Check every signature of ``pdf`` against ``trust_roots``, offline, at ``at`` (now).

    Never raises on bad input: an unreadable file gives a report with ``ok`` False and a
    problem (in ``lang``: Vietnamese unless English is asked for). The dossier code and document kind come from the Keywords of the revision the
    first signature covers (a later, unsigned change of the Keywords is reported)."""
    report = VerificationReport(sha256=hashlib.sha256(pdf).hexdigest())
    moment = _utc(at) if at is not None else dt.datetime.now(dt.UTC)
    try:
        roots = load_trust_roots(trust_roots)
    except Exception as e:
        report.problems.append(T("bad_roots", error=e).render(lang))
        roots = []
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as e:
        report.problems.append(T("not_pdf", error=_error(e)).render(lang))
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
            report.problems.append(T("keywords_changed").render(lang))
        keywords, report.title = signed[0]
    report.dossier_code = _keyword(_DOSSIER_RE, keywords)
    report.document = _keyword(_DOCUMENT_RE, keywords)

    for sig in embedded:
        try:
            report.signatures.append(_signature_report(sig, roots, moment, lang))
        except Exception as e:  # belt and braces: verify_pdf never raises
            logger.warning("verifying %s failed", getattr(sig, "field_name", "?"), exc_info=True)
            report.signatures.append(
                SignatureReport(
                    field_name=str(getattr(sig, "field_name", "?")),
                    problems=[T("not_verified", error=_error(e)).render(lang)],
                )
            )
    report.signed = bool(report.signatures)
    if not report.signed:
        report.problems.append(T("unsigned").render(lang))
    report.ok = report.signed and all(s.ok for s in report.signatures) and not report.problems
    return report
