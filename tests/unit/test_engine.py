"""The analytics engine on scripted device streams: what raises an alert and what does not."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from analytics.alerts import AlertPolicy, Severity
from analytics.engine import Engine, EngineSettings
from facility import DeviceRef, EquipmentKind, Event, Reading, Record, StatusChange

PUMP = DeviceRef("s", EquipmentKind.PUMP, "pump-01")
PANEL = DeviceRef("s", EquipmentKind.FIRE_PANEL, "fp-01")
MIN = 60_000
SETTINGS = EngineSettings(warmup=100, policy=AlertPolicy(raise_after_ms=10 * MIN))


def pump_reading(minute: int, vibration: float, rng: random.Random) -> Reading:
    current = 40.0 + rng.gauss(0, 0.5)
    metrics = {
        "running": 1.0,
        "vibration_mm_s": vibration + rng.gauss(0, 0.1),
        "flow_m3_h": 3.0 * current + rng.gauss(0, 0.5),
        "motor_current_a": current,
        "pressure_bar": 6.0,
        "suction_pressure_bar": 2.0,
        "motor_temp_c": 70.0 + rng.gauss(0, 0.5),
    }
    return Reading(PUMP, minute * MIN, metrics)


def raised(engine: Engine, readings: Sequence[Record]) -> list[tuple[str, int]]:
    """The alerts the readings raise: signature, and the minute raised."""
    notices = engine.on_records(readings)
    return [(n.signature, n.at_ms // MIN) for n in notices if n.change == "raised"]


def test_healthy_noise_and_a_single_spike_raise_nothing() -> None:
    rng = random.Random(1)
    engine = Engine(SETTINGS)
    stream = [pump_reading(m, 2.0, rng) for m in range(600)]
    stream[400] = pump_reading(400, 25.0, rng)  # one wild reading
    assert raised(engine, stream) == []


def test_rising_vibration_raises_one_alert_that_says_what_and_how_much() -> None:
    rng = random.Random(2)
    engine = Engine(SETTINGS)
    healthy = [pump_reading(m, 2.0, rng) for m in range(300)]
    worn = [pump_reading(m, 2.0 + (m - 300) * 0.02, rng) for m in range(300, 500)]
    alerts = raised(engine, healthy + worn)
    assert [signature for signature, _ in alerts] == ["vibration_running:high"]
    (alert,) = engine.tracker.open_alerts
    assert 300 < alert.started_ms // MIN < 400  # caught early in the wear, not at its end
    assert "vibration while running" in alert.evidence[0]
    assert "× its normal level" in alert.evidence[0] and "SD above" in alert.evidence[0]
    assert alert.evidence[1].startswith("look at: drive-end bearing")


def test_a_fire_alarm_is_critical_at_once_and_silence_is_noticed() -> None:
    engine = Engine(SETTINGS)
    alarm = Event(PANEL, 5 * MIN, "fire_alarm", {"zone": "B2", "test": 0.0})
    (notice,) = engine.on_record(alarm)
    assert (notice.change, notice.severity, notice.at_ms) == ("raised", "critical", 5 * MIN)
    assert [(a.severity, a.started_ms) for a in engine.tracker.open_alerts] == [
        (Severity.CRITICAL, 5 * MIN)
    ]
    rng = random.Random(3)
    engine.on_records([pump_reading(m, 2.0, rng) for m in range(0, 60, 1)])
    assert engine.tick(70 * MIN) == []  # not silent long enough to raise (minimum duration)
    later = engine.tick(90 * MIN)
    assert [n.signature for n in later] == ["silent"]


def test_offline_devices_raise_after_the_minimum_duration() -> None:
    engine = Engine(SETTINGS)
    assert engine.on_record(StatusChange(PUMP, 0, online=False)) == []
    (notice,) = engine.on_record(StatusChange(PUMP, 11 * MIN, online=False))
    assert notice.signature == "offline"


def test_a_refit_from_history_replaces_what_was_learned() -> None:
    rng = random.Random(4)
    engine = Engine(SETTINGS)
    engine.on_records([pump_reading(m, 2.0, rng) for m in range(300)])
    # The pump was overhauled: it now runs smoother. History since then, without alerts:
    learned = engine.refit(PUMP, [pump_reading(m, 1.0, rng) for m in range(300, 600)])
    assert learned == 300
    state = engine._states[(PUMP, "vibration_running")]
    assert abs(engine.baseline.location_[state.slot] - 1.0) < 0.05
    # ...so the old normal now stands out, and the new normal does not.
    assert raised(engine, [pump_reading(m, 1.0, rng) for m in range(600, 700)]) == []
    later = raised(engine, [pump_reading(m, 2.0, rng) for m in range(700, 760)])
    assert [signature for signature, _ in later] == ["vibration_running:high"]


LIFT = DeviceRef("s", EquipmentKind.ELEVATOR, "lift-01")


def lift_trip(minute: int, rng: random.Random, drag_a: float = 0.0) -> Reading:
    """A trip whose hoist current follows the imbalance against the counterweight."""
    load, up = rng.uniform(0, 800), rng.random() < 0.5
    imbalance = (load - 360) * (1 if up else -1)
    current = 12 + 0.02 * imbalance + rng.gauss(0, 0.2) + drag_a
    metrics = {"load_kg": load, "speed_m_s": 1.6 if up else -1.6, "motor_current_a": current}
    return Reading(LIFT, minute * MIN, metrics)


def test_the_residual_model_sees_a_dragging_brake_that_no_single_metric_shows() -> None:
    rng = random.Random(5)
    engine = Engine(SETTINGS)
    healthy = [lift_trip(m, rng) for m in range(400)]
    assert raised(engine, healthy) == []  # current swings 4-20 A with the load: all normal
    dragging = raised(engine, [lift_trip(m, rng, drag_a=1.5) for m in range(400, 480)])
    assert [signature for signature, _ in dragging] == ["hoist_current_for_load:high"]


GATE = DeviceRef("s", EquipmentKind.ACCESS_GATE, "gate-1")


def gate_opening(minute: int, rng: random.Random, extra_a: float = 0.0) -> Reading:
    """An opening whose motor current follows its stroke time (a slower stroke, more current)."""
    stroke = rng.uniform(3.0, 6.0)
    current = 1.0 + 0.5 * stroke + rng.gauss(0, 0.05) + extra_a
    metrics = {"opens": float(minute), "open_time_s": stroke, "motor_current_a": current}
    return Reading(GATE, minute * MIN, metrics)


def test_the_gate_residual_sees_more_current_for_the_same_stroke() -> None:
    rng = random.Random(6)
    engine = Engine(SETTINGS)
    assert raised(engine, [gate_opening(m, rng) for m in range(400)]) == []
    binding = raised(engine, [gate_opening(m, rng, extra_a=0.6) for m in range(400, 480)])
    assert "gate_current_for_stroke:high" in [signature for signature, _ in binding]


def panel_reading(minute: int, charger_a: float, rng: random.Random) -> Reading:
    metrics = {"mains_ok": 1.0, "battery_v": 27.3 + rng.gauss(0, 0.01),
               "charger_current_a": charger_a + rng.gauss(0, 0.005)}  # fmt: skip
    return Reading(PANEL, minute * MIN, metrics)


def test_the_recharge_after_a_battery_test_is_expected_but_not_for_ever() -> None:
    """After its load test a battery draws charging current for a while: no alert then. The
    same current six hours later is a battery problem."""
    rng = random.Random(7)
    engine = Engine(SETTINGS)
    healthy = [panel_reading(m, 0.05, rng) for m in range(300)]
    test = Event(PANEL, 300 * MIN, "battery_test", {"voltage_under_load_v": 25.9})
    recharge = [panel_reading(m, 0.5, rng) for m in range(301, 420)]
    assert raised(engine, [*healthy, test, *recharge]) == []
    later = [panel_reading(m, 0.5, rng) for m in range(700, 760)]
    assert "charger_current:high" in [signature for signature, _ in raised(engine, later)]


def test_deviations_wait_for_the_time_warm_up_but_limits_do_not() -> None:
    """A device's first day teaches its rhythm; a worn bearing in it is judged from the next."""
    rng = random.Random(3)
    day = EngineSettings(warmup=100, warmup_s=24 * 3600, policy=SETTINGS.policy)
    early = [pump_reading(m, 2.0 if m < 300 else 2.0 + (m - 300) * 0.02, rng) for m in range(500)]
    assert raised(Engine(day), early) == []  # 8 h of data: all of it warm-up
    assert [s for s, _ in raised(Engine(SETTINGS), early)] == ["vibration_running:high"]
    late = [
        replace(r, ts_ms=r.ts_ms + (24 * 60 if i >= 300 else 0) * MIN) for i, r in enumerate(early)
    ]  # fmt: skip  (the same wear, a day later)
    assert [s for s, _ in raised(Engine(day), late)] == ["vibration_running:high"]
    drift = [Reading(PANEL, m * MIN, {"detector_drift_pct": 75.0}) for m in range(30)]
    assert [s for s, _ in raised(Engine(day), drift)] == ["detector_drift:high"]  # a limit


def test_the_time_warm_up_counts_from_the_history_a_refit_learned() -> None:
    rng = random.Random(4)
    day = EngineSettings(warmup=100, warmup_s=24 * 3600, policy=SETTINGS.policy)
    engine = Engine(day)
    history = [pump_reading(m, 2.0, rng) for m in range(0, 26 * 60, 5)]  # 26 h, every 5 min
    assert engine.refit(PUMP, history) == len(history)
    worn = [pump_reading(m, 2.0 + (m - 26 * 60) * 0.02, rng) for m in range(26 * 60, 26 * 60 + 200)]
    assert [s for s, _ in raised(engine, worn)] == ["vibration_running:high"]
