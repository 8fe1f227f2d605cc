"""Initial read-model schema.

Dossier summaries, events, refused attempts, notification outbox, documents,
dossier-code sequences, agency inbox; idempotency keys, users seen, and the
catalog (agencies, procedure versions).

Revision ID: 0001
Revises:
Create Date: 2025-07-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# store.models.JSONType: JSONB on PostgreSQL, JSON (text) elsewhere.
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def utc_datetime() -> sa.DateTime:
    """store.db.UTCDateTime's storage: timestamptz on PostgreSQL, DATETIME on SQLite."""
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("procedure_code", sa.String(), nullable=False),
        sa.Column("procedure_version", sa.Integer(), nullable=False),
        sa.Column("procedure_name", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("centre_agency", sa.String(), nullable=False),
        sa.Column("competent_agency", sa.String(), nullable=False),
        sa.Column("current_step_id", sa.String(), nullable=True),
        sa.Column("current_step_kind", sa.String(), nullable=True),
        sa.Column("current_agency", sa.String(), nullable=True),
        sa.Column("current_role", sa.String(), nullable=True),
        sa.Column("step_due_at", utc_datetime(), nullable=True),
        sa.Column("submitted_at", utc_datetime(), nullable=False),
        sa.Column("received_at", utc_datetime(), nullable=True),
        sa.Column("appointment_at", utc_datetime(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("applicant_name", sa.String(), nullable=False),
        sa.Column("applicant_id_number", sa.String(), nullable=False),
        sa.Column("applicant_account", sa.String(), nullable=True),
        sa.Column("closed_at", utc_datetime(), nullable=True),
        sa.Column("updated_at", utc_datetime(), nullable=False),
        sa.Column("last_event_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    for column in (
        "applicant_account",
        "appointment_at",
        "centre_agency",
        "competent_agency",
        "current_agency",
        "procedure_code",
        "status",
    ):
        op.create_index(f"ix_dossiers_{column}", "dossiers", [column])
    op.create_index("ix_dossiers_submitted_at_code", "dossiers", ["submitted_at", "code"])

    op.create_table(
        "dossier_events",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", utc_datetime(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        sa.Column("actor_name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("agency", sa.String(), nullable=True),
        sa.Column("step_id", sa.String(), nullable=True),
        sa.Column("step_kind", sa.String(), nullable=True),
        sa.Column("status_before", sa.String(), nullable=True),
        sa.Column("status_after", sa.String(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dossier_events_dossier_code", "dossier_events", ["dossier_code"])

    op.create_table(
        "refused_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("attempt_id", sa.String(), nullable=True),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("at", utc_datetime(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        sa.Column("actor_name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("agency", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id", name="uq_refused_attempts_attempt_id"),
    )
    op.create_index("ix_refused_attempts_dossier_code", "refused_attempts", ["dossier_code"])

    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("recipient_role", sa.String(), nullable=True),
        sa.Column("recipient_agency", sa.String(), nullable=True),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("sent_at", utc_datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_outbox_dossier_code", "notification_outbox", ["dossier_code"])
    op.create_index(
        "ix_notification_outbox_pending", "notification_outbox", ["sent_at", "created_at"]
    )

    op.create_table(
        "documents",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("form", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_documents_dossier_code", "documents", ["dossier_code"])

    op.create_table(
        "dossier_sequences",
        sa.Column("agency_code", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agency_code", "day"),
    )

    op.create_table(
        "agency_inbox",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("agency_code", sa.String(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("run_index", sa.Integer(), nullable=False),
        sa.Column("received_at", utc_datetime(), nullable=False),
        sa.Column("worker_identity", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agency_inbox_agency_code", "agency_inbox", ["agency_code"])
    op.create_index("ix_agency_inbox_dossier_code", "agency_inbox", ["dossier_code"])

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("principal", sa.String(), nullable=False),
        sa.Column("request_sha256", sa.String(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=True),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("key", "principal"),
    )

    op.create_table(
        "users_seen",
        sa.Column("sub", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("roles", JSON, nullable=False),
        sa.Column("agency", sa.String(), nullable=True),
        sa.Column("first_seen", utc_datetime(), nullable=False),
        sa.Column("last_seen", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("sub"),
    )

    op.create_table(
        "agencies",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("parent", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )

    op.create_table(
        "procedures",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("competent_agency", sa.String(), nullable=False),
        sa.Column("statutory_value", sa.Float(), nullable=False),
        sa.Column("statutory_unit", sa.String(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("definition", JSON, nullable=False),
        sa.PrimaryKeyConstraint("code", "version"),
    )


def downgrade() -> None:
    for table in (
        "procedures",
        "agencies",
        "users_seen",
        "idempotency_keys",
        "agency_inbox",
        "dossier_sequences",
        "documents",
        "notification_outbox",
        "refused_attempts",
        "dossier_events",
        "dossiers",
    ):
        op.drop_table(table)  # drops the table's indexes with it
