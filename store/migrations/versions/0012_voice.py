"""The citizen's voice: every rating kept, and personal-data requests.

`dossier_rating_history` keeps every rating with its time and where it was given (the
applicant's account, or the counter's kiosk); `dossier_ratings` stays the latest one, the
one the 766 index counts. Ratings given before this revision are copied into the history
(only the latest of each dossier was kept).

`personal_data_requests`: data subjects' requests to see, correct or restrict their
personal data (Law 91/2025/QH15, Decree 356/2025/ND-CP), each run by a
DataRequestWorkflow; `personal_data_notes`: what those requests annotated on dossiers.

Revision ID: 0012_voice
Revises: 0011_feedback
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_voice"
down_revision: str | Sequence[str] | None = "0011_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# store.models.JSONType: JSONB on PostgreSQL, JSON (text) elsewhere.
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def utc_datetime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dossier_rating_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("rating", sa.String(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_dossier_rating_history_dossier_code", "dossier_rating_history", ["dossier_code"]
    )
    op.execute(
        'INSERT INTO dossier_rating_history (dossier_code, rating, comment, "by", source, at) '
        "SELECT dossier_code, rating, comment, \"by\", 'account', at FROM dossier_ratings"
    )
    op.create_table(
        "personal_data_requests",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("received_at", utc_datetime(), nullable=False),
        sa.Column("due_at", utc_datetime(), nullable=False),
        sa.Column("escalated_at", utc_datetime(), nullable=True),
        sa.Column("answered_at", utc_datetime(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("export_key", sa.String(), nullable=True),
        sa.Column("handled_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_personal_data_requests_account", "personal_data_requests", ["account"])
    op.create_index("ix_personal_data_requests_status", "personal_data_requests", ["status"])
    op.create_table(
        "personal_data_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_personal_data_notes_dossier_code", "personal_data_notes", ["dossier_code"])
    op.create_index("ix_personal_data_notes_request_id", "personal_data_notes", ["request_id"])


def downgrade() -> None:
    op.drop_table("personal_data_notes")
    op.drop_table("personal_data_requests")
    op.drop_table("dossier_rating_history")
