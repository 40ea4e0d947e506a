"""The API's platform adapters against the real InfluxDB and ingest's real SQLite file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from api.platform import InfluxTelemetry, IngestFiles
from api.sources import EventQuery, SeriesQuery, SourceUnavailable
from facility import DeviceRef, EquipmentKind
from ingest import DeadLetter, DeadLetterStore, Reason, UncataloguedMetrics
from localservers import Influxd, free_port
from timeseries import InfluxClient

pytestmark = pytest.mark.integration

MIN_MS = 60_000


@pytest.fixture
def telemetry(influxd: Influxd, influx_db: str) -> InfluxTelemetry:
    """Two pumps and a gate: p1 reports every minute for an hour, p2 once 2 h ago, g1 only
    a status; a few events."""
    now = int(time.time() * 1000)
    # on/off metrics as ingest stores them: 1 and 0
    lines = [f"pump,site=s1,device=p1 pressure_bar={4 + n / 100},running={n % 2}"
             f",humidity_pct=40 {now - n * MIN_MS}" for n in range(60)]  # fmt: skip
    status, event = "device_status,site=s", "event,site=s1,kind=pump,device=p"
    lines += [f"pump,site=s1,device=p2 pressure_bar=3.5 {now - 120 * MIN_MS}",
              f"{status}1,kind=pump,device=p1 online=true {now - 90 * MIN_MS}",
              f"{status}2,kind=access_gate,device=g1 online=false {now - 5 * MIN_MS}",
              f'{event}1,type=dry_run detail="no water" {now - 30 * MIN_MS}',
              f"{event}2,type=overload amps=31.5 {now - 10 * MIN_MS}"]  # fmt: skip
    client = InfluxClient(influxd.url, influx_db)
    client.write(lines)
    return InfluxTelemetry(client)


def test_devices_show_latest_reading_rate_and_status(telemetry: InfluxTelemetry) -> None:
    found = {d.device: d for d in telemetry.devices()}
    assert set(found) == {"p1", "p2", "g1"}
    p1, p2, g1 = found["p1"], found["p2"], found["g1"]
    assert p1.latest == {"pressure_bar": 4.0, "running": 0.0, "humidity_pct": 40.0}
    assert (p1.online, p1.readings_last_10_min) == (True, 10)  # n = 0..9 are within 10 min
    assert p1.last_seen_ms is not None and p1.last_seen_ms > time.time() * 1000 - MIN_MS
    assert (p2.online, p2.readings_last_10_min) == (None, 0)
    assert (g1.kind, g1.online, g1.last_seen_ms, g1.latest) == ("access_gate", False, None, {})
    assert [d.device for d in telemetry.devices(site="s2")] == ["g1"]
    assert [d.device for d in telemetry.devices(kind="pump")] == ["p1", "p2"]


def test_series_aggregate_per_window_and_booleans_as_the_share_on(
    telemetry: InfluxTelemetry,
) -> None:
    now = int(time.time() * 1000)
    start = (now - 60 * MIN_MS) // (10 * MIN_MS) * (10 * MIN_MS)
    query = SeriesQuery("s1", "pump", "p1", "pressure_bar", start, now, 600, "max")
    points = telemetry.series(query)
    assert [t for t, _ in points] == list(range(start, now, 10 * MIN_MS))
    assert max(v for _, v in points if v is not None) == pytest.approx(4.59, abs=0.011)
    running = telemetry.series(SeriesQuery("s1", "pump", "p1", "running", start, now, 600, "mean"))
    shares = [v for _, v in running if v is not None]
    assert shares and all(0.3 <= v <= 0.7 for v in shares[1:-1])  # on every other minute


def test_events_newest_first_with_tags_and_fields(telemetry: InfluxTelemetry) -> None:
    now = int(time.time() * 1000)
    events = telemetry.events(EventQuery(now - 3600_000, now + 1, 10, site="s1"))
    assert [e["type"] for e in events] == ["overload", "dry_run"]
    assert events[0]["fields"] == {"amps": 31.5} and events[0]["device"] == "p2"
    only = telemetry.events(EventQuery(now - 3600_000, now + 1, 10, type="dry_run"))
    assert [e["fields"] for e in only] == [{"detail": "no water"}]


def test_an_unreachable_influxdb_is_source_unavailable() -> None:
    down = InfluxTelemetry(InfluxClient(f"http://127.0.0.1:{free_port()}", "facmon"))
    with pytest.raises(SourceUnavailable, match="InfluxDB does not answer"):
        down.devices()
    assert down.is_up() is False


def test_ingest_files_read_what_ingest_wrote(tmp_path: Path) -> None:
    path = tmp_path / "ingest" / "ingest.db"
    path.parent.mkdir()
    letters, extras = DeadLetterStore(path), UncataloguedMetrics(path)
    letters.add([DeadLetter.of(1, "facmon/x", Reason.MALFORMED_JSON, "not JSON", b"{"),
                 DeadLetter.of(2, "facmon/y", Reason.OUT_OF_RANGE, "too high", b"{}")])  # fmt: skip
    extras.note([(DeviceRef("s1", EquipmentKind.PUMP, "p1"), "humidity_pct")], 5)
    files = IngestFiles(path)  # a second connection, as the API process has
    assert files.dead_letter_counts() == {"malformed_json": 1, "out_of_range": 1}
    assert [d.topic for d in files.dead_letters(None, 10)] == ["facmon/y", "facmon/x"]
    assert [d.reason for d in files.dead_letters("malformed_json", 10)] == ["malformed_json"]
    assert files.dead_letters("no_such_reason", 10) == []
    assert files.uncatalogued() == {("s1", "pump", "p1"): ["humidity_pct"]}
    extras.note([(DeviceRef("s1", EquipmentKind.PUMP, "p2"), "noise_db")], 6)
    assert ("s1", "pump", "p2") in files.uncatalogued()  # noted after the API opened the file
