"""Portal dossiers that could not be started, kept for the operators.

`portal_skipped` holds one row per portal dossier code, channel and reason (unique), with
how many times that fault was met and when first and last: a pulled dossier the pull went
past (unusable, refused by the engine, or its files never came) was only logged before.

Revision ID: 0009_portal_skipped
Revises: 0008_assignment
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_portal_skipped"
down_revision: str | Sequence[str] | None = "0008_assignment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_skipped",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portal_code", sa.String(), nullable=False),
        sa.Column("via", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("unavailable", sa.Boolean(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("portal_code", "via", "reason", name="uq_portal_skipped_fault"),
    )
    op.create_index("ix_portal_skipped_last_at", "portal_skipped", ["last_at"])


def downgrade() -> None:
    op.drop_index("ix_portal_skipped_last_at", table_name="portal_skipped")
    op.drop_table("portal_skipped")
