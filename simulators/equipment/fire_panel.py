"""A fire-alarm control panel: 24 V standby battery and charger, detector zones, trouble logic.

What a panel's telemetry shows is mostly its power supply: a lead-acid battery floated at about
27.3 V by a current-limited charger, which carries the panel alone when the mains fails and is
recharged afterwards. Once a day the panel load-tests the battery: the charger steps back and a
test load is applied for two minutes; the voltage under that load is what reveals an ageing
battery, long before its float voltage does. The rest is discrete: zones in alarm or in fault,
test mode, and the drift compensation of the dirtiest smoke detector.

Incidents (which zone, which trouble, when a walk-test activation happens) draw from their own
generator, seeded from the model's, so a panel with a fault and a healthy twin built from the
same seed see the same mains failures and the same noise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from facility import CATALOGUE, EquipmentKind
from simulators import rhythms
from simulators.equipment.base import (
    DeviceEvent,
    EquipmentModel,
    MetricValue,
    SensorSpec,
    Step,
    has_failed,
    poisson,
    progress_of,
)
from simulators.faults import DAY_MS, YEAR_MS, ActiveFault, FaultType

__all__ = ["FirePanelModel", "PanelNameplate"]

BATTERY_AH_SIZES = (7.0, 12.0, 17.0, 24.0, 38.0)
EMPTY_OCV_V = 23.6  # open-circuit voltage of two 12 V VRLA blocks, flat...
FULL_OCV_V = 25.6  # ...and full
SURFACE_CHARGE_V = 0.3  # what a floated battery shows above its rest voltage for a while
TAPER_DEFICIT = 0.03  # below this missing charge the charger leaves constant current
SURFACE_DECAY_S = 900.0  # how fast a battery taken off float loses its surface charge
LOAD_TEST_S = 120.0
LOAD_TEST_FAIL_V = 22.8  # 1.9 V per cell under the test load
WALK_TEST_PER_S = 1 / 150  # a technician sets off a detector every two to three minutes
TROUBLE_REASONS = ("open_circuit", "short_circuit", "device_missing", "sounder_circuit")
_F = FaultType


@dataclass(frozen=True)
class PanelNameplate:
    """The panel's configuration and its power supply's data, as the commissioning sheet has it."""

    zones: int
    battery_ah: float
    float_v: float
    quiescent_a: float
    float_current_a: float
    charge_limit_a: float
    test_load_a: float
    internal_resistance_ohm: float
    test_offset_ms: int
    mains_failures_per_year: float
    cabinet_c: float
    detector_drift_pct: float
    dust_pct_per_year: float

    @classmethod
    def draw(cls, rng: random.Random) -> PanelNameplate:
        """A plausible panel: battery sized for 24 h standby plus 30 min of alarm."""
        battery_ah = rng.choice(BATTERY_AH_SIZES)
        return cls(
            zones=rng.randint(4, 32),
            battery_ah=battery_ah,
            float_v=rng.uniform(27.2, 27.4),
            quiescent_a=battery_ah / 24 * rng.uniform(0.4, 0.8),
            float_current_a=battery_ah * rng.uniform(0.001, 0.002),  # 1-2 mA/Ah for VRLA
            charge_limit_a=min(3.0, max(0.5, 0.1 * battery_ah)),
            test_load_a=0.25 * battery_ah,
            internal_resistance_ohm=0.6 / battery_ah * rng.uniform(0.8, 1.2),
            test_offset_ms=3 * 3_600_000 + rng.randrange(0, 30) * 60_000,  # about 03:00
            mains_failures_per_year=rng.uniform(6.0, 24.0),
            cabinet_c=rng.uniform(18.0, 25.0),
            detector_drift_pct=rng.uniform(3.0, 15.0),
            dust_pct_per_year=rng.uniform(1.0, 6.0),
        )


@dataclass(frozen=True)
class _Battery:
    """What battery ageing has done so far: more resistance, less capacity, more float current."""

    resistance_ohm: float
    capacity_ah: float
    float_offset_v: float
    float_current_a: float
    test_sag_v: float

    @classmethod
    def of(cls, plate: PanelNameplate, faults: Sequence[ActiveFault]) -> _Battery:
        """Sulphation raises the internal resistance and eats capacity; a failed one collapses."""
        ageing = progress_of(faults, _F.BATTERY_AGEING)
        collapse = 1.5 if has_failed(faults, _F.BATTERY_AGEING) else 0.0
        return cls(
            resistance_ohm=plate.internal_resistance_ohm * (1 + 9 * ageing),
            capacity_ah=plate.battery_ah * (1 - 0.5 * ageing),
            float_offset_v=-0.25 * ageing,
            float_current_a=plate.float_current_a * (1 + 5 * ageing),
            test_sag_v=1.2 * ageing**2 + collapse,
        )


@dataclass
class _Incident:
    """An incident the panel has announced, remembered until it clears."""

    fault: FaultType
    zone: int
    reason: str
    announced: bool = False


@dataclass
class _Outage:
    """A mains failure: [start_ms, end_ms)."""

    start_ms: int
    end_ms: int
    restored_reported: bool = False


@dataclass
class _Interval:
    """The step being computed: (since_ms, ts_ms] and the events it has produced."""

    since_ms: int
    ts_ms: int
    events: list[DeviceEvent] = field(default_factory=list)

    @property
    def dt_s(self) -> float:
        return (self.ts_ms - self.since_ms) / 1000

    def holds(self, instant_ms: int) -> bool:
        return self.since_ms < instant_ms <= self.ts_ms

    def at_or_end(self, instant_ms: int) -> int:
        """`instant_ms` if it lies in this interval, else its end (something seen late)."""
        return instant_ms if self.holds(instant_ms) else self.ts_ms

    def emit(self, ts_ms: int, kind: str, **attributes: float | str | bool) -> None:
        self.events.append(DeviceEvent(ts_ms, kind, dict(attributes)))


# What the panel announces when an incident begins (sudden ones) or fails (gradual ones), and
# the reason it gives; zones are named for incidents that belong to one detector circuit.
_TROUBLES: dict[FaultType, str | None] = {
    _F.GROUND_FAULT: "ground_fault",
    _F.TROUBLE_SIGNAL: None,  # drawn from TROUBLE_REASONS per incident
    _F.BATTERY_AGEING: "battery_low",
    _F.DETECTOR_CONTAMINATION: "detector_dirty",
}
_ZONED = frozenset({_F.TROUBLE_SIGNAL, _F.DETECTOR_CONTAMINATION, _F.FIRE_ALARM})
_SUDDEN = frozenset({_F.GROUND_FAULT, _F.TROUBLE_SIGNAL, _F.FIRE_ALARM, _F.TEST_MODE})
_INCIDENTS = frozenset({*_TROUBLES, _F.FIRE_ALARM, _F.TEST_MODE})


class FirePanelModel(EquipmentModel):
    """One fire-alarm control panel with its standby battery, charger and detector zones.

    >>> panel = FirePanelModel(random.Random(7))
    >>> step = panel.step(1_714_564_800_000 + 12 * 3_600_000, 60.0, [])
    >>> round(float(step.metrics["battery_v"])), step.metrics["mains_ok"]
    (27, True)
    """

    kind: ClassVar[EquipmentKind] = EquipmentKind.FIRE_PANEL
    sensors: ClassVar[dict[str, SensorSpec]] = {
        "battery_v": SensorSpec(noise=0.01, resolution=0.01),
        "charger_current_a": SensorSpec(noise=0.005, resolution=0.01),
        "detector_drift_pct": SensorSpec(noise=0.0, resolution=1.0),
    }

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.plate = PanelNameplate.draw(rng)
        self.incident_rng = random.Random(rng.getrandbits(64))
        self.deficit = 0.0  # share of the battery's present capacity that is not charged
        self.outage: _Outage | None = None
        self.incidents: dict[tuple[FaultType, int], _Incident] = {}
        self.first_ms: int | None = None
        self.last_test_ms: int | None = None
        self.last_test_v = 0.0

    def step(self, ts_ms: int, dt_s: float, faults: Sequence[ActiveFault]) -> Step:
        """Advance one interval: mains, battery charge, the daily test, incidents, readings."""
        if self.first_ms is None:
            self.first_ms = ts_ms  # the panel starts floated, with nothing to report
        interval = _Interval(ts_ms - round(dt_s * 1000), ts_ms)
        battery = _Battery.of(self.plate, faults)
        self._mains(interval)
        self._charge(interval, battery)
        self._load_test(interval, battery)
        self._incidents(interval, faults)
        metrics = self._metrics(ts_ms, battery, faults)
        if self.outage is not None and self.outage.end_ms <= ts_ms:
            self.outage = None
        return Step(metrics, distinct_times(interval.events))

    # -- power supply ------------------------------------------------------------------------

    def _mains(self, interval: _Interval) -> None:
        """Short supply failures arrive at random (a Poisson process); most last minutes."""
        rate_per_s = self.plate.mains_failures_per_year / (YEAR_MS / 1000)
        failures = poisson(self.rng, rate_per_s * interval.dt_s)
        if self.outage is None and failures > 0:
            span_ms = interval.ts_ms - interval.since_ms
            start = interval.since_ms + 1 + int(self.rng.random() * (span_ms - 1))
            minutes = min(240.0, max(0.5, self.rng.lognormvariate(math.log(8.0), 1.0)))
            self.outage = _Outage(start, start + round(minutes * 60_000))
            interval.emit(start, "mains_failure")
        outage = self.outage
        if outage is not None and not outage.restored_reported and outage.end_ms <= interval.ts_ms:
            outage.restored_reported = True
            duration_s = round((outage.end_ms - outage.start_ms) / 1000)
            interval.emit(outage.end_ms, "mains_restored", duration_s=duration_s)

    def _mains_on(self, ts_ms: int) -> bool:
        outage = self.outage
        return outage is None or not outage.start_ms <= ts_ms < outage.end_ms

    def _charge(self, interval: _Interval, battery: _Battery) -> None:
        """Recharge while the mains is on, discharge into the panel while it is off."""
        before_s, off_s, after_s = interval.dt_s, 0.0, 0.0
        outage = self.outage
        if outage is not None:
            start = max(outage.start_ms, interval.since_ms)
            end = max(start, min(outage.end_ms, interval.ts_ms))
            before_s = (start - interval.since_ms) / 1000
            off_s = (end - start) / 1000
            after_s = (interval.ts_ms - end) / 1000
        self._recharge(before_s, battery)
        self._discharge(off_s, self.plate.quiescent_a, battery)
        self._recharge(after_s, battery)

    def _discharge(self, seconds: float, current_a: float, battery: _Battery) -> None:
        drawn = current_a * seconds / (battery.capacity_ah * 3600)
        self.deficit = min(1.0, self.deficit + drawn)

    def _recharge(self, seconds: float, battery: _Battery) -> None:
        """Constant current until 90% charged, then a tapering current (exact for any step)."""
        if seconds <= 0 or self.deficit <= 0:
            return
        rate = self.plate.charge_limit_a / (battery.capacity_ah * 3600)  # deficit per second
        constant_s = max(0.0, (self.deficit - TAPER_DEFICIT) / rate)
        if seconds <= constant_s:
            self.deficit -= rate * seconds
            return
        tapering_s = seconds - constant_s
        self.deficit = min(self.deficit, TAPER_DEFICIT) * math.exp(
            -rate * tapering_s / TAPER_DEFICIT
        )

    def _load_test(self, interval: _Interval, battery: _Battery) -> None:
        """The daily battery test, at the panel's fixed time, skipped while on battery anyway."""
        for day in range(interval.since_ms // DAY_MS, interval.ts_ms // DAY_MS + 1):
            start = day * DAY_MS + self.plate.test_offset_ms
            if not interval.holds(start) or not self._mains_on(start):
                continue
            voltage = self._test_voltage(start, battery)
            self.last_test_ms, self.last_test_v = start, voltage
            self._discharge(LOAD_TEST_S, self.plate.test_load_a, battery)
            result = "pass" if voltage >= LOAD_TEST_FAIL_V else "fail"
            interval.emit(
                start, "battery_test", voltage_under_load_v=round(voltage, 2), result=result
            )

    def _test_voltage(self, ts_ms: int, battery: _Battery) -> float:
        """Voltage under the test load: a cold battery and an aged one both sag further."""
        cold_k = 20.0 - self._cabinet_c(ts_ms)
        resistance = battery.resistance_ohm * (1 + 0.01 * cold_k)
        load_a = self.plate.test_load_a + self.plate.quiescent_a
        voltage = self._rest_voltage() + SURFACE_CHARGE_V - battery.test_sag_v
        return voltage - load_a * resistance + self.rng.gauss(0.0, 0.02)

    def _rest_voltage(self) -> float:
        """Open-circuit voltage: roughly linear in the state of charge for lead-acid."""
        return EMPTY_OCV_V + (FULL_OCV_V - EMPTY_OCV_V) * (1.0 - self.deficit)

    def _cabinet_c(self, ts_ms: int) -> float:
        hour = rhythms.hour_of_day(ts_ms)
        return self.plate.cabinet_c + 1.5 * math.sin(2 * math.pi * (hour - 9.0) / 24)

    def _supply(self, ts_ms: int, battery: _Battery) -> tuple[float, float]:
        """Battery voltage and charger current at ts_ms.

        On mains the charger holds the float voltage (slightly lower when warm) and pushes a
        current that is small when full and limited while recharging; during the load test the
        charger steps back; off mains the battery carries the panel and sinks with its charge.
        """
        plate = self.plate
        if self.outage is not None and not self._mains_on(ts_ms):  # this also ends a load test
            off_s = (ts_ms - self.outage.start_ms) / 1000
            surface = SURFACE_CHARGE_V * math.exp(-off_s / SURFACE_DECAY_S)
            return self._rest_voltage() + surface - plate.quiescent_a * battery.resistance_ohm, 0.0
        last_test = self.last_test_ms
        if last_test is not None and last_test <= ts_ms < last_test + LOAD_TEST_S * 1000:
            return self.last_test_v, 0.0
        warm_k = self._cabinet_c(ts_ms) - 20.0
        charging = min(1.0, self.deficit / TAPER_DEFICIT)
        voltage = plate.float_v + battery.float_offset_v - 0.018 * warm_k - 1.2 * charging
        current = battery.float_current_a * 2 ** (warm_k / 10) + plate.charge_limit_a * charging
        return voltage, current

    # -- incidents ---------------------------------------------------------------------------

    def _incidents(self, interval: _Interval, faults: Sequence[ActiveFault]) -> None:
        """Announce incidents as a panel does, run any walk test, and clear what was repaired.

        Sudden incidents are announced at their onset, gradual ones at their failure, and all
        are cleared at their repair: each at its own instant, even when it began and ended
        between two readings. An incident the caller stops reporting is cleared now.
        """
        reported = {(f.type, f.onset_ms): f for f in faults if f.type in _INCIDENTS}
        for key, fault in reported.items():
            if key not in self.incidents:
                self.incidents[key] = self._new_incident(fault.type)
            due_ms = fault.onset_ms if fault.type in _SUDDEN else fault.failure_ms
            incident = self.incidents[key]
            if not incident.announced and due_ms <= interval.ts_ms and due_ms < fault.repaired_ms:
                self._announce(interval, interval.at_or_end(due_ms), incident)
        self._walk_test(interval, faults)
        for key in list(self.incidents):
            fault_now = reported.get(key)
            if fault_now is None or fault_now.repaired_ms <= interval.ts_ms:
                repaired_ms = fault_now.repaired_ms if fault_now else interval.ts_ms
                self._clear(interval, interval.at_or_end(repaired_ms), self.incidents.pop(key))

    def _new_incident(self, fault: FaultType) -> _Incident:
        zone = self.incident_rng.randint(1, self.plate.zones)
        reason = _TROUBLES.get(fault) or self.incident_rng.choice(TROUBLE_REASONS)
        return _Incident(fault, zone, reason)

    def _announce(self, interval: _Interval, ts_ms: int, incident: _Incident) -> None:
        incident.announced = True
        zone = {"zone": incident.zone} if incident.fault in _ZONED else {}
        if incident.fault is _F.FIRE_ALARM:
            interval.emit(ts_ms, "fire_alarm", test=False, **zone)
        elif incident.fault is _F.TEST_MODE:
            interval.emit(ts_ms, "test_mode_started")
        else:
            interval.emit(ts_ms, "fire_trouble", reason=incident.reason, **zone)

    def _clear(self, interval: _Interval, ts_ms: int, incident: _Incident) -> None:
        if not incident.announced:
            return
        zone = {"zone": incident.zone} if incident.fault in _ZONED else {}
        if incident.fault is _F.FIRE_ALARM:
            interval.emit(ts_ms, "fire_alarm_reset", **zone)
        elif incident.fault is _F.TEST_MODE:
            interval.emit(ts_ms, "test_mode_ended")
        else:
            interval.emit(ts_ms, "fire_trouble_cleared", reason=incident.reason, **zone)

    def _walk_test(self, interval: _Interval, faults: Sequence[ActiveFault]) -> None:
        """In test mode a technician sets off detectors zone by zone; none of them latches."""
        for fault in faults:
            incident = self.incidents.get((fault.type, fault.onset_ms))
            if fault.type is not _F.TEST_MODE or incident is None:
                continue
            begin = max(fault.onset_ms, interval.since_ms)
            span_ms = min(fault.repaired_ms, interval.ts_ms) - begin
            if span_ms < 2:
                continue
            count = poisson(self.incident_rng, WALK_TEST_PER_S * span_ms / 1000)
            instants = sorted(
                begin + 1 + int(self.incident_rng.random() * (span_ms - 1)) for _ in range(count)
            )
            for instant in instants:
                if self.incident_rng.random() < 0.3:  # on to the next zone
                    incident.zone = incident.zone % self.plate.zones + 1
                interval.emit(instant, "fire_alarm", zone=incident.zone, test=True)

    # -- readings ----------------------------------------------------------------------------

    def _drift_pct(self, ts_ms: int, faults: Sequence[ActiveFault]) -> float:
        """The dirtiest detector: dust settles slowly; a contaminated one climbs to the limit."""
        plate = self.plate
        years = (ts_ms - (self.first_ms or ts_ms)) / YEAR_MS
        humidity = 0.5 * math.sin(2 * math.pi * rhythms.hour_of_day(ts_ms) / 24)
        base = plate.detector_drift_pct + plate.dust_pct_per_year * years + humidity
        return base + (100.0 - base) * progress_of(faults, _F.DETECTOR_CONTAMINATION)

    def _metrics(
        self, ts_ms: int, battery: _Battery, faults: Sequence[ActiveFault]
    ) -> dict[str, MetricValue]:
        """The readings at ts_ms, kept inside what the panel can report."""
        voltage, current = self._supply(ts_ms, battery)
        announced = [i for i in self.incidents.values() if i.announced]
        specs = CATALOGUE[EquipmentKind.FIRE_PANEL]
        gauges = {
            "battery_v": voltage,
            "charger_current_a": current,
            "detector_drift_pct": self._drift_pct(ts_ms, faults),
        }
        metrics: dict[str, MetricValue] = {
            name: min(max(value, specs[name].minimum), specs[name].maximum)
            for name, value in gauges.items()
        }
        metrics["mains_ok"] = self._mains_on(ts_ms)
        metrics["zones_in_alarm"] = sum(i.fault is _F.FIRE_ALARM for i in announced)
        metrics["zones_in_fault"] = sum(i.fault in _TROUBLES for i in announced)
        metrics["test_mode"] = any(
            f.type is _F.TEST_MODE and f.onset_ms <= ts_ms < f.repaired_ms for f in faults
        )
        return metrics


def distinct_times(events: list[DeviceEvent]) -> list[DeviceEvent]:
    """Events in time order, no two of one type in the same millisecond (they would merge).

    A later duplicate moves one millisecond earlier, so the event stays inside its interval.

    >>> e = [DeviceEvent(5, "fire_alarm"), DeviceEvent(5, "fire_alarm"), DeviceEvent(5, "x")]
    >>> [(x.ts_ms, x.type) for x in distinct_times(e)]
    [(4, 'fire_alarm'), (5, 'fire_alarm'), (5, 'x')]
    """
    taken: dict[str, int] = {}
    moved: list[DeviceEvent] = []
    for event in sorted(events, key=lambda e: e.ts_ms, reverse=True):
        ts_ms = min(event.ts_ms, taken.get(event.type, event.ts_ms + 1) - 1)
        taken[event.type] = ts_ms
        moved.append(DeviceEvent(ts_ms, event.type, event.attributes))
    return sorted(moved, key=lambda e: e.ts_ms)
