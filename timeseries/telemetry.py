"""What the API shows of the telemetry: each device's latest state, windowed series, events.

InfluxQL reads of what ingest stored. Names are validated by the API's routes and quoted here.
A database that does not exist yet reads as empty; other failures raise InfluxUnavailable
(no answer) or InfluxRejected (a refused query) for the caller to report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from facility import EquipmentKind
from timeseries.client import InfluxClient, InfluxRejected
from timeseries.quoting import where_tags

KINDS = "/^(" + "|".join(k.value for k in EquipmentKind) + ")$/"
EVENT_TAGS = ("site", "kind", "device", "type")

DeviceKey = tuple[str, str, str]  # site, kind, device


@dataclass(frozen=True)
class DeviceTelemetry:
    """A device as its telemetry shows it: the latest reading, status and recent rate."""

    site: str
    kind: str
    device: str
    last_seen_ms: int | None
    latest: Mapping[str, float | bool]
    online: bool | None  # None: the device never published a status
    readings_last_10_min: int


class SeriesWindows(Protocol):
    """One metric of one device, aggregated per window (the API's SeriesQuery has these)."""

    @property
    def site(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def start_ms(self) -> int: ...
    @property
    def end_ms(self) -> int: ...
    @property
    def window_s(self) -> int: ...
    @property
    def aggregate(self) -> str: ...


class EventSelection(Protocol):
    """Events in a time range, optionally of one site, kind, device or type."""

    @property
    def start_ms(self) -> int: ...
    @property
    def end_ms(self) -> int: ...
    @property
    def limit(self) -> int: ...
    @property
    def site(self) -> str | None: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def device(self) -> str | None: ...
    @property
    def type(self) -> str | None: ...


class TelemetryReader:
    """The API's telemetry reads, with InfluxQL."""

    def __init__(self, client: InfluxClient) -> None:
        self.client = client

    def _query(self, influxql: str) -> list[dict[str, Any]]:
        try:
            return self.client.query(influxql, epoch="ms")
        except InfluxRejected as error:
            if "database not found" in str(error):
                return []  # nothing stored yet
            raise

    def devices(self, site: str | None = None, kind: str | None = None) -> list[DeviceTelemetry]:
        """Every device with telemetry in the last week (or a status), by site, kind, device."""
        source = f'"{kind}"' if kind else KINDS
        where = where_tags(site=site)
        latest = self._query(f"SELECT * FROM {source} WHERE time > now() - 7d{where}"
                             ' GROUP BY "site", "device" ORDER BY time DESC LIMIT 1')  # fmt: skip
        counts = self._query(f"SELECT count(*) FROM {source} WHERE time > now() - 10m{where}"
                             ' GROUP BY "site", "device"')  # fmt: skip
        where_status = where + where_tags(kind=kind)
        status = self._query(f'SELECT last("online") FROM "device_status" WHERE time > 0'
                             f'{where_status} GROUP BY "site", "kind", "device"')  # fmt: skip
        return _snapshots(latest, counts, status)

    def series(self, query: SeriesWindows) -> list[tuple[int, float | None]]:
        """(window start ms, aggregate) per window, None for an empty one. On/off metrics are
        stored as 1/0 (docs/mqtt-contract.md), so their mean over a window is the share of it
        spent on."""
        q = query
        where = (f"time >= {q.start_ms}ms AND time < {q.end_ms}ms"
                 f"{where_tags(site=q.site, device=q.device)}")  # fmt: skip
        found = self._query(f'SELECT {q.aggregate}("{q.metric}") FROM "{q.kind}" WHERE {where}'
                            f" GROUP BY time({q.window_s}s) fill(null)")  # fmt: skip
        rows = found[0]["values"] if found else []
        return [(int(t), None if v is None else float(v)) for t, v in rows]

    def events(self, query: EventSelection) -> list[dict[str, Any]]:
        """{ts_ms, site, kind, device, type, fields}, newest first."""
        q = query
        tags = where_tags(site=q.site, kind=q.kind, device=q.device, type=q.type)
        where = f"time >= {q.start_ms}ms AND time < {q.end_ms}ms{tags}"
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
        """True when InfluxDB answers its ping."""
        return self.client.is_up()


def _snapshots(
    latest: list[dict[str, Any]], counts: list[dict[str, Any]], status: list[dict[str, Any]]
) -> list[DeviceTelemetry]:
    rates = {_key(s): max((v or 0) for v in s["values"][0][1:]) for s in counts}
    online = {(s["tags"]["site"], s["tags"]["kind"], s["tags"]["device"]): s["values"][0][1]
              for s in status}  # fmt: skip
    found: dict[DeviceKey, DeviceTelemetry] = {}
    for s in latest:
        row = dict(zip(s["columns"], s["values"][0], strict=True))
        key = _key(s)
        readings = {k: v for k, v in row.items() if k != "time" and v is not None}
        found[key] = DeviceTelemetry(*key, int(row["time"]), readings, online.get(key),
                                     int(rates.get(key, 0)))  # fmt: skip
    for key, state in online.items():  # a status but no telemetry in the last week
        found.setdefault(key, DeviceTelemetry(*key, None, {}, state, 0))
    return sorted(found.values(), key=lambda d: (d.site, d.kind, d.device))


def _key(series: dict[str, Any]) -> DeviceKey:
    return (series["tags"]["site"], series["name"], series["tags"]["device"])
