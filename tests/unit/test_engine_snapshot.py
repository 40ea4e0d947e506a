"""facmon analytics saves its engine and a restart continues from it (facmon.engine_snapshot)."""

from __future__ import annotations

import argparse
import random
import threading
from pathlib import Path

import pytest

from analytics.alerts import AlertChange, AlertPolicy, ChangeKind
from analytics.engine import EngineSettings
from facility import Reading, Settings
from facmon.analytics_cmd import AnalyticsService
from ingest import SessionOptions
from tests.unit.test_engine import pump_reading

SETTINGS = EngineSettings(warmup=100, policy=AlertPolicy(raise_after_ms=10 * 60_000))


class Changes:
    def __init__(self) -> None:
        self.seen: list[AlertChange] = []

    def handle(self, change: AlertChange) -> None:
        self.seen.append(change)


def service(path: Path, settings: EngineSettings = SETTINGS) -> tuple[AnalyticsService, Changes]:
    changes = Changes()
    # The broker is never contacted: these tests drive the engine and the snapshot directly.
    made = AnalyticsService(Settings(mqtt_url="mqtt://127.0.0.1:9"), SessionOptions(), changes,
                            engine=settings, snapshot_path=path)  # fmt: skip
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
    args = argparse.Namespace(tick=30.0, forecast_every=3600.0, refit_every=86400.0,
                              snapshot_every=300.0)  # fmt: skip
    running.run(stop, args)
    assert path.exists()
    assert len(service(path)[0].engine.tracker.open_alerts) == 1
