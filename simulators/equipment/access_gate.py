"""A motorised entrance gate with a credential reader: residents badge in, the motor opens it.

Openings follow the building's comings and goings. Each opening draws a few amperes for a few
seconds; the gate then stays open for a hold time and closes again. A few credentials are
refused every day (mistyped PINs, expired cards). The incidents an access controller reports
(a burst of refused credentials, a door forced or held open) come from the fault plan, as
does the slow binding of the drive that ends in a jammed gate.
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
    poisson,
    progress_of,
)
from simulators.faults import ActiveFault, FaultType

__all__ = ["AccessGateModel", "GateNameplate", "draw_gate_nameplate"]

MEAN_DEMAND = 0.3  # the gate rhythm's average over a week
OBSTRUCTION_TIMEOUT_S = (25.0, 45.0)  # a motor that cannot finish its stroke gives up
STUCK_OPEN_SHARE = 0.25  # a jammed gate stays open (rather than shut) this often
BURST_RATE_PER_MIN = (3.0, 8.0)  # someone trying card after card, or guessing PINs


@dataclass(frozen=True)
class GateNameplate:
    """One gate's drive and how busy its entrance is."""

    motor_current_a: float
    open_time_s: float
    hold_open_s: float
    peak_opens_per_h: float
    refused_share: float  # of credential attempts: mistyped PINs, expired or foreign cards
    age_years: float


def draw_gate_nameplate(rng: random.Random) -> GateNameplate:
    """A plausible entrance: a heavier, slower leaf draws more current."""
    heaviness = rng.random()
    return GateNameplate(
        motor_current_a=2.0 + 1.2 * heaviness + rng.uniform(-0.1, 0.1),
        open_time_s=3.2 + 1.8 * heaviness + rng.uniform(-0.2, 0.2),
        hold_open_s=rng.uniform(5.0, 10.0),
        peak_opens_per_h=rng.uniform(40.0, 150.0),
        refused_share=rng.uniform(0.01, 0.04),
        age_years=rng.uniform(0.5, 15.0),
    )


@dataclass
class _Jam:
    """A jammed drive: whether the leaf is stuck open, and since when."""

    stuck_open: bool
    since_ms: int


class AccessGateModel(EquipmentModel):
    """An access-controlled entrance gate (swing or sliding leaf) with its reader."""

    kind: ClassVar[EquipmentKind] = EquipmentKind.ACCESS_GATE
    sensors: ClassVar[dict[str, SensorSpec]] = {
        "motor_current_a": SensorSpec(noise=0.03, resolution=0.01),
        "open_time_s": SensorSpec(noise=0.02, resolution=0.01),
    }

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.plate = draw_gate_nameplate(rng)
        opens_per_year = self.plate.peak_opens_per_h * MEAN_DEMAND * 24 * 365
        self._opens = round(self.plate.age_years * opens_per_year * rng.uniform(0.8, 1.2))
        self._failed_auth = round(self._opens * self.plate.refused_share * rng.uniform(0.8, 1.2))
        self._motor_current_a = self.plate.motor_current_a
        self._open_time_s = self.plate.open_time_s
        self._open_until_ms = 0
        self._jammed: _Jam | None = None
        self._burst_rates: dict[int, float] = {}  # attempts per minute, by burst onset

    def step(self, ts_ms: int, dt_s: float, faults: Sequence[ActiveFault]) -> Step:
        """Advance one interval: incidents first, then openings if the gate can open."""
        start_ms = ts_ms - max(1, round(dt_s * 1000))
        events = self._incident_events(start_ms, ts_ms, faults)
        events += self._jam_events(start_ms, ts_ms, faults)
        expected = self._expected_opens(start_ms, ts_ms, dt_s)
        if self._can_open(faults):
            binding = progress_of(faults, FaultType.MOTOR_BINDING)
            self._open(poisson(self.rng, expected), start_ms, ts_ms, binding)
        refused = poisson(self.rng, expected * self.plate.refused_share + 0.1 * dt_s / 3600.0)
        self._failed_auth += refused + self._burst_refusals(start_ms, ts_ms, faults)
        return Step(self._metrics(ts_ms, faults), events)

    def _metrics(self, ts_ms: int, faults: Sequence[ActiveFault]) -> dict[str, MetricValue]:
        """The readings at the end of the interval."""
        return {
            "opens": float(self._opens),
            "failed_auth": float(self._failed_auth),
            "motor_current_a": self._motor_current_a,
            "open_time_s": self._open_time_s,
            "is_open": self._is_open(ts_ms, faults),
        }

    def _is_open(self, ts_ms: int, faults: Sequence[ActiveFault]) -> bool:
        """Open while an opening's cycle runs, while forced or held, or when jammed open."""
        if has_failed(faults, FaultType.HELD_OPEN) or has_failed(faults, FaultType.FORCED_OPENING):
            return True
        if self._jammed is not None:
            return self._jammed.stuck_open
        return ts_ms < self._open_until_ms

    def _can_open(self, faults: Sequence[ActiveFault]) -> bool:
        """The motor opens on a valid credential unless the leaf is jammed or already open."""
        blocking = (FaultType.HELD_OPEN, FaultType.FORCED_OPENING, FaultType.MOTOR_BINDING)
        return not any(has_failed(faults, fault) for fault in blocking)

    # -- openings ------------------------------------------------------------------------------

    def _expected_opens(self, start_ms: int, ts_ms: int, dt_s: float) -> float:
        """Mean valid credentials in the interval: demand at its middle, peak rate, time."""
        demand = rhythms.gate_traffic((start_ms + ts_ms) // 2)
        return demand * self.plate.peak_opens_per_h / 3600.0 * dt_s

    def _open(self, count: int, start_ms: int, ts_ms: int, binding: float) -> None:
        """Count `count` openings and keep the gauges of the last one.

        The last of `count` uniform instants is drawn directly: it sets whether the gate is
        still open at the end of the interval.
        """
        if count == 0:
            return
        self._opens += count
        last_ms = start_ms + math.pow(self.rng.random(), 1.0 / count) * (ts_ms - start_ms)
        self._motor_current_a, self._open_time_s = self._stroke(binding)
        cycle_s = 2.0 * self._open_time_s + self.plate.hold_open_s  # open, hold, close
        self._open_until_ms = max(self._open_until_ms, round(last_ms + cycle_s * 1000))

    def _stroke(self, binding: float) -> tuple[float, float]:
        """One opening's current and duration.

        A binding drive (a dry hinge, a failing gearbox, a bent track) needs more torque and
        runs slower, and now and then stalls briefly before it frees itself.
        """
        jitter = 0.04 + 0.08 * binding
        current = self.plate.motor_current_a * (1.0 + 1.0 * binding) * self.rng.gauss(1.0, jitter)
        duration = self.plate.open_time_s * (1.0 + 0.8 * binding) * self.rng.gauss(1.0, jitter)
        if self.rng.random() < 0.3 * binding:
            duration += self.rng.uniform(1.0, 5.0) * binding
            current *= 1.0 + 0.4 * binding
        return max(0.0, current), max(0.5, duration)

    # -- incidents -----------------------------------------------------------------------------

    def _incident_events(
        self, start_ms: int, ts_ms: int, faults: Sequence[ActiveFault]
    ) -> list[DeviceEvent]:
        """Incidents the controller reports once, at the instant they begin."""
        events: list[DeviceEvent] = []
        for fault in faults:
            if not start_ms < fault.onset_ms <= ts_ms:
                continue
            if fault.type is FaultType.FAILED_AUTH_BURST:
                rate = self._burst_rate(fault.onset_ms)
                attributes: dict[str, float | str | bool] = {"rate_per_min": rate}
                events.append(DeviceEvent(fault.onset_ms, "failed_auth_burst", attributes))
            elif fault.type is FaultType.FORCED_OPENING:
                events.append(DeviceEvent(fault.onset_ms, "door_forced"))
            elif fault.type is FaultType.HELD_OPEN:
                events.append(DeviceEvent(fault.onset_ms, "held_open"))
        return events

    def _burst_rate(self, onset_ms: int) -> float:
        """How fast this burst's attempts come, drawn once per burst."""
        if onset_ms not in self._burst_rates:
            self._burst_rates[onset_ms] = self.rng.uniform(*BURST_RATE_PER_MIN)
        return self._burst_rates[onset_ms]

    def _burst_refusals(self, start_ms: int, ts_ms: int, faults: Sequence[ActiveFault]) -> int:
        """Refused credentials from bursts, for the part of the interval each was running.

        A burst that began and ended between two readings still counts its refusals.
        """
        bursts = [f for f in faults if f.type is FaultType.FAILED_AUTH_BURST]
        refusals = 0
        for burst in bursts:
            running_ms = min(ts_ms, burst.repaired_ms) - max(start_ms, burst.onset_ms)
            minutes = max(0.0, running_ms / 60_000.0)
            refusals += poisson(self.rng, self._burst_rate(burst.onset_ms) * minutes)
        live = {burst.onset_ms for burst in bursts if burst.repaired_ms > ts_ms}
        self._burst_rates = {k: v for k, v in self._burst_rates.items() if k in live}
        return refusals

    def _jam_events(
        self, start_ms: int, ts_ms: int, faults: Sequence[ActiveFault]
    ) -> list[DeviceEvent]:
        """The drive gives up when binding fails it, and works again once repaired.

        Both at their own instant inside the interval, even when binding fails and is repaired
        between two readings. A jam the faults do not date there (the gate was already jammed
        when the simulation began) is stamped at the interval's end.
        """
        events: list[DeviceEvent] = []
        for at_ms, jamming in _binding_changes(faults, start_ms, ts_ms):
            events += self._jam(at_ms) if jamming else self._restore(at_ms)
        if has_failed(faults, FaultType.MOTOR_BINDING):
            return events + self._jam(ts_ms)
        return events + self._restore(ts_ms)

    def _jam(self, at_ms: int) -> list[DeviceEvent]:
        """The last stroke runs into the obstruction timeout; the leaf stays where it is."""
        if self._jammed is not None:
            return []
        self._jammed = _Jam(self.rng.random() < STUCK_OPEN_SHARE, at_ms)
        self._open_time_s = self.rng.uniform(*OBSTRUCTION_TIMEOUT_S)
        self._motor_current_a = self.plate.motor_current_a * self.rng.uniform(2.5, 3.5)
        attributes: dict[str, float | str | bool] = {
            "stuck": "open" if self._jammed.stuck_open else "closed",
            "motor_current_a": self._motor_current_a,
        }
        return [DeviceEvent(at_ms, "gate_jammed", attributes)]

    def _restore(self, at_ms: int) -> list[DeviceEvent]:
        """The crew has freed the drive: the gate works again."""
        if self._jammed is None:
            return []
        downtime_s = (at_ms - self._jammed.since_ms) / 1000.0
        self._jammed = None
        return [DeviceEvent(at_ms, "gate_restored", {"downtime_s": downtime_s})]


def _binding_changes(
    faults: Sequence[ActiveFault], start_ms: int, ts_ms: int
) -> list[tuple[int, bool]]:
    """Binding failures (True) and repairs (False) inside (start, ts], in order.

    At the same instant a repair comes first: the next binding fault jams a gate that works.
    """
    changes: list[tuple[int, bool]] = []
    for fault in faults:
        if fault.type is not FaultType.MOTOR_BINDING:
            continue
        if start_ms < fault.failure_ms <= ts_ms:
            changes.append((fault.failure_ms, True))
        if start_ms < fault.repaired_ms <= ts_ms:
            changes.append((fault.repaired_ms, False))
    return sorted(changes)
