"""Electronic receipts (biên lai điện tử) for fees collected.

`receipt_series` holds the last number of each collecting unit's series per year;
`receipts` every receipt issued, cancelled ones included (never deleted).

Revision ID: 0013_receipts
Revises: 0012_voice
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_receipts"
down_revision: str | Sequence[str] | None = "0012_voice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def utc_datetime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "receipt_series",
        sa.Column("agency_code", sa.String(), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last_number", sa.Integer(), nullable=False),
    )
    op.create_table(
        "receipts",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("agency_code", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("source_key", sa.String(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("amount_vnd", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("payer_name", sa.String(), nullable=False),
        sa.Column("lines", JSON, nullable=True),
        sa.Column("issued_at", utc_datetime(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("document_id", sa.String(), nullable=True),
        sa.Column("sha256", sa.String(), nullable=True),
        sa.Column("replaces", sa.String(), nullable=True),
        sa.Column("replaced_by", sa.String(), nullable=True),
        sa.Column("cancelled_at", utc_datetime(), nullable=True),
        sa.Column("cancelled_by", sa.String(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.UniqueConstraint("agency_code", "year", "number", name="uq_receipts_series_number"),
        sa.UniqueConstraint("source_key", name="uq_receipts_source_key"),
    )
    op.create_index("ix_receipts_agency_code", "receipts", ["agency_code"])
    op.create_index("ix_receipts_dossier_code", "receipts", ["dossier_code"])


def downgrade() -> None:
    op.drop_index("ix_receipts_dossier_code", table_name="receipts")
    op.drop_index("ix_receipts_agency_code", table_name="receipts")
    op.drop_table("receipts")
    op.drop_table("receipt_series")
