"""Daily and weekly rhythms of a residential building: when people ride, draw water and come in.

Each function maps a simulated instant to an intensity between 0 and 1 (1 = the busiest moment of
an ordinary weekday). Times are the site's local time; the simulators treat UTC as local time so
that a chart's x axis reads as the building lives. Curves are sums of smooth peaks rather than
step tables, so rates change gradually as they do in a real building.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = ["elevator_traffic", "gate_traffic", "hour_of_day", "is_weekend", "water_demand"]


def hour_of_day(ts_ms: int) -> float:
    """Fractional hour of the day, 0 <= h < 24.

    >>> hour_of_day(1_714_521_600_000 + 90 * 60_000)  # 2024-05-01 01:30 UTC
    1.5
    """
    return (ts_ms % 86_400_000) / 3_600_000


def is_weekend(ts_ms: int) -> bool:
    """Saturday or Sunday."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC).weekday() >= 5


def _peak(hour: float, centre: float, width_h: float) -> float:
    """A bell-shaped bump at `centre` o'clock, wrapping around midnight."""
    distance = min(abs(hour - centre), 24 - abs(hour - centre))
    return math.exp(-0.5 * (distance / width_h) ** 2)


def elevator_traffic(ts_ms: int) -> float:
    """Residential lift demand: a sharp morning down-peak, a broad evening up-peak, quiet nights.

    Weekends lose the commuter peaks and gain a late-morning and afternoon spread.
    """
    hour = hour_of_day(ts_ms)
    if is_weekend(ts_ms):
        level = 0.45 * _peak(hour, 11.0, 2.5) + 0.4 * _peak(hour, 17.0, 3.0)
    else:
        level = 1.0 * _peak(hour, 8.0, 0.9) + 0.35 * _peak(hour, 12.5, 1.2)
        level += 0.85 * _peak(hour, 18.5, 1.6)
    return min(1.0, 0.03 + level)


def water_demand(ts_ms: int) -> float:
    """Domestic water demand: the classic double hump, a morning shower peak and an evening one.

    Night demand stays at a few percent (leaks, cisterns), which is what booster pumps see.
    """
    hour = hour_of_day(ts_ms)
    shift = 1.5 if is_weekend(ts_ms) else 0.0  # people sleep in
    level = 1.0 * _peak(hour, 7.2 + shift, 1.1) + 0.8 * _peak(hour, 19.5, 1.8)
    level += 0.35 * _peak(hour, 13.0, 2.0)
    return min(1.0, 0.05 + level)


def gate_traffic(ts_ms: int) -> float:
    """Entrance gate openings: out in the morning rush, back in the evening, deliveries by day."""
    hour = hour_of_day(ts_ms)
    if is_weekend(ts_ms):
        level = 0.5 * _peak(hour, 11.5, 3.0) + 0.45 * _peak(hour, 18.0, 2.5)
    else:
        level = 0.95 * _peak(hour, 7.8, 0.8) + 0.3 * _peak(hour, 13.0, 2.5)
        level += 0.9 * _peak(hour, 18.2, 1.3)
    return min(1.0, 0.02 + level)
