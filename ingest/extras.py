"""Metrics outside the catalogue, remembered per device, and capped per site.

Integrators add sensors the catalogue does not know; their values are stored like any other,
and this registry tells which devices send which extra metrics (and since when). Every new name
becomes an InfluxDB field for good, so a site may bring only so many: names beyond the cap are
refused as `too_many_metrics` (the values are dead-lettered, the rest of the reading is stored).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from facility import DeviceRef, EquipmentKind, Reading, Record
from ingest.codec import Decoded, Reason, Rejection
from ingest.sqlite import connect_durable

# Uncatalogued metric names (per kind) one site may bring; the operator can change it.
DEFAULT_MAX_NEW_METRICS_PER_SITE = 100

Sighting = tuple[DeviceRef, str]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uncatalogued_metrics (
    site TEXT NOT NULL, kind TEXT NOT NULL, device TEXT NOT NULL, metric TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    PRIMARY KEY (site, kind, device, metric)
);
"""


class UncataloguedMetrics:
    """Which devices report which metrics the catalogue does not define.

    `admit` decides in memory (it runs on the MQTT thread and must not touch the disk);
    `note` makes sightings durable, from the writer thread, before their messages are
    acknowledged.
    """

    def __init__(self, path: Path, max_per_site: int = DEFAULT_MAX_NEW_METRICS_PER_SITE) -> None:
        self.max_per_site = max_per_site
        self._db = connect_durable(path, _SCHEMA)
        self._lock = threading.Lock()
        self._known = {(DeviceRef(s, EquipmentKind(k), d), m) for s, k, d, m in self._rows()}
        self._names: dict[str, set[tuple[EquipmentKind, str]]] = {}
        for device, metric in self._known:
            self._names.setdefault(device.site, set()).add((device.kind, metric))

    def _rows(self) -> list[tuple[str, str, str, str]]:
        with self._lock:
            return self._db.execute(
                "SELECT site, kind, device, metric FROM uncatalogued_metrics"
            ).fetchall()

    def close(self) -> None:
        self._db.close()

    def admit(self, device: DeviceRef, metric: str) -> bool:
        """True if the site already has this name, or still has room for a new one."""
        with self._lock:
            names = self._names.setdefault(device.site, set())
            name = (device.kind, metric)
            if name in names:
                return True
            if len(names) >= self.max_per_site:
                return False
            names.add(name)
            return True

    def note(self, sightings: Iterable[Sighting], seen_ms: int) -> None:
        """Record new (device, metric) pairs; pairs already known cost nothing. Idempotent,
        so a retry after a failure (a locked database) records each pair once."""
        with self._lock:
            new = set(sightings) - self._known
            if not new:
                return
            rows = [(d.site, d.kind.value, d.device, m, seen_ms) for d, m in new]
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


def refuse_beyond_cap(
    decoded: Decoded, admit: Callable[[DeviceRef, str], bool], limit: int
) -> list[Sighting]:
    """Drop the uncatalogued metrics `admit` refuses from the readings, with a rejection each;
    returns the sightings that were admitted."""
    if not decoded.uncatalogued or not decoded.records:
        return []
    source = decoded.records[0].source  # one message, one device (the topic's)
    refused = {name for name in sorted(decoded.uncatalogued) if not admit(source, name)}
    if refused:
        decoded.uncatalogued -= refused
        decoded.records = _without(decoded.records, refused)
        decoded.rejections += [_too_many(source, name, limit) for name in sorted(refused)]
    return [(source, name) for name in sorted(decoded.uncatalogued)]


def _without(records: list[Record], refused: set[str]) -> list[Record]:
    kept: list[Record] = []
    for record in records:
        if isinstance(record, Reading) and not refused.isdisjoint(record.metrics):
            metrics = {k: v for k, v in record.metrics.items() if k not in refused}
            if metrics:
                kept.append(Reading(record.source, record.ts_ms, metrics))
        else:
            kept.append(record)
    return kept


def _too_many(source: DeviceRef, name: str, limit: int) -> Rejection:
    return Rejection(
        Reason.TOO_MANY_METRICS,
        f"metrics.{name}: site {source.site} already has {limit} metric names outside the "
        "catalogue, the most it may have; ask the operator to raise the limit or to add the "
        "metric to the catalogue",
    )
