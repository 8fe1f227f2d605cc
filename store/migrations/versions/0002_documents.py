"""Documents as files: PDFs in the content-addressed store, with their signers.

Forms, results and uploads keep their bytes in the document store (by SHA-256);
the row says what the file is, how big, where it came from and who signed it.
Rows from 0001 (HTML forms kept in `content`) stay readable.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("filename", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("size", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("source", sa.String(), nullable=False, server_default="form"))
        batch.add_column(sa.Column("signers", JSON, nullable=True))
    op.create_index("ix_documents_sha256", "documents", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_documents_sha256", table_name="documents")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("signers")
        batch.drop_column("source")
        batch.drop_column("size")
        batch.drop_column("filename")
