"""Delivery of notifications: attempts, the last error, retries and claims.

`notification_outbox` gains what the sender (services/notify/) needs to deliver each
row once and say what happened: `attempts` (sends tried), `last_error` and
`last_attempt_at`, `next_attempt_at` (the backoff: not before), `failed_at` (given up
after the last attempt; `motcua outbox retry` queues it again), and the claim of the
sender working on it (`claimed_by`, `claimed_until`: a lease, so a sender that dies
mid-send leaves the row to another once the lease has run out).

Revision ID: 0006_outbox_delivery
Revises: 0005_actions
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.db import UTCDateTime

revision: str = "0006_outbox_delivery"
down_revision: str | Sequence[str] | None = "0005_actions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification_outbox") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_attempt_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("failed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("claimed_until", UTCDateTime(), nullable=True))
    op.create_index(
        "ix_notification_outbox_delivery",
        "notification_outbox",
        ["channel", "sent_at", "failed_at", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_notification_outbox_delivery", table_name="notification_outbox")
    with op.batch_alter_table("notification_outbox") as batch:
        for name in (
            "claimed_until",
            "claimed_by",
            "failed_at",
            "next_attempt_at",
            "last_attempt_at",
            "last_error",
            "attempts",
        ):
            batch.drop_column(name)
