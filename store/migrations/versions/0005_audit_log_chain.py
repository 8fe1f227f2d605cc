"""The audit log is hash-chained, like the events.

`audit_log` gains `seq` (1, 2, 3, ... in the order written), `prev_hash` and `hash`
(SHA-256 over every field of the row and the previous row's hash); `audit_log_head`
holds the chain's last seq and hash (one row, locked by every writer). Rows written
before are chained here in the order they were written (by id). The append-only
triggers are lifted for the back-fill only.

Revision ID: 0005_audit_log_chain
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from store.db import UTCDateTime

revision: str = "0005_audit_log_chain"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

# The rows as this revision knows them (not store.models: a later field must not change
# what this back-fill hashes).
AUDIT_LOG = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("at", UTCDateTime()),
    sa.column("actor_id", sa.String()),
    sa.column("actor_name", sa.String()),
    sa.column("roles", JSON),
    sa.column("application", sa.String()),
    sa.column("action", sa.String()),
    sa.column("dossier_code", sa.String()),
    sa.column("detail", JSON),
    sa.column("seq", sa.Integer()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
HEAD = sa.table(
    "audit_log_head",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("hash", sa.String()),
)


def row_hash(row: dict[str, Any], seq: int, prev_hash: str) -> str:
    """store.models.AuditLogRow.content_hash, as of this revision's fields."""
    at: datetime = row["at"]
    content = {
        "actor_id": row["actor_id"],
        "actor_name": row["actor_name"],
        "roles": row["roles"],
        "application": row["application"],
        "action": row["action"],
        "dossier_code": row["dossier_code"],
        "detail": row["detail"],
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(),
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def _triggers(enable: bool) -> None:
    """Lift (or put back) audit_log's append-only triggers, as made by 0003."""
    if op.get_bind().dialect.name == "postgresql":
        state = "ENABLE" if enable else "DISABLE"
        op.execute(f"ALTER TABLE audit_log {state} TRIGGER audit_log_append_only")
        return
    for what in ("UPDATE", "DELETE"):
        if enable:
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{what.lower()} BEFORE {what} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{what.lower()}")


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column(
        "audit_log", sa.Column("prev_hash", sa.String(), nullable=False, server_default="")
    )
    op.add_column("audit_log", sa.Column("hash", sa.String(), nullable=False, server_default=""))
    op.create_index("ix_audit_log_seq", "audit_log", ["seq"], unique=True)
    op.create_table(
        "audit_log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(AUDIT_LOG).order_by(AUDIT_LOG.c.id)).mappings().all()
    seq, prev = 0, ""
    if rows:
        _triggers(enable=False)
        for row in rows:
            seq += 1
            digest = row_hash(dict(row), seq, prev)
            bind.execute(
                AUDIT_LOG.update()
                .where(AUDIT_LOG.c.id == row["id"])
                .values(seq=seq, prev_hash=prev, hash=digest)
            )
            prev = digest
        _triggers(enable=True)
    bind.execute(HEAD.insert().values(id=1, seq=seq, hash=prev))


def downgrade() -> None:
    op.drop_table("audit_log_head")
    op.drop_index("ix_audit_log_seq", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    if op.get_bind().dialect.name == "sqlite":
        _triggers(enable=True)  # SQLite's batch copied the table, without its triggers
