"""Online payment requests (orders at the payment gateway) and the gateway's callbacks.

`payment_requests` holds each order as its PaymentWorkflow last recorded it (pending,
paid, expired, failed, refunded); `payment_callbacks` every signed callback received,
settled or refused.

Revision ID: 0015_payments
Revises: 0014_catalog_versions
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_payments"
down_revision: str | Sequence[str] | None = "0014_catalog_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def utc_datetime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payment_requests",
        sa.Column("order_id", sa.String(), primary_key=True),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("amount_vnd", sa.Integer(), nullable=False),
        sa.Column("lines", JSON, nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("requested_at", utc_datetime(), nullable=False),
        sa.Column("expires_at", utc_datetime(), nullable=False),
        sa.Column("payment_url", sa.Text(), nullable=True),
        sa.Column("qr_content", sa.Text(), nullable=True),
        sa.Column("transaction_id", sa.String(), nullable=True),
        sa.Column("method", sa.String(), nullable=True),
        sa.Column("settled_via", sa.String(), nullable=True),
        sa.Column("paid_at", utc_datetime(), nullable=True),
        sa.Column("settled_at", utc_datetime(), nullable=True),
        sa.Column("refund_id", sa.String(), nullable=True),
        sa.Column("refund_amount_vnd", sa.Integer(), nullable=True),
        sa.Column("refunded_at", utc_datetime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", utc_datetime(), nullable=False),
    )
    op.create_index("ix_payment_requests_dossier_code", "payment_requests", ["dossier_code"])
    op.create_index("ix_payment_requests_status", "payment_requests", ["status"])
    op.create_table(
        "payment_callbacks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("received_at", utc_datetime(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("transaction_id", sa.String(), nullable=False),
        sa.Column("amount_vnd", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_payment_callbacks_order_id", "payment_callbacks", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_payment_callbacks_order_id", table_name="payment_callbacks")
    op.drop_table("payment_callbacks")
    op.drop_index("ix_payment_requests_status", table_name="payment_requests")
    op.drop_index("ix_payment_requests_dossier_code", table_name="payment_requests")
    op.drop_table("payment_requests")
