"""What the scheduled jobs do with history: healthy stretches for refits, forecasts per device.

History comes through a small protocol (`HistorySource`); the InfluxDB adapter is
timeseries.InfluxHistory, wired in by facmon, so this stays pure and is tested with an
in-memory source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from analytics.alerts import Alert
from analytics.forecasts import HealthLimit, forecast_crossing, usage_due
from facility import (
    DeviceForecast,
    DeviceRef,
    EquipmentKind,
    HealthForecast,
    Reading,
    UsageForecast,
)

__all__ = ["HEALTH_LIMITS", "SERVICE_EVERY", "HistorySource", "forecasts_for", "healthy_history"]

DAY_MS = 86_400_000

# Maintenance limits managers plan against (ISO 10816 zone C/D for pump vibration; typical
# service-manual values for door close time, gate opening time and 24 V battery under load).
HEALTH_LIMITS: dict[EquipmentKind, HealthLimit] = {
    # a stopped pump does not vibrate: its idle readings would hide the trend of its bearings
    EquipmentKind.PUMP: HealthLimit(
        "vibration_mm_s", 7.1, rising=True, unit="mm/s", only_when="running"
    ),
    EquipmentKind.ELEVATOR: HealthLimit("door_close_time_s", 4.5, rising=True, unit="s"),
    EquipmentKind.FIRE_PANEL: HealthLimit("voltage_under_load_v", 23.0, rising=False, unit="V"),
    EquipmentKind.ACCESS_GATE: HealthLimit("open_time_s", 6.0, rising=True, unit="s"),
}

# Usage-based services: the meter and how much use between services.
SERVICE_EVERY: dict[EquipmentKind, tuple[str, float]] = {
    EquipmentKind.ELEVATOR: ("trips", 50_000),
    EquipmentKind.PUMP: ("run_hours_h", 4_000),
    EquipmentKind.ACCESS_GATE: ("opens", 100_000),
}


class HistorySource(Protocol):
    """Stored telemetry of one device over [since_ms, until_ms)."""

    def readings(self, device: DeviceRef, since_ms: int, until_ms: int) -> list[Reading]: ...

    def series(
        self,
        device: DeviceRef,
        field: str,
        since_ms: int,
        until_ms: int,
        only_when: str | None = None,
    ) -> tuple[list[float], list[float]]:
        """Times and values of one field; with `only_when`, of readings where that on/off
        field was on."""
        ...


def healthy_history(
    source: HistorySource, device: DeviceRef, now_ms: int, alerts: Sequence[Alert], days: float = 7
) -> list[Reading]:
    """The device's readings of the last `days`, without those inside any of its alerts."""
    spans = [
        (a.started_ms, a.cleared_ms if a.cleared_ms is not None else now_ms)
        for a in alerts
        if a.source == device
    ]
    readings = source.readings(device, now_ms - int(days * DAY_MS), now_ms)
    return [r for r in readings if not any(start <= r.ts_ms <= end for start, end in spans)]


def forecasts_for(source: HistorySource, device: DeviceRef, now_ms: int) -> DeviceForecast:
    """The health forecast and usage due date of one device."""
    health = usage = None
    limit = HEALTH_LIMITS.get(device.kind)
    if limit is not None:
        since_ms = now_ms - 30 * DAY_MS
        ts, values = source.series(device, limit.metric, since_ms, now_ms, limit.only_when)
        forecast = forecast_crossing(np.array(ts), np.array(values), limit, now_ms)
        health = HealthForecast(forecast.metric, forecast.crossing_ms, forecast.earliest_ms,
                                forecast.latest_ms, forecast.reason)  # fmt: skip
    service = SERVICE_EVERY.get(device.kind)
    if service is not None:
        meter, every = service
        ts, values = source.series(device, meter, now_ms - 28 * DAY_MS, now_ms)
        due = usage_due(meter, np.array(ts), np.array(values), every, now_ms)
        usage = UsageForecast(meter, due.reading, due.per_day, due.due_at_reading, due.due_ms)
    return DeviceForecast(device.site, device.kind.value, device.device, health, usage)
