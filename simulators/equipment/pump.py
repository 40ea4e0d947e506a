"""A domestic water booster pump: a fixed-speed centrifugal pump with a pressure tank.

The building draws water as its daily rhythm says; the pump delivers that flow along its curve
(head falls with flow squared), and the motor current follows the shaft power that flow and head
ask for. At night the demand is too small to keep the pump running: it stops with the pressure
tank full and restarts when the tank has drained to the cut-in pressure, so `running` cycles.
Bearing and winding temperatures follow their heat input through first-order lags.

Every step draws the same number of random numbers whatever the faults, so a faulty pump and a
healthy twin built from the same seed see the same demand and the same noise: the difference
between them is the fault's signature and nothing else.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, fields
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
    lag,
    progress_of,
)
from simulators.faults import ActiveFault, FaultType

__all__ = ["PumpModel", "PumpNameplate"]

BAR_PER_METRE = 1000 * 9.81 / 1e5  # hydrostatic pressure of one metre of water
SUPPLY_VOLTAGE_V = 400.0
MOTOR_SIZES_KW = (2.2, 3.0, 4.0, 5.5, 7.5, 11.0, 15.0, 18.5, 22.0, 30.0, 37.0, 45.0)
SHUTOFF_HEAD_RATIO = 1.25  # typical of a radial impeller: shut-off head 25% above duty head
DRY_SHAFT_FRACTION = 0.07  # an impeller spinning in air only overcomes friction and windage
DEMAND_TAU_S = 600.0  # how long a burst of water use (showers, a washing machine) lasts
DEMAND_SIGMA = 0.15  # relative spread of demand around the daily rhythm
SUCTION_TAU_S = 1800.0  # mains pressure wanders over tens of minutes
SUCTION_SIGMA_BAR = 0.04
DRY_BEARING_TAU_S = 600.0  # without water the seal and bearing heat up within minutes
SETTLE_MS = 6 * 3_600_000  # silent run-in before the first reading: several time constants
SETTLE_STEP_MS = 300_000


@dataclass(frozen=True)
class PumpNameplate:
    """What the plate, the data sheet and the commissioning sheet say about one pump set."""

    rated_flow_m3_h: float
    rated_head_m: float
    pump_efficiency: float
    motor_kw: float
    motor_efficiency: float
    full_load_current_a: float
    magnetising_current_a: float
    peak_demand_m3_h: float
    mains_pressure_bar: float
    supply_loss_bar: float
    tank_drawdown_m3: float
    refill_flow_m3_h: float
    stop_flow_m3_h: float
    vibration_mm_s: float
    background_vibration_mm_s: float
    plant_room_c: float
    bearing_rise_k: float
    winding_rise_k: float
    bearing_tau_s: float
    winding_tau_s: float
    installed_years: float
    run_hours_h: float

    @classmethod
    def draw(cls, rng: random.Random) -> PumpNameplate:
        """A plausible booster set: pump sized for the building, motor sized for the pump."""
        flow = rng.uniform(20.0, 80.0)
        mains, supply_loss = rng.uniform(1.5, 3.0), rng.uniform(0.15, 0.35)
        # Sized so the top floor gets its pressure: 5-8 bar at the duty point.
        head = (rng.uniform(5.0, 8.0) - mains + supply_loss) / BAR_PER_METRE
        efficiency = rng.uniform(0.62, 0.76)
        shaft_kw = flow / 3600 * head * 9.81 / efficiency
        motor_kw = next(size for size in MOTOR_SIZES_KW if size >= 1.1 * shaft_kw)
        motor_efficiency = rng.uniform(0.86, 0.93)
        full_load = motor_kw * 1000 / (math.sqrt(3) * SUPPLY_VOLTAGE_V * motor_efficiency * 0.85)
        years = rng.uniform(0.5, 12.0)
        return cls(
            rated_flow_m3_h=flow,
            rated_head_m=head,
            pump_efficiency=efficiency,
            motor_kw=motor_kw,
            motor_efficiency=motor_efficiency,
            full_load_current_a=full_load,
            magnetising_current_a=full_load * rng.uniform(0.15, 0.2),
            peak_demand_m3_h=flow * rng.uniform(0.75, 0.95),
            mains_pressure_bar=mains,
            supply_loss_bar=supply_loss,
            tank_drawdown_m3=flow * rng.uniform(0.004, 0.008),
            refill_flow_m3_h=0.2 * flow,
            stop_flow_m3_h=0.1 * flow,
            vibration_mm_s=rng.uniform(1.2, 2.4),
            background_vibration_mm_s=rng.uniform(0.1, 0.3),
            plant_room_c=rng.uniform(15.0, 24.0),
            bearing_rise_k=rng.uniform(22.0, 32.0),
            winding_rise_k=rng.uniform(60.0, 75.0),
            bearing_tau_s=rng.uniform(2400.0, 3600.0),
            winding_tau_s=rng.uniform(1500.0, 2400.0),
            installed_years=years,
            run_hours_h=years * 8760 * rng.uniform(0.3, 0.6),
        )

    def head_m(self, flow_m3_h: float) -> float:
        """The pump curve: head falls with the square of flow from the shut-off head."""
        shutoff = SHUTOFF_HEAD_RATIO * self.rated_head_m
        fall = (shutoff - self.rated_head_m) * (flow_m3_h / self.rated_flow_m3_h) ** 2
        return max(0.0, shutoff - fall)

    def shaft_kw(self, flow_m3_h: float, head_m: float) -> float:
        """Shaft power for a duty point, with efficiency rising from 0 at shut-off to the BEP.

        With efficiency = best * q * (2 - q) the hydraulic power's factor q cancels, so the
        power stays finite at zero flow (about 60% of rated), as centrifugal pumps behave.
        """
        q = min(flow_m3_h / self.rated_flow_m3_h, 1.5)
        rated_hydraulic_kw = self.rated_flow_m3_h / 3600 * head_m * 9.81
        return rated_hydraulic_kw / (self.pump_efficiency * (2.0 - q))

    def current_a(self, shaft_kw: float) -> float:
        """Phase current: the active part carries the power, the magnetising part is constant."""
        active = shaft_kw * 1000 / (math.sqrt(3) * SUPPLY_VOLTAGE_V * self.motor_efficiency)
        return math.hypot(active, self.magnetising_current_a)

    def tank_pressure_bar(self, suction_bar: float, tank_m3: float) -> float:
        """Pressure the tank holds: cut-out when full, 0.8 bar lower (cut-in) when drained."""
        cut_out = suction_bar + BAR_PER_METRE * self.head_m(self.refill_flow_m3_h)
        cut_in = cut_out - 0.8
        return cut_in + 0.8 * min(1.0, tank_m3 / self.tank_drawdown_m3)


@dataclass(frozen=True)
class _Noise:
    """One step's standard normal draws, always the same number of them (see module doc)."""

    demand: float
    suction: float
    flow: float
    pressure: float
    vibration: float
    spike: float
    cavitation_flow: float
    cavitation_head: float

    @classmethod
    def draw(cls, rng: random.Random) -> _Noise:
        return cls(*(rng.gauss(0.0, 1.0) for _ in fields(cls)))


@dataclass(frozen=True)
class _Effects:
    """What the active faults do to the physics this step (all neutral when healthy)."""

    capacity: float = 1.0  # fraction of the demanded flow the impeller still moves
    head: float = 1.0  # fraction of the healthy pump curve's head
    leak: float = 0.0  # fraction of the impeller's flow lost at the seal, before the meter
    suction_loss: float = 0.0  # 0 = mains pressure at the inlet, 1 = a slight vacuum
    vibration_mm_s: float = 0.0  # added to the healthy vibration while running
    imbalance: float = 0.0  # relative rise of the healthy vibration (uneven impeller mass)
    bearing_k: float = 0.0  # added to the bearing's temperature rise while running
    cooling: float = 1.0  # winding rise multiplier: above 1 when cooling is impaired
    dry: bool = False
    trip: str | None = None  # the reason the controller trips the pump, if it does


# The controller's trip reasons, checked in this order when several faults have failed.
TRIP_REASONS: dict[FaultType, str] = {
    FaultType.DRY_RUNNING: "dry_running",
    FaultType.MOTOR_OVERHEATING: "motor_overtemperature",
    FaultType.PUMP_BEARING_WEAR: "high_vibration",
}


def fault_effects(faults: Sequence[ActiveFault], noise: _Noise) -> _Effects:
    """Combine the effects of the faults present now into one set of multipliers and offsets.

    >>> fault_effects([], _Noise(0, 0, 0, 0, 0, 0, 0, 0)) == _Effects()
    True
    """
    wear = progress_of(faults, FaultType.PUMP_BEARING_WEAR)
    cavitation = progress_of(faults, FaultType.CAVITATION)
    clogging = progress_of(faults, FaultType.IMPELLER_CLOGGING)
    # A worn bearing rattles: its vibration is spiky, not just higher; cavitation even more so.
    rattle = 11.0 * wear * max(0.5, 1.0 + 0.12 * noise.spike)
    bubbles = cavitation * (4.0 + 2.5 * abs(noise.spike))
    return _Effects(
        capacity=(1 - 0.3 * clogging) * _cavitation_factor(cavitation, 0.3, noise.cavitation_flow),
        head=(1 - 0.25 * clogging) * _cavitation_factor(cavitation, 0.25, noise.cavitation_head),
        leak=0.4 * progress_of(faults, FaultType.SEAL_LEAK),
        suction_loss=cavitation,
        vibration_mm_s=rattle + bubbles,
        imbalance=0.5 * clogging,
        bearing_k=18.0 * wear**3,
        cooling=1.0 + 2.2 * progress_of(faults, FaultType.MOTOR_OVERHEATING),
        # Suction is lost at onset, not gradually: the lead time is how long protection takes.
        dry=any(f.type is FaultType.DRY_RUNNING for f in faults),
        trip=next((r for f, r in TRIP_REASONS.items() if has_failed(faults, f)), None),
    )


def trip_events(faults: Sequence[ActiveFault], since_ms: int, ts_ms: int) -> list[DeviceEvent]:
    """The controller's log: a trip when protection opens at failure, a reset at repair.

    Both at their own instant inside (since_ms, ts_ms], even when a fault fails and is
    repaired between two readings.
    """
    events: list[DeviceEvent] = []
    for fault in faults:
        reason = TRIP_REASONS.get(fault.type)
        if reason is None:
            continue
        if since_ms < fault.failure_ms <= ts_ms:
            events.append(DeviceEvent(fault.failure_ms, "pump_trip", {"reason": reason}))
        if since_ms < fault.repaired_ms <= ts_ms:
            events.append(DeviceEvent(fault.repaired_ms, "pump_reset", {"reason": reason}))
    return events


def _cavitation_factor(progress: float, depth: float, noise: float) -> float:
    """Vapour bubbles choke the impeller unevenly: a lower and erratic share of flow or head."""
    erratic = depth * progress * (1.0 + 0.6 * noise)
    return min(1.0, max(0.3, 1.0 - erratic))


def _ar1(value: float, dt_s: float, tau_s: float, sigma: float, z: float) -> float:
    """A mean-reverting wander with spread `sigma`, exact for any step length."""
    keep = math.exp(-dt_s / tau_s)
    return value * keep + sigma * math.sqrt(1.0 - keep * keep) * z


def pressure_cycle(
    plate: PumpNameplate, running: bool, tank_m3: float, demand_m3_h: float, dt_s: float
) -> tuple[bool, float, float]:
    """Run the tank controller through one interval: (running at its end, tank volume, run s).

    Running with the tank not full, the pump refills it; full, it stops if the demand is below
    the low-flow threshold. Stopped, the tank drains with the demand until the pressure falls to
    cut-in and the pump restarts. Segments are solved exactly, so any step length works.
    """
    remaining, run_s = dt_s, 0.0
    full, refill, drain = plate.tank_drawdown_m3, plate.refill_flow_m3_h / 3600, demand_m3_h / 3600
    while remaining > 0:
        if running and tank_m3 < full:  # refill; reaching full is exact, not a rounding race
            span = min(remaining, (full - tank_m3) / refill)
            tank_m3 = full if span < remaining else tank_m3 + span * refill
            run_s += span
        elif running and demand_m3_h >= plate.stop_flow_m3_h:
            span = remaining
            run_s += span
        elif running:
            running, span = False, 0.0
        elif drain <= 0:
            span = remaining
        else:  # stopped: the tank drains to cut-in, then the pump starts
            span = min(remaining, tank_m3 / drain)
            running = span < remaining
            tank_m3 = 0.0 if running else tank_m3 - span * drain
        remaining -= span
    return running, tank_m3, run_s


@dataclass(frozen=True)
class _DutyPoint:
    """Where the pump operates now: what the impeller moves and what that costs the motor."""

    impeller_m3_h: float
    head_m: float
    shaft_kw: float
    current_a: float


_STOPPED = _DutyPoint(0.0, 0.0, 0.0, 0.0)


class PumpModel(EquipmentModel):
    """A domestic water booster pump set: pump, motor, controller and pressure tank.

    >>> model = PumpModel(random.Random(7))
    >>> step = model.step(1_714_564_800_000 + 8 * 3_600_000, 60.0, [])
    >>> sorted(step.metrics) == sorted(CATALOGUE[EquipmentKind.PUMP])
    True
    """

    kind: ClassVar[EquipmentKind] = EquipmentKind.PUMP
    sensors: ClassVar[dict[str, SensorSpec]] = {
        "flow_m3_h": SensorSpec(noise=0.15, resolution=0.1),
        "pressure_bar": SensorSpec(noise=0.02, resolution=0.01),
        "suction_pressure_bar": SensorSpec(noise=0.02, resolution=0.01),
        "motor_current_a": SensorSpec(noise=0.1, resolution=0.1),
        "vibration_mm_s": SensorSpec(noise=0.05, resolution=0.01),
        "bearing_temp_c": SensorSpec(noise=0.2, resolution=0.1),
        "motor_temp_c": SensorSpec(noise=0.3, resolution=0.1),
    }

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.plate = PumpNameplate.draw(rng)
        self.run_hours_h = self.plate.run_hours_h
        self.running = True
        self.tank_m3 = self.plate.tank_drawdown_m3
        self.demand_wander = 0.0
        self.suction_wander = 0.0
        self.bearing_temp_c = self.plate.plant_room_c
        self.motor_temp_c = self.plate.plant_room_c
        self.started = False

    def step(self, ts_ms: int, dt_s: float, faults: Sequence[ActiveFault]) -> Step:
        """Advance one interval: demand, controller, hydraulics, heat, then the readings."""
        if not self.started:
            self._settle(ts_ms)
        noise = _Noise.draw(self.rng)
        present = [f for f in faults if f.onset_ms <= ts_ms < f.repaired_ms]
        effects = fault_effects(present, noise)
        demand = self._demand(ts_ms, dt_s, noise)
        events = trip_events(faults, ts_ms - round(dt_s * 1000), ts_ms)
        run_s = self._operate(demand, dt_s, effects)
        load = self._running_point(demand, effects, noise)
        self._heat(ts_ms, dt_s, run_s / dt_s, load, effects)
        self.run_hours_h += run_s / 3600
        point = load if self.running else _STOPPED
        return Step(self._metrics(ts_ms, point, effects, noise), events)

    def _settle(self, ts_ms: int) -> None:
        """Begin in the steady state of this moment, as if the pump had run all along.

        A few thermal time constants of healthy operation are simulated silently before the
        first reading, so temperatures carry the heat of the hours before, as real ones do.
        """
        self.started = True
        self.demand_wander = DEMAND_SIGMA * self.rng.gauss(0.0, 1.0)
        self.suction_wander = SUCTION_SIGMA_BAR * self.rng.gauss(0.0, 1.0)
        self.bearing_temp_c = self._ambient_c(ts_ms) + 0.7 * self.plate.bearing_rise_k
        self.motor_temp_c = self._ambient_c(ts_ms) + 0.5 * self.plate.winding_rise_k
        for settle_ms in range(ts_ms - SETTLE_MS, ts_ms, SETTLE_STEP_MS):
            self.step(settle_ms, SETTLE_STEP_MS / 1000, [])

    def _demand(self, ts_ms: int, dt_s: float, noise: _Noise) -> float:
        """The building's draw (m³/h): the daily rhythm times a wandering burst factor."""
        self.demand_wander = _ar1(
            self.demand_wander, dt_s, DEMAND_TAU_S, DEMAND_SIGMA, noise.demand
        )
        self.suction_wander = _ar1(
            self.suction_wander, dt_s, SUCTION_TAU_S, SUCTION_SIGMA_BAR, noise.suction
        )
        level = rhythms.water_demand(ts_ms) * math.exp(self.demand_wander)
        return self.plate.peak_demand_m3_h * level

    def _operate(self, demand: float, dt_s: float, effects: _Effects) -> float:
        """Decide running over the interval; the seconds the motor ran.

        A tripped pump stands still and a pump without water keeps trying to build pressure:
        in both cases the tank drains into the building.
        """
        if effects.trip is not None or effects.dry:
            self.running = effects.trip is None
            self.tank_m3 = max(0.0, self.tank_m3 - demand * dt_s / 3600)
            return dt_s if self.running else 0.0
        self.running, self.tank_m3, run_s = pressure_cycle(
            self.plate, self.running, self.tank_m3, demand, dt_s
        )
        return run_s

    def _running_point(self, demand: float, effects: _Effects, noise: _Noise) -> _DutyPoint:
        """The duty point while the motor runs: demand plus any tank refill, along the curve."""
        plate = self.plate
        if effects.dry:
            shaft = DRY_SHAFT_FRACTION * plate.shaft_kw(plate.rated_flow_m3_h, plate.rated_head_m)
            return _DutyPoint(0.0, 0.0, shaft, plate.current_a(shaft))
        refilling = self.tank_m3 < plate.tank_drawdown_m3 or demand < plate.stop_flow_m3_h
        wanted = demand + (plate.refill_flow_m3_h if refilling else 0.0)
        impeller = max(0.0, wanted * effects.capacity * (1.0 + 0.015 * noise.flow))
        head = plate.head_m(impeller) * effects.head
        shaft = plate.shaft_kw(impeller, head)
        return _DutyPoint(impeller, head, shaft, plate.current_a(shaft))

    def _heat_targets(
        self, ts_ms: int, duty: float, load: _DutyPoint, effects: _Effects
    ) -> tuple[float, float]:
        """Where bearing and winding temperatures settle for this load and running share."""
        plate = self.plate
        ambient = self._ambient_c(ts_ms)
        rated_shaft = plate.shaft_kw(plate.rated_flow_m3_h, plate.rated_head_m)
        bearing_rise = plate.bearing_rise_k * (0.5 + 0.5 * load.shaft_kw / rated_shaft)
        bearing_rise += effects.bearing_k + (55.0 if effects.dry else 0.0)
        # Iron losses are fixed while energised; copper losses grow with current squared.
        relative_current = load.current_a / plate.full_load_current_a
        winding_rise = plate.winding_rise_k * (0.35 + 0.65 * relative_current**2)
        return ambient + duty * bearing_rise, ambient + duty * winding_rise * effects.cooling

    def _heat(
        self, ts_ms: int, dt_s: float, duty: float, load: _DutyPoint, effects: _Effects
    ) -> None:
        """Temperatures follow their heat input with the thermal time constants of the parts."""
        bearing_target, winding_target = self._heat_targets(ts_ms, duty, load, effects)
        # Running dry heats the seal and bearing within minutes; cooling down takes its usual time.
        heating_dry = effects.dry and self.running
        bearing_tau = DRY_BEARING_TAU_S if heating_dry else self.plate.bearing_tau_s
        self.bearing_temp_c = lag(self.bearing_temp_c, bearing_target, dt_s, bearing_tau)
        self.motor_temp_c = lag(self.motor_temp_c, winding_target, dt_s, self.plate.winding_tau_s)

    def _ambient_c(self, ts_ms: int) -> float:
        """The plant room: a degree or two warmer in the afternoon than at dawn."""
        hour = rhythms.hour_of_day(ts_ms)
        return self.plate.plant_room_c + 1.5 * math.sin(2 * math.pi * (hour - 9.0) / 24)

    def _suction_bar(self, ts_ms: int, point: _DutyPoint, effects: _Effects) -> float:
        """Inlet pressure: the mains (lower when the whole town draws water) less pipe losses.

        Cavitation starts when something upstream (a blocked strainer, a closing valve) starves
        the inlet, which is most visible while the pump draws water through it.
        """
        plate = self.plate
        if effects.dry:
            return -0.05
        mains = plate.mains_pressure_bar * (1 - 0.1 * rhythms.water_demand(ts_ms))
        relative_flow = point.impeller_m3_h / plate.rated_flow_m3_h
        healthy = mains + self.suction_wander - plate.supply_loss_bar * relative_flow**2
        loss = effects.suction_loss * (1.0 if self.running else 0.2)
        return healthy * (1 - loss) - 0.4 * loss

    def _pressure_bar(
        self, suction: float, point: _DutyPoint, effects: _Effects, noise: _Noise
    ) -> float:
        """Discharge pressure: suction plus head while pumping, else what the tank holds.

        With the tank drained the mains pushes through the bypass, so the building never sees
        less than the suction pressure; a pump running dry has neither.
        """
        if effects.dry:
            return 0.05 + 0.02 * abs(noise.pressure)
        if point is _STOPPED:
            return max(suction, self.plate.tank_pressure_bar(suction, self.tank_m3))
        return suction + BAR_PER_METRE * point.head_m + 0.02 * noise.pressure

    def _vibration_mm_s(self, point: _DutyPoint, effects: _Effects, noise: _Noise) -> float:
        """Housing vibration: least at the best-efficiency point, more off it, more when worn."""
        plate = self.plate
        if point is _STOPPED:
            return plate.background_vibration_mm_s * max(0.2, 1.0 + 0.2 * noise.vibration)
        off_design = (point.impeller_m3_h / plate.rated_flow_m3_h - 1.0) ** 2
        healthy = plate.vibration_mm_s * (1.0 + 0.25 * off_design + effects.imbalance)
        healthy *= 1.3 if effects.dry else 1.0
        return (healthy + effects.vibration_mm_s) * max(0.5, 1.0 + 0.06 * noise.vibration)

    def _metrics(
        self, ts_ms: int, point: _DutyPoint, effects: _Effects, noise: _Noise
    ) -> dict[str, MetricValue]:
        """The readings at the end of the interval, kept inside what the gauges can show."""
        suction = self._suction_bar(ts_ms, point, effects)
        metered = point.impeller_m3_h * (1.0 - effects.leak)
        values: dict[str, float] = {
            "flow_m3_h": metered,
            "pressure_bar": self._pressure_bar(suction, point, effects, noise),
            "suction_pressure_bar": suction,
            "motor_current_a": point.current_a,
            "vibration_mm_s": self._vibration_mm_s(point, effects, noise),
            "bearing_temp_c": self.bearing_temp_c,
            "motor_temp_c": self.motor_temp_c,
            "run_hours_h": self.run_hours_h,
        }
        specs = CATALOGUE[EquipmentKind.PUMP]
        metrics: dict[str, MetricValue] = {
            name: min(max(value, specs[name].minimum), specs[name].maximum)
            for name, value in values.items()
        }
        metrics["running"] = self.running
        return metrics
