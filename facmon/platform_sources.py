"""The adapters behind the API's platform routes: InfluxDB for telemetry, ingest's SQLite
file for dead letters and extra metrics, the analytics forecasts file, and the broker's
accounts (api/sources.py has the protocols)."""

from __future__ import annotations

import json
import sys
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
from broker import list_accounts, provision, reload_brokers
from facility import DeviceRef, EquipmentKind, Settings, device_ref
from ingest import DeadLetterStore, InfluxClient, InfluxRejected, InfluxUnavailable, Reason
from ingest.extras import UncataloguedMetrics

__all__ = ["InfluxTelemetry", "IngestFiles", "platform_for"]

KINDS = "/^(" + "|".join(k.value for k in EquipmentKind) + ")$/"
EVENT_TAGS = ("site", "kind", "device", "type")


def platform_for(settings: Settings, influx: InfluxClient) -> Platform:
    """The sources of a `facmon api` process with these settings."""
    state = Path(settings.state_dir)
    return Platform(
        telemetry=InfluxTelemetry(influx),
        ingest=IngestFiles(state / "ingest" / "ingest.db"),
        forecasts_path=state / "analytics" / "forecasts.json",
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


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _where(**tags: str | None) -> str:
    return "".join(f" AND \"{k}\" = '{_quote(v)}'" for k, v in tags.items() if v is not None)


class InfluxTelemetry:
    """Telemetry reads with InfluxQL; names are validated by the routes and quoted here."""

    def __init__(self, client: InfluxClient) -> None:
        self.client = client

    def _query(self, influxql: str) -> list[dict[str, Any]]:
        try:
            return self.client.query(influxql, epoch="ms")
        except InfluxUnavailable as error:
            raise SourceUnavailable(f"InfluxDB does not answer: {error}") from error
        except InfluxRejected as error:
            if "database not found" in str(error):
                return []  # nothing stored yet
            raise SourceUnavailable(f"InfluxDB refused the query: {error}") from error

    def devices(self, site: str | None = None, kind: str | None = None) -> list[DeviceSnapshot]:
        source = f'"{kind}"' if kind else KINDS
        where = _where(site=site)
        latest = self._query(f"SELECT * FROM {source} WHERE time > now() - 7d{where}"
                             ' GROUP BY "site", "device" ORDER BY time DESC LIMIT 1')  # fmt: skip
        counts = self._query(f"SELECT count(*) FROM {source} WHERE time > now() - 10m{where}"
                             ' GROUP BY "site", "device"')  # fmt: skip
        status = self._query(f'SELECT last("online") FROM "device_status" WHERE time > 0{where}'
                             f'{_where(kind=kind)} GROUP BY "site", "kind", "device"')  # fmt: skip
        return _snapshots(latest, counts, status)

    def series(self, query: SeriesQuery) -> list[tuple[int, float | None]]:
        """On/off metrics are stored as 1/0 (docs/mqtt-contract.md), so their mean over a
        window is the share of it spent on."""
        q = query
        where = (f"time >= {q.start_ms}ms AND time < {q.end_ms}ms"
                 f"{_where(site=q.site, device=q.device)}")  # fmt: skip
        found = self._query(f'SELECT {q.aggregate}("{q.metric}") FROM "{q.kind}" WHERE {where}'
                            f" GROUP BY time({q.window_s}s) fill(null)")  # fmt: skip
        rows = found[0]["values"] if found else []
        return [(int(t), None if v is None else float(v)) for t, v in rows]

    def events(self, query: EventQuery) -> list[dict[str, Any]]:
        q = query
        where = (f"time >= {q.start_ms}ms AND time < {q.end_ms}ms"
                 f"{_where(site=q.site, kind=q.kind, device=q.device, type=q.type)}")  # fmt: skip
        found = self._query(f"SELECT * FROM event WHERE {where} ORDER BY time DESC LIMIT {q.limit}")
        out = []
        for series in found:
            for values in series["values"]:
                row = dict(zip(series["columns"], values, strict=True))
                fields = {k: v for k, v in row.items() if k not in (*EVENT_TAGS, "time")
                          and v is not None}  # fmt: skip
                out.append({"ts_ms": int(row["time"]), **{t: row.get(t) for t in EVENT_TAGS},
                            "fields": fields})  # fmt: skip
        return out

    def is_up(self) -> bool:
        return self.client.is_up()


def _snapshots(
    latest: list[dict[str, Any]], counts: list[dict[str, Any]], status: list[dict[str, Any]]
) -> list[DeviceSnapshot]:
    rates = {_key(s): max((v or 0) for v in s["values"][0][1:]) for s in counts}
    online = {(s["tags"]["site"], s["tags"]["kind"], s["tags"]["device"]): s["values"][0][1]
              for s in status}  # fmt: skip
    found: dict[DeviceKey, DeviceSnapshot] = {}
    for s in latest:
        row = dict(zip(s["columns"], s["values"][0], strict=True))
        key = _key(s)
        readings = {k: v for k, v in row.items() if k != "time" and v is not None}
        found[key] = DeviceSnapshot(*key, int(row["time"]), readings, online.get(key),
                                    int(rates.get(key, 0)))  # fmt: skip
    for key, state in online.items():  # a status but no telemetry in the last week
        found.setdefault(key, DeviceSnapshot(*key, None, {}, state, 0))
    return sorted(found.values(), key=lambda d: (d.site, d.kind, d.device))


def _key(series: dict[str, Any]) -> DeviceKey:
    return (series["tags"]["site"], series["name"], series["tags"]["device"])


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
