"""The lift model: its rhythm and physics look right, and every fault leaves its signature."""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Sequence

import pytest

from facility import CATALOGUE, DeviceRef, EquipmentKind, MetricType
from simulators.equipment.base import MetricValue
from simulators.equipment.elevator import ElevatorModel, draw_lift_nameplate, hoist_current_a
from simulators.faults import DAY_MS, HOUR_MS, Fault, FaultType
from tests.unit.model_runs import Run, drive

MONDAY = 1_714_348_800_000  # 2024-04-29 00:00 UTC, a Monday
MINUTE_MS = 60_000
LIFT = DeviceRef("tower", EquipmentKind.ELEVATOR, "lift-1")
SPECS = CATALOGUE[EquipmentKind.ELEVATOR]


def simulate(
    seed: int, start_ms: int, end_ms: int, dt_s: float, faults: Sequence[Fault] = ()
) -> Run:
    """Drive a fresh model of this kind from start to end under `faults`."""
    return drive(ElevatorModel, seed, start_ms, end_ms, dt_s, faults)


def fault(kind: FaultType, onset_ms: int, lead_ms: int, repair_ms: int) -> Fault:
    return Fault(LIFT, kind, onset_ms, onset_ms + lead_ms, onset_ms + lead_ms + repair_ms)


def trips_in(run: Run, start_ms: int, end_ms: int) -> float:
    rows = run.between(start_ms, end_ms)
    return float(rows[-1]["trips"]) - float(rows[0]["trips"])


def slope_per_day(ts: list[int], values: list[float]) -> float:
    days = [t / DAY_MS for t in ts]
    return statistics.linear_regression(days, values).slope


def vibrations(rows: list[tuple[int, dict[str, MetricValue]]]) -> list[float]:
    return [float(row["vibration_mm_s"]) for _, row in rows]


def moving(run: Run, start_ms: int, end_ms: int) -> list[tuple[int, dict[str, MetricValue]]]:
    return [
        (ts, row)
        for ts, row in zip(run.ts, run.rows, strict=True)
        if start_ms < ts <= end_ms and row["speed_m_s"] != 0
    ]


# -- contract --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dt_s", "days"), [(1.0, 1 / 12), (60.0, 7.0), (3600.0, 28.0)], ids=["1s", "60s", "1h"]
)
def test_every_catalogue_metric_is_reported_within_its_range(dt_s: float, days: float) -> None:
    run = simulate(11, MONDAY + 7 * HOUR_MS, MONDAY + 7 * HOUR_MS + int(days * DAY_MS), dt_s)
    assert len(run.rows) >= 300
    for row in run.rows:
        assert set(row) == set(SPECS)
        for name, value in row.items():
            assert SPECS[name].admits(float(value)), (name, value)
    for name, spec in SPECS.items():
        if spec.type is MetricType.COUNTER:
            values = run.series(name)
            assert all(v == int(v) for v in values)
            assert all(b >= a for a, b in itertools.pairwise(values))
            assert values[-1] > values[0]
    assert set(ElevatorModel.sensors) == {n for n, s in SPECS.items() if s.type is MetricType.GAUGE}


def test_starts_settled_rather_than_warming_up() -> None:
    """The first hour's temperature is where the same hour sits a day later."""
    run = simulate(5, MONDAY + 10 * HOUR_MS, MONDAY + 35 * HOUR_MS, 60.0)
    first = statistics.fmean(run.series("machine_temp_c")[:60])
    day_later = statistics.fmean(run.series("machine_temp_c")[24 * 60 : 25 * 60])
    assert abs(first - day_later) < 3.0
    assert run.rows[0]["trips"] > 100_000  # an installed lift, not a new one


def test_same_seed_same_output_and_another_seed_differs() -> None:
    faults = [fault(FaultType.DOOR_OPERATOR_WEAR, MONDAY + DAY_MS, 2 * DAY_MS, 3 * HOUR_MS)]
    first = simulate(3, MONDAY, MONDAY + 4 * DAY_MS, 300.0, faults)
    again = simulate(3, MONDAY, MONDAY + 4 * DAY_MS, 300.0, faults)
    other = simulate(4, MONDAY, MONDAY + 4 * DAY_MS, 300.0, faults)
    assert first.rows == again.rows
    assert first.events == again.events
    assert first.rows != other.rows


# -- rhythm and physics ------------------------------------------------------------------------


def test_weekday_morning_rush_far_busier_than_the_night() -> None:
    run = simulate(7, MONDAY, MONDAY + 5 * DAY_MS, 60.0)
    days = [MONDAY + d * DAY_MS for d in range(5)]
    rush = sum(trips_in(run, day + 450 * MINUTE_MS, day + 510 * MINUTE_MS) for day in days)
    night = sum(trips_in(run, day + 150 * MINUTE_MS, day + 210 * MINUTE_MS) for day in days)
    assert rush > 8 * max(night, 1.0)
    assert rush / 5 > 40  # a busy residential lift in its rush hour


def test_morning_passengers_ride_down_evening_passengers_ride_up() -> None:
    run = simulate(8, MONDAY, MONDAY + 5 * DAY_MS, 60.0)

    def loaded_up_share(from_h: float, to_h: float) -> float:
        rows = [
            row
            for day in (MONDAY + d * DAY_MS for d in range(5))
            for _, row in moving(run, day + int(from_h * HOUR_MS), day + int(to_h * HOUR_MS))
            if float(row["load_kg"]) > 0
        ]
        return sum(float(row["speed_m_s"]) > 0 for row in rows) / len(rows)

    assert loaded_up_share(7.0, 9.0) < 0.35
    assert loaded_up_share(17.5, 19.5) > 0.65


@pytest.mark.parametrize("seed", range(5))
def test_hoist_current_follows_load_against_the_counterweight(seed: int) -> None:
    plate = draw_lift_nameplate(random.Random(seed))
    full, balanced = plate.rated_load_kg, plate.balance * plate.rated_load_kg
    assert hoist_current_a(plate, full, +1) > 1.5 * hoist_current_a(plate, 0.0, +1)
    assert hoist_current_a(plate, 0.0, -1) > 1.2 * hoist_current_a(plate, full, -1)
    # near balance the motor only fights friction: the least current either way
    least = hoist_current_a(plate, balanced, +1)
    assert least < 0.35 * hoist_current_a(plate, full, +1)
    assert least < 0.35 * hoist_current_a(plate, 0.0, -1)


def test_reported_current_follows_load_and_direction() -> None:
    """In the data: an empty car going down lifts the counterweight and draws the most."""
    run = simulate(9, MONDAY, MONDAY + 7 * DAY_MS, 60.0)
    rows = [row for _, row in moving(run, MONDAY, MONDAY + 7 * DAY_MS)]

    def current(up: bool, low_kg: float, high_kg: float) -> float:
        return statistics.fmean(
            float(row["motor_current_a"])
            for row in rows
            if (float(row["speed_m_s"]) > 0) == up and low_kg <= float(row["load_kg"]) < high_kg
        )

    empty_down, empty_up = current(False, 0, 1), current(True, 0, 1)
    assert empty_down > 1.3 * empty_up
    assert current(False, 200, 400) < 0.7 * empty_down  # passengers balance the counterweight
    assert current(True, 200, 400) < 0.7 * empty_up
    standby = [float(r["motor_current_a"]) for r in run.rows if r["speed_m_s"] == 0]
    assert max(standby) < min(float(row["motor_current_a"]) for row in rows)


def test_machine_temperature_lags_usage() -> None:
    """Temperature peaks after the rush, and cools over tens of minutes once the lift stops."""
    run = simulate(10, MONDAY, MONDAY + 5 * DAY_MS, 60.0)
    trips = run.series("trips")
    temps = run.series("machine_temp_c")
    usage = [b - a for a, b in itertools.pairwise(trips)]
    usage = [statistics.fmean(usage[max(0, i - 15) : i + 15]) for i in range(len(usage))]

    def correlation_at(lag_min: int) -> float:
        return statistics.correlation(usage[: len(usage) - lag_min], temps[1 + lag_min :])

    best_lag = max(range(0, 181, 5), key=correlation_at)
    assert 15 <= best_lag <= 90

    stop = MONDAY + 18 * HOUR_MS + 30 * MINUTE_MS  # an entrapment stops it in the evening rush
    entrapment = fault(FaultType.ENTRAPMENT, stop, 0, 3 * HOUR_MS)
    stuck = simulate(10, MONDAY, stop + 3 * HOUR_MS, 60.0, [entrapment])
    at_stop = stuck.between(stop - MINUTE_MS, stop)[0]["machine_temp_c"]
    ten_min = stuck.between(stop + 9 * MINUTE_MS, stop + 10 * MINUTE_MS)[0]["machine_temp_c"]
    late = stuck.between(stop + 179 * MINUTE_MS, stop + 180 * MINUTE_MS)[0]["machine_temp_c"]
    total_drop = float(at_stop) - float(late)
    assert total_drop > 4.0
    assert 0.1 * total_drop < float(at_stop) - float(ten_min) < 0.45 * total_drop


# -- faults ------------------------------------------------------------------------------------


def cycles_per_trip(rows: list[dict[str, MetricValue]]) -> float:
    """Door cycles per trip: one per stop, more when the door reverses and recloses."""
    cycles = float(rows[-1]["door_cycles"]) - float(rows[0]["door_cycles"])
    return cycles / (float(rows[-1]["trips"]) - float(rows[0]["trips"]))


def mean_of(rows: list[dict[str, MetricValue]], name: str) -> float:
    return statistics.fmean(float(row[name]) for row in rows)


def assert_out_of_service(run: Run, failure_ms: int, repaired_ms: int, reason: str) -> None:
    """One out_of_service event with `reason` at failure, no trips until repair, then back."""
    out = run.of_type("out_of_service")
    assert [e.attributes["reason"] for e in out] == [reason]
    assert failure_ms <= out[0].ts_ms < failure_ms + 10 * MINUTE_MS
    down = run.between(failure_ms + 10 * MINUTE_MS, repaired_ms - 1)
    assert len(down) > 10
    assert {row["trips"] for row in down} == {down[0]["trips"]}
    assert all(row["speed_m_s"] == 0 for row in down)
    back = run.of_type("in_service")
    assert len(back) == 1
    assert repaired_ms <= back[0].ts_ms < repaired_ms + 10 * MINUTE_MS
    assert trips_in(run, repaired_ms, run.ts[-1]) > 0


def test_door_operator_wear_slows_the_door_then_stops_the_lift() -> None:
    onset, lead, repair = MONDAY + 2 * DAY_MS, 7 * DAY_MS, 3 * HOUR_MS
    wear = fault(FaultType.DOOR_OPERATOR_WEAR, onset, lead, repair)
    run = simulate(21, MONDAY, onset + lead + DAY_MS, 60.0, [wear])
    healthy = run.between(MONDAY, onset)
    last_fifth = run.between(onset + lead * 4 // 5, onset + lead)
    for name in ("door_close_time_s", "door_current_a"):
        before = [float(row[name]) for row in healthy]
        mean, sd = statistics.fmean(before), statistics.stdev(before)
        assert statistics.fmean(float(row[name]) for row in last_fifth) > mean + 3 * sd, name
    close_times = [float(row["door_close_time_s"]) for row in last_fifth]
    assert statistics.median(close_times) > 5.0  # ~3 s healthy: nearly twice as slow
    assert cycles_per_trip(last_fifth) > cycles_per_trip(healthy) + 0.15  # door reverses
    assert float(run.between(onset + lead, onset + lead + MINUTE_MS)[0]["door_close_time_s"]) > 15
    assert_out_of_service(run, onset + lead, onset + lead + repair, "door_operator")


def test_hoist_bearing_wear_raises_vibration_and_late_heat() -> None:
    onset, lead, repair = MONDAY, 14 * DAY_MS, 12 * HOUR_MS
    start = onset - 7 * DAY_MS  # a healthy week first; the wear ends on a Sunday
    wear = fault(FaultType.HOIST_BEARING_WEAR, onset, lead, repair)
    run = simulate(22, start, onset + lead + DAY_MS, 120.0, [wear])
    before = moving(run, start, onset)
    after = moving(run, onset, onset + lead)
    slope_before = slope_per_day([ts for ts, _ in before], vibrations(before))
    slope_after = slope_per_day([ts for ts, _ in after], vibrations(after))
    assert slope_after > 0.15  # mm/s per day, from ~0.8 to past 4 in two weeks
    assert slope_after > 10 * abs(slope_before)
    last_day = moving(run, onset + lead - DAY_MS, onset + lead)
    assert statistics.median(vibrations(last_day)) > 4.0
    assert statistics.median(vibrations(before)) < 1.3
    healthy_c = mean_of(run.between(onset - DAY_MS, onset), "machine_temp_c")  # a Sunday
    final_c = mean_of(run.between(onset + lead - DAY_MS, onset + lead), "machine_temp_c")
    assert final_c > healthy_c + 3.0  # the last Sunday of the wear against the one before
    early_c = mean_of(run.between(onset + 6 * DAY_MS, onset + 7 * DAY_MS), "machine_temp_c")
    assert early_c < healthy_c + 1.5  # the heat comes late
    assert_out_of_service(run, onset + lead, onset + lead + repair, "hoist_bearing")


def test_leveling_drift_moves_the_stops_off_the_landing() -> None:
    onset, lead, repair = MONDAY + DAY_MS, 6 * DAY_MS, 2 * HOUR_MS
    wear = fault(FaultType.LEVELING_DRIFT, onset, lead, repair)
    run = simulate(23, MONDAY, onset + lead + DAY_MS, 60.0, [wear])
    healthy = [float(row["leveling_error_mm"]) for row in run.between(MONDAY, onset)]
    last_fifth = run.between(onset + lead * 4 // 5, onset + lead)
    worn = [float(row["leveling_error_mm"]) for row in last_fifth]
    assert abs(statistics.fmean(healthy)) < 3.0
    assert sum(abs(e) > 10.0 for e in healthy) < 0.01 * len(healthy)  # the standard's ±10 mm
    assert abs(statistics.fmean(worn)) > 12.0
    assert statistics.stdev(worn) > 2.5 * statistics.stdev(healthy)
    assert sum(abs(e) > 20.0 for e in worn) > 0.2 * len(worn)  # a trip hazard
    assert_out_of_service(run, onset + lead, onset + lead + repair, "leveling")


@pytest.mark.parametrize("dt_s", [1.0, 60.0, 3600.0])
def test_entrapment_reported_once_at_onset_and_lift_held(dt_s: float) -> None:
    onset = MONDAY + 8 * HOUR_MS + 17 * MINUTE_MS + 23_456  # not on a step boundary
    repair = 90 * MINUTE_MS
    end = onset + repair + (30 * MINUTE_MS if dt_s < 3600 else 6 * HOUR_MS)
    entrapment = fault(FaultType.ENTRAPMENT, onset, 0, repair)
    run = simulate(24, MONDAY + 8 * HOUR_MS, end, dt_s, [entrapment])
    entrapments = run.of_type("entrapment")
    assert [e.ts_ms for e in entrapments] == [onset]
    assert float(entrapments[0].attributes["passengers"]) >= 1
    assert [e.ts_ms for e in run.of_type("out_of_service")] == [onset]
    during = run.between(onset, onset + repair)
    assert {row["trips"] for row in during} == {during[0]["trips"]}
    assert all(row["speed_m_s"] == 0 and float(row["load_kg"]) > 20 for row in during)
    assert trips_in(run, onset + repair, end) > 0
    assert len(run.of_type("in_service")) == 1


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (FaultType.DOOR_OPERATOR_WEAR, "door_operator"),
        (FaultType.HOIST_BEARING_WEAR, "hoist_bearing"),
        (FaultType.LEVELING_DRIFT, "leveling"),
    ],
)
def test_hourly_readings_stamp_failure_and_repair_at_their_instant(
    kind: FaultType, reason: str
) -> None:
    onset = MONDAY + DAY_MS + 17 * MINUTE_MS + 23_456  # nothing on a step boundary
    lead, repair = 3 * DAY_MS + 41 * MINUTE_MS + 789, 2 * HOUR_MS + 13 * MINUTE_MS + 101
    failure, repaired = onset + lead, onset + lead + repair
    run = simulate(25, MONDAY, repaired + DAY_MS, 3600.0, [fault(kind, onset, lead, repair)])
    out = run.of_type("out_of_service")
    assert [(e.ts_ms, e.attributes["reason"]) for e in out] == [(failure, reason)]
    back = run.of_type("in_service")
    assert [e.ts_ms for e in back] == [repaired]
    assert back[0].attributes["downtime_s"] == repair / 1000
    down = run.between(failure, repaired)
    assert len(down) == 3  # 01:00, 02:00 and 03:00
    assert {row["trips"] for row in down} == {run.at(failure)["trips"]}
    assert trips_in(run, repaired - HOUR_MS, repaired + HOUR_MS) > 0  # back at the next reading


def test_entrapment_between_two_hourly_readings_still_reported() -> None:
    """Freed 25 minutes later: reported at its instants, and gone at the next reading."""
    onset = MONDAY + 10 * HOUR_MS + 12 * MINUTE_MS + 345
    repair = 25 * MINUTE_MS
    entrapment = fault(FaultType.ENTRAPMENT, onset, 0, repair)
    run = simulate(26, MONDAY + 8 * HOUR_MS, MONDAY + 14 * HOUR_MS, 3600.0, [entrapment])
    assert [(e.type, e.ts_ms) for e in run.events] == [
        ("entrapment", onset),
        ("out_of_service", onset),
        ("in_service", onset + repair),
    ]
    assert run.of_type("in_service")[0].attributes["downtime_s"] == repair / 1000
    after = run.between(onset, onset + HOUR_MS)[0]
    assert after["trips"] > run.at(onset)["trips"]  # not held out of service
    assert abs(float(after["leveling_error_mm"])) < 30.0  # not left between floors
