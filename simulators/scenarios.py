"""Named fault scenarios: which faults strike which devices, and when (`--faults NAME`).

- `none`: healthy equipment only (sensor errors and outages still happen).
- `default`: every fault type at its realistic rate per device-year (PROFILES).
- `all`: every fault type the fleet's kinds can suffer, once each, spread over the run with a
  healthy stretch before every onset: the scenario the signature tests and demos use.
- `wear`: every device suffers one degradation fault that fails before the run ends, plus the
  incidents of `default`: the scenario `facmon bench detect` scores detectors on.
- `demo`: a few faults that show within the first simulated hours of a run.
- `live-demo`: the site `facmon up --demo` runs, from `LIVE_DEMO_HISTORY_MS` before the
  present: wear that has grown for days by the time the replayed history reaches the present
  (so forecasts have a trend to follow), and incidents in the first minutes after that.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from facility import DeviceRef, EquipmentKind
from simulators.faults import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    PROFILES,
    Fault,
    FaultType,
    profiles_for,
    random_faults,
    schedule_fault,
)

__all__ = ["LIVE_DEMO_HISTORY_MS", "SCENARIOS", "plan_faults"]

UNBOUNDED_HORIZON_MS = 365 * DAY_MS  # a run "until stopped" is planned a year ahead

Planner = Callable[[Sequence[DeviceRef], int, int, random.Random], list[Fault]]


def _none(devices: Sequence[DeviceRef], start: int, end: int, rng: random.Random) -> list[Fault]:
    return []


def _default(devices: Sequence[DeviceRef], start: int, end: int, rng: random.Random) -> list[Fault]:
    return random_faults(devices, start, end, rng)


def _all(devices: Sequence[DeviceRef], start: int, end: int, rng: random.Random) -> list[Fault]:
    """Each fault type once, dealt round-robin to the devices of its kind, in sequential slots."""
    faults: list[Fault] = []
    for kind in EquipmentKind:
        fleet = [d for d in devices if d.kind is kind]
        if not fleet:
            continue
        dealt: dict[DeviceRef, list[FaultType]] = {d: [] for d in fleet}
        for index, profile in enumerate(profiles_for(kind)):
            dealt[fleet[index % len(fleet)]].append(profile.type)
        for device, types in dealt.items():
            faults.extend(_in_slots(device, types, start, end, rng))
    return _ordered(faults)


def _in_slots(
    device: DeviceRef, types: Sequence[FaultType], start: int, end: int, rng: random.Random
) -> list[Fault]:
    """One fault per equal slot of [start, end): healthy first 30%, then onset, failure, repair.

    A fault's lead is its natural one, shortened when needed to fail within 55% of the slot.
    """
    faults = []
    slot = (end - start) // max(1, len(types))
    for index, fault_type in enumerate(types):
        onset = start + index * slot + int(0.3 * slot)
        fault = schedule_fault(device, fault_type, onset, rng)
        faults.append(_fit(fault, onset + int(0.55 * slot), start + (index + 1) * slot))
    return faults


def _fit(fault: Fault, fail_by: int, repaired_by: int) -> Fault:
    """The fault compressed so that it fails by `fail_by` and is repaired by `repaired_by`."""
    failure = min(fault.failure_ms, max(fault.onset_ms, fail_by))
    repaired = min(failure + (fault.repaired_ms - fault.failure_ms), repaired_by)
    return Fault(fault.source, fault.type, fault.onset_ms, failure, max(repaired, failure + 1))


def _wear(devices: Sequence[DeviceRef], start: int, end: int, rng: random.Random) -> list[Fault]:
    """One degradation per device, onset in the first half, failing before the end."""
    faults = [f for f in random_faults(devices, start, end, rng) if not PROFILES[f.type].gradual]
    for device in devices:
        gradual = [p.type for p in profiles_for(device.kind) if p.gradual]
        onset = start + int(rng.uniform(0.1, 0.5) * (end - start))
        fault = schedule_fault(device, rng.choice(gradual), onset, rng)
        faults.append(_fit(fault, start + int(0.9 * (end - start)), end))
    return _ordered(faults)


_DEMO = (
    (EquipmentKind.PUMP, FaultType.PUMP_BEARING_WEAR, 0.5, 6.0),
    (EquipmentKind.ELEVATOR, FaultType.DOOR_OPERATOR_WEAR, 0.5, 8.0),
    (EquipmentKind.FIRE_PANEL, FaultType.FIRE_ALARM, 0.25, 0.0),
    (EquipmentKind.ACCESS_GATE, FaultType.FORCED_OPENING, 0.2, 0.0),
)


def _demo(devices: Sequence[DeviceRef], start: int, end: int, rng: random.Random) -> list[Fault]:
    """A fault per kind on its first device: (kind, fault, onset hours, hours to failure)."""
    faults = []
    for kind, fault_type, onset_h, lead_h in _DEMO:
        device = next((d for d in devices if d.kind is kind), None)
        if device is None:
            continue
        onset = start + int(onset_h * HOUR_MS)
        fault = schedule_fault(device, fault_type, onset, rng)
        faults.append(_fit(fault, onset + int(lead_h * HOUR_MS), fault.repaired_ms))
    return _ordered(faults)


LIVE_DEMO_HISTORY_MS = 4 * DAY_MS  # `facmon up --demo` starts its site this long ago

# (kind, fault, onset, failure), relative to the present of a run that starts
# LIVE_DEMO_HISTORY_MS before it; each on the kind's first device.
_LIVE_DEMO = (
    (EquipmentKind.PUMP, FaultType.PUMP_BEARING_WEAR, -2.5 * DAY_MS, 2 * DAY_MS),
    (EquipmentKind.ELEVATOR, FaultType.DOOR_OPERATOR_WEAR, -2.5 * DAY_MS, 3 * DAY_MS),
    (EquipmentKind.ACCESS_GATE, FaultType.FORCED_OPENING, 1 * MINUTE_MS, 1 * MINUTE_MS),
    (EquipmentKind.FIRE_PANEL, FaultType.FIRE_ALARM, 2 * MINUTE_MS, 2 * MINUTE_MS),
)


def _live_demo(
    devices: Sequence[DeviceRef], start: int, end: int, rng: random.Random
) -> list[Fault]:
    """Wear well under way when the history reaches the present, and incidents just after."""
    present = start + LIVE_DEMO_HISTORY_MS
    faults = []
    for kind, fault_type, onset_ms, failure_ms in _LIVE_DEMO:
        device = next((d for d in devices if d.kind is kind), None)
        if device is None:
            continue
        onset = present + int(onset_ms)
        fault = schedule_fault(device, fault_type, onset, rng)
        faults.append(_fit(fault, present + int(failure_ms), fault.repaired_ms))
    return _ordered(faults)


def _ordered(faults: list[Fault]) -> list[Fault]:
    return sorted(faults, key=lambda f: (f.onset_ms, f.source.device, f.type))


SCENARIOS: dict[str, Planner] = {
    "none": _none,
    "default": _default,
    "all": _all,
    "wear": _wear,
    "demo": _demo,
    "live-demo": _live_demo,
}


def plan_faults(
    scenario: str,
    devices: Sequence[DeviceRef],
    start_ms: int,
    end_ms: int | None,
    rng: random.Random,
) -> list[Fault]:
    """The faults of a named scenario over [start, end); a run without end is planned a year."""
    if scenario not in SCENARIOS:
        raise ValueError(
            f"unknown fault scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}"
        )
    end = end_ms if end_ms is not None else start_ms + UNBOUNDED_HORIZON_MS
    return SCENARIOS[scenario](devices, start_ms, end, rng)
