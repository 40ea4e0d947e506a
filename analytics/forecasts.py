"""Maintenance forecasts: when a health indicator will cross its limit, and when usage says so.

Managers plan from dates, not scores. A health indicator (pump vibration, door close time,
battery voltage under load, gate opening time) is reduced to one robust value per day; a line
fitted to the recent days gives the date it reaches its maintenance limit, with an interval
from the slope's uncertainty, and a sentence saying why. Usage meters (trips, run hours,
gate cycles) give due dates from the rate at which the counter grows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analytics.detectors.base import FloatArray

__all__ = ["Forecast", "HealthLimit", "UsageDue", "daily_medians", "forecast_crossing", "usage_due"]

DAY_MS = 86_400_000


@dataclass(frozen=True)
class HealthLimit:
    """A maintenance limit on one indicator: `rising` indicators fail upwards (vibration)."""

    metric: str
    limit: float
    rising: bool = True
    unit: str = ""
    only_when: str | None = None  # an on/off metric: judge the indicator only while it is on


@dataclass(frozen=True)
class Forecast:
    """When an indicator crosses its limit: a best estimate and a (low, high) interval.

    Times are epoch ms; None means "not within the horizon" (no trend toward the limit).
    """

    metric: str
    level: float
    slope_per_day: float
    crossing_ms: int | None
    earliest_ms: int | None
    latest_ms: int | None
    reason: str


def daily_medians(ts_ms: FloatArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """One robust value per day (the median), so noise, spikes and daily rhythms wash out."""
    finite = np.isfinite(values)
    days = np.floor(ts_ms[finite] / DAY_MS)
    kept = values[finite]
    unique = np.unique(days)
    medians = np.array([np.median(kept[days == day]) for day in unique])
    return unique * DAY_MS + DAY_MS / 2, medians


def forecast_crossing(
    ts_ms: FloatArray,
    values: FloatArray,
    limit: HealthLimit,
    now_ms: int,
    horizon_days: float = 365.0,
    confidence_z: float = 1.96,
) -> Forecast:
    """Fit a line to daily medians and solve for the limit; the interval comes from the slope's
    standard error (the crossing date for slope ± z·SE), clipped to the horizon."""
    days_ms, medians = daily_medians(ts_ms, values)
    if medians.size < 3:
        last = float(medians[-1]) if medians.size else math.nan
        return _no_forecast(limit, last, 0.0, "too little history")
    x = (days_ms - now_ms) / DAY_MS  # days relative to now
    slope, intercept, slope_se = _fit(x, medians)
    level = intercept  # the fitted level now
    toward = slope > 0 if limit.rising else slope < 0
    already = level >= limit.limit if limit.rising else level <= limit.limit
    if already:
        return Forecast(limit.metric, level, slope, now_ms, now_ms, now_ms,
                        _reason(limit, level, slope, 0.0))  # fmt: skip
    if not toward:
        return _no_forecast(limit, level, slope, "no trend toward the limit")
    gap, margin = limit.limit - level, math.copysign(confidence_z * slope_se, slope)
    best = _days_to(gap, slope, horizon_days)
    fast = _days_to(gap, slope + margin, horizon_days)
    slow = _days_to(gap, slope - margin, horizon_days)
    return Forecast(
        limit.metric,
        level,
        slope,
        _at(now_ms, best),
        _at(now_ms, fast),
        _at(now_ms, slow),
        _reason(limit, level, slope, best),
    )


def _fit(x: FloatArray, y: FloatArray) -> tuple[float, float, float]:
    """Least-squares slope, intercept and the slope's standard error."""
    design = np.column_stack([x, np.ones_like(x)])
    coef, residuals, *_ = np.linalg.lstsq(design, y, rcond=None)
    dof = max(x.size - 2, 1)
    sigma2 = float(residuals[0]) / dof if residuals.size else 0.0
    spread = float(np.sum((x - x.mean()) ** 2))
    slope_se = math.sqrt(sigma2 / spread) if spread > 0 else math.inf
    return float(coef[0]), float(coef[1]), slope_se


def _days_to(gap: float, slope: float, horizon_days: float) -> float | None:
    """Days until a line with this slope covers the gap; None beyond the horizon or never."""
    if slope == 0 or (gap > 0) != (slope > 0):
        return None
    days = gap / slope
    return days if days <= horizon_days else None


def _at(now_ms: int, days: float | None) -> int | None:
    return None if days is None else int(now_ms + days * DAY_MS)


def _no_forecast(limit: HealthLimit, level: float, slope: float, why: str) -> Forecast:
    return Forecast(limit.metric, level, slope, None, None, None, f"{limit.metric}: {why}")


def _reason(limit: HealthLimit, level: float, slope: float, days: float | None) -> str:
    """The forecast in a sentence a manager can act on."""
    unit = f" {limit.unit}" if limit.unit else ""
    trend = f"{'rising' if slope > 0 else 'falling'} {abs(slope):.3g}{unit} a day"
    if days == 0:
        return f"{limit.metric} is {level:.3g}{unit}, past its limit of {limit.limit:g}{unit}"
    when = "beyond the horizon" if days is None else f"in about {days:.0f} days"
    return (f"{limit.metric} is {level:.3g}{unit} and {trend}; "
            f"it reaches its limit of {limit.limit:g}{unit} {when}")  # fmt: skip


@dataclass(frozen=True)
class UsageDue:
    """A usage-based service: the counter reading at which it is due, and when that will be."""

    meter: str
    reading: float
    per_day: float
    due_at_reading: float
    due_ms: int | None


def usage_due(
    meter: str,
    ts_ms: FloatArray,
    counter: FloatArray,
    every: float,
    now_ms: int,
    window_days: float = 28.0,
) -> UsageDue:
    """When the next service falls due, for a service every `every` units of the counter.

    The rate is the counter's growth over the last `window_days` (resets ignored: a smaller
    reading than the one before restarts the sum), so seasonal changes in use show up soon.
    """
    recent = ts_ms >= now_ms - window_days * DAY_MS
    t, c = ts_ms[recent & np.isfinite(counter)], counter[recent & np.isfinite(counter)]
    reading = float(c[-1]) if c.size else math.nan
    growth = float(np.sum(np.clip(np.diff(c), 0, None))) if c.size > 1 else 0.0
    span_days = float(t[-1] - t[0]) / DAY_MS if c.size > 1 else 0.0
    per_day = growth / span_days if span_days > 0 else 0.0
    due_at = (math.floor(reading / every) + 1) * every if math.isfinite(reading) else math.nan
    due_ms = int(now_ms + (due_at - reading) / per_day * DAY_MS) if per_day > 0 else None
    return UsageDue(meter, reading, per_day, due_at, due_ms)
