"""Renewing the archive's document timestamps (PAdES B-LTA) before they lapse.

Results are kept ten years or for ever; a document timestamp proves what it covers only while
its time-stamping authority's certificate is valid. `motcua pki retimestamp` (run yearly, or
from cron) finds every signed document whose last document timestamp lapses within a margin,
adds that timestamp's validation data and a new document timestamp, stores the renewed file
(an incremental update: the file issued is its first bytes, and stays in the store) and points
the document's row at it. Verification recognises a copy issued before a renewal
(services/verification.py).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from infra.docstore import DocumentNotFound, DocumentStore
from signatures.signing import KeyStore, SigningError, renew_timestamp, timestamp_valid_until
from store import repository


class Renewal(BaseModel):
    """One signed document and what happened to its document timestamp."""

    document_id: str
    dossier_code: str
    valid_until: dt.datetime | None = None
    renewed: bool = False
    new_valid_until: dt.datetime | None = None
    sha256: str = ""
    problem: str | None = None


def renew_archive_timestamps(
    engine: Engine,
    store: DocumentStore,
    keys: KeyStore,
    tsa_url: str,
    *,
    within: dt.timedelta,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> list[Renewal]:
    """Renew the document timestamp of every signed document whose last one lapses before
    ``now + within``. Documents without a document timestamp (B-B, B-T) are listed with a
    problem and left as they are: only a B-LTA document can be renewed."""
    moment = now or dt.datetime.now(dt.UTC)
    out = []
    for row in repository.signed_documents(engine):
        item = Renewal(document_id=row.id, dossier_code=row.dossier_code, sha256=row.sha256)
        out.append(item)
        try:
            pdf = store.get(row.sha256)
        except DocumentNotFound:
            item.problem = f"tệp {row.sha256} không có trong kho văn bản"
            continue
        item.valid_until = timestamp_valid_until(pdf)
        if item.valid_until is None:
            item.problem = (
                "văn bản không có dấu thời gian tài liệu (không phải PAdES B-LTA): "
                "không gia hạn được"
            )
            continue
        if item.valid_until > moment + within or dry_run:
            continue
        try:
            renewed = renew_timestamp(
                pdf, tsa_url=tsa_url, trust_roots=keys.trust_roots, other_certs=keys.chain
            )
        except SigningError as exc:
            item.problem = str(exc)
            continue
        item.sha256 = store.put(renewed)
        repository.replace_document_file(engine, row.id, item.sha256, len(renewed))
        item.renewed = True
        item.new_valid_until = timestamp_valid_until(renewed)
    return out
