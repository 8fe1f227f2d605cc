"""The citizen's voice (PAKN) as durable items.

`dossier_feedback` gains what its workflow (workflows/feedback.py) routes, times and
answers: the item's code, the agency that answers it, its status, the filer's contacts
(to be told the answer; masked wherever the item is published), the deadline, the
escalation, the answer and its publication. `dossier_code` may now be empty: an item
about the service at large. `feedback_events` records each item's filing, escalation
and answer.

Revision ID: 0011_feedback
Revises: 0010_index_publication
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_feedback"
down_revision: str | Sequence[str] | None = "0010_index_publication"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def utc_datetime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("dossier_feedback") as batch:
        batch.alter_column("dossier_code", existing_type=sa.String(), nullable=True)
        batch.add_column(sa.Column("code", sa.String(), nullable=True))
        batch.add_column(sa.Column("agency", sa.String(), nullable=True))
        batch.add_column(sa.Column("status", sa.String(), nullable=True))
        batch.add_column(sa.Column("channel", sa.String(), nullable=True))
        batch.add_column(sa.Column("filer_account", sa.String(), nullable=True))
        batch.add_column(sa.Column("filer_name", sa.String(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("filer_id_number", sa.String(), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("filer_phone", sa.String(), nullable=True))
        batch.add_column(sa.Column("filer_email", sa.String(), nullable=True))
        batch.add_column(sa.Column("due_at", utc_datetime(), nullable=True))
        batch.add_column(sa.Column("escalated_at", utc_datetime(), nullable=True))
        batch.add_column(sa.Column("answer", sa.Text(), nullable=True))
        batch.add_column(sa.Column("answered_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("answered_by_name", sa.String(), nullable=True))
        batch.add_column(sa.Column("answered_at", utc_datetime(), nullable=True))
        batch.add_column(sa.Column("published_at", utc_datetime(), nullable=True))
    op.create_index("ix_dossier_feedback_code", "dossier_feedback", ["code"], unique=True)
    op.create_index("ix_dossier_feedback_agency", "dossier_feedback", ["agency"])
    op.create_index("ix_dossier_feedback_status", "dossier_feedback", ["status"])
    op.create_index("ix_dossier_feedback_filer_account", "dossier_feedback", ["filer_account"])
    op.create_table(
        "feedback_events",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("feedback_code", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", utc_datetime(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        sa.Column("actor_role", sa.String(), nullable=False),
        sa.Column("agency", sa.String(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_events_feedback_code", "feedback_events", ["feedback_code"])


def downgrade() -> None:
    op.drop_index("ix_feedback_events_feedback_code", table_name="feedback_events")
    op.drop_table("feedback_events")
    op.drop_index("ix_dossier_feedback_filer_account", table_name="dossier_feedback")
    op.drop_index("ix_dossier_feedback_status", table_name="dossier_feedback")
    op.drop_index("ix_dossier_feedback_agency", table_name="dossier_feedback")
    op.drop_index("ix_dossier_feedback_code", table_name="dossier_feedback")
    op.execute("DELETE FROM dossier_feedback WHERE dossier_code IS NULL")
    with op.batch_alter_table("dossier_feedback") as batch:
        for column in (
            "published_at",
            "answered_at",
            "answered_by_name",
            "answered_by",
            "answer",
            "escalated_at",
            "due_at",
            "filer_email",
            "filer_phone",
            "filer_id_number",
            "filer_name",
            "filer_account",
            "channel",
            "status",
            "agency",
            "code",
        ):
            batch.drop_column(column)
        batch.alter_column("dossier_code", existing_type=sa.String(), nullable=False)
