"""What the platform routes read besides the work-order store, as small protocols.

The API package does not speak InfluxDB or open ingest's files itself: `facmon api` passes in
adapters (api/platform.py), and unit tests pass in-memory ones. Each adapter raises
`SourceUnavailable` when what it reads from cannot be reached; the routes answer 503 with the
reason, and everything else keeps working.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from timeseries import DeviceTelemetry as DeviceSnapshot

__all__ = [
    "Aggregate",
    "DeadLetterRow",
    "DeviceKey",
    "DeviceSnapshot",
    "EventQuery",
    "IngestRecords",
    "Platform",
    "SeriesQuery",
    "SourceUnavailable",
    "Telemetry",
]

DeviceKey = tuple[str, str, str]  # site, kind, device
Aggregate = Literal["mean", "max", "min", "last"]


class SourceUnavailable(Exception):
    """InfluxDB (or another source) did not answer; the message says which and why."""


@dataclass(frozen=True)
class SeriesQuery:
    site: str
    kind: str
    device: str
    metric: str
    start_ms: int
    end_ms: int
    window_s: int
    aggregate: Aggregate


@dataclass(frozen=True)
class EventQuery:
    start_ms: int
    end_ms: int
    limit: int
    site: str | None = None
    kind: str | None = None
    device: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class DeadLetterRow:
    received_ms: int
    topic: str
    reason: str
    detail: str
    payload: str
    payload_bytes: int


class Telemetry(Protocol):
    def devices(self, site: str | None = None, kind: str | None = None) -> list[DeviceSnapshot]:
        """Every device with telemetry in the last week (or a status), newest data first."""
        ...

    def series(self, query: SeriesQuery) -> list[tuple[int, float | None]]:
        """(window start ms, aggregate) per window; None for a window without readings."""
        ...

    def events(self, query: EventQuery) -> list[dict[str, Any]]:
        """{ts_ms, site, kind, device, type, fields}, newest first."""
        ...

    def is_up(self) -> bool: ...


class IngestRecords(Protocol):
    def dead_letters(self, reason: str | None, limit: int) -> list[DeadLetterRow]: ...

    def dead_letter_counts(self) -> dict[str, int]: ...

    def uncatalogued(self) -> dict[DeviceKey, list[str]]: ...


Provision = Callable[[str, str, str], dict[str, Any]]  # site, kind, device → credentials


@dataclass(frozen=True)
class Platform:
    """Everything the platform routes read; `provision` is None where no broker is managed."""

    telemetry: Telemetry
    ingest: IngestRecords
    contract_path: Path
    provision: Provision | None = None
    provisioned: Callable[[], set[str]] = field(default=lambda: set())  # MQTT usernames
