"""Spool replay after an outage, with a real spool directory and an in-memory InfluxDB."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from ingest.codec import Reason
from ingest.metrics import IngestMetrics
from ingest.pipeline import AckToken, Batch, BatchStore, Inbound
from ingest.replay import SpoolReplayer
from ingest.spool import Spool
from tests.unit.fakes import FakeDeadLetters, FakeWriter, RecordingSleep


def batch(name: str, n: int = 3) -> list[str]:
    return [f"pump,site=s,device={name} x={i}.0 {1_700_000_000_000 + i}" for i in range(n)]


class Harness:
    def __init__(self, tmp_path: Path, writer: FakeWriter) -> None:
        self.writer = writer
        self.spool = Spool(tmp_path / "spool")
        self.dead_letters = FakeDeadLetters()
        self.metrics = IngestMetrics()
        self.store = BatchStore(writer, self.spool, self.dead_letters, sleep=RecordingSleep())
        self.replayer = SpoolReplayer(
            writer, self.spool, self.store, self.dead_letters, self.metrics
        )
        self.batches = [batch(name) for name in ("a", "b", "c")]
        for lines in self.batches:
            self.spool.append(lines)
        self.store.outage.set()

    def replayed_total(self) -> float | None:
        return self.metrics.registry.get_sample_value("facmon_ingest_points_replayed_total")

    def spool_gauge(self) -> float | None:
        return self.metrics.registry.get_sample_value("facmon_ingest_spool_bytes")


def test_nothing_is_replayed_while_influx_is_down(tmp_path: Path) -> None:
    writer = FakeWriter()
    writer.up = False
    h = Harness(tmp_path, writer)
    files = h.spool.files()
    assert h.replayer.replay_available() == 0
    assert writer.calls == []
    assert h.spool.files() == files
    assert h.store.outage.is_set()


def test_everything_is_replayed_in_order_once_influx_is_back(tmp_path: Path) -> None:
    writer = FakeWriter()
    writer.up = False
    h = Harness(tmp_path, writer)
    h.replayer.replay_available()
    writer.up = True
    total = sum(len(lines) for lines in h.batches)
    assert h.replayer.replay_available() == total
    assert writer.calls == h.batches
    assert h.spool.files() == []
    assert h.spool.size_bytes == 0
    assert not h.store.outage.is_set()
    assert h.replayed_total() == total
    assert h.spool_gauge() == 0
    assert h.dead_letters.letters == []


def test_a_writer_failing_mid_replay_keeps_the_remaining_files(tmp_path: Path) -> None:
    class DiesAfterFirstBatch(FakeWriter):
        died = False

        def write(self, lines: Sequence[str]) -> None:
            if self.stored and not self.died:
                self.died = True
                self.up = False  # is_up() said yes, then the connection dropped
            super().write(lines)

    writer = DiesAfterFirstBatch()
    h = Harness(tmp_path, writer)
    remaining = h.spool.files()[1:]
    assert h.replayer.replay_available() == len(h.batches[0])
    assert writer.stored == h.batches[0]
    assert h.spool.files() == remaining
    assert [Spool.read(p) for p in remaining] == h.batches[1:]
    assert h.store.outage.is_set()
    assert h.replayed_total() == len(h.batches[0])

    writer.up = True
    assert h.replayer.replay_available() == len(h.batches[1]) + len(h.batches[2])
    assert writer.stored == [line for lines in h.batches for line in lines]
    assert h.spool.files() == []
    assert not h.store.outage.is_set()


def test_a_transient_failure_during_replay_is_retried(tmp_path: Path) -> None:
    h = Harness(tmp_path, FakeWriter(unavailable_times=1))
    assert h.replayer.replay_available() == sum(len(lines) for lines in h.batches)
    assert h.spool.files() == []


def test_lines_refused_during_replay_are_dead_lettered_and_the_rest_stored(
    tmp_path: Path,
) -> None:
    writer = FakeWriter()
    h = Harness(tmp_path, writer)
    refused = h.batches[1][1]
    writer.rejects = {refused}
    h.replayer.replay_available()
    assert writer.stored == [line for lines in h.batches for line in lines if line != refused]
    assert [(d.reason, d.payload) for d in h.dead_letters.letters] == [
        (Reason.STORE_REJECTED, refused)
    ]
    assert h.spool.files() == []
    assert not h.store.outage.is_set()


def test_live_batches_flow_to_influx_again_after_replay(tmp_path: Path) -> None:
    writer = FakeWriter()
    h = Harness(tmp_path, writer)
    live = Batch([Inbound(AckToken(1, 1, 1), "t", ["live x=1.0 1"], [], [])])
    h.store.store(live)  # still in outage: spooled behind the older batches
    h.replayer.replay_available()
    assert writer.calls == [*h.batches, ["live x=1.0 1"]]
    h.store.store(Batch([Inbound(AckToken(1, 2, 1), "t", ["next x=1.0 2"], [], [])]))
    assert writer.calls[-1] == ["next x=1.0 2"]
    assert h.spool.files() == []


def test_outage_stays_declared_while_batches_spooled_during_replay_remain(
    tmp_path: Path,
) -> None:
    live = ["live x=1.0 1"]

    class TrafficDuringReplay(FakeWriter):
        harness: Harness

        def write(self, lines: Sequence[str]) -> None:
            if not self.calls:  # the ingest thread spools a live batch meanwhile
                self.harness.store.store(Batch([Inbound(AckToken(1, 1, 1), "t", live, [], [])]))
            super().write(lines)

    writer = TrafficDuringReplay()
    h = Harness(tmp_path, writer)
    writer.harness = h
    h.replayer.replay_available()
    assert writer.calls == h.batches
    assert [Spool.read(p) for p in h.spool.files()] == [live]
    assert h.store.outage.is_set()  # clearing it now would let live data overtake the spool
    h.replayer.replay_available()
    assert writer.calls[-1] == live
    assert not h.store.outage.is_set()


def test_a_failing_pass_does_not_end_the_replayer(tmp_path: Path) -> None:
    # ensure_database, the spool or the dead letters (a locked ingest.db) may raise; the
    # thread must go on and replay once the fault is gone, never die silently.
    class FailsTwice(FakeWriter):
        failures = 2

        def ensure_database(self) -> None:
            if self.failures:
                self.failures -= 1
                raise sqlite3.OperationalError("database is locked")

    writer = FailsTwice()
    h = Harness(tmp_path, writer)
    stop = threading.Event()
    thread = threading.Thread(target=h.replayer.run, args=(stop, 0.01))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while h.store.outage.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join()
    assert writer.calls == h.batches
    assert not h.store.outage.is_set()
    failures = h.metrics.registry.get_sample_value(
        "facmon_ingest_store_failures_total", {"error": "database_locked"}
    )
    assert failures == 2
