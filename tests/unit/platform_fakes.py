"""In-memory stand-ins for the API's platform sources (api/sources.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.sources import (
    DeadLetterRow,
    DeviceKey,
    DeviceSnapshot,
    EventQuery,
    Platform,
    SeriesQuery,
    SourceUnavailable,
)

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "mqtt-contract.md"


@dataclass
class FakeTelemetry:
    snapshots: list[DeviceSnapshot] = field(default_factory=list)
    points: dict[tuple[str, str], list[tuple[int, float | None]]] = field(default_factory=dict)
    stored_events: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    asked: list[SeriesQuery] = field(default_factory=list)

    def _check(self) -> None:
        if self.down:
            raise SourceUnavailable("InfluxDB does not answer: ConnectError")

    def devices(self, site: str | None = None, kind: str | None = None) -> list[DeviceSnapshot]:
        self._check()
        return [d for d in self.snapshots
                if site in (None, d.site) and kind in (None, d.kind)]  # fmt: skip

    def series(self, query: SeriesQuery) -> list[tuple[int, float | None]]:
        self._check()
        self.asked.append(query)
        found = self.points.get((query.device, query.metric), [])
        return [(t, v) for t, v in found if query.start_ms <= t < query.end_ms]

    def events(self, query: EventQuery) -> list[dict[str, Any]]:
        self._check()
        found = [e for e in self.stored_events if query.start_ms <= e["ts_ms"] < query.end_ms
                 and query.type in (None, e["type"])]  # fmt: skip
        return sorted(found, key=lambda e: -e["ts_ms"])[: query.limit]

    def is_up(self) -> bool:
        return not self.down


@dataclass
class FakeIngest:
    letters: list[DeadLetterRow] = field(default_factory=list)
    extras: dict[DeviceKey, list[str]] = field(default_factory=dict)

    def dead_letters(self, reason: str | None, limit: int) -> list[DeadLetterRow]:
        return [d for d in reversed(self.letters) if reason in (None, d.reason)][:limit]

    def dead_letter_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for letter in self.letters:
            counts[letter.reason] = counts.get(letter.reason, 0) + 1
        return counts

    def uncatalogued(self) -> dict[DeviceKey, list[str]]:
        return self.extras


def fake_platform(tmp: Path, telemetry: FakeTelemetry | None = None,
                  ingest: FakeIngest | None = None, **options: Any) -> Platform:  # fmt: skip
    return Platform(telemetry or FakeTelemetry(), ingest or FakeIngest(), CONTRACT, **options)
