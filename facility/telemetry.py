"""Value objects that cross package boundaries: where a message came from and what it said.

They are validated once, when a payload is decoded at the edge; code past the edge trusts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from facility.catalogue import EquipmentKind

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""Site and device identifiers: safe in topics, InfluxDB tags, URLs and file names."""


class Channel(StrEnum):
    """The last topic segment: what kind of message a device sends."""

    TELEMETRY = "telemetry"
    EVENT = "event"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """A device, named by its site, its equipment kind and its own identifier."""

    site: str
    kind: EquipmentKind
    device: str


@dataclass(frozen=True, slots=True)
class Reading:
    """Metric values one device measured at one instant (epoch milliseconds).

    Booleans arrive as JSON true/false and are kept as 1.0/0.0 so that every metric is a
    float: InfluxDB fixes a field's type on first write, and a mean of a state is its duty.
    """

    source: DeviceRef
    ts_ms: int
    metrics: dict[str, float]


@dataclass(frozen=True, slots=True)
class Event:
    """A discrete occurrence reported by a device (fire_alarm, door_forced, entrapment...)."""

    source: DeviceRef
    ts_ms: int
    type: str
    attributes: dict[str, float | str]


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A device came online or went offline (its retained status or its will message)."""

    source: DeviceRef
    ts_ms: int
    online: bool


Record = Reading | Event | StatusChange
