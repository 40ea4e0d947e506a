"""Alembic migrations of the maintenance database; run them with `facmon db upgrade`."""
