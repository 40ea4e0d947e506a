"""facmon analytics saves its engine and a restart continues from it (analytics.snapshot)."""

from __future__ import annotations

import pickle
import random
import threading
from pathlib import Path

import pytest

from analytics import (
    AlertChange,
    AlertPolicy,
    AnalyticsService,
    ChangeKind,
    EngineSettings,
    EngineSnapshot,
    Schedule,
    load_snapshot,
)
from analytics.snapshot import SNAPSHOT_FORMAT
from facility import Reading
from tests.unit.test_engine import pump_reading

SETTINGS = EngineSettings(warmup=100, policy=AlertPolicy(raise_after_ms=10 * 60_000))


class IdleSource:
    """A message source that never delivers anything (the tests feed the engine directly)."""

    def __init__(self) -> None:
        self.subscribed = threading.Event()

    def start(self) -> None:
        self.subscribed.set()

    def stop(self) -> None:
        pass


class Changes:
    def __init__(self) -> None:
        self.seen: list[AlertChange] = []

    def handle(self, change: AlertChange) -> None:
        self.seen.append(change)


def service(path: Path, settings: EngineSettings = SETTINGS) -> tuple[AnalyticsService, Changes]:
    changes = Changes()
    # No message source: these tests drive the engine and the snapshot directly.
    made = AnalyticsService(changes, engine=settings, snapshot_path=path)
    return made, changes


def wear(seed: int = 2) -> list[Reading]:
    rng = random.Random(seed)
    healthy = [pump_reading(m, 2.0, rng) for m in range(300)]
    worn = [pump_reading(m, 2.0 + (m - 300) * 0.02, rng) for m in range(300, 500)]
    back = [pump_reading(m, 2.0, rng) for m in range(500, 700)]  # repaired
    return healthy + worn + back


def kinds(changes: list[AlertChange]) -> list[tuple[ChangeKind, str]]:
    return [(c.kind, c.alert.signature) for c in changes if c.kind is not ChangeKind.UPDATED]


def test_a_restart_continues_with_the_learned_baselines_and_open_alerts(tmp_path: Path) -> None:
    stream = wear()
    uninterrupted, _ = service(tmp_path / "other.snapshot")
    expected = kinds(uninterrupted.engine.on_records(stream))
    assert expected == [(ChangeKind.RAISED, "vibration_running:high"),
                        (ChangeKind.CLEARED, "vibration_running:high")]  # fmt: skip

    first, _ = service(tmp_path / "engine.snapshot")
    before = kinds(first.engine.on_records(stream[:350]))  # the alert is open
    first.save_snapshot()
    second, _ = service(tmp_path / "engine.snapshot")
    assert [a.signature for a in second.engine.tracker.open_alerts] == ["vibration_running:high"]
    assert before + kinds(second.engine.on_records(stream[350:])) == expected


def test_without_a_snapshot_a_restart_forgets_and_never_clears(tmp_path: Path) -> None:
    """What the snapshot fixes: the same restart, nothing saved."""
    stream = wear()
    first, _ = service(tmp_path / "engine.snapshot")
    first.engine.on_records(stream[:350])
    second, _ = service(tmp_path / "engine.snapshot")  # never saved
    assert kinds(second.engine.on_records(stream[350:])) == []


@pytest.mark.parametrize("content", [b"", b"not a pickle", b"\x80\x04K\x01."])
def test_a_damaged_snapshot_starts_fresh_instead_of_failing(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "engine.snapshot"
    path.write_bytes(content)
    fresh, _ = service(path)
    assert fresh.engine.tracker.open_alerts == [] and fresh._past_alerts == []


def test_other_engine_settings_start_fresh(tmp_path: Path) -> None:
    path = tmp_path / "engine.snapshot"
    first, _ = service(path)
    first.engine.on_records(wear()[:350])
    first.save_snapshot()
    changed, _ = service(path, EngineSettings(warmup=50))
    assert changed.engine.tracker.open_alerts == []
    same, _ = service(path)
    assert len(same.engine.tracker.open_alerts) == 1


def test_the_service_saves_when_it_stops(tmp_path: Path) -> None:
    path = tmp_path / "state" / "engine.snapshot"
    running, _ = service(path)
    running.engine.on_records(wear()[:350])
    stop = threading.Event()
    stop.set()
    running.run(IdleSource(), stop, Schedule())
    assert path.exists()
    assert len(service(path)[0].engine.tracker.open_alerts) == 1


def test_a_snapshot_saved_before_the_move_to_analytics_still_loads(tmp_path: Path) -> None:
    """Snapshots written while the service lived in facmon/ name facmon.engine_snapshot."""
    first, _ = service(tmp_path / "unused.snapshot")
    first.engine.on_records(wear()[:350])
    saved = EngineSnapshot(first.engine, 0, [])
    old = pickle.dumps({"format": SNAPSHOT_FORMAT, "snapshot": saved}, protocol=0)
    old = old.replace(b"canalytics.snapshot\n", b"cfacmon.engine_snapshot\n")
    assert b"facmon.engine_snapshot" in old
    path = tmp_path / "engine.snapshot"
    path.write_bytes(old)
    restored = load_snapshot(path, SETTINGS)
    assert restored is not None and len(restored.engine.tracker.open_alerts) == 1


def test_the_subscription_is_noted_once_the_source_has_subscribed(tmp_path: Path) -> None:
    running, _ = service(tmp_path / "engine.snapshot")
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()  # the service runs until then
    running.run(IdleSource(), stop, Schedule(), subscribed_path=tmp_path / "subscribed")
    assert (tmp_path / "subscribed").exists()


def test_the_engine_names_the_devices_it_has_seen(tmp_path: Path) -> None:
    running, _ = service(tmp_path / "engine.snapshot")
    stream = wear()[:5]
    running.on_records(stream)
    assert running.devices() == [stream[0].source]
