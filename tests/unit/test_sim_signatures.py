"""Every fault in a labels file can be found in the published data by its documented signature.

A simulated compound runs the `all` scenario (every fault type once) with sensor noise, dropouts,
stuck values, spikes and outages. For each fault label, the data of its device is read back from
the MQTT payloads and checked against the signature in docs/simulators.md, comparing the day
before onset with the last stretch before failure.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest

from facility import EquipmentKind
from simulators import FaultType, Message, Simulation, SimulationOptions

START = 1_714_521_600_000  # 2024-05-01T00:00Z
DAY = 86_400_000

OPTIONS = SimulationOptions(
    site="compound",
    counts=dict.fromkeys(EquipmentKind, 2),
    start_ms=START,
    duration_ms=30 * DAY,
    interval_s=300.0,
    seed=11,
    faults="all",
)


Condition = Callable[[dict[str, Any]], bool] | None


@dataclass
class DeviceData:
    """One device's readings and events, as a subscriber would have received them."""

    readings: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def values(self, metric: str, start: int, end: int, when: Condition = None) -> list[float]:
        """The metric's readings in [start, end), only those meeting `when` if given."""
        return [
            float(m[metric])
            for ts, m in self.readings
            if start <= ts < end and metric in m and (when is None or when(m))
        ]

    def events_of(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]


@cache
def simulated() -> tuple[dict[str, DeviceData], list[dict[str, Any]]]:
    data: dict[str, DeviceData] = {}
    faults = []
    for item in Simulation(OPTIONS).run():
        if not isinstance(item, Message):
            if item.fields["label"] == "fault":
                faults.append(item.fields)
            continue
        device = data.setdefault(item.topic.split("/")[3], DeviceData())
        if item.topic.endswith("/telemetry"):
            body = json.loads(item.payload)
            device.readings.append((body["ts"], body["metrics"]))
        elif item.topic.endswith("/event"):
            device.events.append(json.loads(item.payload))
    return data, faults


@dataclass(frozen=True)
class Windows:
    """The day before onset (healthy) and the last fifth of the lead before failure (late)."""

    fault: dict[str, Any]

    @property
    def before(self) -> tuple[int, int]:
        return self.fault["onset_ms"] - DAY, self.fault["onset_ms"]

    @property
    def late(self) -> tuple[int, int]:
        lead = self.fault["failure_ms"] - self.fault["onset_ms"]
        return self.fault["failure_ms"] - max(lead // 5, 1_200_000), self.fault["failure_ms"]

    @property
    def during(self) -> tuple[int, int]:
        return self.fault["onset_ms"], self.fault["repaired_ms"]


Check = Callable[[DeviceData, Windows], None]


def median(values: list[float]) -> float:
    assert len(values) >= 3, f"too few readings to judge: {values}"
    return statistics.median(values)


def event_at(data: DeviceData, type_: str, ts: int, **attributes: Any) -> None:
    matching = [e for e in data.events_of(type_) if e["ts"] == ts]
    assert matching, f"no {type_} event at {ts}; got {data.events_of(type_)[:5]}"
    for name, value in attributes.items():
        assert matching[0][name] == value, matching


def running(metrics: dict[str, Any]) -> bool:
    return bool(metrics.get("running"))


def moving(metrics: dict[str, Any]) -> bool:
    return bool(metrics.get("speed_m_s"))


def rises(metric: str, factor: float, when: Condition = None, quantile: float = 0.5) -> Check:
    """The metric's quantile in the late window is `factor` times what it was before onset."""

    def level(values: list[float]) -> float:
        assert len(values) >= 3, f"too few readings to judge: {values}"
        return sorted(values)[int(quantile * (len(values) - 1))]

    def check(data: DeviceData, w: Windows) -> None:
        before = level(data.values(metric, *w.before, when))
        late = level(data.values(metric, *w.late, when))
        assert late > factor * before, (metric, before, late)

    return check


def _pump_trip(reason: str) -> Check:
    def check(data: DeviceData, w: Windows) -> None:
        event_at(data, "pump_trip", w.fault["failure_ms"], reason=reason)

    return check


def _seal_leak(data: DeviceData, w: Windows) -> None:
    def flow_per_amp(start: int, end: int) -> float:
        pairs = [
            m["flow_m3_h"] / m["motor_current_a"]
            for ts, m in data.readings
            if start <= ts < end
            and m.get("running")
            and m.get("motor_current_a")
            and "flow_m3_h" in m
        ]
        return median(pairs)

    assert flow_per_amp(*w.late) <= 0.85 * flow_per_amp(*w.before)


def _cavitation(data: DeviceData, w: Windows) -> None:
    before = median(data.values("suction_pressure_bar", *w.before, when=running))
    late = median(data.values("suction_pressure_bar", *w.late, when=running))
    assert late < before - 0.5, (before, late)
    spread = [
        statistics.stdev(data.values("vibration_mm_s", *span, running))
        for span in (w.before, w.late)
    ]
    assert spread[1] > 2 * spread[0], spread


def _impeller_clogging(data: DeviceData, w: Windows) -> None:
    head = [
        median(
            [
                m["pressure_bar"] - m["suction_pressure_bar"]
                for ts, m in data.readings
                if a <= ts < b
                and m.get("running")
                and "pressure_bar" in m
                and "suction_pressure_bar" in m
            ]
        )
        for a, b in (w.before, w.late)
    ]
    assert head[1] < 0.92 * head[0], head


def _dry_running(data: DeviceData, w: Windows) -> None:
    during = [m for ts, m in data.readings if w.fault["onset_ms"] <= ts < w.fault["failure_ms"]]
    assert all(m.get("flow_m3_h", 0) < 1.0 for m in during if m.get("running")), during
    event_at(data, "pump_trip", w.fault["failure_ms"], reason="dry_running")


def _battery_ageing(data: DeviceData, w: Windows) -> None:
    tests = [
        e["voltage_under_load_v"]
        for e in data.events_of("battery_test")
        if w.fault["onset_ms"] <= e["ts"] < w.fault["failure_ms"]
    ]
    assert tests[0] - min(tests[-2:]) > 1.0, tests
    event_at(data, "fire_trouble", w.fault["failure_ms"], reason="battery_low")


def _leveling_drift(data: DeviceData, w: Windows) -> None:
    before = median([abs(v) for v in data.values("leveling_error_mm", *w.before)])
    late = median([abs(v) for v in data.values("leveling_error_mm", *w.late)])
    assert late > 3 * before and late > 10, (before, late)


def _event_at_onset(type_: str, **attributes: Any) -> Check:
    def check(data: DeviceData, w: Windows) -> None:
        event_at(data, type_, w.fault["onset_ms"], **attributes)

    return check


def _state_during(metric: str, event: str, **attributes: Any) -> Check:
    def check(data: DeviceData, w: Windows) -> None:
        event_at(data, event, w.fault["onset_ms"], **attributes)
        start, end = w.during
        values = data.values(metric, start, end)
        assert values and all(v >= 1 for v in values), (metric, values)

    return check


def _failed_auth_burst(data: DeviceData, w: Windows) -> None:
    event_at(data, "failed_auth_burst", w.fault["onset_ms"])
    start, end = w.during
    before = data.values("failed_auth", start - DAY, start)[-1]
    after = data.values("failed_auth", end, end + DAY)[0]
    assert after - before >= 10, (before, after)


SIGNATURES: dict[FaultType, list[Check]] = {
    FaultType.PUMP_BEARING_WEAR: [
        rises("vibration_mm_s", 2.5, running),
        _pump_trip("high_vibration"),
    ],
    FaultType.CAVITATION: [_cavitation],
    FaultType.SEAL_LEAK: [_seal_leak],
    FaultType.IMPELLER_CLOGGING: [_impeller_clogging],
    FaultType.MOTOR_OVERHEATING: [
        rises("motor_temp_c", 1.2, running),
        _pump_trip("motor_overtemperature"),
    ],
    FaultType.DRY_RUNNING: [_dry_running],
    FaultType.DOOR_OPERATOR_WEAR: [rises("door_close_time_s", 1.4), rises("door_current_a", 1.3)],
    FaultType.HOIST_BEARING_WEAR: [rises("vibration_mm_s", 2.0, moving, quantile=0.9)],
    FaultType.LEVELING_DRIFT: [_leveling_drift],
    FaultType.ENTRAPMENT: [_event_at_onset("entrapment")],
    FaultType.BATTERY_AGEING: [_battery_ageing],
    FaultType.DETECTOR_CONTAMINATION: [rises("detector_drift_pct", 2.0)],
    FaultType.GROUND_FAULT: [
        _state_during("zones_in_fault", "fire_trouble", reason="ground_fault")
    ],
    FaultType.TROUBLE_SIGNAL: [_state_during("zones_in_fault", "fire_trouble")],
    FaultType.FIRE_ALARM: [_state_during("zones_in_alarm", "fire_alarm", test=False)],
    FaultType.TEST_MODE: [_state_during("test_mode", "test_mode_started")],
    FaultType.MOTOR_BINDING: [rises("open_time_s", 1.3), rises("motor_current_a", 1.3)],
    FaultType.FAILED_AUTH_BURST: [_failed_auth_burst],
    FaultType.FORCED_OPENING: [_event_at_onset("door_forced")],
    FaultType.HELD_OPEN: [_event_at_onset("held_open")],
}


def test_the_all_scenario_labels_every_fault_type() -> None:
    _, faults = simulated()
    assert {f["fault"] for f in faults} == set(FaultType)


@pytest.mark.parametrize("fault_type", list(FaultType))
def test_each_labelled_fault_shows_its_documented_signature(fault_type: FaultType) -> None:
    data, faults = simulated()
    for fault in (f for f in faults if f["fault"] == fault_type):
        for check in SIGNATURES[fault_type]:
            check(data[fault["device"]], Windows(fault))
