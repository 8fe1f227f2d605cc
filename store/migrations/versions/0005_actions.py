"""Actions: who may read a dossier from its row alone, and Idempotency-Key of actions.

`dossiers` gains `step_agencies` (every agency of the dossier's steps, as resolved at
submission): with the centre and the competent agency on the row, the API turns away a
caller who may not read the dossier without asking its workflow (NULL on rows projected
before: the workflow is asked, as before). `action_requests` holds the Idempotency-Key
of each action, per dossier and caller: the body's hash and the answer.

Revision ID: 0005_actions
Revises: 0005_audit_log_chain
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_actions"
down_revision: str | Sequence[str] | None = "0005_audit_log_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def utc_datetime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


# store.models.JSONType: JSONB on PostgreSQL, JSON (text) elsewhere.
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("step_agencies", JSON, nullable=True))
    op.create_table(
        "action_requests",
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("principal", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("request_sha256", sa.String(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", JSON, nullable=True),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("answered_at", utc_datetime(), nullable=True),
        sa.PrimaryKeyConstraint("dossier_code", "principal", "key"),
    )
    op.create_index("ix_action_requests_created_at", "action_requests", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_action_requests_created_at", table_name="action_requests")
    op.drop_table("action_requests")
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("step_agencies")
