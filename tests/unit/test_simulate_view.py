"""The live view of `facmon simulate --watch`: what it says about each device."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from simulators import BuildingView, Label, Message

DAY = 86_400_000
T0 = 1_714_521_600_000
ONSET = T0 + DAY
FAULT: dict[str, Any] = {
    "label": "fault", "site": "s", "kind": "pump", "device": "pump-01", "fault": "seal_leak",
    "gradual": True, "equipment_fault": True,
    "onset_ms": ONSET, "failure_ms": T0 + 4 * DAY, "repaired_ms": T0 + 5 * DAY,
}  # fmt: skip
TOPIC = "facmon/s/pump/pump-01"


def view_at(now_ms: int) -> BuildingView:
    view = BuildingView()
    if now_ms >= ONSET:  # a run records a fault's label when its onset comes
        view.observe(Label(ONSET, FAULT))
    view.observe(Message(T0, f"{TOPIC}/telemetry", b'{"ts":1,"metrics":{"flow_m3_h":31.5}}'))
    view.observe(Message(now_ms, f"{TOPIC}/status", b"online", retain=True))
    return view


def test_a_device_is_healthy_before_onset_then_counts_down_to_failure_then_failed() -> None:
    assert view_at(T0 + DAY // 2).fault_text("pump-01").plain == "healthy"
    assert view_at(T0 + 2 * DAY).fault_text("pump-01").plain == "seal_leak: fails in 2.0 d"
    assert view_at(T0 + 4 * DAY).fault_text("pump-01").plain == "seal_leak: FAILED"
    assert view_at(T0 + 5 * DAY).fault_text("pump-01").plain == "healthy"


def test_the_table_shows_readings_offline_devices_and_events() -> None:
    view = view_at(T0)
    view.observe(Message(T0 + 60_000, f"{TOPIC}/status", b"offline", retain=True))
    view.observe(Message(T0 + 90_000, f"{TOPIC}/event", b'{"ts":1714521690000,"type":"pump_trip"}'))
    console = Console(width=160, record=True)
    console.print(view.render())
    text = console.export_text()
    assert "flow_m3_h=31.5" in text and "OFFLINE" in text
    assert "2024-05-01 00:01:30  pump-01  pump_trip" in text
