"""The catalog as managed data.

`procedures` gains what a version's publication needs: its status (draft or published),
the publishing decision (number, date, signer), the boundary-free flag, and who drafted
and published it when. Rows already there (the shipped catalog) are published.

Revision ID: 0014_catalog_versions
Revises: 0013_receipts
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.db import UTCDateTime

revision: str = "0014_catalog_versions"
down_revision: str | Sequence[str] | None = "0013_receipts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("procedures") as batch:
        batch.add_column(
            sa.Column("status", sa.String(), nullable=False, server_default="published")
        )
        batch.add_column(
            sa.Column("boundary_free", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("decision_number", sa.String(), nullable=True))
        batch.add_column(sa.Column("decision_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("decision_signer", sa.String(), nullable=True))
        batch.add_column(sa.Column("drafted_from", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("drafted_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("drafted_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("published_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("published_at", UTCDateTime(), nullable=True))
    op.create_index("ix_procedures_status", "procedures", ["status"])


def downgrade() -> None:
    op.drop_index("ix_procedures_status", table_name="procedures")
    with op.batch_alter_table("procedures") as batch:
        for name in (
            "published_at",
            "published_by",
            "drafted_at",
            "drafted_by",
            "drafted_from",
            "decision_signer",
            "decision_date",
            "decision_number",
            "boundary_free",
            "status",
        ):
            batch.drop_column(name)
