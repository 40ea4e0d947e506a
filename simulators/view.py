"""`facmon simulate --watch`: the simulated building in the terminal, live.

One row per device with its key readings, whether it is online, and the fault it is suffering
(how far along, and when it will fail), under the latest events. The state is updated from the
same messages and labels the run publishes and records, so what is shown is what was sent.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from facility import EquipmentKind
from simulators.building import Label, Message

__all__ = ["BuildingView"]

KEY_METRICS: dict[EquipmentKind, tuple[str, ...]] = {
    EquipmentKind.ELEVATOR: ("trips", "door_close_time_s", "vibration_mm_s", "leveling_error_mm"),
    EquipmentKind.PUMP: ("flow_m3_h", "motor_current_a", "vibration_mm_s", "bearing_temp_c"),
    EquipmentKind.FIRE_PANEL: (
        "battery_v",
        "detector_drift_pct",
        "zones_in_alarm",
        "zones_in_fault",
    ),
    EquipmentKind.ACCESS_GATE: ("opens", "failed_auth", "motor_current_a", "open_time_s"),
}
DAY_MS = 86_400_000


@dataclass
class _DeviceState:
    kind: EquipmentKind
    online: bool = True
    metrics: dict[str, Any] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)


class BuildingView:
    """The latest state of every device, updated item by item, rendered as a rich table."""

    def __init__(self, recent_events: int = 6) -> None:
        self.now_ms = 0
        self.devices: dict[str, _DeviceState] = {}
        self.events: deque[str] = deque(maxlen=recent_events)

    def observe(self, item: Message | Label) -> None:
        self.now_ms = max(self.now_ms, item.ts_ms)
        if isinstance(item, Label):
            self._label(item.fields)
            return
        _, _, kind, device, channel = item.topic.split("/")
        state = self.devices.setdefault(device, _DeviceState(EquipmentKind(kind)))
        if channel == "status":
            state.online = item.payload == b"online"
        elif channel == "telemetry":
            body = json.loads(item.payload)
            for reading in body if isinstance(body, list) else [body]:
                state.metrics.update(reading["metrics"])
        elif channel == "event":
            event = json.loads(item.payload)
            self.events.append(f"{_clock(event['ts'])}  {device}  {event['type']}")

    def _label(self, fields: dict[str, Any]) -> None:
        if fields["label"] == "fault":
            state = self.devices.setdefault(
                fields["device"], _DeviceState(EquipmentKind(fields["kind"]))
            )
            state.faults.append(fields)

    def fault_text(self, device: str) -> Text:
        """The device's current fault in words: its progress, or failed, or nothing."""
        for fault in self.devices[device].faults:
            if fault["onset_ms"] <= self.now_ms < fault["repaired_ms"]:
                if self.now_ms >= fault["failure_ms"]:
                    return Text(f"{fault['fault']}: FAILED", style="bold red")
                days = (fault["failure_ms"] - self.now_ms) / DAY_MS
                return Text(f"{fault['fault']}: fails in {days:.1f} d", style="yellow")
        return Text("healthy", style="green")

    def render(self) -> Group:
        table = Table(title=f"simulated time {_clock(self.now_ms)}", expand=True)
        for heading in ("device", "online", "readings", "condition"):
            table.add_column(heading)
        for name in sorted(self.devices):
            state = self.devices[name]
            readings = "  ".join(
                f"{metric}={state.metrics[metric]}"
                for metric in KEY_METRICS[state.kind]
                if metric in state.metrics
            )
            online = Text("yes", "green") if state.online else Text("OFFLINE", "bold red")
            table.add_row(name, online, readings, self.fault_text(name))
        events = "\n".join(self.events) or "no events yet"
        return Group(table, Text(events + "\n", style="cyan"))


def _clock(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
