"""The documents a dossier produces: forms rendered as PDF and sealed, and the
result, rendered from the dossier's data, signed by the signer and sealed by the
issuing agency; long-term (PAdES B-LTA) when a time-stamping authority is
configured. Signing is an activity of its own so that it can fail, be retried and
be seen failing (in Temporal, and as `signing_failed` events) without losing
anything.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pyhanko.sign.signers import Signer
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import render_pool
from activities.contracts import SEAL_RESULT, SIGN_RESULT, SealResultInput, SignResultInput
from activities.forms import Issuers, RenderedDocument, ResultInfo, render_result
from domain.catalog import Agency, Catalog, load_catalog
from domain.dossier import ResultDocument
from infra.docstore import DocumentStore, open_document_store
from infra.settings import Settings
from signatures.signing import KeyStore, SigningError, SigningUnavailable, sign_pdf

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
        places={code: place for code in agencies if (place := _place_of(code, agencies))},
        tracking_base_url=f"{settings.public_base_url.rstrip('/')}/ui/track?code=",
        public_base_url=settings.public_base_url.rstrip("/"),
        rating_key=settings.rating_key(),
    )


def _place_of(code: str, agencies: Mapping[str, Agency]) -> str | None:
    """The place name an agency dates its documents at: its own, else its nearest
    parent's (a cycle or a missing parent ends the search)."""
    seen: set[str] = set()
    current: str | None = code
    while current is not None and current in agencies and current not in seen:
        seen.add(current)
        agency = agencies[current]
        if agency.place:
            return agency.place
        current = agency.parent
    return None


@dataclass(frozen=True)
class Key:
    """Whose key signs: an officer's (`user_id`) or an agency's seal (`user_id` None).
    Picklable, so that another process finds the same key in the same key store."""

    agency_code: str
    agency_name: str
    user_id: str | None = None
    name: str = ""
    title: str | None = None

    def signer(self, keys: KeyStore) -> Signer:
        if self.user_id is None:
            return keys.seal(self.agency_code, agency_name=self.agency_name)
        return keys.signer(
            self.user_id,
            name=self.name,
            agency_code=self.agency_code,
            agency_name=self.agency_name,
            title=self.title,
        )


@dataclass(frozen=True)
class Signature:
    """Where and why a signature goes on a PDF (pyHanko's field and metadata)."""

    field_name: str
    reason: str
    location: str
    tsa_url: str | None


@lru_cache(maxsize=4)
def _key_store(manifest: Path) -> KeyStore:
    return KeyStore.load(manifest)


def _signed(pdf: bytes, keys: KeyStore, signer: Signer, signature: Signature) -> bytes:
    """The signer's certificate is checked with its CA first (a revoked one is refused);
    with a TSA the signature is long-term, PAdES B-LTA (signatures/signing/signer.py)."""
    return sign_pdf(
        pdf,
        signer,
        field_name=signature.field_name,
        reason=signature.reason,
        location=signature.location,
        tsa_url=signature.tsa_url,
        validation_context=keys.signing_context(signer),
    )


def _sign_with(manifest: Path, key: Key, pdf: bytes, signature: Signature) -> bytes:
    """In a process of the PDF pool: the key store loaded once, its signers kept."""
    keys = _key_store(manifest)
    return _signed(pdf, keys, key.signer(keys), signature)


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

    def sign(self, keys: KeyStore, key: Key, pdf: bytes, field_name: str, reason: str) -> bytes:
        """Sign `pdf` with `key` in a new field. The key is looked up here first (so a
        missing or invalid one fails at once, and the development key store issues a
        missing one in this process only); the signature itself is made in the PDF pool
        when the worker has one (activities/render_pool.py), the same as here.

        Raises SigningError (SigningUnavailable: retryable)."""
        signer = key.signer(keys)
        signature = Signature(field_name, reason, key.agency_name, self.tsa_url)
        if render_pool.in_pool():
            return render_pool.call(_sign_with, keys.path, key, pdf, signature)
        return _signed(pdf, keys, signer, signature)

    def seal(self, pdf: bytes, agency: str, *, reason: str) -> tuple[bytes, list[str]]:
        """Seal a form with the agency's seal if one is configured; otherwise return it
        unsigned (forms are valid on paper without it; only results must be signed)."""
        if self.keys is None:
            return pdf, []
        try:
            key = Key(agency_code=agency, agency_name=self.issuers.name(agency))
            sealed = self.sign(self.keys, key, pdf, SEAL_FIELD, reason)
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
        keys = self._keys()
        key = Key(
            agency_code=req.signing_agency,
            agency_name=self.docs.issuers.name(req.signing_agency),
            user_id=req.signer.id,
            name=req.signer.name or req.signer.id,
            title=req.signer_title.capitalize(),
        )
        try:
            key.signer(keys)  # before rendering: a signer without a key fails at once
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
            template=req.template,
        )
        rendered: RenderedDocument = render_result(
            inp.dossier, inp.applicant, info, self.docs.issuers, req.requested_at
        )
        try:
            signed = self.docs.sign(
                keys, key, rendered.pdf, SIGNER_FIELD, f"Ký {req.kind_title} số {req.number}"
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
        """Add the issuing agency's seal after the signer's signature (an incremental
        signature: the signer's stays valid). The seal is the agency's own (its certificate
        names the agency), kept at the centre as the "5 tại chỗ" second seal is, so this runs
        on the dossier's (the centre's) worker, whose key store holds the agencies' seals."""
        doc = inp.document
        key = Key(agency_code=inp.seal_agency, agency_name=self.docs.issuers.name(inp.seal_agency))
        try:
            sealed = self.docs.sign(
                self._keys(),
                key,
                self.docs.store.get(doc.sha256),
                SEAL_FIELD,
                f"Đóng dấu {doc.title} số {doc.number}",
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
