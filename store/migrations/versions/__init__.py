"""Alembic revisions of the read model, oldest first by ``down_revision``."""
