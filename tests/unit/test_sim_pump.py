"""The booster pump model: physics an engineer expects, and each fault's signature in the data.

Faulty runs are compared with a healthy twin built from the same seed: the model draws the same
random numbers whatever its faults, so the twin is the same pump on the same days without the
fault, and any difference is the fault's doing.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pytest

from facility import CATALOGUE, DeviceRef, EquipmentKind
from simulators.equipment.base import DeviceEvent
from simulators.equipment.pump import PumpModel
from simulators.faults import HOUR_MS, Fault, FaultType
from tests.unit.model_runs import Sample, steps

MONDAY = 1_714_953_600_000  # 2024-05-06 00:00 UTC
PUMP = DeviceRef("site", EquipmentKind.PUMP, "pump-1")
SPECS = CATALOGUE[EquipmentKind.PUMP]


def at(hours: float) -> int:
    return MONDAY + round(hours * HOUR_MS)


def fault(kind: FaultType, onset_h: float, failure_h: float, repaired_h: float) -> Fault:
    return Fault(PUMP, kind, at(onset_h), at(failure_h), at(repaired_h))


def simulate(
    hours: float,
    dt_s: float = 60.0,
    faults: Sequence[Fault] = (),
    seed: int = 3,
    start_h: float = 0.0,
) -> list[Sample]:
    """Drive a fresh model from MONDAY + start_h for `hours`, one reading per `dt_s`."""
    model = PumpModel(random.Random(seed))
    return steps(model, at(start_h), at(start_h + hours), dt_s, faults)


def between(samples: list[Sample], start_h: float, end_h: float) -> list[Sample]:
    return [s for s in samples if at(start_h) <= s.ts_ms < at(end_h)]


def running_pairs(
    faulty: list[Sample], twin: list[Sample], start_h: float, end_h: float
) -> list[tuple[Sample, Sample]]:
    """Readings of the faulty pump and its twin at the same instants, both running."""
    pairs = zip(between(faulty, start_h, end_h), between(twin, start_h, end_h), strict=True)
    return [(f, t) for f, t in pairs if f.metrics["running"] and t.metrics["running"]]


def events(samples: list[Sample]) -> list[DeviceEvent]:
    return [event for sample in samples for event in sample.events]


# ---------------------------------------------------------------------------------------------
# Contract: names, ranges, determinism, any step length


def test_every_catalogue_metric_stays_in_range_for_a_week_with_every_fault() -> None:
    faults = [
        fault(FaultType.PUMP_BEARING_WEAR, 2, 30, 33),
        fault(FaultType.CAVITATION, 34, 60, 62),
        fault(FaultType.SEAL_LEAK, 60, 90, 92),
        fault(FaultType.IMPELLER_CLOGGING, 92, 120, 122),
        fault(FaultType.MOTOR_OVERHEATING, 122, 150, 152),
        fault(FaultType.DRY_RUNNING, 155, 155.5, 158),
    ]
    samples = simulate(7 * 24, 60.0, faults)
    for sample in samples:
        assert set(sample.metrics) == set(SPECS)
        assert isinstance(sample.metrics["running"], bool)
        outside = {k: v for k, v in sample.metrics.items() if not SPECS[k].admits(float(v))}
        assert not outside, f"out of catalogue range at {sample.ts_ms}: {outside}"


@pytest.mark.parametrize(("dt_s", "hours"), [(1.0, 2.0), (3600.0, 30 * 24.0)])
def test_extreme_step_lengths_stay_in_range_and_keep_a_daily_rhythm(
    dt_s: float, hours: float
) -> None:
    samples = simulate(hours, dt_s, [fault(FaultType.PUMP_BEARING_WEAR, 1, 1.5, 1.9)])
    assert all(SPECS[k].admits(float(v)) for s in samples for k, v in s.metrics.items())
    flows = [s["flow_m3_h"] for s in samples]
    assert max(flows) > 0 and min(flows) == 0.0  # it pumps, and it stops (night or trip)


def test_same_seed_gives_the_same_readings_and_another_seed_does_not() -> None:
    faults = [fault(FaultType.CAVITATION, 5, 20, 22)]
    first, second = simulate(24, 60.0, faults), simulate(24, 60.0, faults)
    other = simulate(24, 60.0, faults, seed=4)
    assert [s.metrics for s in first] == [s.metrics for s in second]
    assert [s.metrics for s in first] != [s.metrics for s in other]


def test_step_length_does_not_change_what_a_day_looks_like() -> None:
    fine, coarse = simulate(48, 60.0), simulate(48, 3600.0)
    gained = [s[-1]["run_hours_h"] - s[0]["run_hours_h"] for s in (fine, coarse)]
    assert gained[1] == pytest.approx(gained[0], rel=0.1)
    fine_flow = statistics.fmean(s["flow_m3_h"] for s in fine[59::60])  # the same instants
    coarse_flow = statistics.fmean(s["flow_m3_h"] for s in coarse)
    assert coarse_flow == pytest.approx(fine_flow, rel=0.25)


def test_first_reading_is_already_settled() -> None:
    """Temperatures start where they would be after running all along: as warm as a day later.

    Midday, when the pump runs steadily, so that the two instants are comparable.
    """
    samples = simulate(24, 60.0, start_h=12)
    first, day_later = samples[0], samples[-1]
    for name in ("bearing_temp_c", "motor_temp_c"):
        assert abs(first[name] - day_later[name]) < 2.0


# ---------------------------------------------------------------------------------------------
# Physics an engineer checks on the charts


def test_motor_current_follows_flow_across_a_day() -> None:
    running = [s for s in simulate(24) if s.metrics["running"]]
    flow = [s["flow_m3_h"] for s in running]
    current = [s["motor_current_a"] for s in running]
    assert np.corrcoef(flow, current)[0, 1] > 0.9


def test_discharge_pressure_falls_as_flow_rises_along_the_pump_curve() -> None:
    running = [s for s in simulate(24) if s.metrics["running"]]
    head = [s["pressure_bar"] - s["suction_pressure_bar"] for s in running]
    flow = [s["flow_m3_h"] for s in running]
    assert np.corrcoef(flow, head)[0, 1] < -0.9


def test_temperatures_lag_the_load() -> None:
    """The bearing warms after the morning rush, not during it: its peak comes later."""
    morning = between(simulate(12), 4, 12)
    flow = np.convolve([s["flow_m3_h"] for s in morning], np.ones(31) / 31, mode="same")
    bearing = [s["bearing_temp_c"] for s in morning]
    flow_peak = morning[int(np.argmax(flow))].ts_ms
    bearing_peak = morning[int(np.argmax(bearing))].ts_ms
    assert bearing_peak - flow_peak >= 10 * 60_000


def test_pump_cycles_at_night_while_the_tank_holds_pressure() -> None:
    night = between(simulate(5), 1, 4)
    running_share = sum(bool(s.metrics["running"]) for s in night) / len(night)
    assert 0.0 < running_share < 0.5
    stopped = [s for s in night if not s.metrics["running"]]
    assert all(s["flow_m3_h"] == 0.0 and s["motor_current_a"] == 0.0 for s in stopped)
    assert all(s["vibration_mm_s"] < 0.6 for s in stopped)
    assert min(s["pressure_bar"] - s["suction_pressure_bar"] for s in stopped) > 2.0


def test_run_hours_grow_only_while_running() -> None:
    dt_s = 10.0
    samples = simulate(30, dt_s, [fault(FaultType.DRY_RUNNING, 20, 20.5, 24)])
    gains = [b["run_hours_h"] - a["run_hours_h"] for a, b in pairwise(samples)]
    assert all(0.0 <= gain <= dt_s / 3600 + 1e-9 for gain in gains)
    tripped = between(samples, 20.5 + 1 / 360, 24)
    assert tripped[-1]["run_hours_h"] == tripped[0]["run_hours_h"]
    night = between(samples, 1, 4)
    sampled_hours = sum(bool(s.metrics["running"]) for s in night) * dt_s / 3600
    counted = night[-1]["run_hours_h"] - night[0]["run_hours_h"]
    assert counted == pytest.approx(sampled_hours, rel=0.15)
    assert counted < 0.5 * 3  # it really stood still most of the night


def test_a_healthy_week_sends_no_events() -> None:
    assert events(simulate(7 * 24, 300.0)) == []


# ---------------------------------------------------------------------------------------------
# Fault signatures


def slope_per_day(samples: list[Sample], name: str) -> float:
    days = [(s.ts_ms - MONDAY) / (24 * HOUR_MS) for s in samples]
    return float(np.polyfit(days, [s[name] for s in samples], 1)[0])


def test_bearing_wear_raises_vibration_into_zone_d_then_trips() -> None:
    wear = fault(FaultType.PUMP_BEARING_WEAR, 48, 6 * 24, 6 * 24 + 8)
    samples = simulate(7 * 24, 300.0, [wear])
    running = [s for s in samples if s.metrics["running"]]
    before = [s for s in running if s.ts_ms < wear.onset_ms]
    after = [s for s in running if wear.onset_ms <= s.ts_ms < wear.failure_ms]
    assert slope_per_day(after, "vibration_mm_s") > 1.0
    assert slope_per_day(after, "vibration_mm_s") > 5 * abs(slope_per_day(before, "vibration_mm_s"))
    assert max(s["vibration_mm_s"] for s in before) < 4.5
    last_hours = [s for s in after if s.ts_ms >= wear.failure_ms - 6 * HOUR_MS]
    assert statistics.median(s["vibration_mm_s"] for s in last_hours) > 11.0  # ISO 10816 zone D
    twin = simulate(7 * 24, 300.0)
    late = running_pairs(samples, twin, 6 * 24 - 12, 6 * 24)
    assert statistics.fmean(f["bearing_temp_c"] - t["bearing_temp_c"] for f, t in late) > 5.0
    early = running_pairs(samples, twin, 48, 72)
    assert statistics.fmean(f["bearing_temp_c"] - t["bearing_temp_c"] for f, t in early) < 1.0
    assert_trips(samples, wear, "high_vibration")


def assert_trips(samples: list[Sample], failure: Fault, reason: str) -> None:
    """One trip at the failure instant, stopped until repair, a reset at the repair instant."""
    trips = [e for e in events(samples) if e.type == "pump_trip"]
    assert [(e.ts_ms, e.attributes["reason"]) for e in trips] == [(failure.failure_ms, reason)]
    down = [s for s in samples if failure.failure_ms <= s.ts_ms < failure.repaired_ms]
    assert down
    assert not any(s.metrics["running"] for s in down)
    assert all(s["motor_current_a"] == 0.0 and s["flow_m3_h"] == 0.0 for s in down)
    resets = [e for e in events(samples) if e.type == "pump_reset"]
    assert [(e.ts_ms, e.attributes["reason"]) for e in resets] == [(failure.repaired_ms, reason)]
    repaired = [s for s in samples if 0 <= s.ts_ms - failure.repaired_ms < 3 * HOUR_MS]
    assert any(s.metrics["running"] for s in repaired)


def test_cavitation_starves_suction_and_makes_flow_erratic_and_rough() -> None:
    cavitation = fault(FaultType.CAVITATION, 24, 96, 100)
    faulty, twin = simulate(100, 120.0, [cavitation]), simulate(100, 120.0)
    late = running_pairs(faulty, twin, 72, 96)
    suction_drop = [t["suction_pressure_bar"] - f["suction_pressure_bar"] for f, t in late]
    assert statistics.fmean(suction_drop) > 1.0
    flow_share = [f["flow_m3_h"] / t["flow_m3_h"] for f, t in late]
    assert statistics.fmean(flow_share) < 0.85
    assert statistics.stdev(flow_share) > 0.05  # erratic, not just lower
    head_share = [
        (f["pressure_bar"] - f["suction_pressure_bar"])
        / (t["pressure_bar"] - t["suction_pressure_bar"])
        for f, t in late
    ]
    assert statistics.fmean(head_share) < 0.9
    extra_vibration = [f["vibration_mm_s"] - t["vibration_mm_s"] for f, t in late]
    assert statistics.fmean(extra_vibration) > 2.0
    assert statistics.stdev(f["vibration_mm_s"] for f, _ in late) > 2 * statistics.stdev(
        t["vibration_mm_s"] for _, t in late
    )
    healthy = running_pairs(faulty, twin, 0, 24)
    assert all(f.metrics == t.metrics for f, t in healthy)


def test_seal_leak_loses_flow_but_not_current() -> None:
    leak = fault(FaultType.SEAL_LEAK, 24, 120, 124)
    faulty, twin = simulate(124, 120.0, [leak]), simulate(124, 120.0)
    last_part = running_pairs(faulty, twin, 24 + 0.8 * 96, 120)
    ratio_share = [
        (f["flow_m3_h"] / f["motor_current_a"]) / (t["flow_m3_h"] / t["motor_current_a"])
        for f, t in last_part
    ]
    assert statistics.fmean(ratio_share) < 0.85
    assert all(f["motor_current_a"] == pytest.approx(t["motor_current_a"]) for f, t in last_part)
    start = running_pairs(faulty, twin, 24, 30)
    assert statistics.fmean(f["flow_m3_h"] / t["flow_m3_h"] for f, t in start) > 0.98


def test_impeller_clogging_lowers_flow_head_and_current_and_unbalances() -> None:
    clogging = fault(FaultType.IMPELLER_CLOGGING, 24, 120, 124)
    faulty, twin = simulate(124, 120.0, [clogging]), simulate(124, 120.0)
    last_part = running_pairs(faulty, twin, 24 + 0.8 * 96, 120)

    def share(name: str) -> float:
        return statistics.fmean(f[name] / t[name] for f, t in last_part)

    assert share("flow_m3_h") < 0.85
    assert 0.7 < share("motor_current_a") < 0.97  # somewhat, not like a dry-running pump
    assert 1.1 < share("vibration_mm_s") < 2.0
    head = statistics.fmean(
        (f["pressure_bar"] - f["suction_pressure_bar"])
        / (t["pressure_bar"] - t["suction_pressure_bar"])
        for f, t in last_part
    )
    assert head < 0.9


def test_motor_overheating_runs_hotter_than_its_current_explains_then_trips() -> None:
    overheating = fault(FaultType.MOTOR_OVERHEATING, 24, 96, 100)
    faulty, twin = simulate(104, 120.0, [overheating]), simulate(104, 120.0)
    last_day = running_pairs(faulty, twin, 72, 96)
    assert all(f["motor_current_a"] == t["motor_current_a"] for f, t in last_day)
    excess = [f["motor_temp_c"] - t["motor_temp_c"] for f, t in last_day]
    assert statistics.fmean(excess) > 30.0
    assert max(f["motor_temp_c"] for f, _ in last_day) > 110.0
    first_day = running_pairs(faulty, twin, 24, 30)
    assert statistics.fmean(f["motor_temp_c"] - t["motor_temp_c"] for f, t in first_day) < 3.0
    assert_trips(faulty, overheating, "motor_overtemperature")


def test_dry_running_loses_flow_and_pressure_keeps_running_heats_then_trips() -> None:
    dry = fault(FaultType.DRY_RUNNING, 10, 10.75, 13)
    faulty, twin = simulate(14, 30.0, [dry]), simulate(14, 30.0)
    during = list(zip(between(faulty, 10, 10.75), between(twin, 10, 10.75), strict=True))
    assert all(f.metrics["running"] and f["flow_m3_h"] == 0.0 for f, _ in during)
    assert all(f["pressure_bar"] < 0.3 for f, _ in during[4:])
    healthy_current = statistics.median(t["motor_current_a"] for _, t in during)
    dry_current = statistics.median(f["motor_current_a"] for f, _ in during)
    assert 0.25 < dry_current / healthy_current < 0.45
    before = between(faulty, 9.9, 10)[-1]["bearing_temp_c"]
    quarter_hour = between(faulty, 10.25, 10.3)[0]["bearing_temp_c"]
    assert quarter_hour - before > 15.0
    assert_trips(faulty, dry, "dry_running")


def test_a_trip_between_two_hourly_readings_is_still_logged_at_its_own_instants() -> None:
    brief = fault(FaultType.DRY_RUNNING, 10.1, 10.4, 10.9)
    samples = simulate(12, 3600.0, [brief])
    logged = [(e.type, e.ts_ms) for e in events(samples)]
    assert logged == [("pump_trip", brief.failure_ms), ("pump_reset", brief.repaired_ms)]
    assert all(s.metrics["running"] and s["flow_m3_h"] > 0 for s in between(samples, 10, 12))
