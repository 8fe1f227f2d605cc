"""The Decision 766 service index: what it needs in the read model.

`dossiers` gains `processed_at` (the end of processing), `supplement_requests` and
`resolution_minutes` (the statutory clock's consumption, pauses excluded, at
processing); `documents` gains `reused` (a component the applicant did not upload
again: data reused from the centre's store). `dossier_ratings` holds the applicant's
rating at return; `dossier_feedback` complaints and suggestions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def utc_datetime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("processed_at", utc_datetime(), nullable=True))
        batch.add_column(
            sa.Column("supplement_requests", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("resolution_minutes", sa.Integer(), nullable=True))
    op.create_index("ix_dossiers_received_at", "dossiers", ["received_at"])
    with op.batch_alter_table("documents") as batch:
        batch.add_column(
            sa.Column("reused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "dossier_ratings",
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("rating", sa.String(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("dossier_code"),
    )
    op.create_table(
        "dossier_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dossier_feedback_dossier_code", "dossier_feedback", ["dossier_code"])


def downgrade() -> None:
    op.drop_index("ix_dossier_feedback_dossier_code", table_name="dossier_feedback")
    op.drop_table("dossier_feedback")
    op.drop_table("dossier_ratings")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("reused")
    op.drop_index("ix_dossiers_received_at", table_name="dossiers")
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("resolution_minutes")
        batch.drop_column("supplement_requests")
        batch.drop_column("processed_at")
