"""A local, durable queue of line-protocol batches kept while InfluxDB is unreachable.

Each batch is one gzip file named by a sequence number, so replay keeps arrival order.
A batch is removed only after InfluxDB stored it; a crash mid-replay just replays it again,
which is harmless because InfluxDB writes are idempotent (same series and time overwrite).
"""

from __future__ import annotations

import gzip
import itertools
import json
import time
from pathlib import Path

from facility import fsync_directory, write_atomically

SUFFIX = ".json.gz"


class Spool:
    """Batches waiting for InfluxDB, oldest first."""

    def __init__(self, directory: Path, max_bytes: int = 2 * 1024**3) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob(f"*{SUFFIX}.tmp"):
            leftover.unlink()  # a crash mid-write: that batch was never acknowledged
        self._sequence = itertools.count(self._next_sequence())
        self._bytes = sum(p.stat().st_size for p in self.files())

    def _next_sequence(self) -> int:
        existing = [int(p.name.split(".")[0]) for p in self.files()]
        # Time-based start keeps names increasing even if the directory was emptied by hand.
        return max([*existing, time.time_ns() // 1000]) + 1

    def files(self) -> list[Path]:
        """Spooled batches, oldest first."""
        return sorted(self.directory.glob(f"*{SUFFIX}"))

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def has_room(self) -> bool:
        """False when full: the caller then stops acknowledging and lets the broker hold data."""
        return self._bytes < self.max_bytes

    def append(self, lines: list[str]) -> Path:
        """Durably add one batch; when this returns the batch survives a crash."""
        path = self.directory / f"{next(self._sequence):020d}{SUFFIX}"
        # JSON framing, not newlines: text fields may hold newlines inside one line.
        data = gzip.compress(json.dumps(lines).encode(), compresslevel=1)
        write_atomically(path, data)
        self._bytes += len(data)
        return path

    @staticmethod
    def read(path: Path) -> list[str]:
        lines: list[str] = json.loads(gzip.decompress(path.read_bytes()))
        return lines

    def remove(self, path: Path) -> None:
        size = path.stat().st_size
        path.unlink()
        fsync_directory(self.directory)
        self._bytes -= size
