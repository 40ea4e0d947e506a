"""A residential traction lift: trips with the building's rhythm, and the ways it wears out.

The car and its counterweight hang on the same ropes, so the hoist motor only works against
their difference: the counterweight carries the empty car plus 45-50 % of the rated load.
A full car going up or an empty car going down pulls hardest; an empty car going up is pulled
by the counterweight and the drive brakes it (regenerates), drawing less. Doors open and close
once per stop; the door operator is the part that fails most. Each reading interval reports
the trip that ran last in it (its load, cruise speed, hoist current and ride vibration), the
last door close and last landing, and running counters; an idle interval reports a parked car.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from facility import EquipmentKind
from simulators import rhythms
from simulators.equipment.base import (
    DeviceEvent,
    EquipmentModel,
    MetricValue,
    SensorSpec,
    Step,
    has_failed,
    lag,
    poisson,
    progress_of,
)
from simulators.faults import ActiveFault, FaultType

__all__ = ["ElevatorModel", "LiftNameplate", "Trip", "draw_lift_nameplate", "hoist_current_a"]

GRAVITY_M_S2 = 9.81
PERSON_KG = 75.0
DOOR_DWELL_S = 9.0  # open, passengers in or out, close: the car is busy but not moving
MACHINE_TIME_CONSTANT_S = 2700.0  # a gearless machine and its room warm up over ~45 min
FULL_DUTY_RISE_C = 28.0  # machine temperature rise above the room at continuous running
DOOR_TIMEOUT_S = (18.0, 30.0)  # a door that cannot lock is given up on after this
MAX_BACKLOG = 20  # beyond this many waiting calls, people take the stairs

# Why the controller takes the lift out of service, by fault.
_OUT_OF_SERVICE_REASONS: dict[FaultType, str] = {
    FaultType.DOOR_OPERATOR_WEAR: "door_operator",
    FaultType.HOIST_BEARING_WEAR: "hoist_bearing",
    FaultType.LEVELING_DRIFT: "leveling",
    FaultType.ENTRAPMENT: "entrapment",
}


@dataclass(frozen=True)
class LiftNameplate:
    """What the installer's documents say about one lift, and how it behaves when healthy."""

    rated_load_kg: float
    balance: float  # counterweight = car + balance * rated load
    speed_m_s: float
    accel_m_s2: float
    floors: int
    floor_height_m: float
    friction_kg: float  # guide-shoe and rope-bending losses, as an equivalent mass
    efficiency: float  # machine efficiency, motoring or regenerating
    rated_current_a: float
    no_load_current_a: float
    standby_current_a: float  # drive electronics and fan while parked
    peak_trips_per_h: float
    door_close_s: float
    door_current_a: float
    ride_vibration_mm_s: float
    leveling_offset_mm: float
    leveling_sd_mm: float
    machine_room_c: float
    age_years: float


def draw_lift_nameplate(rng: random.Random) -> LiftNameplate:
    """A plausible residential lift: taller buildings get faster, larger cars."""
    floors = rng.randint(5, 24)
    rated = rng.choice((630.0, 800.0, 1000.0) if floors > 12 else (630.0, 630.0, 800.0))
    speed = rng.choice((1.6, 1.75, 2.0, 2.5) if floors > 12 else (1.0, 1.0, 1.6))
    balance = rng.uniform(0.45, 0.50)
    friction = rng.uniform(0.03, 0.06) * rated
    efficiency = rng.uniform(0.8, 0.9)
    rated_current = _rated_current_a(rated, balance, friction, speed, efficiency)
    return LiftNameplate(
        rated_load_kg=rated,
        balance=balance,
        speed_m_s=speed,
        accel_m_s2=rng.uniform(0.6, 0.9),
        floors=floors,
        floor_height_m=rng.uniform(2.8, 3.1),
        friction_kg=friction,
        efficiency=efficiency,
        rated_current_a=rated_current,
        no_load_current_a=rng.uniform(0.06, 0.1) * rated_current,
        standby_current_a=rng.uniform(0.2, 0.6),
        peak_trips_per_h=min(120.0, max(60.0, 50.0 + 3.0 * floors + rng.uniform(-8.0, 8.0))),
        door_close_s=rng.uniform(2.7, 3.4),
        door_current_a=rng.uniform(1.0, 1.6),
        ride_vibration_mm_s=rng.uniform(0.5, 1.1),
        leveling_offset_mm=rng.uniform(-2.0, 2.0),
        leveling_sd_mm=rng.uniform(1.5, 3.0),
        machine_room_c=rng.uniform(18.0, 26.0),
        age_years=rng.uniform(1.0, 20.0),
    )


def _rated_current_a(
    rated_kg: float, balance: float, friction_kg: float, speed: float, efficiency: float
) -> float:
    """Motor nameplate current: a full car going up at contract speed, with a 15 % margin.

    A permanent-magnet gearless machine on a 340 V drive output at power factor 0.9.
    """
    force_n = ((1 - balance) * rated_kg + friction_kg) * GRAVITY_M_S2
    electrical_w = force_n * speed / efficiency
    return 1.15 * electrical_w / (math.sqrt(3) * 340.0 * 0.9)


def hoist_current_a(plate: LiftNameplate, load_kg: float, direction: int) -> float:
    """Steady hoist current at cruise with `load_kg` in the car, direction +1 up or -1 down.

    Current follows torque. The motor drives against the car-counterweight imbalance plus
    friction; when the imbalance pulls the car along, it brakes instead and friction helps.

    >>> plate = draw_lift_nameplate(random.Random(1))
    >>> full_up = hoist_current_a(plate, plate.rated_load_kg, +1)
    >>> empty_up = hoist_current_a(plate, 0.0, +1)
    >>> round(full_up, 6) == round(plate.rated_current_a / 1.15, 6), full_up > empty_up
    (True, True)
    """
    imbalance_kg = load_kg - plate.balance * plate.rated_load_kg
    force_kg = direction * imbalance_kg + plate.friction_kg
    torque_kg = force_kg / plate.efficiency if force_kg >= 0 else -force_kg * plate.efficiency
    full_kg = ((1 - plate.balance) * plate.rated_load_kg + plate.friction_kg) / plate.efficiency
    full_a = plate.rated_current_a / 1.15
    return plate.no_load_current_a + (full_a - plate.no_load_current_a) * torque_kg / full_kg


@dataclass(frozen=True)
class Trip:
    """One run of the car between two stops, with what its sensors saw."""

    start_ms: int
    end_ms: int
    direction: int  # +1 up, -1 down
    load_kg: float
    peak_speed_m_s: float
    current_a: float
    vibration_mm_s: float
    leveling_error_mm: float


@dataclass
class _Doors:
    """The door operator's counters and its last close."""

    cycles: int
    close_time_s: float
    current_a: float


@dataclass(frozen=True)
class _Stranding:
    """A car stopped with passengers inside: their weight, and where it stands at the sill."""

    load_kg: float
    leveling_mm: float


class ElevatorModel(EquipmentModel):
    """A residential traction lift with a door operator, a hoist machine and levelling."""

    kind: ClassVar[EquipmentKind] = EquipmentKind.ELEVATOR
    sensors: ClassVar[dict[str, SensorSpec]] = {
        "door_close_time_s": SensorSpec(noise=0.02, resolution=0.01),
        "door_current_a": SensorSpec(noise=0.02, resolution=0.01),
        "motor_current_a": SensorSpec(noise=0.15, resolution=0.1),
        "vibration_mm_s": SensorSpec(noise=0.02, resolution=0.01),
        "leveling_error_mm": SensorSpec(noise=0.5, resolution=1.0),
        "load_kg": SensorSpec(noise=5.0, resolution=5.0),
        "speed_m_s": SensorSpec(noise=0.001, resolution=0.01),  # the drive's encoder
        "machine_temp_c": SensorSpec(noise=0.1, resolution=0.1),
    }

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.plate = draw_lift_nameplate(rng)
        trips_per_year = self.plate.peak_trips_per_h * 0.3 * 24 * 365  # mean demand ~0.3
        self._trips = round(self.plate.age_years * trips_per_year * rng.uniform(0.8, 1.2))
        self._doors = _Doors(
            cycles=round(self._trips * rng.uniform(1.05, 1.15)),
            close_time_s=self.plate.door_close_s,
            current_a=self.plate.door_current_a,
        )
        self._last_trip: Trip | None = None
        self._leveling_mm = self.plate.leveling_offset_mm
        self._drift_sign = rng.choice((-1.0, 1.0))  # which way this lift's levelling drifts
        self._backlog = 0
        self._temp_c: float | None = None
        self._down: set[FaultType] = set()
        self._down_since_ms = 0
        self._stranded: _Stranding | None = None

    # -- one interval --------------------------------------------------------------------------

    def step(self, ts_ms: int, dt_s: float, faults: Sequence[ActiveFault]) -> Step:
        """Advance one interval: serve calls unless out of service, then read the gauges."""
        start_ms = ts_ms - max(1, round(dt_s * 1000))
        events = self._entrapment_events(start_ms, ts_ms, faults)
        events += self._service_events(start_ms, ts_ms, faults)
        trips: list[Trip] = []
        if self._down:
            self._backlog = 0
        else:
            trips = self._run_trips(start_ms, ts_ms, dt_s, faults)
            self._cycle_doors(trips, dt_s, ts_ms, progress_of(faults, FaultType.DOOR_OPERATOR_WEAR))
        shown = self._representative(trips, start_ms)
        duty = self._duty(trips, shown, start_ms, ts_ms)
        self._warm_machine(ts_ms, dt_s, duty, progress_of(faults, FaultType.HOIST_BEARING_WEAR))
        if trips:
            self._last_trip = trips[-1]
            self._leveling_mm = trips[-1].leveling_error_mm
        return Step(self._metrics(shown), events)

    def _metrics(self, trip: Trip | None) -> dict[str, MetricValue]:
        """The readings at the end of the interval, each within its catalogue range."""
        metrics: dict[str, MetricValue] = {
            "trips": float(self._trips),
            "door_cycles": float(self._doors.cycles),
            "door_close_time_s": self._doors.close_time_s,
            "door_current_a": self._doors.current_a,
            "motor_current_a": self.plate.standby_current_a,
            "vibration_mm_s": self._ambient_vibration(),
            "leveling_error_mm": self._leveling_mm,
            "load_kg": 0.0,
            "speed_m_s": 0.0,
            "machine_temp_c": self._temp_c if self._temp_c is not None else 20.0,
        }
        if self._stranded is not None:
            metrics["load_kg"] = self._stranded.load_kg
            metrics["leveling_error_mm"] = self._stranded.leveling_mm
        if trip is not None:
            metrics["motor_current_a"] = trip.current_a
            metrics["vibration_mm_s"] = trip.vibration_mm_s
            metrics["load_kg"] = trip.load_kg
            metrics["speed_m_s"] = trip.direction * trip.peak_speed_m_s
        return metrics

    def _representative(self, trips: list[Trip], start_ms: int) -> Trip | None:
        """The trip this interval reports: its last one, or one still running from before."""
        if trips:
            return trips[-1]
        last = self._last_trip
        if last is not None and last.end_ms > start_ms and not self._down:
            return last
        return None

    def _ambient_vibration(self) -> float:
        """A parked machine only feels the building: a tenth of a millimetre per second."""
        return 0.08 * math.exp(self.rng.gauss(0.0, 0.3))

    # -- traffic -------------------------------------------------------------------------------

    def _run_trips(
        self, start_ms: int, ts_ms: int, dt_s: float, faults: Sequence[ActiveFault]
    ) -> list[Trip]:
        """Calls arrive as a Poisson process; one car serves them in turn, the rest wait."""
        arrivals = poisson(self.rng, self._expected_trips(start_ms, ts_ms, dt_s))
        starts = [float(start_ms)] * self._backlog
        starts += sorted(start_ms + self.rng.random() * (ts_ms - start_ms) for _ in range(arrivals))
        last = self._last_trip
        free_ms = float(last.end_ms + DOOR_DWELL_S * 1000) if last else float(start_ms)
        trips: list[Trip] = []
        for wanted_ms in starts:
            begin_ms = max(wanted_ms, free_ms)
            if begin_ms > ts_ms:
                break
            trips.append(self._trip(round(begin_ms), ts_ms, faults))
            free_ms = trips[-1].end_ms + DOOR_DWELL_S * 1000
        self._backlog = min(MAX_BACKLOG, len(starts) - len(trips))
        self._trips += len(trips)
        return trips

    def _expected_trips(self, start_ms: int, ts_ms: int, dt_s: float) -> float:
        """Mean calls in the interval: demand at its middle, times the peak rate and the time."""
        demand = rhythms.elevator_traffic((start_ms + ts_ms) // 2)
        return demand * self.plate.peak_trips_per_h / 3600.0 * dt_s

    def _trip(self, start_ms: int, ts_ms: int, faults: Sequence[ActiveFault]) -> Trip:
        """One run: where it goes, who rides, and what the motor, ropes and landing show."""
        direction, load_kg = self._direction_and_load(ts_ms)
        distance_m = self.rng.randint(1, self.plate.floors - 1) * self.plate.floor_height_m
        peak, duration_s = self._motion(distance_m)
        speed_share = peak / self.plate.speed_m_s
        current = hoist_current_a(self.plate, load_kg, direction) * self.rng.gauss(1.0, 0.03)
        return Trip(
            start_ms=start_ms,
            end_ms=start_ms + round(duration_s * 1000),
            direction=direction,
            load_kg=load_kg,
            peak_speed_m_s=peak,
            current_a=max(0.0, current),
            vibration_mm_s=self._ride_vibration(speed_share, faults),
            leveling_error_mm=self._landing_error(load_kg, faults),
        )

    def _motion(self, distance_m: float) -> tuple[float, float]:
        """Peak speed and run time of a trapezoidal speed profile over `distance_m`.

        Short runs never reach contract speed: the car accelerates, then brakes at once.
        """
        speed, accel = self.plate.speed_m_s, self.plate.accel_m_s2
        if distance_m >= speed * speed / accel:
            return speed, distance_m / speed + speed / accel
        peak = math.sqrt(accel * distance_m)
        return peak, 2.0 * peak / accel

    def _direction_and_load(self, ts_ms: int) -> tuple[int, float]:
        """Who rides which way: down to the lobby in the morning, up home in the evening.

        About a third of runs are empty: the car fetching the next passenger or homing.
        """
        up_share = _passenger_up_share(ts_ms)
        if self.rng.random() < 0.35:
            return (1 if self.rng.random() >= up_share else -1), 0.0
        direction = 1 if self.rng.random() < up_share else -1
        return direction, self._passenger_load(rhythms.elevator_traffic(ts_ms))

    def _passenger_load(self, demand: float) -> float:
        """People (bigger groups at busy times), now and then a pram, trolley or furniture.

        The overload device will not let the car leave above 105 % of rated load.
        """
        people = 1 + poisson(self.rng, 0.3 + 2.2 * demand)
        load = sum(max(20.0, self.rng.gauss(PERSON_KG, 14.0)) for _ in range(people))
        if self.rng.random() < 0.08:
            load += self.rng.uniform(15.0, 150.0)
        return min(load, 1.05 * self.plate.rated_load_kg)

    # -- wear ----------------------------------------------------------------------------------

    def _ride_vibration(self, speed_share: float, faults: Sequence[ActiveFault]) -> float:
        """Ride vibration grows with speed; a worn hoist bearing adds a growing defect tone."""
        wear = progress_of(faults, FaultType.HOIST_BEARING_WEAR)
        healthy = self.plate.ride_vibration_mm_s * (0.5 + 0.5 * speed_share)
        bearing = 4.2 * math.pow(wear, 1.2) * (0.6 + 0.4 * speed_share)
        value = healthy * math.exp(self.rng.gauss(0.0, 0.12))
        value += bearing * math.exp(self.rng.gauss(0.0, 0.2))
        return min(value, 100.0)

    def _landing_error(self, load_kg: float, faults: Sequence[ActiveFault]) -> float:
        """Where the car stopped against the landing sill.

        A drifting levelling system (slipping brake, stretched ropes, a dirty vane) stops the
        car ever further off, more so when heavy, and less and less repeatably.
        """
        drift = progress_of(faults, FaultType.LEVELING_DRIFT)
        heaviness = load_kg / self.plate.rated_load_kg
        mean = self.plate.leveling_offset_mm + self._drift_sign * 24.0 * drift * (0.8 + heaviness)
        spread = self.plate.leveling_sd_mm * (1.0 + 3.0 * drift)
        return max(-500.0, min(500.0, self.rng.gauss(mean, spread)))

    def _cycle_doors(self, trips: list[Trip], dt_s: float, ts_ms: int, wear: float) -> None:
        """One door cycle per stop, plus reopenings (safety edge, worn door) and own-floor calls."""
        if not trips and self.rng.random() > 0.08 * self._expected_trips(ts_ms, ts_ms, dt_s):
            return
        reopen_share = 0.04 + 0.3 * wear
        extra = poisson(self.rng, len(trips) * reopen_share) if trips else 1
        self._doors.cycles += len(trips) + extra
        self._doors.close_time_s, self._doors.current_a = self._door_close(wear)

    def _door_close(self, wear: float) -> tuple[float, float]:
        """One close: its duration and operator current.

        Worn hanger rollers and a stretched belt make the door slower and the motor work
        harder; a door sticking in its track is nudged closed seconds later.
        """
        jitter = 0.03 + 0.05 * wear
        close_s = self.plate.door_close_s * (1.0 + 1.1 * wear) * self.rng.gauss(1.0, jitter)
        if self.rng.random() < 0.35 * wear:
            close_s += self.rng.uniform(1.0, 4.0) * wear
        current = self.plate.door_current_a * (1.0 + 0.9 * wear) * self.rng.gauss(1.0, jitter)
        return min(close_s, 60.0), max(0.0, current)

    # -- heat ----------------------------------------------------------------------------------

    def _duty(self, trips: list[Trip], carried: Trip | None, start_ms: int, ts_ms: int) -> float:
        """The share of the interval the machine was turning."""
        runs = list(trips)
        if carried is not None and carried not in runs:
            runs.append(carried)
        busy_ms = sum(max(0, min(t.end_ms, ts_ms) - max(t.start_ms, start_ms)) for t in runs)
        return min(1.0, busy_ms / max(1, ts_ms - start_ms))

    def _warm_machine(self, ts_ms: int, dt_s: float, duty: float, bearing_wear: float) -> None:
        """Machine temperature follows running time with a lag; a failing bearing runs hot."""
        bearing_c = 12.0 * bearing_wear**2 * (0.25 + 0.75 * min(1.0, 3.0 * duty))
        target = self._room_c(ts_ms) + FULL_DUTY_RISE_C * duty + bearing_c
        if self._temp_c is None:  # start settled at the usual heat of this hour
            expected = self._expected_trips(ts_ms, ts_ms, 3600.0) * 15.0 / 3600.0
            self._temp_c = self._room_c(ts_ms) + FULL_DUTY_RISE_C * min(1.0, expected)
        self._temp_c = lag(self._temp_c, target, dt_s, MACHINE_TIME_CONSTANT_S)

    def _room_c(self, ts_ms: int) -> float:
        """The machine room follows the day a little: warmest mid-afternoon."""
        hour = rhythms.hour_of_day(ts_ms)
        return self.plate.machine_room_c + 2.5 * math.cos(2.0 * math.pi * (hour - 15.0) / 24.0)

    # -- out of service ------------------------------------------------------------------------

    def _entrapment_events(
        self, start_ms: int, ts_ms: int, faults: Sequence[ActiveFault]
    ) -> list[DeviceEvent]:
        """An entrapment is reported once, at the instant the car stopped with people inside."""
        events = []
        for fault in faults:
            if fault.type is FaultType.ENTRAPMENT and start_ms < fault.onset_ms <= ts_ms:
                events.append(DeviceEvent(fault.onset_ms, "entrapment", self._strand()))
        return events

    def _strand(self) -> dict[str, float | str | bool]:
        """Stop the car, with passengers inside, at a landing or between floors."""
        passengers = 1 + poisson(self.rng, 0.6)
        load_kg = sum(max(20.0, self.rng.gauss(PERSON_KG, 14.0)) for _ in range(passengers))
        between = self.rng.random() < 0.5
        leveling_mm = self._leveling_mm
        if between:
            leveling_mm = self.rng.choice((-1, 1)) * self.rng.uniform(100.0, 450.0)
        self._stranded = _Stranding(load_kg, leveling_mm)
        floor = self.rng.randint(0, self.plate.floors - 1)
        return {"floor": float(floor), "passengers": float(passengers), "between_floors": between}

    def _service_events(
        self, start_ms: int, ts_ms: int, faults: Sequence[ActiveFault]
    ) -> list[DeviceEvent]:
        """Out of service when a fault disables the lift; back in service once all are fixed.

        Each change is stamped at its own instant inside the interval, even for a fault that
        failed and was repaired between two readings. A change the faults do not date there
        (the lift was already down when the simulation began) is stamped at the interval's end.
        """
        events: list[DeviceEvent] = []
        for at_ms, cause, failing in _service_changes(faults, start_ms, ts_ms):
            events += self._change_service(at_ms, cause, failing)
        for cause in _OUT_OF_SERVICE_REASONS:
            events += self._change_service(ts_ms, cause, has_failed(faults, cause))
        if FaultType.ENTRAPMENT not in self._down:
            self._stranded = None
        return events

    def _change_service(self, at_ms: int, cause: FaultType, failing: bool) -> list[DeviceEvent]:
        """Take the lift out of service for `cause`, or clear it; nothing if already so."""
        if failing == (cause in self._down):
            return []
        if failing:
            if not self._down:
                self._down_since_ms = at_ms
            self._down.add(cause)
            return [self._shut_down(cause, at_ms)]
        self._down.discard(cause)
        if self._down:
            return []
        downtime_s = (at_ms - self._down_since_ms) / 1000.0
        return [DeviceEvent(at_ms, "in_service", {"downtime_s": downtime_s})]

    def _shut_down(self, cause: FaultType, at_ms: int) -> DeviceEvent:
        """The controller stops the lift for `cause` at `at_ms`."""
        if cause is FaultType.ENTRAPMENT and self._stranded is None:
            self._strand()  # already stuck when the simulation began
        if cause is FaultType.DOOR_OPERATOR_WEAR:
            self._jam_doors()
        return DeviceEvent(at_ms, "out_of_service", {"reason": _OUT_OF_SERVICE_REASONS[cause]})

    def _jam_doors(self) -> None:
        """The last close attempt before shutdown: the door stalls until the timeout."""
        self._doors.close_time_s = self.rng.uniform(*DOOR_TIMEOUT_S)
        self._doors.current_a = self.plate.door_current_a * self.rng.uniform(2.2, 3.0)
        self._doors.cycles += 1


def _service_changes(
    faults: Sequence[ActiveFault], start_ms: int, ts_ms: int
) -> list[tuple[int, FaultType, bool]]:
    """Failures (True) and repairs (False) of out-of-service causes inside (start, ts], in order.

    At the same instant a failure comes first, so a lift handed from one cause to the next
    never reports a moment back in service.
    """
    changes: list[tuple[int, FaultType, bool]] = []
    for fault in faults:
        if fault.type not in _OUT_OF_SERVICE_REASONS:
            continue
        if start_ms < fault.failure_ms <= ts_ms:
            changes.append((fault.failure_ms, fault.type, True))
        if start_ms < fault.repaired_ms <= ts_ms:
            changes.append((fault.repaired_ms, fault.type, False))
    return sorted(changes, key=lambda change: (change[0], not change[2]))


def _passenger_up_share(ts_ms: int) -> float:
    """Share of passenger runs going up: low in the weekday morning, high in the evening."""
    if rhythms.is_weekend(ts_ms):
        return 0.5
    hour = rhythms.hour_of_day(ts_ms)
    morning = math.exp(-0.5 * ((hour - 8.0) / 1.2) ** 2)
    evening = math.exp(-0.5 * ((hour - 18.5) / 1.8) ** 2)
    return 0.5 - 0.38 * morning + 0.38 * evening
