"""The SQL adapter of maintenance/: the Store protocols on SQLAlchemy 2 (SQLite or PostgreSQL).

It only moves data: rows in, frozen values out, no rules. One module per kind of record
(orders.py, alerts.py, keys.py, policies.py, plans.py, notifications.py, forecasts.py,
devices.py) over the
shared sessions (base.py), tables (schema.py, mirrors of the Alembic migrations) and engine
settings (engine.py); store.py composes them into SqlStore.

Updates to work orders and alerts are optimistic: ``UPDATE ... WHERE id = ? AND version = ?``.
Whoever changed it first wins; the other caller gets VersionConflict and nothing is overwritten.
On SQLite every write transaction starts with BEGIN IMMEDIATE, so two processes on one file
queue for the write lock (busy timeout) instead of failing on a stale snapshot.
"""

from maintenance.sql.devices import Crew, DeviceInfo, Technician
from maintenance.sql.engine import for_writing, make_engine
from maintenance.sql.schema import DatabaseNotMigrated, metadata
from maintenance.sql.store import SqlStore

__all__ = [
    "Crew",
    "DatabaseNotMigrated",
    "DeviceInfo",
    "SqlStore",
    "Technician",
    "for_writing",
    "make_engine",
    "metadata",
]
