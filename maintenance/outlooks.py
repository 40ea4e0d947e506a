"""Device outlooks (meters and forecasts) read from the analytics service's forecasts file.

The file is the interface between analytics and maintenance: analytics writes it whole and
renames it into place; the preventive-maintenance job reads it here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maintenance.jobs import DeviceOutlook


def read_outlooks(path: Path) -> dict[str, DeviceOutlook]:
    """Meters and forecasts from the analytics service's forecasts file ({} if none yet)."""
    try:
        devices = json.loads(path.read_text())["devices"]
    except (OSError, ValueError, KeyError):
        return {}
    return {key: _outlook(found) for key, found in devices.items()}


def _outlook(found: dict[str, Any]) -> DeviceOutlook:
    usage, health = found.get("usage") or {}, found.get("health") or {}
    crossing_ms = health.get("crossing_ms")
    crossing = None if crossing_ms is None else datetime.fromtimestamp(crossing_ms / 1000, UTC)
    return DeviceOutlook(usage.get("meter"), usage.get("reading"), usage.get("per_day"),
                         health.get("metric"), crossing)  # fmt: skip
