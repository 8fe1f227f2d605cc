"""The Decision 766 index, published and fast.

`dossiers` gains the index's facts of the dossier's other rows (`fact_result`,
`fact_upload`, `fact_reused`, `fact_paid_online`, `fact_unhappy`), backfilled here from
`documents`, `dossier_events`, `dossier_ratings` and `dossier_feedback` with the same
expressions the read model keeps them with (store.index.FACTS); and two covering indexes
for a period's dossiers (those finished since its start, by their end of processing; the
unfinished ones), so the month's index is an index-only scan on PostgreSQL. `index_publications` holds each published month, frozen
with its hash, one row per revision.

Revision ID: 0010_index_publication
Revises: 0009_portal_skipped
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_index_publication"
down_revision: str | Sequence[str] | None = "0009_portal_skipped"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACTS = ("fact_result", "fact_upload", "fact_reused", "fact_paid_online", "fact_unhappy")

# The columns the period indexes cover (store.models.INDEX_INCLUDE, as of this revision).
INCLUDE = (
    "code",
    "received_at",
    "competent_agency",
    "centre_agency",
    "procedure_code",
    "procedure_name",
    "processed_at",
    "closed_at",
    "appointment_at",
    "supplement_requests",
    "overdue",
    "status",
    "channel",
    "outcome",
    "resolution_minutes",
    *FACTS,
)

# The facts as SQL over the dossier's rows: the same conditions as store.index.FACTS (a
# migration does not import the application's code, which will move on).
BACKFILL = """
UPDATE dossiers SET
  fact_result = EXISTS (SELECT 1 FROM documents d
    WHERE d.dossier_code = dossiers.code AND d.source = 'result'),
  fact_upload = EXISTS (SELECT 1 FROM documents d
    WHERE d.dossier_code = dossiers.code AND d.source IN ('upload', 'database')),
  fact_reused = EXISTS (SELECT 1 FROM documents d
    WHERE d.dossier_code = dossiers.code AND d.source IN ('upload', 'database') AND d.reused),
  fact_paid_online = EXISTS (SELECT 1 FROM dossier_events e
    WHERE e.dossier_code = dossiers.code AND e.kind = 'pay' AND e.role = 'system'),
  fact_unhappy = (EXISTS (SELECT 1 FROM dossier_feedback f
    WHERE f.dossier_code = dossiers.code AND f.kind = 'complaint')
    OR EXISTS (SELECT 1 FROM dossier_ratings r
    WHERE r.dossier_code = dossiers.code AND r.rating = 'dislike'))
"""


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        for name in FACTS:
            batch.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
            )
    op.execute(BACKFILL)
    op.create_index(
        "ix_dossiers_index_ended",
        "dossiers",
        [sa.text("coalesce(processed_at, closed_at)")],
        postgresql_include=list(INCLUDE),
    )
    op.create_index(
        "ix_dossiers_index_open",
        "dossiers",
        ["received_at"],
        postgresql_include=[c for c in INCLUDE if c != "received_at"],
        postgresql_where=sa.text("processed_at IS NULL AND closed_at IS NULL"),
        sqlite_where=sa.text("processed_at IS NULL AND closed_at IS NULL"),
    )
    op.create_table(
        "index_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(), nullable=False),
        sa.Column("published_by_name", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period", "revision", name="uq_index_publications_period_revision"),
    )
    op.create_index("ix_index_publications_period", "index_publications", ["period"])


def downgrade() -> None:
    op.drop_index("ix_index_publications_period", table_name="index_publications")
    op.drop_table("index_publications")
    op.drop_index("ix_dossiers_index_open", table_name="dossiers")
    op.drop_index("ix_dossiers_index_ended", table_name="dossiers")
    with op.batch_alter_table("dossiers") as batch:
        for name in reversed(FACTS):
            batch.drop_column(name)
