"""Open the ingest's local SQLite state so that a committed transaction survives a crash."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect_durable(path: Path, schema: str) -> sqlite3.Connection:
    """WAL with synchronous=FULL: a commit is on disk before we acknowledge a message."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(schema)
    return db
