"""Where the analytics service's alert notices go: the JSON Lines journal, several sinks."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from analytics import FanOut, JsonLinesSink, PersistentSink
from facility import AlertNotice

AT = datetime.fromtimestamp(1_720_000_000_123 / 1000, UTC)
NOTICE = AlertNotice("raised", "tower-a", "pump", "p-1", "vibration_running:high", "major", AT,
                     ("vibration while running 2.8× its normal level",), 9.5)  # fmt: skip


class Kept:
    def __init__(self) -> None:
        self.seen: list[AlertNotice] = []

    def handle(self, notice: AlertNotice) -> None:
        self.seen.append(notice)


def test_a_notice_knows_its_moment_in_exact_milliseconds() -> None:
    assert NOTICE.at_ms == 1_720_000_000_123
    moments = [0, 1, 999, 1_699_999_999_999, -1]
    stamped = [replace(NOTICE, at=datetime.fromtimestamp(ms / 1000, UTC)) for ms in moments]
    assert [notice.at_ms for notice in stamped] == moments


def test_the_journal_holds_each_notice_as_one_json_line(tmp_path: Path) -> None:
    journal = JsonLinesSink(tmp_path / "analytics" / "alerts.jsonl")
    journal.handle(NOTICE)
    journal.handle(AlertNotice("cleared", "tower-a", "pump", "p-1", "vibration_running:high",
                               "major", AT))  # fmt: skip
    journal.close()
    first, second = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert isinstance(first.pop("received_ms"), int)
    assert first == {
        "change": "raised", "site": "tower-a", "kind": "pump", "device": "p-1",
        "signature": "vibration_running:high", "severity": "major",
        "at": "2024-07-03T09:46:40.123+00:00", "at_ms": 1_720_000_000_123,
        "evidence": ["vibration while running 2.8× its normal level"], "score": 9.5,
    }  # fmt: skip
    assert (second["change"], second["evidence"]) == ("cleared", [])


def test_fan_out_hands_every_notice_to_each_sink_in_order() -> None:
    first, second = Kept(), Kept()
    FanOut(first, second).handle(NOTICE)
    assert first.seen == second.seen == [NOTICE]


class LockedFor(Kept):
    """A sink whose database is write-locked for its first `failures` tries."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.left = failures

    def handle(self, notice: AlertNotice) -> None:
        if self.left:
            self.left -= 1
            raise RuntimeError("database is locked")
        super().handle(notice)


def test_a_notice_is_tried_again_until_the_sink_takes_it_waiting_longer_each_time() -> None:
    waits: list[float] = []
    locked = LockedFor(failures=7)
    sink = PersistentSink(locked, first_wait_s=0.5, max_wait_s=4.0, sleep=waits.append)
    sink.handle(NOTICE)
    assert locked.seen == [NOTICE]  # delivered once, not lost and not twice
    assert sink.failures == 7
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


def test_a_sink_that_takes_the_notice_at_once_is_not_kept_waiting() -> None:
    waits: list[float] = []
    kept = Kept()
    PersistentSink(kept, sleep=waits.append).handle(NOTICE)
    assert kept.seen == [NOTICE] and waits == []
