"""Forecasts: when each device is expected to need service, as analytics computes them.

These records cross a process boundary: the analytics service writes them (one refresh at a
time, into the work-order database through maintenance's ForecastStore), and the API and the
preventive-maintenance job read them. They live on the ground floor because both sides need
the one type, and analytics may import nothing else. Times are epoch milliseconds (UTC), as in
the readings they come from.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DeviceForecast", "ForecastRun", "HealthForecast", "UsageForecast"]


@dataclass(frozen=True)
class HealthForecast:
    """When a health indicator is expected to cross its maintenance limit (None: not within
    the horizon, or too little data; `reason` says which)."""

    metric: str
    crossing_ms: int | None
    earliest_ms: int | None = None  # the confidence band around the crossing
    latest_ms: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class UsageForecast:
    """A usage meter, its rate, and when it reaches the reading at which service is due."""

    meter: str
    reading: float
    per_day: float
    due_at: float  # the meter reading at which the next service is due
    due_ms: int | None


@dataclass(frozen=True)
class DeviceForecast:
    """One device's forecasts; owned by analytics, which computes them."""

    site: str
    kind: str
    device: str
    health: HealthForecast | None = None
    usage: UsageForecast | None = None


@dataclass(frozen=True)
class ForecastRun:
    """The forecasts of the latest refresh, all written together (computed_ms None and no
    devices until analytics has written any)."""

    computed_ms: int | None
    devices: tuple[DeviceForecast, ...] = ()
