"""Dead letters: every refused message or value, kept durably with its reason.

Nothing an integrator sends disappears silently. Each refusal is stored with the topic,
the start of the payload, a stable reason code and a sentence saying what to fix, and can
be listed and counted later (the API shows them to integrators).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.codec import Reason
from ingest.sqlite import connect_durable

PAYLOAD_EXCERPT_BYTES = 2048

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload TEXT NOT NULL,
    payload_bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_reason ON dead_letters (reason, received_ms);
"""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One refusal: what arrived, when, and why it was not stored."""

    received_ms: int
    topic: str
    reason: Reason
    detail: str
    payload: str
    payload_bytes: int

    @classmethod
    def of(
        cls, received_ms: int, topic: str, reason: Reason, detail: str, payload: bytes
    ) -> DeadLetter:
        """Keep the start of the payload: enough to recognise it, bounded in size."""
        excerpt = payload[:PAYLOAD_EXCERPT_BYTES].decode("utf-8", errors="replace")
        return cls(received_ms, topic, reason, _storable(detail), excerpt, len(payload))


def _storable(text: str) -> str:
    """Text SQLite can hold: a lone surrogate (from a JSON \\ud800 escape quoted in a detail)
    is kept visible as its escape sequence rather than failing the insert."""
    return text.encode("utf-8", errors="backslashreplace").decode("utf-8")


class DeadLetterStore:
    """Dead letters in a local SQLite file (WAL, fsync on commit)."""

    def __init__(self, path: Path) -> None:
        self._db = connect_durable(path, _SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def add(self, letters: Sequence[DeadLetter]) -> None:
        """Store letters in one transaction; durable when this returns."""
        if not letters:
            return
        rows = [
            (d.received_ms, d.topic, d.reason.value, d.detail, d.payload, d.payload_bytes)
            for d in letters
        ]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO dead_letters (received_ms, topic, reason, detail, payload,"
                    " payload_bytes) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self._db.execute("ROLLBACK")  # all or nothing: the message will come again
                raise
            self._db.execute("COMMIT")

    def counts_by_reason(self) -> dict[Reason, int]:
        with self._lock:
            rows = self._db.execute("SELECT reason, COUNT(*) FROM dead_letters GROUP BY reason")
            return {Reason(reason): count for reason, count in rows}

    def recent(self, limit: int = 100, reason: Reason | None = None) -> list[DeadLetter]:
        """Newest first, optionally of one reason."""
        query = (
            "SELECT received_ms, topic, reason, detail, payload, payload_bytes FROM dead_letters"
        )
        params: tuple[object, ...] = ()
        if reason is not None:
            query += " WHERE reason = ?"
            params = (reason.value,)
        query += " ORDER BY id DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(query, (*params, limit)).fetchall()
        return [DeadLetter(r[0], r[1], Reason(r[2]), r[3], r[4], r[5]) for r in rows]
