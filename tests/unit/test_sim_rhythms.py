"""Usage rhythms: commuter peaks on weekdays, a later and flatter weekend, quiet nights."""

from __future__ import annotations

from simulators.rhythms import elevator_traffic, gate_traffic, water_demand

WEDNESDAY = 1_714_521_600_000  # 2024-05-01T00:00Z
SATURDAY = WEDNESDAY + 3 * 86_400_000
HOUR = 3_600_000


def at(day_ms: int, hour: float) -> int:
    return day_ms + int(hour * HOUR)


def test_lifts_peak_in_the_weekday_morning_and_evening_and_sleep_at_night() -> None:
    assert elevator_traffic(at(WEDNESDAY, 8)) > 0.9
    assert elevator_traffic(at(WEDNESDAY, 18.5)) > 0.8
    assert elevator_traffic(at(WEDNESDAY, 3)) < 0.06
    assert elevator_traffic(at(WEDNESDAY, 8)) > 3 * elevator_traffic(at(WEDNESDAY, 10.5))


def test_weekends_lose_the_commuter_peak_and_spread_over_the_day() -> None:
    assert elevator_traffic(at(SATURDAY, 8)) < 0.5 * elevator_traffic(at(WEDNESDAY, 8))
    assert elevator_traffic(at(SATURDAY, 11)) > elevator_traffic(at(WEDNESDAY, 11))
    assert gate_traffic(at(SATURDAY, 7.8)) < 0.5 * gate_traffic(at(WEDNESDAY, 7.8))


def test_water_demand_has_a_morning_and_an_evening_hump_and_a_weekend_lie_in() -> None:
    day = [water_demand(at(WEDNESDAY, h / 4)) for h in range(96)]
    morning_peak = max(range(96), key=lambda i: day[i] if i < 48 else 0) / 4
    evening_peak = max(range(48, 96), key=lambda i: day[i]) / 4
    assert 6.5 <= morning_peak <= 8 and 18.5 <= evening_peak <= 20.5
    assert min(day) < 0.1 and max(day) > 0.9
    assert water_demand(at(SATURDAY, 8.7)) > water_demand(at(SATURDAY, 7.2))
