"""The fire panel model: its power supply, its daily battery test and each incident's signature.

Faulty runs are compared with a healthy twin from the same seed: incidents draw from their own
generator, so the twin sees the same mains failures and the same noise.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise
from typing import Any

import pytest

from facility import CATALOGUE, DeviceRef, EquipmentKind
from simulators.equipment.base import DeviceEvent, MetricValue
from simulators.equipment.fire_panel import (
    LOAD_TEST_S,
    TROUBLE_REASONS,
    FirePanelModel,
    distinct_times,
)
from simulators.faults import DAY_MS, HOUR_MS, Fault, FaultType
from tests.unit.model_runs import Sample, steps

MONDAY = 1_714_953_600_000  # 2024-05-06 00:00 UTC
PANEL = DeviceRef("site", EquipmentKind.FIRE_PANEL, "panel-1")
SPECS = CATALOGUE[EquipmentKind.FIRE_PANEL]


def at(hours: float) -> int:
    return MONDAY + round(hours * HOUR_MS)


def fault(kind: FaultType, onset_h: float, failure_h: float, repaired_h: float) -> Fault:
    return Fault(PANEL, kind, at(onset_h), at(failure_h), at(repaired_h))


def sudden(kind: FaultType, onset_h: float, repaired_h: float) -> Fault:
    return fault(kind, onset_h, onset_h, repaired_h)


def panel(seed: int = 2, **plate: Any) -> FirePanelModel:
    """A panel from `seed`, with nameplate values overridden (e.g. a flaky mains supply)."""
    model = FirePanelModel(random.Random(seed))
    model.plate = replace(model.plate, **plate)
    return model


def simulate(
    hours: float,
    dt_s: float = 60.0,
    faults: Sequence[Fault] = (),
    model: FirePanelModel | None = None,
    phase_ms: int = 0,
) -> list[Sample]:
    """Drive a model from MONDAY (+ phase) for `hours`, one reading per `dt_s`."""
    start = MONDAY + phase_ms
    return steps(model or panel(), start, start + round(hours * HOUR_MS), dt_s, faults)


def between(samples: list[Sample], start_h: float, end_h: float) -> list[Sample]:
    return [s for s in samples if at(start_h) <= s.ts_ms < at(end_h)]


def events(samples: list[Sample], kind: str | None = None) -> list[DeviceEvent]:
    found = [event for sample in samples for event in sample.events]
    return [e for e in found if kind is None or e.type == kind]


def first_reading_at_or_after(samples: list[Sample], ts_ms: int) -> Sample:
    return next(s for s in samples if s.ts_ms >= ts_ms)


def floated(samples: list[Sample]) -> list[Sample]:
    """Readings on mains with the battery floated: not within 3 h of a test or a mains failure."""
    settling_ms = 3 * HOUR_MS
    disturbances = [
        e.ts_ms for e in events(samples) if e.type in ("battery_test", "mains_restored")
    ]
    return [
        s
        for s in samples
        if s.metrics["mains_ok"] and not any(0 <= s.ts_ms - t < settling_ms for t in disturbances)
    ]


# ---------------------------------------------------------------------------------------------
# Contract: names, ranges, determinism, events inside their interval


def every_fault() -> list[Fault]:
    return [
        fault(FaultType.BATTERY_AGEING, 1, 60, 62),
        fault(FaultType.DETECTOR_CONTAMINATION, 62, 110, 112),
        sudden(FaultType.GROUND_FAULT, 113.3, 117),
        sudden(FaultType.TROUBLE_SIGNAL, 120.7, 121.2),
        sudden(FaultType.FIRE_ALARM, 130.01, 130.5),
        sudden(FaultType.TEST_MODE, 140.5, 142),
        sudden(FaultType.FIRE_ALARM, 141, 141.4),  # an alarm during a test is a real one
    ]


def test_a_week_with_every_fault_reports_every_metric_in_range_and_events_in_their_interval() -> (
    None
):
    samples = simulate(7 * 24, 60.0, every_fault(), panel(mains_failures_per_year=500.0))
    for sample in samples:
        assert set(sample.metrics) == set(SPECS)
        assert all(isinstance(sample.metrics[n], bool) for n in ("mains_ok", "test_mode"))
        outside = {k: v for k, v in sample.metrics.items() if not SPECS[k].admits(float(v))}
        assert not outside, f"out of catalogue range at {sample.ts_ms}: {outside}"
        assert all(sample.ts_ms - 60_000 < e.ts_ms <= sample.ts_ms for e in sample.events)
    stamps = [(e.type, e.ts_ms) for e in events(samples)]
    assert len(stamps) == len(set(stamps))  # two events of a type never share a millisecond
    assert {e.type for e in events(samples)} >= {
        "fire_trouble",
        "fire_trouble_cleared",
        "fire_alarm",
        "fire_alarm_reset",
        "test_mode_started",
        "test_mode_ended",
        "battery_test",
        "mains_failure",
        "mains_restored",
    }


@pytest.mark.parametrize(("dt_s", "hours"), [(1.0, 2.0), (3600.0, 90 * 24.0)])
def test_extreme_step_lengths_stay_in_range(dt_s: float, hours: float) -> None:
    faults = [fault(FaultType.BATTERY_AGEING, 0.5, 1.5, 1.9), sudden(FaultType.TEST_MODE, 0.2, 1)]
    samples = simulate(hours, dt_s, faults, panel(mains_failures_per_year=50.0))
    assert all(SPECS[k].admits(float(v)) for s in samples for k, v in s.metrics.items())
    assert all(s.ts_ms - dt_s * 1000 < e.ts_ms <= s.ts_ms for s in samples for e in s.events)


def test_same_seed_gives_the_same_readings_and_events_and_another_seed_does_not() -> None:
    def run(seed: int) -> list[tuple[dict[str, MetricValue], list[DeviceEvent]]]:
        samples = simulate(7 * 24, 300.0, every_fault(), panel(seed, mains_failures_per_year=60.0))
        return [(s.metrics, s.events) for s in samples]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_distinct_times_keeps_same_type_events_apart_inside_the_interval() -> None:
    stamped = distinct_times([DeviceEvent(10, "fire_alarm") for _ in range(3)])
    assert [e.ts_ms for e in stamped] == [8, 9, 10]


# ---------------------------------------------------------------------------------------------
# Power supply


def test_battery_floats_near_27_3_volts_from_the_first_reading() -> None:
    samples = simulate(48, 60.0, model=panel(mains_failures_per_year=0.0))
    on_float = floated(samples)
    assert len(on_float) > 0.8 * len(samples)  # all but the hours after each daily test
    volts = [s["battery_v"] for s in on_float]
    assert 27.1 < statistics.median(volts) < 27.5
    assert max(volts) - min(volts) < 0.2  # only the cabinet's daily warmth moves it
    assert abs(samples[0]["battery_v"] - statistics.median(volts)) < 0.1
    assert samples[0]["charger_current_a"] < 0.1


def test_mains_failures_discharge_the_battery_and_the_charger_recovers_it() -> None:
    samples = simulate(10 * 24, 60.0, model=panel(mains_failures_per_year=600.0))
    off = [s for s in samples if not s.metrics["mains_ok"]]
    assert off
    assert all(s["charger_current_a"] == 0.0 and s["battery_v"] < 26.2 for s in off)
    runs = [  # consecutive readings within one failure: the voltage only sinks
        (a, b)
        for a, b in pairwise(samples)
        if not a.metrics["mains_ok"] and not b.metrics["mains_ok"]
    ]
    assert runs
    assert all(b["battery_v"] < a["battery_v"] for a, b in runs)
    failures, restores = events(samples, "mains_failure"), events(samples, "mains_restored")
    assert restores
    assert len(failures) - len(restores) in (0, 1)  # the last one may outlast the run
    for failure, restore in zip(failures, restores, strict=False):
        assert restore.ts_ms > failure.ts_ms
        assert restore.attributes["duration_s"] == round((restore.ts_ms - failure.ts_ms) / 1000)
    float_current = statistics.median(s["charger_current_a"] for s in floated(samples))
    long_ones = [r for r in restores if float(r.attributes["duration_s"]) > 600]
    assert long_ones
    for restore in long_ones:
        after = first_reading_at_or_after(samples, restore.ts_ms)
        assert after["charger_current_a"] > 5 * float_current
        assert after["battery_v"] < statistics.median(s["battery_v"] for s in floated(samples))


@pytest.mark.parametrize("dt_s", [60.0, 3600.0])
def test_the_battery_is_load_tested_once_a_day_at_a_fixed_time(dt_s: float) -> None:
    model = panel(mains_failures_per_year=0.0)
    samples = simulate(3 * 24, dt_s, model=model, phase_ms=17_123)
    tests = events(samples, "battery_test")
    assert [e.ts_ms for e in tests] == [
        MONDAY + day * DAY_MS + model.plate.test_offset_ms for day in range(3)
    ]
    assert all(e.attributes["result"] == "pass" for e in tests)
    assert all(25.0 < float(e.attributes["voltage_under_load_v"]) < 26.2 for e in tests)
    if dt_s == 60.0:
        during = [
            s
            for s in samples
            if any(e.ts_ms <= s.ts_ms < e.ts_ms + LOAD_TEST_S * 1000 for e in tests)
        ]
        assert len(during) == 2 * len(tests)  # a two-minute test seen by one-minute readings
        assert all(s["charger_current_a"] == 0.0 and s["battery_v"] < 26.2 for s in during)


# ---------------------------------------------------------------------------------------------
# Fault signatures


def test_battery_ageing_sags_under_load_lowers_float_raises_charger_current_then_troubles() -> None:
    ageing = fault(FaultType.BATTERY_AGEING, 24, 15 * 24, 15 * 24 + 6)
    faulty = simulate(16 * 24, 300.0, [ageing], panel(mains_failures_per_year=0.0))
    twin = simulate(16 * 24, 300.0, model=panel(mains_failures_per_year=0.0))
    assert [s.metrics for s in between(faulty, 0, 24)] == [s.metrics for s in between(twin, 0, 24)]
    under_load = [
        float(e.attributes["voltage_under_load_v"])
        for e in events(faulty, "battery_test")
        if ageing.onset_ms <= e.ts_ms < ageing.failure_ms
    ]
    assert under_load[-1] < under_load[0] - 1.5
    assert all(b < a + 0.1 for a, b in pairwise(under_load))

    def late_median(samples: list[Sample], name: str) -> float:
        return statistics.median(s[name] for s in floated(between(samples, 13 * 24, 15 * 24)))

    assert late_median(faulty, "battery_v") < late_median(twin, "battery_v") - 0.1
    assert late_median(faulty, "charger_current_a") > 3 * late_median(twin, "charger_current_a")
    assert_trouble(faulty, ageing, "battery_low")
    results = [
        (ageing.failed(e.ts_ms), e.attributes["result"]) for e in events(faulty, "battery_test")
    ]
    assert (True, "fail") in results
    assert all(result == ("fail" if failed else "pass") for failed, result in results)


def assert_trouble(samples: list[Sample], failure: Fault, reason: str) -> None:
    """One trouble when the fault fails, a zone in fault until repair, cleared at repair."""
    troubles = events(samples, "fire_trouble")
    assert [(e.ts_ms, e.attributes["reason"]) for e in troubles] == [(failure.failure_ms, reason)]
    before = [s for s in samples if s.ts_ms < failure.failure_ms]
    down = [s for s in samples if failure.failure_ms <= s.ts_ms < failure.repaired_ms]
    after = [s for s in samples if s.ts_ms >= failure.repaired_ms]
    assert all(s["zones_in_fault"] == 0 for s in before + after)
    assert down
    assert all(s["zones_in_fault"] >= 1 for s in down)
    cleared = events(samples, "fire_trouble_cleared")
    assert [(e.ts_ms, e.attributes["reason"]) for e in cleared] == [(failure.repaired_ms, reason)]


def test_detector_contamination_climbs_to_the_limit_then_troubles() -> None:
    dirty = fault(FaultType.DETECTOR_CONTAMINATION, 24, 10 * 24, 10 * 24 + 2)
    samples = simulate(11 * 24, 600.0, [dirty])
    before = between(samples, 0, 24)
    assert max(s["detector_drift_pct"] for s in before) < 30.0
    climbing = [s["detector_drift_pct"] for s in between(samples, 24, 10 * 24)]
    daily = climbing[:: 6 * 24]
    assert all(b > a for a, b in pairwise(daily))
    assert climbing[-1] > 95.0
    assert max(s["detector_drift_pct"] for s in between(samples, 10 * 24 + 2, 11 * 24)) < 30.0
    assert_trouble(samples, dirty, "detector_dirty")


@pytest.mark.parametrize("dt_s", [60.0, 3600.0])
def test_ground_fault_troubles_at_its_onset_until_repair(dt_s: float) -> None:
    ground = sudden(FaultType.GROUND_FAULT, 10.1234, 14.5)
    samples = simulate(16, dt_s, [ground])
    assert_trouble(samples, ground, "ground_fault")


def test_trouble_signal_names_another_reason_and_a_zone() -> None:
    trouble = sudden(FaultType.TROUBLE_SIGNAL, 7.777, 8.3)
    model = panel()
    samples = simulate(10, 60.0, [trouble], model)
    (event,) = events(samples, "fire_trouble")
    reason = str(event.attributes["reason"])
    assert reason in TROUBLE_REASONS
    assert 1 <= float(event.attributes["zone"]) <= model.plate.zones
    assert_trouble(samples, trouble, reason)


@pytest.mark.parametrize("dt_s", [60.0, 3600.0])
def test_fire_alarm_latches_its_zone_from_onset_until_reset(dt_s: float) -> None:
    fire = sudden(FaultType.FIRE_ALARM, 15.4321, 17.5)
    samples = simulate(19, dt_s, [fire])
    alarms = events(samples, "fire_alarm")
    assert [(e.ts_ms, e.attributes["test"]) for e in alarms] == [(fire.onset_ms, False)]
    assert "zone" in alarms[0].attributes
    assert all(s["zones_in_alarm"] >= 1 for s in samples if fire.active(s.ts_ms))
    assert all(s["zones_in_alarm"] == 0 for s in samples if not fire.active(s.ts_ms))
    (reset,) = events(samples, "fire_alarm_reset")
    assert reset.ts_ms == fire.repaired_ms
    assert reset.attributes["zone"] == alarms[0].attributes["zone"]


def test_test_mode_flags_the_panel_and_sends_test_activations_that_do_not_latch() -> None:
    test_mode = sudden(FaultType.TEST_MODE, 10.05, 11.55)
    samples = simulate(13, 60.0, [test_mode])
    assert all(s.metrics["test_mode"] == test_mode.active(s.ts_ms) for s in samples)
    assert any(s.metrics["test_mode"] for s in samples)
    (started,) = events(samples, "test_mode_started")
    assert started.ts_ms == test_mode.onset_ms
    activations = events(samples, "fire_alarm")
    assert len(activations) >= 10  # one every few minutes over an hour and a half
    assert all(e.attributes["test"] is True for e in activations)
    assert len({e.attributes["zone"] for e in activations}) >= 2  # the walk moves on
    assert all(test_mode.onset_ms < e.ts_ms < test_mode.repaired_ms for e in activations)
    assert all(s["zones_in_alarm"] == 0 for s in samples)
    (ended,) = events(samples, "test_mode_ended")
    assert ended.ts_ms == test_mode.repaired_ms


def test_a_healthy_panel_sends_only_its_daily_test_and_mains_events() -> None:
    samples = simulate(14 * 24, 600.0, model=panel(mains_failures_per_year=50.0))
    assert {e.type for e in events(samples)} <= {"battery_test", "mains_failure", "mains_restored"}
    assert all(s["zones_in_alarm"] == s["zones_in_fault"] == 0 for s in samples)
    assert not any(s.metrics["test_mode"] for s in samples)


def test_incidents_between_two_hourly_readings_still_send_their_events_at_their_instants() -> None:
    fire = sudden(FaultType.FIRE_ALARM, 10.2, 10.45)
    trouble = sudden(FaultType.TROUBLE_SIGNAL, 10.5, 10.8)
    test_mode = sudden(FaultType.TEST_MODE, 12.1, 12.9)
    samples = simulate(14, 3600.0, [fire, trouble, test_mode])
    logged = [(e.type, e.ts_ms) for e in events(samples) if e.type != "battery_test"]
    assert logged[:4] == [
        ("fire_alarm", fire.onset_ms),
        ("fire_alarm_reset", fire.repaired_ms),
        ("fire_trouble", trouble.onset_ms),
        ("fire_trouble_cleared", trouble.repaired_ms),
    ]
    assert logged[4] == ("test_mode_started", test_mode.onset_ms)
    assert logged[-1] == ("test_mode_ended", test_mode.repaired_ms)
    walk = [e for e in events(samples, "fire_alarm") if e.attributes["test"]]
    assert walk
    assert all(test_mode.onset_ms < e.ts_ms < test_mode.repaired_ms for e in walk)
    assert all(s["zones_in_alarm"] == s["zones_in_fault"] == 0 for s in samples)
    assert not any(s.metrics["test_mode"] for s in samples)  # no reading fell inside
