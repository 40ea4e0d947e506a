"""Fault types, their natural history, and the plans that place them on a fleet's timeline.

A fault has an onset (the first moment it changes the physics), a functional-failure time (the
equipment stops doing its job) and a repair time (a crew fixed it; the device is healthy
again). Degradation faults take days to weeks from onset to failure, so a good detector can
warn ahead; sudden faults fail at onset and can only be reported fast. Everything here is pure:
plans come from a seeded random generator and the options, so they can be written as labels
before a single message is sent.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from facility import DeviceRef, EquipmentKind

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
YEAR_MS = 365 * DAY_MS


class FaultType(StrEnum):
    """Every fault the simulators can inflict, named as a maintenance engineer would."""

    # pumps
    PUMP_BEARING_WEAR = "pump_bearing_wear"
    CAVITATION = "cavitation"
    SEAL_LEAK = "seal_leak"
    IMPELLER_CLOGGING = "impeller_clogging"
    MOTOR_OVERHEATING = "motor_overheating"
    DRY_RUNNING = "dry_running"
    # elevators
    DOOR_OPERATOR_WEAR = "door_operator_wear"
    HOIST_BEARING_WEAR = "hoist_bearing_wear"
    LEVELING_DRIFT = "leveling_drift"
    ENTRAPMENT = "entrapment"
    # fire panels
    BATTERY_AGEING = "battery_ageing"
    DETECTOR_CONTAMINATION = "detector_contamination"
    GROUND_FAULT = "ground_fault"
    TROUBLE_SIGNAL = "trouble_signal"
    FIRE_ALARM = "fire_alarm"
    TEST_MODE = "test_mode"
    # access gates
    MOTOR_BINDING = "motor_binding"
    FAILED_AUTH_BURST = "failed_auth_burst"
    FORCED_OPENING = "forced_opening"
    HELD_OPEN = "held_open"


@dataclass(frozen=True)
class FaultProfile:
    """How one fault type behaves: which equipment, how fast, how often, how long to repair.

    `lead_hours` bounds the time from onset to functional failure (0 for sudden faults);
    `per_year` is a device's expected occurrences per year at the default rate;
    `repair_hours` is how long the equipment stays failed before a crew restores it;
    `equipment_fault` is False for incidents that are not the equipment's fault (a real fire,
    a test, an intruder): a detector should report them, but they are not maintenance work.
    """

    type: FaultType
    kind: EquipmentKind
    lead_hours: tuple[float, float]
    per_year: float
    repair_hours: float
    equipment_fault: bool = True

    @property
    def gradual(self) -> bool:
        """Degradation that a detector can see coming before the equipment fails."""
        return self.lead_hours[1] > 0


def _profile(
    fault: FaultType,
    kind: EquipmentKind,
    lead: tuple[float, float],
    per_year: float,
    repair: float,
    equipment_fault: bool = True,
) -> FaultProfile:
    return FaultProfile(fault, kind, lead, per_year, repair, equipment_fault)


_P, _E, _F, _G = (
    EquipmentKind.PUMP,
    EquipmentKind.ELEVATOR,
    EquipmentKind.FIRE_PANEL,
    EquipmentKind.ACCESS_GATE,
)
_T = FaultType

# Rates are per device-year, in line with what maintenance logs of residential buildings show:
# door equipment causes most elevator call-outs, monthly fire-system tests are routine, and
# gates see a failed-credential burst or a forced door every month or two.
PROFILES: dict[FaultType, FaultProfile] = {
    p.type: p
    for p in (
        _profile(_T.PUMP_BEARING_WEAR, _P, (10 * 24, 30 * 24), 0.3, 8),
        _profile(_T.CAVITATION, _P, (2 * 24, 7 * 24), 0.15, 6),
        _profile(_T.SEAL_LEAK, _P, (4 * 24, 14 * 24), 0.3, 4),
        _profile(_T.IMPELLER_CLOGGING, _P, (3 * 24, 10 * 24), 0.2, 4),
        _profile(_T.MOTOR_OVERHEATING, _P, (2 * 24, 6 * 24), 0.1, 6),
        _profile(_T.DRY_RUNNING, _P, (0.25, 1), 0.05, 4),
        _profile(_T.DOOR_OPERATOR_WEAR, _E, (7 * 24, 21 * 24), 1.0, 3),
        _profile(_T.HOIST_BEARING_WEAR, _E, (14 * 24, 45 * 24), 0.1, 12),
        _profile(_T.LEVELING_DRIFT, _E, (5 * 24, 15 * 24), 0.3, 2),
        _profile(_T.ENTRAPMENT, _E, (0, 0), 0.5, 1),
        _profile(_T.BATTERY_AGEING, _F, (14 * 24, 60 * 24), 0.25, 2),
        _profile(_T.DETECTOR_CONTAMINATION, _F, (10 * 24, 40 * 24), 0.5, 2),
        _profile(_T.GROUND_FAULT, _F, (0, 0), 0.2, 4),
        _profile(_T.TROUBLE_SIGNAL, _F, (0, 0), 4.0, 0.5),
        _profile(_T.FIRE_ALARM, _F, (0, 0), 0.2, 0.5, equipment_fault=False),
        _profile(_T.TEST_MODE, _F, (0, 0), 12.0, 1, equipment_fault=False),
        _profile(_T.MOTOR_BINDING, _G, (5 * 24, 20 * 24), 0.5, 3),
        _profile(_T.FAILED_AUTH_BURST, _G, (0, 0), 12.0, 0.25, equipment_fault=False),
        _profile(_T.FORCED_OPENING, _G, (0, 0), 6.0, 0.05, equipment_fault=False),
        _profile(_T.HELD_OPEN, _G, (0, 0), 24.0, 0.5, equipment_fault=False),
    )
}


def profiles_for(kind: EquipmentKind) -> list[FaultProfile]:
    """The fault types one equipment kind can suffer, in declaration order."""
    return [profile for profile in PROFILES.values() if profile.kind is kind]


@dataclass(frozen=True)
class Fault:
    """One fault on one device: onset, functional failure and repair, in epoch milliseconds."""

    source: DeviceRef
    type: FaultType
    onset_ms: int
    failure_ms: int
    repaired_ms: int

    def progress(self, ts_ms: int) -> float:
        """How far the fault has developed: 0 before onset, 1 from failure until repaired.

        Wear accelerates as it goes (a damaged bearing damages itself faster), so progress
        follows a convex curve rather than a straight line.

        >>> f = Fault(DeviceRef("s", EquipmentKind.PUMP, "p1"), FaultType.SEAL_LEAK, 0, 100, 200)
        >>> [round(f.progress(t), 2) for t in (-1, 0, 50, 100, 150, 200)]
        [0.0, 0.0, 0.35, 1.0, 1.0, 0.0]
        """
        if ts_ms < self.onset_ms or ts_ms >= self.repaired_ms:
            return 0.0
        if ts_ms >= self.failure_ms:
            return 1.0
        fraction = (ts_ms - self.onset_ms) / (self.failure_ms - self.onset_ms)
        return math.pow(fraction, 1.5)

    def active(self, ts_ms: int) -> bool:
        """The fault affects the device at this instant (between onset and repair)."""
        return self.onset_ms <= ts_ms < self.repaired_ms

    def failed(self, ts_ms: int) -> bool:
        """The equipment has functionally failed and is not yet repaired."""
        return self.failure_ms <= ts_ms < self.repaired_ms


@dataclass(frozen=True)
class ActiveFault:
    """What a device model sees of a fault at one instant."""

    type: FaultType
    progress: float
    failed: bool
    onset_ms: int
    failure_ms: int
    repaired_ms: int


def active_at(
    faults: Iterable[Fault], ts_ms: int, since_ms: int | None = None
) -> list[ActiveFault]:
    """The faults affecting a device at `ts_ms`, as its model sees them.

    With `since_ms`, also the faults that began and ended inside (since_ms, ts_ms]: a forced
    door that lasted three minutes between two hourly readings still sends its event.
    """
    since = ts_ms if since_ms is None else since_ms
    return [
        ActiveFault(
            f.type, f.progress(ts_ms), f.failed(ts_ms), f.onset_ms, f.failure_ms, f.repaired_ms
        )
        for f in faults
        if f.onset_ms <= ts_ms and f.repaired_ms > since
    ]


# ---------------------------------------------------------------------------------------------
# Plans: where faults fall on the timeline


def schedule_fault(
    source: DeviceRef, fault: FaultType, onset_ms: int, rng: random.Random, lead_scale: float = 1
) -> Fault:
    """A fault of `fault`'s profile starting at onset_ms, its lead and repair drawn from rng."""
    profile = PROFILES[fault]
    low, high = profile.lead_hours
    lead_ms = int(rng.uniform(low, high) * lead_scale * HOUR_MS)
    repair_ms = max(1, int(profile.repair_hours * rng.uniform(0.5, 1.5) * HOUR_MS))
    return Fault(source, fault, onset_ms, onset_ms + lead_ms, onset_ms + lead_ms + repair_ms)


def random_faults(
    devices: Sequence[DeviceRef],
    start_ms: int,
    end_ms: int,
    rng: random.Random,
    rate_scale: float = 1.0,
) -> list[Fault]:
    """Faults at the default rates (a Poisson process per device and type) in [start, end).

    A device suffers one fault of a type at a time: the next occurrence is drawn after the
    previous one is repaired.
    """
    faults: list[Fault] = []
    for source in devices:
        for profile in profiles_for(source.kind):
            rate_per_ms = profile.per_year * rate_scale / YEAR_MS
            if rate_per_ms <= 0:
                continue
            clock = start_ms
            while True:
                clock += int(-math.log(1.0 - rng.random()) / rate_per_ms)
                if clock >= end_ms:
                    break
                fault = schedule_fault(source, profile.type, clock, rng)
                faults.append(fault)
                clock = fault.repaired_ms
    return sorted(faults, key=lambda f: (f.onset_ms, f.source.device, f.type))
