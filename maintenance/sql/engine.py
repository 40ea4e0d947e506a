"""Engines for the work-order database: SQLite gets WAL, foreign keys, a busy timeout and
BEGIN IMMEDIATE for writers, so two processes on one file queue for the write lock.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["BUSY_TIMEOUT_MS", "for_writing", "make_engine"]

BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another process's write lock
_WRITE = "facmon_write"  # execution option: this transaction will write (BEGIN IMMEDIATE)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and real BEGINs."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def for_writing(engine: Engine) -> Engine:
    """The same engine (and pool), its transactions taking the write lock up front: on SQLite
    two writers then queue instead of one failing on a snapshot the other made stale."""
    return engine.execution_options(**{_WRITE: True})


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _: ConnectionPoolEntry) -> None:
    """Per-connection settings (SQLite forgets all but journal_mode between connections).

    isolation_level None stops the sqlite3 module from issuing its own BEGINs, so ours apply.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous = FULL")  # a committed change survives a power cut
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """BEGIN IMMEDIATE for writers: take the write lock first, then read what to change."""
    writes = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
