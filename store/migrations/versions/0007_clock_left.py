"""Countdowns in working time: the statutory clock's unit on the dossier's row, and while
the clock is paused why and how much of it is left (NULL on rows projected before, and
while the clock runs: the appointment says it then).

Revision ID: 0007_clock_left
Revises: 0006_outbox_delivery
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_clock_left"
down_revision: str | Sequence[str] | None = "0006_outbox_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("clock_unit", sa.String(), nullable=True))
        batch.add_column(sa.Column("clock_paused_reason", sa.String(), nullable=True))
        batch.add_column(sa.Column("clock_left_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("clock_left_minutes")
        batch.drop_column("clock_paused_reason")
        batch.drop_column("clock_unit")
