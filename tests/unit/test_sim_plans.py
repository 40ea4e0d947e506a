"""Fault plans and scenarios: which faults strike when, at what rates, within the run."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from facility import DeviceRef, EquipmentKind
from simulators import PROFILES, FaultType, device_names, plan_faults, realistic_mix
from simulators.faults import DAY_MS, YEAR_MS, Fault, active_at, random_faults

START = 1_714_521_600_000  # 2024-05-01T00:00Z
WEEK = 7 * DAY_MS


def fleet(**counts: int) -> list[DeviceRef]:
    return device_names("s", {EquipmentKind(kind): n for kind, n in counts.items()})


def overlapping(faults: list[Fault], same_type_only: bool = False) -> list[tuple[Fault, Fault]]:
    """Pairs of faults on the same device (and type) whose [onset, repair) windows overlap."""
    by_device: dict[tuple[DeviceRef, FaultType | None], list[Fault]] = {}
    for fault in faults:
        key = (fault.source, fault.type if same_type_only else None)
        by_device.setdefault(key, []).append(fault)
    pairs = []
    for own in by_device.values():
        own.sort(key=lambda f: f.onset_ms)
        pairs += [(a, b) for a, b in itertools.pairwise(own) if b.onset_ms < a.repaired_ms]
    return pairs


def test_progress_rises_from_onset_to_failure_and_ends_at_repair() -> None:
    fault = Fault(fleet(pump=1)[0], FaultType.SEAL_LEAK, 1000, 11_000, 12_000)
    samples = [fault.progress(t) for t in range(1000, 11_000, 500)]
    assert samples == sorted(samples) and samples[0] == 0.0 and samples[-1] < 1.0
    assert fault.progress(11_000) == 1.0 and fault.failed(11_500)
    assert not fault.active(12_000) and fault.progress(12_000) == 0.0
    assert [a.type for a in active_at([fault], 5000)] == [FaultType.SEAL_LEAK]
    assert active_at([fault], 999) == []


def test_all_scenario_strikes_every_fault_type_once_with_healthy_time_before_it() -> None:
    devices = fleet(elevator=2, pump=3, fire_panel=2, access_gate=2)
    faults = plan_faults("all", devices, START, START + 4 * WEEK, random.Random(1))
    assert Counter(f.type for f in faults) == Counter(set(FaultType))
    for fault in faults:
        assert fault.source.kind is PROFILES[fault.type].kind
        assert START + DAY_MS <= fault.onset_ms <= fault.failure_ms < fault.repaired_ms
        assert fault.repaired_ms <= START + 4 * WEEK
        natural_lead_ms = PROFILES[fault.type].lead_hours[0] * 3_600_000
        assert fault.failure_ms - fault.onset_ms >= min(natural_lead_ms, DAY_MS), fault
    assert overlapping(faults) == []


def test_all_scenario_uses_only_the_kinds_present() -> None:
    faults = plan_faults("all", fleet(pump=1), START, START + WEEK, random.Random(1))
    assert {f.type for f in faults} == {
        t for t, p in PROFILES.items() if p.kind is EquipmentKind.PUMP
    }


def test_wear_scenario_gives_every_device_one_degradation_that_fails_in_the_run() -> None:
    devices = fleet(elevator=4, pump=4, fire_panel=2, access_gate=3)
    end = START + 8 * WEEK
    faults = plan_faults("wear", devices, START, end, random.Random(5))
    degradations = [f for f in faults if PROFILES[f.type].gradual]
    assert sorted(f.source.device for f in degradations) == sorted(d.device for d in devices)
    assert all(START < f.onset_ms < f.failure_ms <= end for f in degradations)


def test_default_rates_match_the_profiles_per_device_year() -> None:
    devices = fleet(elevator=100, fire_panel=100)
    faults = random_faults(devices, START, START + 2 * YEAR_MS, random.Random(3))
    counts = Counter(f.type for f in faults)
    for fault_type in (FaultType.DOOR_OPERATOR_WEAR, FaultType.TROUBLE_SIGNAL):
        expected = PROFILES[fault_type].per_year * 100 * 2
        assert 0.85 * expected <= counts[fault_type] <= 1.15 * expected, (fault_type, counts)
    # different faults may strike one device at once; the same fault cannot
    assert overlapping(faults, same_type_only=True) == []
    assert overlapping(faults) != []


def test_plans_are_reproducible_and_depend_on_the_seed() -> None:
    devices = fleet(elevator=5, pump=5)
    plan = [
        plan_faults("default", devices, START, START + YEAR_MS, random.Random(s)) for s in (1, 1, 2)
    ]
    assert plan[0] == plan[1] != plan[2]


def test_none_plans_nothing_and_an_unknown_scenario_is_named_in_the_error() -> None:
    assert plan_faults("none", fleet(pump=3), START, None, random.Random(0)) == []
    with pytest.raises(ValueError, match=r"unknown fault scenario 'fire'.*all"):
        plan_faults("fire", fleet(pump=3), START, None, random.Random(0))


def test_demo_faults_show_within_the_first_simulated_hour() -> None:
    devices = fleet(elevator=1, pump=1, fire_panel=1, access_gate=1)
    faults = plan_faults("demo", devices, START, None, random.Random(0))
    assert {f.source.kind for f in faults} == set(EquipmentKind)
    assert all(f.onset_ms - START <= 3_600_000 for f in faults)
    assert all(f.failure_ms - START <= 9 * 3_600_000 for f in faults)


@pytest.mark.parametrize("devices", [1, 7, 8, 23, 100])
def test_realistic_mix_adds_up_and_keeps_the_compound_ratios(devices: int) -> None:
    mix = realistic_mix(devices)
    assert sum(mix.values()) == devices
    if devices >= 8:
        assert (
            mix[EquipmentKind.ELEVATOR] >= mix[EquipmentKind.PUMP] >= mix[EquipmentKind.FIRE_PANEL]
        )
