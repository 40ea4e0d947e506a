"""A simulated site end to end, without a network: determinism, the contract, and the labels."""

from __future__ import annotations

import itertools
import json
import statistics
from collections import Counter
from dataclasses import replace
from typing import Any

import orjson
import pytest

from facility import EquipmentKind
from ingest import DecodePolicy, decode_message
from simulators import Label, Message, SensorRealism, Simulation, SimulationOptions

START = 1_714_521_600_000  # 2024-05-01T00:00Z, a Wednesday
HOUR = 3_600_000

OPTIONS = SimulationOptions(
    site="tower-a",
    counts=dict.fromkeys(EquipmentKind, 2),
    start_ms=START,
    duration_ms=24 * HOUR,
    interval_s=60.0,
    seed=7,
    faults="all",
    outages_per_day=1.0,
)


_RUNS: dict[str, tuple[list[Message], list[Label]]] = {}


def run(options: SimulationOptions = OPTIONS) -> tuple[list[Message], list[Label]]:
    """Messages and labels of a run, simulated once per distinct options."""
    key = repr(options)
    if key not in _RUNS:
        items = list(Simulation(options).run())
        _RUNS[key] = (
            [i for i in items if isinstance(i, Message)],
            [i for i in items if isinstance(i, Label)],
        )
    return _RUNS[key]


def labels_of(kind: str, options: SimulationOptions = OPTIONS) -> list[dict[str, Any]]:
    return [label.fields for label in run(options)[1] if label.fields["label"] == kind]


def test_the_same_seed_and_options_give_the_same_bytes() -> None:
    again = list(Simulation(OPTIONS).run())
    assert [m for m in again if isinstance(m, Message)] == run()[0]
    assert [label.json_line() for label in again if isinstance(label, Label)] == [
        label.json_line() for label in run()[1]
    ]


def test_another_seed_gives_other_messages() -> None:
    other = run(replace(OPTIONS, seed=8))[0]
    assert [m.payload for m in other[:200]] != [m.payload for m in run()[0][:200]]


def test_every_message_is_accepted_by_ingest_as_the_contract_says() -> None:
    policy = DecodePolicy()
    for message in run()[0]:
        decoded = decode_message(message.topic, message.payload, message.ts_ms + 1000, policy)
        assert decoded.rejections == [], (message, decoded.rejections)
        assert decoded.uncatalogued == set(), message
        assert decoded.records, message


def test_each_device_reports_once_per_interval_except_while_offline() -> None:
    messages, _ = run()
    outages = labels_of("offline")
    assert outages, "one outage a day per device should give some outages"
    per_device = Counter(m.topic.split("/")[3] for m in messages if m.readings)
    offline_min: Counter[str] = Counter()
    for outage in outages:
        offline_min[outage["device"]] += (
            min(outage["end_ms"], START + 24 * HOUR) - outage["start_ms"]
        ) // 60_000
    for device, count in per_device.items():
        # 1440 intervals, minus those spent offline, minus readings whose every metric dropped out
        assert abs(count - (1440 - offline_min[device])) <= 2 + 0.01 * 1440, (device, count)


def test_offline_labels_match_status_messages_and_silence() -> None:
    messages, _ = run()
    for outage in labels_of("offline"):
        prefix = f"facmon/tower-a/{outage['kind']}/{outage['device']}/"
        own = [m for m in messages if m.topic.startswith(prefix)]
        assert Message(outage["start_ms"], prefix + "status", b"offline", retain=True) in own
        # reading clocks jitter by a few hundred ms around the interval ticks
        inside = range(outage["start_ms"] + 1000, outage["end_ms"] - 1000)
        during = [m for m in own if m.readings and m.ts_ms in inside]
        assert during == [], outage


def test_event_labels_are_exactly_the_event_messages() -> None:
    messages, _ = run()
    sent = sorted(
        (m.topic, json.loads(m.payload)["ts"], m.payload)
        for m in messages
        if m.topic.endswith("/event")
    )
    labelled = []
    for label in labels_of("event"):
        body = {k: v for k, v in label.items() if k not in ("label", "site", "kind", "device")}
        topic = f"facmon/{label['site']}/{label['kind']}/{label['device']}/event"
        labelled.append((topic, label["ts"], orjson.dumps(body)))
    assert sorted(labelled) == sent
    assert sent, "the all scenario should make devices send events"


def test_fault_labels_name_real_devices_and_fall_inside_the_run() -> None:
    devices = {(d["kind"], d["device"]) for d in labels_of("run")[0]["devices"]}
    faults = labels_of("fault")
    assert faults
    for fault in faults:
        assert (fault["kind"], fault["device"]) in devices
        assert START <= fault["onset_ms"] <= fault["failure_ms"] < fault["repaired_ms"]
        assert fault["onset_ms"] < START + 24 * HOUR


def test_gateway_batching_packs_the_same_readings_into_fewer_messages() -> None:
    clean = replace(
        OPTIONS, sensors=SensorRealism.clean(), outages_per_day=0.0, duration_ms=4 * HOUR
    )
    single = run(clean)[0]
    batched = run(replace(clean, gateway_batch=10))[0]

    def readings(messages: list[Message]) -> list[tuple[str, Any]]:
        found = []
        for m in messages:
            if m.readings:
                body = json.loads(m.payload)
                found += [(m.topic, r) for r in (body if isinstance(body, list) else [body])]
        return found

    assert sorted(readings(batched), key=str) == sorted(readings(single), key=str)
    assert sum(1 for m in batched if m.readings) < sum(1 for m in single if m.readings) / 9
    assert all(isinstance(json.loads(m.payload), list) for m in batched if m.readings)


def test_device_clocks_jitter_around_their_interval_without_going_backwards() -> None:
    messages, _ = run()
    stamps: dict[str, list[int]] = {}
    for m in messages:
        if m.readings:
            stamps.setdefault(m.topic, []).append(json.loads(m.payload)["ts"])
    for series in stamps.values():
        gaps = [b - a for a, b in itertools.pairwise(series) if b - a < 90_000]
        assert all(gap > 0 for gap in gaps)
        assert all(abs(gap - 60_000) < 2_000 for gap in gaps)
        assert 100 < statistics.stdev(gaps) < 400, "clocks jitter by ~150 ms, not tick exactly"


def test_devices_announce_themselves_online_and_go_offline_at_the_end() -> None:
    messages, _ = run()
    statuses = [m for m in messages if m.topic.endswith("/status")]
    devices = {m.topic for m in statuses}
    assert len(devices) == 8
    assert all(m.retain for m in statuses)
    firsts = {t: next(m for m in statuses if m.topic == t) for t in devices}
    lasts = {t: [m for m in statuses if m.topic == t][-1] for t in devices}
    assert {m.payload for m in firsts.values()} == {b"online"}
    assert {m.payload for m in lasts.values()} == {b"offline"}


def test_a_run_without_duration_goes_on_until_the_caller_stops() -> None:
    endless = replace(OPTIONS, duration_ms=None)
    items = Simulation(endless).run()
    first = [next(items) for _ in range(50_000)]
    assert max(i.ts_ms for i in first) > START + 24 * HOUR


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("site", "tower a", "site"),
        ("interval_s", 0.0, "interval"),
        ("gateway_batch", 0, "gateway batch"),
        ("counts", {}, "at least one device"),
    ],
)
def test_impossible_options_are_refused_with_the_reason(
    field: str, value: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        replace(OPTIONS, **{field: value})
