"""A document's read-model row as the API lists it (DocumentOut): its download link,
and for an upload its real size and type."""

from __future__ import annotations

from contextlib import suppress
from urllib.parse import quote

from api.schemas import DocumentOut
from infra.docstore import DocumentNotFound, DocumentStore, stored_file_facts
from store.models import DocumentRow


def document_out(row: DocumentRow, store: DocumentStore | None = None) -> DocumentOut:
    """The row as listed. An upload recorded without its size and type (by a worker
    before they were recorded, or one whose store did not hold the file yet) gets them
    from `store` when given (blocking: call it in a thread)."""
    size, media_type = row.size, row.media_type
    if row.source == "upload" and store is not None and not (size and media_type):
        with suppress(DocumentNotFound, ValueError):  # not held here: left as recorded
            size, media_type = stored_file_facts(store, row.sha256, row.filename)
    return DocumentOut(
        id=row.id,
        dossier_code=row.dossier_code,
        form=row.form,
        source=row.source,
        title=row.title,
        filename=row.filename or f"{row.id.replace(':', '-')}.html",
        media_type=media_type or "application/octet-stream",
        size=size or len(row.content.encode()),
        sha256=row.sha256,
        signers=row.signers or [],
        created_at=row.created_at,
        event_id=row.event_id,
        href=f"/v1/dossiers/{row.dossier_code}/documents/{quote(row.id, safe='')}",
    )
