"""Alembic migrations of the read model (run by ``store.db.migrate``)."""
