"""Forecasts recover a known trend and crossing date from noisy synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.detectors import FloatArray
from analytics.forecasts import HealthLimit, forecast_crossing, usage_due

DAY = 86_400_000
NOW = 1_720_000_000_000
VIBRATION = HealthLimit("vibration_mm_s", 7.1, rising=True, unit="mm/s")


def history(
    days: int, start: float, per_day: float, noise: float, seed: int = 0
) -> tuple[FloatArray, FloatArray]:
    """Readings every 10 minutes over `days` days up to now, drifting linearly, with spikes."""
    rng = np.random.default_rng(seed)
    ts = np.arange(NOW - days * DAY, NOW, 600_000, dtype=np.float64)
    age_days = (ts - ts[0]) / DAY
    values: FloatArray = start + per_day * age_days + rng.normal(0.0, noise, ts.size)
    values[::97] *= 5  # sensor spikes must not move the forecast
    values[::131] = np.nan  # nor must dropouts
    return ts, values


def test_a_linear_drift_crosses_its_limit_when_the_line_says_within_two_days() -> None:
    ts, values = history(days=30, start=2.0, per_day=0.1, noise=0.4)
    forecast = forecast_crossing(ts, values, VIBRATION, NOW)
    level_now = 2.0 + 0.1 * 30
    true_crossing = NOW + (7.1 - level_now) / 0.1 * DAY  # 21 days from now
    assert forecast.slope_per_day == pytest.approx(0.1, rel=0.05)
    assert forecast.crossing_ms is not None
    assert abs(forecast.crossing_ms - true_crossing) < 2 * DAY
    assert forecast.earliest_ms is not None and forecast.latest_ms is not None
    assert forecast.earliest_ms <= true_crossing <= forecast.latest_ms
    assert "rising 0.1 mm/s a day" in forecast.reason and "in about 2" in forecast.reason


def test_more_noise_gives_a_wider_interval() -> None:
    quiet = forecast_crossing(*history(30, 2.0, 0.1, 0.1, seed=1), VIBRATION, NOW)
    noisy = forecast_crossing(*history(30, 2.0, 0.1, 1.5, seed=1), VIBRATION, NOW)
    width = [(f.latest_ms or 0) - (f.earliest_ms or 0) for f in (quiet, noisy)]
    assert width[1] > 2 * width[0] > 0


def test_a_falling_indicator_such_as_battery_voltage_under_load() -> None:
    battery = HealthLimit("voltage_under_load_v", 23.0, rising=False, unit="V")
    forecast = forecast_crossing(*history(20, 25.7, -0.05, 0.05), battery, NOW)
    assert forecast.crossing_ms is not None
    assert abs(forecast.crossing_ms - (NOW + (24.7 - 23.0) / 0.05 * DAY)) < 3 * DAY


def test_no_trend_means_no_date_and_a_passed_limit_means_now() -> None:
    flat = forecast_crossing(*history(30, 2.0, 0.0, 0.3), VIBRATION, NOW)
    assert flat.crossing_ms is None or flat.crossing_ms > NOW + 300 * DAY
    worn = forecast_crossing(*history(30, 8.0, 0.01, 0.3), VIBRATION, NOW)
    assert worn.crossing_ms == NOW and "past its limit" in worn.reason
    short = forecast_crossing(*history(1, 2.0, 0.1, 0.3), VIBRATION, NOW)
    assert short.crossing_ms is None and "too little history" in short.reason


def test_usage_due_dates_follow_the_counter_rate() -> None:
    ts = np.arange(NOW - 28 * DAY, NOW + 1, DAY, dtype=np.float64)
    trips = 1_234_000 + 500.0 * np.arange(ts.size, dtype=np.float64)  # 500 trips a day
    due = usage_due("trips", ts, trips, every=50_000, now_ms=NOW)
    assert due.per_day == pytest.approx(500.0)
    assert due.due_at_reading == 1_250_000
    assert due.due_ms == NOW + int((1_250_000 - trips[-1]) / 500 * DAY)
