"""The adapters behind the API's platform routes: InfluxDB for telemetry (through timeseries),
ingest's SQLite file for dead letters and extra metrics, and the
broker's accounts (api/sources.py has the protocols; `facmon api` builds them with
`platform_for`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from api.sources import (
    DeadLetterRow,
    DeviceKey,
    DeviceSnapshot,
    EventQuery,
    Platform,
    SeriesQuery,
    SourceUnavailable,
)
from broker import list_accounts, provision, reload_brokers
from facility import DeviceRef, Settings, device_ref
from ingest import DeadLetterStore, Reason, UncataloguedMetrics
from timeseries import InfluxClient, InfluxRejected, InfluxUnavailable, TelemetryReader

__all__ = ["InfluxTelemetry", "IngestFiles", "platform_for"]

T = TypeVar("T")


def platform_for(settings: Settings, influx: InfluxClient) -> Platform:
    """The sources of a `facmon api` process with these settings."""
    state = Path(settings.state_dir)
    return Platform(
        telemetry=InfluxTelemetry(influx),
        ingest=IngestFiles(state / "ingest" / "ingest.db"),
        contract_path=_contract(),
        provision=lambda site, kind, device: _provision(state, device_ref(site, kind, device)),
        provisioned=lambda: {str(a["username"]) for a in list_accounts(state)},
    )


def _contract() -> Path:
    """docs/mqtt-contract.md of a source checkout, else the copy installed with the package."""
    checkout = Path(__file__).resolve().parent.parent / "docs" / "mqtt-contract.md"
    installed = Path(sys.prefix) / "share" / "facmon" / "mqtt-contract.md"
    return checkout if checkout.exists() else installed


def _provision(state: Path, device: DeviceRef) -> dict[str, Any]:
    """New credentials for one device, in force at once in a broker facmon started."""
    issued = provision(state, [device])
    reload_brokers(state)
    found: dict[str, Any] = json.loads(issued[0].as_json())
    return found


class InfluxTelemetry:
    """The API's Telemetry protocol over timeseries' reader: a failure becomes
    SourceUnavailable, which the routes answer with 503."""

    def __init__(self, client: InfluxClient) -> None:
        self.reader = TelemetryReader(client)

    def devices(self, site: str | None = None, kind: str | None = None) -> list[DeviceSnapshot]:
        return _answered(lambda: self.reader.devices(site, kind))

    def series(self, query: SeriesQuery) -> list[tuple[int, float | None]]:
        return _answered(lambda: self.reader.series(query))

    def events(self, query: EventQuery) -> list[dict[str, Any]]:
        return _answered(lambda: self.reader.events(query))

    def is_up(self) -> bool:
        return self.reader.is_up()


def _answered(read: Callable[[], T]) -> T:
    """What ``read`` returns; InfluxDB's failures as SourceUnavailable, saying which."""
    try:
        return read()
    except InfluxUnavailable as error:
        raise SourceUnavailable(f"InfluxDB does not answer: {error}") from error
    except InfluxRejected as error:
        raise SourceUnavailable(f"InfluxDB refused the query: {error}") from error


class IngestFiles:
    """Ingest's dead letters and extra metrics, read from its SQLite file (WAL: ingest
    processes keep writing while the API reads)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._letters = DeadLetterStore(path)
        self._extras = UncataloguedMetrics(path)

    def dead_letters(self, reason: str | None, limit: int) -> list[DeadLetterRow]:
        chosen = Reason(reason) if reason in {r.value for r in Reason} else None
        if reason is not None and chosen is None:
            return []  # an unknown reason matches nothing
        letters = self._letters.recent(limit, chosen)
        return [DeadLetterRow(d.received_ms, d.topic, d.reason.value, d.detail, d.payload,
                              d.payload_bytes) for d in letters]  # fmt: skip

    def dead_letter_counts(self) -> dict[str, int]:
        return {reason.value: n for reason, n in self._letters.counts_by_reason().items()}

    def uncatalogued(self) -> dict[DeviceKey, list[str]]:
        return {(d.site, d.kind.value, d.device): names
                for d, names in self._extras.by_device().items()}  # fmt: skip
