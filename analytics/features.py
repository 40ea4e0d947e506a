"""Health features per equipment kind: numbers that stay put while a machine is healthy.

Raw readings follow the building's rhythm (flow follows demand, a parked lift does not vibrate),
so a detector watching them would cry wolf every morning. Each feature is chosen to be steady
in health whatever the time of day, and to move when a known fault develops: flow per ampere
falls with a seal leak, vibration while running rises with bearing wear, door close time rises
with a worn door operator. Each comes with the words an engineer would use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from facility import EquipmentKind

__all__ = [
    "EVENT_FEATURES",
    "FEATURES",
    "LOOK_AT",
    "RESIDUALS",
    "SETTLING",
    "Feature",
    "Residual",
    "features_of",
]

Metrics = Mapping[str, float]


@dataclass(frozen=True)
class Feature:
    """A health feature: how to compute it from one reading (None when it does not apply)."""

    name: str
    compute: Callable[[Metrics], float | None]
    label: str  # in words: "vibration while running"
    rises_when_failing: bool = True
    limit: float | None = None  # an absolute maintenance limit replaces the learned baseline

    def __reduce__(self) -> tuple[Callable[[str], Feature], tuple[str]]:
        # `compute` is a closure, which pickle cannot save: a saved engine (facmon analytics'
        # snapshot) names the feature instead and finds it in the registry when loaded.
        return (feature_named, (self.name,))


@dataclass(frozen=True)
class Residual:
    """A feature that is the residual of a per-device model: `target` predicted from `inputs`
    (readings where `when` is true), e.g. pump flow from motor current and head."""

    name: str
    target: str
    inputs: tuple[str, ...]
    when: str
    label: str
    rises_when_failing: bool = False

    def row(self, m: Metrics) -> list[float] | None:
        """[target, inputs...] for the model, or None when the reading does not apply."""
        if not m.get(self.when):
            return None
        values = [_derived(m, name) for name in (self.target, *self.inputs)]
        return None if any(v is None for v in values) else [float(v or 0.0) for v in values]


def _while(condition: str, metric: str) -> Callable[[Metrics], float | None]:
    def compute(m: Metrics) -> float | None:
        return m.get(metric) if m.get(condition) else None

    return compute


def _moving(metric: str) -> Callable[[Metrics], float | None]:
    def compute(m: Metrics) -> float | None:
        return m.get(metric) if m.get("speed_m_s") else None

    return compute


def _ratio(top: str, bottom: str, when: str) -> Callable[[Metrics], float | None]:
    def compute(m: Metrics) -> float | None:
        below = m.get(bottom)
        if not m.get(when) or top not in m or not below or below <= 0:
            return None
        return m[top] / below

    return compute


def _plain(metric: str) -> Callable[[Metrics], float | None]:
    return lambda m: m.get(metric)


def _head(m: Metrics) -> float | None:
    if not m.get("running") or "pressure_bar" not in m or "suction_pressure_bar" not in m:
        return None
    return m["pressure_bar"] - m["suction_pressure_bar"]


def _derived(m: Metrics, name: str) -> float | None:
    """A metric, the pump head, a lift's load signed by its direction (the imbalance against
    the counterweight the motor works with), or a metric squared (`motor_current_a^2`)."""
    if name == "head":
        return _head(m)
    if name == "load_with_direction":
        load, speed = m.get("load_kg"), m.get("speed_m_s")
        return None if load is None or not speed else load * (1.0 if speed > 0 else -1.0)
    if name == "direction":
        speed = m.get("speed_m_s")
        return None if not speed else (1.0 if speed > 0 else -1.0)
    if name.endswith("^2"):
        value = m.get(name[:-2])
        return None if value is None else value * value
    return m.get(name)


def _leveling(m: Metrics) -> float | None:
    value = m.get("leveling_error_mm")
    return None if value is None else abs(value)


FEATURES: dict[EquipmentKind, tuple[Feature, ...]] = {
    EquipmentKind.PUMP: (
        Feature("vibration_running", _while("running", "vibration_mm_s"),
                "vibration while running"),
        Feature("flow_per_amp", _ratio("flow_m3_h", "motor_current_a", "running"),
                "flow per ampere", rises_when_failing=False),
        Feature("suction_pressure", _while("running", "suction_pressure_bar"),
                "suction pressure while running", rises_when_failing=False),
        Feature("head", _head, "pump head (discharge minus suction)", rises_when_failing=False),
        Feature("motor_temp_per_amp", _ratio("motor_temp_c", "motor_current_a", "running"),
                "motor temperature per ampere"),
    ),
    EquipmentKind.ELEVATOR: (
        Feature("door_close_time", _plain("door_close_time_s"), "door close time"),
        Feature("door_current", _plain("door_current_a"), "door operator current"),
        Feature("vibration_moving", _moving("vibration_mm_s"), "vibration while moving"),
        Feature("leveling_error", _leveling, "levelling error"),
    ),
    EquipmentKind.FIRE_PANEL: (
        # Panels flag a detector for cleaning at high compensation: 60% is the early warning.
        Feature("detector_drift", _plain("detector_drift_pct"), "smoke detector drift", limit=60.0),
        Feature("battery_float", _while("mains_ok", "battery_v"), "battery float voltage",
                rises_when_failing=False),
        Feature("charger_current", _while("mains_ok", "charger_current_a"), "charger current"),
    ),
    EquipmentKind.ACCESS_GATE: (
        Feature("open_time", _plain("open_time_s"), "gate opening time"),
        Feature("gate_current", _plain("motor_current_a"), "gate motor current"),
    ),
}  # fmt: skip


_HOUR_MS = 3_600_000
_RECHARGE = frozenset({"battery_float", "charger_current", "charger_current_for_voltage"})

# Events after which some features of the device are expected off their baseline for a while,
# and are neither judged nor learned: after a load test or a mains failure the standby battery
# recharges, so the charger draws more and the float voltage is low until it is full again.
SETTLING: dict[str, tuple[int, frozenset[str]]] = {
    "battery_test": (6 * _HOUR_MS, _RECHARGE),
    "mains_restored": (12 * _HOUR_MS, _RECHARGE),
}


RESIDUALS: dict[EquipmentKind, tuple[Residual, ...]] = {
    EquipmentKind.PUMP: (
        # Shaft power, so current, grows with flow along a curve: current and its square.
        Residual("flow_for_power", "flow_m3_h",
                 ("motor_current_a", "motor_current_a^2", "head"), "running",
                 "flow for the current and head"),
    ),
    EquipmentKind.ELEVATOR: (
        # Hoist current follows the car-counterweight imbalance in the direction of travel.
        Residual("hoist_current_for_load", "motor_current_a",
                 ("load_with_direction", "direction"), "speed_m_s",
                 "hoist current for the load and direction", rises_when_failing=True),
    ),
    EquipmentKind.FIRE_PANEL: (
        # On float, charger current follows the battery voltage; an ageing battery draws more.
        Residual("charger_current_for_voltage", "charger_current_a", ("battery_v",), "mains_ok",
                 "charger current for the battery voltage", rises_when_failing=True),
    ),
    EquipmentKind.ACCESS_GATE: (
        # Motor current follows how long the stroke takes; binding needs more for the same stroke.
        Residual("gate_current_for_stroke", "motor_current_a", ("open_time_s",), "opens",
                 "gate motor current for the stroke time", rises_when_failing=True),
    ),
}  # fmt: skip

# Where a crew should look when a feature goes wrong: the parts that cause it.
LOOK_AT: dict[str, str] = {
    "vibration_running": "drive-end bearing, coupling alignment, impeller balance",
    "flow_per_amp": "mechanical seal, impeller wear, a leak or bypass after the pump",
    "flow_for_power": "mechanical seal (water lost before the meter), impeller wear",
    "suction_pressure": "inlet strainer, suction valve, break tank level (cavitation)",
    "head": "impeller (clogged or worn), suction side",
    "motor_temp_per_amp": "motor cooling: fan, fan cowl, ventilation; winding insulation",
    "door_close_time": "door operator: hanger rollers, belt, sill track",
    "door_current": "door operator motor and belt, sill obstruction",
    "vibration_moving": "hoist machine bearings, guide shoes and rails",
    "leveling_error": "brake adjustment, rope stretch, levelling vane and sensor",
    "detector_drift": "the smoke detector due for cleaning (see the panel's detector list)",
    "battery_float": "standby batteries and charger",
    "charger_current": "standby batteries: a failing cell draws charging current",
    "battery_under_load": "standby batteries: replace them if the voltage under load keeps falling",
    "hoist_current_for_load": "hoist brake (dragging), machine bearings, rope and sheave",
    "charger_current_for_voltage": "standby batteries: a failing cell draws charging current",
    "gate_current_for_stroke": "gate hinges or track lubrication, gearbox, obstruction",
    "open_time": "gate hinges or track, gearbox, obstruction",
    "gate_current": "gate hinges or track lubrication, gearbox",
}

# Health values that devices report in events rather than readings: (event type, attribute).
EVENT_FEATURES: dict[tuple[str, str], Feature] = {
    ("battery_test", "voltage_under_load_v"): Feature(
        "battery_under_load", _plain("voltage_under_load_v"), "battery voltage under load",
        rises_when_failing=False,
    ),
}  # fmt: skip


_FEATURES_BY_NAME = {
    feature.name: feature
    for feature in (*(f for fs in FEATURES.values() for f in fs), *EVENT_FEATURES.values())
}


def feature_named(name: str) -> Feature:
    """The registered feature called `name` (names are unique across kinds)."""
    return _FEATURES_BY_NAME[name]


def features_of(kind: EquipmentKind, metrics: Metrics) -> dict[str, float]:
    """The health features one reading yields (those that apply to it)."""
    found = {}
    for feature in FEATURES[kind]:
        value = feature.compute(metrics)
        if value is not None:
            found[feature.name] = float(value)
    return found
