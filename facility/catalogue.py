"""The metric catalogue: for each equipment kind, the metrics it reports and their limits.

The catalogue is the contract an integrator reads (docs/mqtt-contract.md is generated from
the same facts): names carry their unit, ranges are what the physics allows, not what is
normal. A value outside its range cannot be a real measurement, so ingest dead-letters it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EquipmentKind(StrEnum):
    """The equipment kinds facmon monitors; the value is the MQTT topic segment."""

    ELEVATOR = "elevator"
    PUMP = "pump"
    FIRE_PANEL = "fire_panel"
    ACCESS_GATE = "access_gate"


class MetricType(StrEnum):
    """Gauge: a level sampled now. Counter: a running total that only grows (until reset)."""

    GAUGE = "gauge"
    COUNTER = "counter"
    STATE = "state"


@dataclass(frozen=True)
class MetricSpec:
    """One metric of one equipment kind, with its physically possible range (inclusive)."""

    name: str
    unit: str
    type: MetricType
    minimum: float
    maximum: float
    description: str

    def admits(self, value: float) -> bool:
        """True when the value can be a real measurement of this metric."""
        return self.minimum <= value <= self.maximum


def _gauge(name: str, unit: str, lo: float, hi: float, text: str) -> MetricSpec:
    return MetricSpec(name, unit, MetricType.GAUGE, lo, hi, text)


def _counter(name: str, unit: str, text: str) -> MetricSpec:
    return MetricSpec(name, unit, MetricType.COUNTER, 0, 1e12, text)


def _state(name: str, text: str) -> MetricSpec:
    return MetricSpec(name, "bool", MetricType.STATE, 0, 1, text)


_SPECS: dict[EquipmentKind, tuple[MetricSpec, ...]] = {
    EquipmentKind.PUMP: (
        _gauge("flow_m3_h", "m³/h", 0, 5000, "volume flow delivered"),
        _gauge("pressure_bar", "bar", -1, 100, "discharge pressure (gauge)"),
        _gauge("suction_pressure_bar", "bar", -1, 50, "suction pressure (gauge)"),
        _gauge("motor_current_a", "A", 0, 2000, "motor phase current"),
        _gauge("vibration_mm_s", "mm/s", 0, 100, "bearing-housing vibration velocity, RMS"),
        _gauge("bearing_temp_c", "°C", -40, 200, "drive-end bearing temperature"),
        _gauge("motor_temp_c", "°C", -40, 250, "motor winding temperature"),
        _state("running", "the pump motor is running"),
        _counter("run_hours_h", "h", "motor running hours since commissioning"),
    ),
    EquipmentKind.ELEVATOR: (
        _counter("trips", "1", "trips completed since commissioning"),
        _counter("door_cycles", "1", "door open/close cycles since commissioning"),
        _gauge("door_close_time_s", "s", 0, 60, "time of the last door close"),
        _gauge("door_current_a", "A", 0, 50, "door operator motor current during the last close"),
        _gauge("motor_current_a", "A", 0, 1000, "hoist motor current"),
        _gauge("vibration_mm_s", "mm/s", 0, 100, "car or machine vibration velocity, RMS"),
        _gauge("leveling_error_mm", "mm", -500, 500, "stop position error at the landing"),
        _gauge("load_kg", "kg", 0, 20000, "car load"),
        _gauge("speed_m_s", "m/s", -20, 20, "car speed, positive upwards"),
        _gauge("machine_temp_c", "°C", -40, 150, "machine-room or motor temperature"),
    ),
    EquipmentKind.FIRE_PANEL: (
        _gauge("battery_v", "V", 0, 60, "standby battery voltage"),
        _state("mains_ok", "mains supply present"),
        _gauge("zones_in_alarm", "1", 0, 10000, "zones in fire alarm now"),
        _gauge("zones_in_fault", "1", 0, 10000, "zones with a fault (trouble) now"),
        _gauge("charger_current_a", "A", 0, 50, "battery charger current"),
        _gauge("detector_drift_pct", "%", 0, 100, "worst smoke detector's drift compensation"),
        _state("test_mode", "panel is in test or disablement mode"),
    ),
    EquipmentKind.ACCESS_GATE: (
        _counter("opens", "1", "openings since commissioning"),
        _counter("failed_auth", "1", "refused credentials since commissioning"),
        _gauge("motor_current_a", "A", 0, 100, "gate motor current during the last opening"),
        _gauge("open_time_s", "s", 0, 600, "time the last opening took"),
        _state("is_open", "the gate is open now"),
    ),
}

CATALOGUE: dict[EquipmentKind, dict[str, MetricSpec]] = {
    kind: {spec.name: spec for spec in specs} for kind, specs in _SPECS.items()
}


def metric_spec(kind: EquipmentKind, name: str) -> MetricSpec | None:
    """The catalogue entry for a metric, or None for an integrator's extra metric.

    >>> metric_spec(EquipmentKind.PUMP, "pressure_bar").unit
    'bar'
    """
    return CATALOGUE[kind].get(name)
