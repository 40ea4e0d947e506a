"""API keys (hashes only)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from maintenance.sql.base import Sessions, columns_of, inserted, require, values_of
from maintenance.sql.schema import ApiKeyRow
from maintenance.store import ApiKey

__all__ = ["SqlKeys"]


class SqlKeys(Sessions):
    """API keys (KeyStore)."""

    def add_key(self, key: ApiKey) -> ApiKey:
        with self._write() as session:
            return replace(key, id=inserted(session, ApiKeyRow(**values_of(key))).id)

    def has_keys(self) -> bool:
        """Whether any API key was ever created (the platform's first start has none)."""
        with self._read() as session:
            return session.scalar(select(ApiKeyRow.id).limit(1)) is not None

    def find_key(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, revoked or not (the caller checks revoked_at)."""
        with self._read() as session:
            row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash)).first()
            return None if row is None else ApiKey(**columns_of(row, ApiKey))

    def revoke_key(self, key_id: int, at: datetime) -> None:
        """Revoke a key; revoking it again keeps the first revocation time."""
        with self._write() as session:
            row = require(session, ApiKeyRow, key_id)
            if row.revoked_at is None:
                row.revoked_at = at
