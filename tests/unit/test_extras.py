"""Uncatalogued metrics registry in a real SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from facility import DeviceRef, EquipmentKind, Reading
from ingest.codec import Reason, decode_message
from ingest.extras import UncataloguedMetrics, refuse_beyond_cap

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


# --- the per-site cap on new metric names (issue 13, point 6) -----------------------------------

PUMP_A2 = DeviceRef("tower-a", EquipmentKind.PUMP, "p2")
TOPIC = "facmon/tower-a/pump/p1/telemetry"


def capped(path: Path, cap: int) -> UncataloguedMetrics:
    return UncataloguedMetrics(path, max_per_site=cap)


def test_a_site_may_bring_names_up_to_its_cap_and_keeps_them(path: Path) -> None:
    registry = capped(path, 2)
    assert registry.admit(PUMP_A, "a_x") and registry.admit(PUMP_A, "b_x")
    assert not registry.admit(PUMP_A, "c_x")
    assert registry.admit(PUMP_A2, "a_x"), "a name the site has is shared by its devices"
    assert registry.admit(LIFT, "a_x") is False, "another kind's field is a new name"
    assert registry.admit(PUMP_B, "c_x"), "another site has its own cap"
    registry.close()


def test_the_cap_counts_names_noted_before_a_restart(path: Path) -> None:
    first = capped(path, 2)
    first.note([(PUMP_A, "a_x"), (PUMP_A2, "b_x")], 10)
    first.close()
    reopened = capped(path, 2)
    assert reopened.admit(PUMP_A, "b_x")
    assert not reopened.admit(PUMP_A, "c_x")
    reopened.close()


def test_admitting_writes_nothing_until_noted(path: Path) -> None:
    registry = capped(path, 5)
    registry.admit(PUMP_A, "a_x")
    assert registry.by_device() == {}
    registry.close()


def test_values_beyond_the_cap_are_refused_and_their_neighbours_kept() -> None:
    payload = (
        b'[{"ts": 1714564800000, "metrics": {"pressure_bar": 4.2, "a_x": 1, "z_x": 2}},'
        b' {"ts": 1714564801000, "metrics": {"z_x": 3}}]'
    )
    decoded = decode_message(TOPIC, payload, 1714564805000)
    sightings = refuse_beyond_cap(decoded, lambda _, name: name == "a_x", 7)
    assert sightings == [(PUMP_A, "a_x")]
    assert [r.metrics for r in decoded.records if isinstance(r, Reading)] == [
        {"pressure_bar": 4.2, "a_x": 1.0}
    ]
    assert [r.reason for r in decoded.rejections] == [Reason.TOO_MANY_METRICS]
    assert "site tower-a already has 7" in decoded.rejections[0].detail
    assert decoded.uncatalogued == {"a_x"}


def test_catalogued_metrics_never_ask_for_admission() -> None:
    payload = b'{"ts": 1714564800000, "metrics": {"pressure_bar": 4.2}}'
    decoded = decode_message(TOPIC, payload, 1714564805000)

    def refuse(device: DeviceRef, name: str) -> bool:
        raise AssertionError(f"asked about {name}")

    assert refuse_beyond_cap(decoded, refuse, 0) == []
    assert decoded.rejections == []
