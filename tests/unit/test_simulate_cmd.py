"""`facmon simulate` command line: durations, defaults, and the broker-less output modes."""

from __future__ import annotations

import argparse
import json

import pytest

from facility import EquipmentKind
from facmon.cli import build_parser, main
from facmon.simulate_cmd import options_from
from simulators import Message, Simulation, parse_duration

NOW_MS = 1_800_000_000_000


def parsed(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["simulate", *argv])


@pytest.mark.parametrize(
    ("text", "seconds"), [("500ms", 0.5), ("90s", 90), ("15m", 900), ("2h", 7200), ("1w", 604800)]
)
def test_durations_read_as_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_duration_without_a_unit_is_refused_when_it_is_not_a_number() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a duration"):
        parse_duration("soon")


def test_an_accelerated_run_simulates_history_up_to_now_and_a_real_time_run_starts_now() -> None:
    fast = options_from(parsed("--duration", "30d", "--speed", "3600"), NOW_MS)
    assert fast.start_ms + (fast.duration_ms or 0) == NOW_MS
    live = options_from(parsed("--duration", "1h"), NOW_MS)
    assert live.start_ms == NOW_MS
    endless = options_from(parsed("--speed", "60"), NOW_MS)
    assert (endless.start_ms, endless.duration_ms) == (NOW_MS - 7 * 86_400_000, None)


def test_counts_come_from_the_kind_flags_or_a_mix() -> None:
    exact = options_from(parsed("--pumps", "3", "--gates", "1"), NOW_MS)
    assert dict(exact.counts) == {
        EquipmentKind.ELEVATOR: 0,
        EquipmentKind.PUMP: 3,
        EquipmentKind.FIRE_PANEL: 0,
        EquipmentKind.ACCESS_GATE: 1,
    }
    assert sum(options_from(parsed("--devices", "24"), NOW_MS).counts.values()) == 24


def test_stdout_mode_prints_exactly_the_simulated_messages(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    argv = [
        "--devices",
        "4",
        "--duration",
        "2h",
        "--start",
        "2024-05-01T00:00:00Z",
        "--output",
        "stdout",
    ]
    assert main(["simulate", *argv]) == 0
    out, err = capsysbinary.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    expected = [
        m for m in Simulation(options_from(parsed(*argv), NOW_MS)).run() if isinstance(m, Message)
    ]
    assert [(x["ts"], x["topic"], x["payload"].encode(), x["retain"]) for x in lines] == [
        (m.ts_ms, m.topic, m.payload, m.retain) for m in expected
    ]
    summary = json.loads(err.splitlines()[-1])
    assert summary["published"] == len(lines) and summary["devices"] == 4
