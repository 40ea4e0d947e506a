"""A device's stored history read back with InfluxQL (what analytics' refits and forecasts need;
it implements analytics' HistorySource protocol)."""

from __future__ import annotations

from typing import Any

from facility import DeviceRef, EquipmentKind, Reading
from timeseries.client import InfluxClient, InfluxRejected, InfluxUnavailable
from timeseries.quoting import quote

__all__ = ["InfluxHistory"]

# Values reported in events, not readings: field -> event type.
_EVENT_FIELDS = {"voltage_under_load_v": "battery_test"}


def newest_reading_ms(client: InfluxClient, site: str) -> int | None:
    """The time of a site's newest stored reading, None if it has none; raises
    InfluxUnavailable or InfluxRejected when InfluxDB cannot say."""
    measurements = ", ".join(f'"{kind}"' for kind in EquipmentKind)
    query = f"SELECT * FROM {measurements} WHERE site = '{quote(site)}' ORDER BY time DESC LIMIT 1"
    series = client.query(query, epoch="ms")
    newest = [int(s["values"][0][0]) for s in series if s.get("values")]
    return max(newest, default=None)


class InfluxHistory:
    """Reads a device's stored readings and single fields with InfluxQL (empty when down)."""

    def __init__(self, client: InfluxClient) -> None:
        self.client = client

    def readings(self, device: DeviceRef, since_ms: int, until_ms: int) -> list[Reading]:
        rows = self._rows(f"SELECT * FROM {device.kind}", device, since_ms, until_ms)
        readings = []
        for row in rows:
            metrics = {k: float(v) for k, v in row.items() if isinstance(v, int | float)
                       and not isinstance(v, bool) and k != "time"}  # fmt: skip
            readings.append(Reading(device, int(row["time"]), metrics))
        return readings

    def series(
        self,
        device: DeviceRef,
        field: str,
        since_ms: int,
        until_ms: int,
        only_when: str | None = None,
    ) -> tuple[list[float], list[float]]:
        event_type = _EVENT_FIELDS.get(field)
        measurement = "event" if event_type else str(device.kind)
        extra = f" AND type = '{event_type}'" if event_type else ""
        extra += f' AND "{only_when}" > 0.5' if only_when else ""  # on/off are stored as 1/0
        select = f'SELECT "{field}" FROM {measurement}'
        rows = self._rows(select, device, since_ms, until_ms, extra)
        pairs = [(float(r["time"]), float(r[field])) for r in rows if r.get(field) is not None]
        return [t for t, _ in pairs], [v for _, v in pairs]

    def _rows(
        self, select: str, device: DeviceRef, since_ms: int, until_ms: int, extra: str = ""
    ) -> list[dict[str, Any]]:
        where = (f" WHERE site = '{quote(device.site)}' AND device = '{quote(device.device)}'"
                 f" AND time >= {since_ms}ms AND time < {until_ms}ms{extra}")  # fmt: skip
        try:
            series = self.client.query(select + where + " ORDER BY time", epoch="ms")
        except (InfluxUnavailable, InfluxRejected):
            return []
        return [
            dict(zip(s["columns"], values, strict=True)) for s in series for values in s["values"]
        ]
