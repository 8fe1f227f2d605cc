"""Dossiers filed on the national portal (Cổng DVCQG), bound to their motcua code.

`portal_intake` holds one row per portal dossier code (the primary key) with the motcua
dossier code it is started under (unique): a dossier the portal delivers twice, pushed
and pulled, or out of order, becomes one dossier.

Revision ID: 0007_portal_intake
Revises: 0006_outbox_delivery
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_portal_intake"
down_revision: str | Sequence[str] | None = "0007_clock_left"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def utc_datetime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "portal_intake",
        sa.Column("portal_code", sa.String(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("procedure_code", sa.String(), nullable=False),
        sa.Column("via", sa.String(), nullable=False),
        sa.Column("portal_received_at", utc_datetime(), nullable=False),
        sa.Column("first_seen_at", utc_datetime(), nullable=False),
        sa.Column("last_seen_at", utc_datetime(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("started_at", utc_datetime(), nullable=True),
        sa.PrimaryKeyConstraint("portal_code"),
        sa.UniqueConstraint("dossier_code", name="uq_portal_intake_dossier_code"),
    )


def downgrade() -> None:
    op.drop_table("portal_intake")
