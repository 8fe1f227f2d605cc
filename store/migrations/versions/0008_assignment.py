"""Assignment and the officer's queue.

`dossiers` gains who holds the current step by name (`assignee_id`, `assignee_name`) and
who assigned it (`assigned_by`: a leader, or the officer who claimed it), for the queue's
"assigned to me" and "unassigned"; and indexes for the queue's sort by the step's due time
and its search by exact ID number.

Revision ID: 0008_assignment
Revises: 0007_clock_left
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_assignment"
down_revision: str | Sequence[str] | None = "0007_portal_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("assignee_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("assignee_name", sa.String(), nullable=True))
        batch.add_column(sa.Column("assigned_by", sa.String(), nullable=True))
    op.create_index("ix_dossiers_assignee_id", "dossiers", ["assignee_id"])
    op.create_index("ix_dossiers_step_due_at", "dossiers", ["step_due_at"])
    op.create_index("ix_dossiers_applicant_id_number", "dossiers", ["applicant_id_number"])


def downgrade() -> None:
    op.drop_index("ix_dossiers_applicant_id_number", table_name="dossiers")
    op.drop_index("ix_dossiers_step_due_at", table_name="dossiers")
    op.drop_index("ix_dossiers_assignee_id", table_name="dossiers")
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("assigned_by")
        batch.drop_column("assignee_name")
        batch.drop_column("assignee_id")
