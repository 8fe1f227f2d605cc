"""What auditors keep: archived history runs and the hash-chained audit log."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, select
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from store.models import AuditLogHeadRow, AuditLogRow, HistoryArchiveRow
from store.repository._common import _insert, _read, _rows_in_order, _table, _write


def archive_run(engine: Engine, row: HistoryArchiveRow) -> bool:
    """Record an archived history run; False if that run was archived already."""
    values = row.model_dump(exclude={"id"})
    table = _table(HistoryArchiveRow)

    def work(conn: Connection) -> bool:
        stmt = _insert(conn, HistoryArchiveRow).values(**values)
        stmt = stmt.on_conflict_do_nothing(index_elements=["workflow_id", "run_id"])
        # Whether a row came back, not the rowcount: PostgreSQL reports -1 (truthy) for
        # an INSERT .. ON CONFLICT DO NOTHING that inserted nothing.
        return conn.execute(stmt.returning(table.c.id)).first() is not None

    return _write(engine, work)


def archived_runs(engine: Engine, code: str) -> list[HistoryArchiveRow]:
    """A dossier's archived runs, first run first."""
    return _rows_in_order(engine, HistoryArchiveRow.workflow_id, code, HistoryArchiveRow.started_at)


def archived_runs_of(engine: Engine, codes: Iterable[str]) -> dict[str, list[HistoryArchiveRow]]:
    """`archived_runs` of many dossiers in one query: code -> its runs, first run first
    (dossiers with none archived are absent)."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return {}
    rows = _read(
        engine,
        sm_select(HistoryArchiveRow)
        .where(col(HistoryArchiveRow.workflow_id).in_(wanted))
        .order_by(col(HistoryArchiveRow.started_at), col(HistoryArchiveRow.id)),
    )
    out: dict[str, list[HistoryArchiveRow]] = {}
    for row in rows:
        out.setdefault(row.workflow_id, []).append(row)
    return out


def archived_run_ids(engine: Engine, run_ids: Iterable[str]) -> set[str]:
    ids = list(run_ids)
    if not ids:
        return set()
    rows = _read(
        engine,
        sm_select(HistoryArchiveRow.run_id).where(col(HistoryArchiveRow.run_id).in_(ids)),
    )
    return set(rows)


def log_audit_read(engine: Engine, row: AuditLogRow) -> AuditLogRow:
    """Append one auditor's read to the audit log, chained after the last row: the head
    is locked for the transaction (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
    write transaction, BEGIN IMMEDIATE, is the lock), so writers never fork the chain."""
    head = _table(AuditLogHeadRow)
    locked = select(head.c.seq, head.c.hash).where(head.c.id == 1)

    def work(conn: Connection) -> AuditLogRow:
        if conn.dialect.name == "postgresql":
            found = conn.execute(locked.with_for_update()).first()
        else:
            found = conn.execute(locked).first()
        if found is None:  # the migration writes the head; a database made otherwise
            conn.execute(
                _insert(conn, AuditLogHeadRow)
                .values(id=1, seq=0, hash="")
                .on_conflict_do_nothing(index_elements=["id"])
            )
            found = conn.execute(
                locked.with_for_update() if conn.dialect.name == "postgresql" else locked
            ).one()
        last_seq, last_hash = found
        # The detail as the database gives it back (JSON), so the hash is the one a
        # reader recomputes.
        chained = AuditLogRow.model_validate(
            row.model_dump(exclude={"id", "seq", "prev_hash", "hash"})
            | {"detail": json.loads(json.dumps(row.detail, default=str))}
            | {"seq": last_seq + 1, "prev_hash": last_hash}
        )
        chained.hash = chained.content_hash(last_hash)
        values = chained.model_dump(exclude={"id"})
        conn.execute(_insert(conn, AuditLogRow).values(**values))
        conn.execute(head.update().where(head.c.id == 1).values(seq=chained.seq, hash=chained.hash))
        return chained

    return _write(engine, work)


def audit_log_chain(engine: Engine) -> tuple[list[AuditLogRow], AuditLogHeadRow | None]:
    """Every audit log row in the order written (by id), and the chain's head: what
    `services.audit.integrity.verify_audit_log` checks, read in one snapshot (a row
    written meanwhile is in both or in neither)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind=conn, expire_on_commit=False) as s:
            rows = list(s.exec(sm_select(AuditLogRow).order_by(col(AuditLogRow.id))).all())
            return rows, s.get(AuditLogHeadRow, 1)


def audit_log(engine: Engine, *, dossier_code: str | None = None) -> list[AuditLogRow]:
    stmt = sm_select(AuditLogRow)
    if dossier_code is not None:
        stmt = stmt.where(AuditLogRow.dossier_code == dossier_code)
    return _read(engine, stmt.order_by(col(AuditLogRow.at), col(AuditLogRow.id)))
