"""Uncatalogued metrics registry in a real SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from facility import DeviceRef, EquipmentKind
from ingest.extras import UncataloguedMetrics

PUMP_A = DeviceRef("tower-a", EquipmentKind.PUMP, "p1")
PUMP_B = DeviceRef("tower-b", EquipmentKind.PUMP, "p1")  # same device id, another site
LIFT = DeviceRef("tower-a", EquipmentKind.ELEVATOR, "e1")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "extras.db"


@pytest.fixture
def registry(path: Path) -> Iterator[UncataloguedMetrics]:
    opened = UncataloguedMetrics(path)
    yield opened
    opened.close()


def first_seen(path: Path) -> dict[tuple[str, str, str, str], int]:
    """Read the file directly: the registry keeps when each pair was first seen."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT site, kind, device, metric, first_seen_ms FROM uncatalogued_metrics"
        ).fetchall()
    return {(s, k, d, m): t for s, k, d, m, t in rows}


def test_empty_registry(registry: UncataloguedMetrics) -> None:
    assert registry.by_device() == {}


def test_metrics_are_grouped_by_device_and_sorted(registry: UncataloguedMetrics) -> None:
    registry.note([(PUMP_A, "zeta_pct"), (PUMP_A, "alpha_c"), (LIFT, "cabin_co2_ppm")], 10)
    registry.note([(PUMP_B, "humidity_pct"), (PUMP_A, "mid_v")], 20)
    assert registry.by_device() == {
        PUMP_A: ["alpha_c", "mid_v", "zeta_pct"],
        LIFT: ["cabin_co2_ppm"],
        PUMP_B: ["humidity_pct"],
    }


def test_only_new_pairs_are_stored_and_first_sighting_is_kept(
    registry: UncataloguedMetrics, path: Path
) -> None:
    registry.note([(PUMP_A, "humidity_pct")], 1000)
    registry.note([(PUMP_A, "humidity_pct"), (PUMP_A, "humidity_pct"), (LIFT, "x")], 2000)
    assert first_seen(path) == {
        ("tower-a", "pump", "p1", "humidity_pct"): 1000,
        ("tower-a", "elevator", "e1", "x"): 2000,
    }
    assert registry.by_device() == {PUMP_A: ["humidity_pct"], LIFT: ["x"]}


def test_noting_nothing_is_harmless(registry: UncataloguedMetrics, path: Path) -> None:
    registry.note(iter(()), 5)
    assert registry.by_device() == {}
    assert first_seen(path) == {}


def test_registry_survives_reopening(path: Path) -> None:
    first = UncataloguedMetrics(path)
    first.note([(PUMP_A, "humidity_pct"), (LIFT, "cabin_co2_ppm")], 1000)
    first.close()
    reopened = UncataloguedMetrics(path)
    try:
        assert reopened.by_device() == {PUMP_A: ["humidity_pct"], LIFT: ["cabin_co2_ppm"]}
        reopened.note([(PUMP_A, "humidity_pct"), (PUMP_A, "noise_db")], 5000)
        assert reopened.by_device()[PUMP_A] == ["humidity_pct", "noise_db"]
    finally:
        reopened.close()
    assert first_seen(path)[("tower-a", "pump", "p1", "humidity_pct")] == 1000
    assert first_seen(path)[("tower-a", "pump", "p1", "noise_db")] == 5000


def test_first_sighting_is_kept_when_two_registries_share_a_file(path: Path) -> None:
    # e.g. the ingest restarted while the old process was still flushing
    first, second = UncataloguedMetrics(path), UncataloguedMetrics(path)
    try:
        first.note([(PUMP_A, "humidity_pct")], 1000)
        second.note([(PUMP_A, "humidity_pct")], 2000)
    finally:
        first.close()
        second.close()
    assert first_seen(path) == {("tower-a", "pump", "p1", "humidity_pct"): 1000}
