"""facmon analytics saves its engine and a restart continues from it (analytics.snapshot)."""

from __future__ import annotations

import logging
import pickle
import random
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from analytics import (
    AlertPolicy,
    AnalyticsService,
    EngineSettings,
    EngineSnapshot,
    Schedule,
    load_snapshot,
)
from analytics.snapshot import SNAPSHOT_FORMAT
from facility import AlertNotice, DeviceRef, Reading
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
        self.seen: list[AlertNotice] = []

    def handle(self, notice: AlertNotice) -> None:
        self.seen.append(notice)


class StreamHistory:
    """A history source serving a fixed stream of readings."""

    def __init__(self, stream: Sequence[Reading]) -> None:
        self.stream = stream

    def readings(self, device: DeviceRef, since_ms: int, until_ms: int) -> list[Reading]:
        return [r for r in self.stream if r.source == device and since_ms <= r.ts_ms <= until_ms]

    def series(
        self,
        device: DeviceRef,
        field: str,
        since_ms: int,
        until_ms: int,
        only_when: str | None = None,
    ) -> tuple[list[float], list[float]]:
        return [], []


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


def kinds(notices: list[AlertNotice]) -> list[tuple[str, str]]:
    return [(n.change, n.signature) for n in notices if n.change != "updated"]


def test_a_restart_continues_with_the_learned_baselines_and_open_alerts(tmp_path: Path) -> None:
    stream = wear()
    uninterrupted, _ = service(tmp_path / "other.snapshot")
    expected = kinds(uninterrupted.engine.on_records(stream))
    assert expected == [("raised", "vibration_running:high"),
                        ("cleared", "vibration_running:high")]  # fmt: skip

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
    assert fresh.engine.tracker.open_alerts == [] and fresh.engine.tracker.cleared_alerts == []


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
    saved = EngineSnapshot(first.engine, 0)
    old = pickle.dumps({"format": SNAPSHOT_FORMAT, "snapshot": saved}, protocol=0)
    old = old.replace(b"canalytics.snapshot\n", b"cfacmon.engine_snapshot\n")
    assert b"facmon.engine_snapshot" in old
    path = tmp_path / "engine.snapshot"
    path.write_bytes(old)
    restored = load_snapshot(path, SETTINGS)
    assert restored is not None and len(restored.engine.tracker.open_alerts) == 1


def test_a_restart_keeps_the_cleared_alerts_out_of_refits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stream = wear()
    first, _ = service(tmp_path / "engine.snapshot")
    first.on_records(stream)  # the alert is raised and cleared
    (cleared,) = first.engine.tracker.cleared_alerts
    first.save_snapshot()
    history, path = StreamHistory(stream), tmp_path / "engine.snapshot"
    second = AnalyticsService(
        Changes(), history, clock=lambda: 700 * 60.0, engine=SETTINGS, snapshot_path=path
    )
    assert second.engine.tracker.cleared_alerts == [cleared]
    with caplog.at_level(logging.INFO, logger="facmon.analytics"):
        second.refit()
    assert cleared.cleared_ms is not None
    inside = [r for r in stream if cleared.started_ms <= r.ts_ms <= cleared.cleared_ms]
    assert 0 < len(inside) < len(stream)
    assert f"refit pump-01 from {len(stream) - len(inside)} healthy readings" in caplog.messages


def test_a_snapshot_of_format_2_hands_its_cleared_alerts_to_the_tracker(tmp_path: Path) -> None:
    """Format 2 kept the cleared alerts beside the engine (EngineSnapshot.past_alerts), and its
    tracker had no memory of them: such a snapshot still loads, nothing forgotten."""
    first, _ = service(tmp_path / "unused.snapshot")
    first.engine.on_records(wear())
    cleared = first.engine.tracker.cleared_alerts
    assert len(cleared) == 1
    vars(first.engine.tracker).pop("_cleared")  # the tracker's shape in format 2
    saved = EngineSnapshot(first.engine, 0)
    vars(saved)["past_alerts"] = cleared
    path = tmp_path / "engine.snapshot"
    path.write_bytes(pickle.dumps({"format": 2, "snapshot": saved}))
    restored = load_snapshot(path, SETTINGS)
    assert restored is not None and restored.engine.tracker.cleared_alerts == cleared
    assert "past_alerts" not in vars(restored)


def test_a_snapshot_of_an_older_format_starts_fresh(tmp_path: Path) -> None:
    first, _ = service(tmp_path / "unused.snapshot")
    first.engine.on_records(wear()[:350])
    path = tmp_path / "engine.snapshot"
    path.write_bytes(pickle.dumps({"format": 1, "snapshot": EngineSnapshot(first.engine, 0)}))
    assert load_snapshot(path, SETTINGS) is None
    assert service(path)[0].engine.tracker.open_alerts == []


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
