"""The documents a dossier produces: forms rendered as PDF and sealed, and the
result, rendered from the dossier's data, signed by the signer and sealed by the
centre. Signing is an activity of its own so that it can fail, be retried and be
seen failing (in Temporal, and as `signing_failed` events) without losing anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import SEAL_RESULT, SIGN_RESULT, SealResultInput, SignResultInput
from activities.forms import Issuers, RenderedDocument, ResultInfo, render_result
from domain.catalog import Catalog, load_catalog
from domain.dossier import ResultDocument
from motcua.docstore import DocumentStore, open_document_store
from motcua.settings import Settings
from motcua.signing import KeyStore, SigningError, SigningUnavailable, sign_pdf

log = logging.getLogger(__name__)

SIGNER_FIELD = "ChuKyNguoiKy"
SEAL_FIELD = "DauCoQuan"


def issuers_for(catalog: Catalog, settings: Settings) -> Issuers:
    agencies = catalog.agencies
    return Issuers(
        names={code: a.name for code, a in agencies.items()},
        parents={
            code: agencies[a.parent].name
            for code, a in agencies.items()
            if a.parent and a.parent in agencies
        },
        tracking_base_url=f"{settings.public_base_url.rstrip('/')}/v1/track/",
        public_base_url=settings.public_base_url.rstrip("/"),
    )


@dataclass
class DocumentServices:
    """What a worker needs to produce documents: where to store them, how to name
    agencies on them, and the keys to sign and seal them with (None: unsigned)."""

    store: DocumentStore
    issuers: Issuers
    keys: KeyStore | None
    tsa_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, catalog: Catalog | None = None) -> DocumentServices:
        catalog = catalog or load_catalog(settings.catalog_dir)
        manifest = settings.resolved_pki_manifest
        if settings.pki_manifest is not None and not manifest.is_file():
            raise ValueError(f"MOTCUA_PKI_MANIFEST: {manifest} does not exist")
        return cls(
            store=open_document_store(settings.resolved_document_store),
            issuers=issuers_for(catalog, settings),
            keys=KeyStore.load(manifest) if manifest.is_file() else None,
            tsa_url=settings.tsa_url,
        )

    def seal(self, pdf: bytes, agency: str, *, reason: str) -> tuple[bytes, list[str]]:
        """Seal a form with the agency's seal if one is configured; otherwise return it
        unsigned (forms are valid on paper without it; only results must be signed)."""
        if self.keys is None:
            return pdf, []
        try:
            seal = self.keys.seal(agency, agency_name=self.issuers.name(agency))
            sealed = sign_pdf(
                pdf,
                seal,
                field_name=SEAL_FIELD,
                reason=reason,
                location=self.issuers.name(agency),
                tsa_url=self.tsa_url,
            )
        except SigningUnavailable:
            raise  # retried by the activity
        except SigningError as exc:
            log.warning("form left unsealed: %s", exc)
            return pdf, []
        return sealed, [f"seal:{agency}"]


def _activity_error(exc: SigningError) -> ApplicationError:
    """Retried only when the signing service may come back (TSA, token)."""
    retryable = isinstance(exc, SigningUnavailable)
    return ApplicationError(str(exc), type=type(exc).__name__, non_retryable=not retryable)


class SigningActivities:
    def __init__(self, docs: DocumentServices) -> None:
        self.docs = docs

    def _keys(self) -> KeyStore:
        if self.docs.keys is None:
            raise ApplicationError(
                "this worker has no signing keys: run `motcua pki init` (development) or set "
                "MOTCUA_PKI_MANIFEST to the keys.yaml naming the certificates",
                type="NoKeyStore",
                non_retryable=True,
            )
        return self.docs.keys

    @activity.defn(name=SIGN_RESULT)
    def sign_result(self, inp: SignResultInput) -> ResultDocument:
        """Render the result from the dossier's data and sign it with the signer's key."""
        req = inp.request
        agency_name = self.docs.issuers.name(req.signing_agency)
        try:
            signer = self._keys().signer(
                req.signer.id,
                name=req.signer.name or req.signer.id,
                agency_code=req.signing_agency,
                agency_name=agency_name,
                title=req.signer_title.capitalize(),
            )
        except SigningError as exc:
            raise _activity_error(exc) from None
        info = ResultInfo(
            number=req.number,
            kind_title=req.kind_title,
            granted=req.granted,
            decision_text=req.decision_text,
            reasons=req.reasons,
            signer_name=req.signer.name or req.signer.id,
            signer_title=req.signer_title,
            signing_agency=req.signing_agency,
            legal_basis=req.legal_basis,
        )
        rendered: RenderedDocument = render_result(
            inp.dossier, inp.applicant, info, self.docs.issuers, req.requested_at
        )
        try:
            signed = sign_pdf(
                rendered.pdf,
                signer,
                field_name=SIGNER_FIELD,
                reason=f"Ký {req.kind_title} số {req.number}",
                location=agency_name,
                tsa_url=self.docs.tsa_url,
            )
        except SigningError as exc:
            raise _activity_error(exc) from None
        sha = self.docs.store.put(signed)
        activity.logger.info("signed the result of %s as %s", inp.dossier.code, req.signer.id)
        return ResultDocument(
            document_id=f"{inp.dossier.code}:result",
            title=req.kind_title,
            filename=rendered.filename,
            sha256=sha,
            size=len(signed),
            number=req.number,
            granted=req.granted,
            signer_id=req.signer.id,
            signer_name=req.signer.name,
            signing_agency=req.signing_agency,
            signatures=[SIGNER_FIELD],
            timestamped=self.docs.tsa_url is not None,
            issued_at=req.requested_at,
        )

    @activity.defn(name=SEAL_RESULT)
    def seal_result(self, inp: SealResultInput) -> ResultDocument:
        """Add the centre's seal after the signer's signature (an incremental signature:
        the signer's stays valid)."""
        doc = inp.document
        agency_name = self.docs.issuers.name(inp.seal_agency)
        try:
            seal = self._keys().seal(inp.seal_agency, agency_name=agency_name)
            sealed = sign_pdf(
                self.docs.store.get(doc.sha256),
                seal,
                field_name=SEAL_FIELD,
                reason=f"Đóng dấu {doc.title} số {doc.number}",
                location=agency_name,
                tsa_url=self.docs.tsa_url,
            )
        except SigningError as exc:
            raise _activity_error(exc) from None
        sha = self.docs.store.put(sealed)
        return doc.model_copy(
            update={
                "sha256": sha,
                "size": len(sealed),
                "sealed_by": inp.seal_agency,
                "signatures": [*doc.signatures, SEAL_FIELD],
            }
        )
