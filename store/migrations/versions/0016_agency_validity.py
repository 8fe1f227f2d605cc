"""Agencies with their validity and successor (two-level local government).

`agencies` gains what the catalog's agencies carry since communes merge: the place its
documents are dated at, the days it exists (`valid_from`, `valid_to`: the last day), the
agency that takes over its work (`successor`), and when the row last changed (the
processes holding the catalog reload it when an agency changes, not only when one is
added). Rows already there are valid, open-ended, with no successor.

Revision ID: 0016_agency_validity
Revises: 0014_catalog_versions
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.db import UTCDateTime

revision: str = "0016_agency_validity"
down_revision: str | Sequence[str] | None = "0015_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(sa.Column("place", sa.String(), nullable=True))
        batch.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("valid_to", sa.Date(), nullable=True))
        batch.add_column(sa.Column("successor", sa.String(), nullable=True))
        batch.add_column(sa.Column("changed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        for name in ("changed_at", "successor", "valid_to", "valid_from", "place"):
            batch.drop_column(name)
