"""The entrance gate model: its rhythm looks right, and every incident and fault shows."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence

import pytest

from facility import CATALOGUE, DeviceRef, EquipmentKind, MetricType
from simulators.equipment.access_gate import AccessGateModel
from simulators.equipment.base import MetricValue
from simulators.faults import DAY_MS, HOUR_MS, Fault, FaultType
from tests.unit.model_runs import Run, drive

MONDAY = 1_714_348_800_000  # 2024-04-29 00:00 UTC, a Monday
MINUTE_MS = 60_000
GATE = DeviceRef("tower", EquipmentKind.ACCESS_GATE, "gate-1")
SPECS = CATALOGUE[EquipmentKind.ACCESS_GATE]


def simulate(
    seed: int, start_ms: int, end_ms: int, dt_s: float, faults: Sequence[Fault] = ()
) -> Run:
    """Drive a fresh model of this kind from start to end under `faults`."""
    return drive(AccessGateModel, seed, start_ms, end_ms, dt_s, faults)


def fault(kind: FaultType, onset_ms: int, lead_ms: int, repair_ms: int) -> Fault:
    return Fault(GATE, kind, onset_ms, onset_ms + lead_ms, onset_ms + lead_ms + repair_ms)


def mean_of(rows: list[dict[str, MetricValue]], name: str) -> float:
    return statistics.fmean(float(row[name]) for row in rows)


# -- contract --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dt_s", "days"), [(1.0, 1 / 12), (60.0, 7.0), (3600.0, 28.0)], ids=["1s", "60s", "1h"]
)
def test_every_catalogue_metric_is_reported_within_its_range(dt_s: float, days: float) -> None:
    run = simulate(11, MONDAY + 7 * HOUR_MS, MONDAY + 7 * HOUR_MS + int(days * DAY_MS), dt_s)
    assert len(run.rows) >= 300
    for row in run.rows:
        assert set(row) == set(SPECS)
        assert isinstance(row["is_open"], bool)
        for name, value in row.items():
            assert SPECS[name].admits(float(value)), (name, value)
    for name in ("opens", "failed_auth"):
        values = run.series(name)
        assert all(v == int(v) for v in values)
        assert all(b >= a for a, b in itertools.pairwise(values))
    assert run.series("opens")[-1] > run.series("opens")[0]
    assert any(row["is_open"] for row in run.rows)
    assert not all(row["is_open"] for row in run.rows)
    gauges = {name for name, spec in SPECS.items() if spec.type is MetricType.GAUGE}
    assert set(AccessGateModel.sensors) == gauges


def test_same_seed_same_output_and_another_seed_differs() -> None:
    faults = [
        fault(FaultType.MOTOR_BINDING, MONDAY + DAY_MS, 2 * DAY_MS, 3 * HOUR_MS),
        fault(FaultType.FAILED_AUTH_BURST, MONDAY + 30 * HOUR_MS + 123, 0, 20 * MINUTE_MS),
    ]
    first = simulate(3, MONDAY, MONDAY + 4 * DAY_MS, 60.0, faults)
    again = simulate(3, MONDAY, MONDAY + 4 * DAY_MS, 60.0, faults)
    other = simulate(4, MONDAY, MONDAY + 4 * DAY_MS, 60.0, faults)
    assert first.rows == again.rows
    assert first.events == again.events
    assert first.rows != other.rows


def test_weekday_rush_far_busier_than_the_night() -> None:
    run = simulate(7, MONDAY, MONDAY + 5 * DAY_MS, 60.0)
    days = [MONDAY + d * DAY_MS for d in range(5)]
    rush = sum(run.increase("opens", day + 450 * MINUTE_MS, day + 510 * MINUTE_MS) for day in days)
    night = sum(run.increase("opens", day + 150 * MINUTE_MS, day + 210 * MINUTE_MS) for day in days)
    assert rush > 8 * max(night, 1.0)
    assert rush / 5 > 25  # people leaving for work


def test_a_few_credentials_are_refused_every_day() -> None:
    """Mistyped PINs and expired cards: around one to four in a hundred, not zero, not many."""
    run = simulate(8, MONDAY, MONDAY + 7 * DAY_MS, 60.0)
    refused = run.increase("failed_auth", MONDAY, MONDAY + 7 * DAY_MS)
    opens = run.increase("opens", MONDAY, MONDAY + 7 * DAY_MS)
    assert refused >= 7
    assert 0.005 < refused / opens < 0.06
    assert not run.events


def test_the_gate_opens_for_its_open_time_and_hold() -> None:
    """Open in the rush a fair share of the time, hardly ever at night."""
    run = simulate(9, MONDAY, MONDAY + 5 * DAY_MS, 60.0)
    days = [MONDAY + d * DAY_MS for d in range(5)]
    rush = [row for day in days for row in run.between(day + 7 * HOUR_MS, day + 9 * HOUR_MS)]
    night = [row for day in days for row in run.between(day + 2 * HOUR_MS, day + 4 * HOUR_MS)]
    assert mean_of(rush, "is_open") > 0.1
    assert mean_of(night, "is_open") < 0.05
    assert 1.5 < mean_of(run.rows, "motor_current_a") < 4.5
    assert 2.5 < mean_of(run.rows, "open_time_s") < 6.5


# -- faults ------------------------------------------------------------------------------------


def test_motor_binding_raises_current_and_open_time_then_jams() -> None:
    onset, lead, repair = MONDAY + DAY_MS, 8 * DAY_MS, 3 * HOUR_MS
    failure, repaired = onset + lead, onset + lead + repair
    binding = fault(FaultType.MOTOR_BINDING, onset, lead, repair)
    run = simulate(21, MONDAY, repaired + DAY_MS, 60.0, [binding])
    healthy = run.between(MONDAY, onset)
    last_fifth = run.between(onset + lead * 4 // 5, failure - 1)
    for name in ("motor_current_a", "open_time_s"):
        before = [float(row[name]) for row in healthy]
        mean, sd = statistics.fmean(before), statistics.stdev(before)
        assert mean_of(last_fifth, name) > mean + 3 * sd, name
        assert mean_of(last_fifth, name) > 1.4 * mean, name
    jams = run.of_type("gate_jammed")
    assert len(jams) == 1
    assert failure <= jams[0].ts_ms < failure + MINUTE_MS
    assert jams[0].attributes["stuck"] in ("open", "closed")
    jammed = run.between(failure, repaired - 1)
    assert {row["opens"] for row in jammed} == {jammed[0]["opens"]}
    assert len({row["is_open"] for row in jammed}) == 1  # the leaf does not move
    assert float(jammed[0]["open_time_s"]) > 20.0  # the stroke that never finished
    restored = run.of_type("gate_restored")
    assert len(restored) == 1
    assert repaired <= restored[0].ts_ms < repaired + MINUTE_MS
    assert run.increase("opens", repaired, repaired + DAY_MS) > 50


@pytest.mark.parametrize("dt_s", [1.0, 60.0, 900.0])
def test_failed_auth_burst_jumps_the_counter_and_is_reported_at_onset(dt_s: float) -> None:
    onset = MONDAY + 14 * HOUR_MS + 7 * MINUTE_MS + 4_321  # not on a step boundary
    repair = 15 * MINUTE_MS if dt_s < 900 else 30 * MINUTE_MS  # seen at a step while it lasts
    burst = fault(FaultType.FAILED_AUTH_BURST, onset, 0, repair)
    start = MONDAY + 13 * HOUR_MS + (30 * MINUTE_MS if dt_s < 60 else 0)
    run = simulate(22, start, onset + repair + HOUR_MS, dt_s, [burst])
    events = run.events
    assert [(e.type, e.ts_ms) for e in events] == [("failed_auth_burst", onset)]
    assert float(events[0].attributes["rate_per_min"]) >= 2.0
    step_ms = round(dt_s * 1000)
    in_burst = run.increase("failed_auth", onset - step_ms, onset + repair)
    quiet_hour = run.increase("failed_auth", start, onset - step_ms)
    assert in_burst >= 20  # tens of refusals in a quarter of an hour
    assert quiet_hour <= 5


@pytest.mark.parametrize("dt_s", [1.0, 60.0, 3600.0])
def test_forced_opening_reported_at_onset_and_gate_open(dt_s: float) -> None:
    onset = MONDAY + 2 * HOUR_MS + 41 * MINUTE_MS + 17_003
    repair = 4 * MINUTE_MS if dt_s < 3600 else 40 * MINUTE_MS  # visible at an hourly step
    forced = fault(FaultType.FORCED_OPENING, onset, 0, repair)
    run = simulate(23, MONDAY + 2 * HOUR_MS, onset + repair + HOUR_MS, dt_s, [forced])
    assert [(e.type, e.ts_ms) for e in run.events] == [("door_forced", onset)]
    during = run.between(onset, onset + repair - 1)
    assert during
    assert all(row["is_open"] for row in during)
    assert {row["opens"] for row in during} == {during[0]["opens"]}  # not opened by the motor


@pytest.mark.parametrize("dt_s", [1.0, 60.0, 3600.0])
def test_held_open_reported_at_onset_and_open_until_repaired(dt_s: float) -> None:
    onset = MONDAY + 3 * HOUR_MS + 12 * MINUTE_MS + 555
    repair = 90 * MINUTE_MS
    held = fault(FaultType.HELD_OPEN, onset, 0, repair)
    run = simulate(24, MONDAY + 3 * HOUR_MS, onset + repair + 2 * HOUR_MS, dt_s, [held])
    assert [(e.type, e.ts_ms) for e in run.events] == [("held_open", onset)]
    during = run.between(onset, onset + repair - 1)
    assert during
    assert all(row["is_open"] for row in during)
    after = run.between(onset + repair + 15 * MINUTE_MS, onset + repair + 2 * HOUR_MS)
    assert not all(row["is_open"] for row in after)  # closes again at night once released


def test_hourly_readings_stamp_jam_and_restore_at_their_instant() -> None:
    onset = MONDAY + DAY_MS + 7 * MINUTE_MS + 4_321  # nothing on a step boundary
    lead, repair = 3 * DAY_MS + 22 * MINUTE_MS + 13_013, 3 * HOUR_MS + 5 * MINUTE_MS + 77
    failure, repaired = onset + lead, onset + lead + repair
    binding = fault(FaultType.MOTOR_BINDING, onset, lead, repair)
    run = simulate(25, MONDAY, repaired + DAY_MS, 3600.0, [binding])
    assert [e.ts_ms for e in run.of_type("gate_jammed")] == [failure]
    restored = run.of_type("gate_restored")
    assert [e.ts_ms for e in restored] == [repaired]
    assert restored[0].attributes["downtime_s"] == repair / 1000
    jammed = run.between(failure, repaired)
    assert len(jammed) == 3
    assert {row["opens"] for row in jammed} == {run.at(failure)["opens"]}
    assert run.increase("opens", repaired, repaired + DAY_MS) > 50


@pytest.mark.parametrize(
    ("kind", "event"),
    [(FaultType.FORCED_OPENING, "door_forced"), (FaultType.HELD_OPEN, "held_open")],
)
def test_door_incident_between_two_hourly_readings_still_reported(
    kind: FaultType, event: str
) -> None:
    """Three minutes in the night: one event at onset, and a closed gate at the next reading."""
    onset = MONDAY + 2 * HOUR_MS + 41 * MINUTE_MS + 17_003
    incident = fault(kind, onset, 0, 3 * MINUTE_MS)
    run = simulate(26, MONDAY + HOUR_MS, MONDAY + 6 * HOUR_MS, 3600.0, [incident])
    assert [(e.type, e.ts_ms) for e in run.events] == [(event, onset)]
    assert run.between(onset, onset + HOUR_MS)[0]["is_open"] is False
    healthy = simulate(26, MONDAY + HOUR_MS, MONDAY + 6 * HOUR_MS, 3600.0)
    assert run.rows == healthy.rows  # over, it leaves nothing in the readings


def test_failed_auth_burst_between_two_hourly_readings_still_counts() -> None:
    onset = MONDAY + 14 * HOUR_MS + 7 * MINUTE_MS + 4_321
    burst = fault(FaultType.FAILED_AUTH_BURST, onset, 0, 15 * MINUTE_MS)
    run = simulate(27, MONDAY + 10 * HOUR_MS, MONDAY + 18 * HOUR_MS, 3600.0, [burst])
    assert [(e.type, e.ts_ms) for e in run.events] == [("failed_auth_burst", onset)]
    assert run.increase("failed_auth", onset, onset + HOUR_MS) >= 20
    assert run.increase("failed_auth", onset + HOUR_MS, onset + 4 * HOUR_MS) <= 5
