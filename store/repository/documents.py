"""Documents: storing their rows and finding them by dossier, id or file hash."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, or_
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from store.index import DOCUMENT_FACTS, refresh_facts
from store.models import DocumentRow, DossierRow
from store.repository._common import _coerce, _insert, _read, _values, _write
from store.schemas import DocumentRecord


def add_documents(
    engine: Engine, rows: Iterable[DocumentRecord | DocumentRow | Mapping[str, Any]]
) -> None:
    """Store generated documents; ids already stored are ignored (first write wins). The
    dossiers' index facts follow in the same transaction."""
    values = [_values(_coerce(r, DocumentRecord), DocumentRow) for r in rows]
    if not values:
        return

    def work(conn: Connection) -> None:
        conn.execute(
            _insert(conn, DocumentRow).on_conflict_do_nothing(index_elements=["id"]), values
        )
        refresh_facts(conn, {v["dossier_code"] for v in values}, only=DOCUMENT_FACTS)

    _write(engine, work)


def list_documents(
    engine: Engine, code: str, *, with_sub_dossiers: bool = False
) -> list[DocumentRow]:
    """The dossier's documents, oldest first; with its linked group's sub-dossiers'
    (codes `<code>.<n>`) when asked."""
    where: ColumnElement[bool] = col(DocumentRow.dossier_code) == code
    if with_sub_dossiers:
        where = or_(where, col(DocumentRow.dossier_code).startswith(f"{code}.", autoescape=True))
    order = (col(DocumentRow.created_at), col(DocumentRow.id))
    return _read(engine, sm_select(DocumentRow).where(where).order_by(*order))


def dossiers_holding(
    engine: Engine,
    sha256: str,
    *,
    account: str | None = None,
    limit: int = 1000,
) -> list[DossierRow]:
    """The dossiers that hold the file `sha256` (an upload, a form, a result): those of
    its document rows, and for a linked group's sub-dossier (`<code>.<n>`) its parent,
    whose readers read its documents too; narrowed to the dossiers submitted online by
    `account` when given. Who may reference a file by its hash (api/routes/dossiers.py)
    judges the rows."""
    codes: list[str] = _read(
        engine,
        sm_select(DocumentRow.dossier_code)
        .where(col(DocumentRow.sha256) == sha256)
        .distinct()
        .limit(limit),
    )
    candidates = set(codes)
    for code in codes:
        parent, _, n = code.rpartition(".")
        if parent and n.isdigit():
            candidates.add(parent)
    if not candidates:
        return []
    where: list[ColumnElement[bool]] = [col(DossierRow.code).in_(sorted(candidates))]
    if account is not None:
        where.append(col(DossierRow.applicant_account) == account)
    return _read(engine, sm_select(DossierRow).where(*where).limit(limit))


def get_document(engine: Engine, document_id: str) -> DocumentRow | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(DocumentRow, document_id)


def documents_with_hash(engine: Engine, sha256: str) -> list[DocumentRow]:
    """Documents whose stored file has this SHA-256 (a verifier asking "is this ours?")."""
    return _read(
        engine,
        sm_select(DocumentRow).where(DocumentRow.sha256 == sha256).order_by(col(DocumentRow.id)),
    )


def signed_documents(engine: Engine) -> list[DocumentRow]:
    """Documents motcua signed or sealed (forms and results; not uploads), by id."""
    rows = _read(
        engine,
        sm_select(DocumentRow)
        .where(col(DocumentRow.source) != "upload", col(DocumentRow.sha256) != "")
        .order_by(col(DocumentRow.id)),
    )
    return [row for row in rows if row.signers]


def replace_document_file(engine: Engine, document_id: str, sha256: str, size: int) -> None:
    """The document is now the file ``sha256`` (its timestamps renewed: an incremental update
    of the file it was, which stays in the document store)."""
    with Session(engine) as s:
        row = s.get(DocumentRow, document_id)
        if row is None:
            raise KeyError(document_id)
        row.sha256, row.size = sha256, size
        s.add(row)
        s.commit()
