"""Metrics outside the catalogue, remembered per device.

Integrators add sensors the catalogue does not know; their values are stored like any other,
and this registry tells which devices send which extra metrics (and since when).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from facility import DeviceRef, EquipmentKind
from ingest.sqlite import connect_durable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uncatalogued_metrics (
    site TEXT NOT NULL, kind TEXT NOT NULL, device TEXT NOT NULL, metric TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    PRIMARY KEY (site, kind, device, metric)
);
"""


class UncataloguedMetrics:
    """Which devices report which metrics the catalogue does not define."""

    def __init__(self, path: Path) -> None:
        self._db = connect_durable(path, _SCHEMA)
        self._lock = threading.Lock()
        self._known = {(DeviceRef(s, EquipmentKind(k), d), m) for s, k, d, m in self._rows()}

    def _rows(self) -> list[tuple[str, str, str, str]]:
        with self._lock:
            return self._db.execute(
                "SELECT site, kind, device, metric FROM uncatalogued_metrics"
            ).fetchall()

    def close(self) -> None:
        self._db.close()

    def note(self, sightings: Iterable[tuple[DeviceRef, str]], seen_ms: int) -> None:
        """Record new (device, metric) pairs; pairs already known cost nothing."""
        new = set(sightings) - self._known
        if not new:
            return
        rows = [(d.site, d.kind.value, d.device, m, seen_ms) for d, m in new]
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO uncatalogued_metrics VALUES (?, ?, ?, ?, ?)", rows
            )
        self._known |= new

    def by_device(self) -> dict[DeviceRef, list[str]]:
        """Extra metric names per device, sorted, as stored (so also those noted by other
        ingest processes sharing the file)."""
        result: dict[DeviceRef, list[str]] = {}
        for site, kind, device, metric in sorted(self._rows()):
            result.setdefault(DeviceRef(site, EquipmentKind(kind), device), []).append(metric)
        return result
