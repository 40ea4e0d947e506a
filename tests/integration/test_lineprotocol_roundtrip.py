"""Line-protocol escaping, proven by a round trip through the real InfluxDB."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facility import DeviceRef, EquipmentKind, Event, Reading
from ingest import encode_lines
from localservers import Influxd
from timeseries import InfluxClient

pytestmark = pytest.mark.integration

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True).filter(
    lambda n: n not in ("time", "count", "type", "site", "device", "kind")
)
text = st.text(max_size=200)
numbers = st.floats(allow_nan=False, allow_infinity=False)
device_names = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
_clock = itertools.count(1_700_000_000_000)


@pytest.fixture(scope="module")
def client(influxd: Influxd):
    influx = InfluxClient(influxd.url, "roundtrip")
    influx.ensure_database()
    yield influx
    influx.close()


def _row(client: InfluxClient, measurement: str, ts_ms: int) -> dict[str, Any]:
    series = client.query(f"SELECT * FROM {measurement} WHERE time = {ts_ms}ms")
    assert len(series) == 1 and len(series[0]["values"]) == 1, series
    return dict(zip(series[0]["columns"], series[0]["values"][0], strict=True))


# InfluxDB fixes a field's type on first write, so text and number attributes get distinct
# name prefixes: examples share one database and must not clash with each other.
def _prefixed(texts: dict[str, str], nums: dict[str, float]) -> dict[str, str | float]:
    return {**{f"t_{k}": v for k, v in texts.items()}, **{f"n_{k}": v for k, v in nums.items()}}


attribute_sets = st.builds(
    _prefixed, st.dictionaries(names, text, max_size=3), st.dictionaries(names, numbers, max_size=3)
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(device=device_names, attributes=attribute_sets)
def test_event_text_and_numbers_come_back_unchanged(client, device, attributes):
    ts = next(_clock)
    event = Event(DeviceRef("rt", EquipmentKind.FIRE_PANEL, device), ts, "fire_trouble", attributes)
    client.write(encode_lines([event]))
    row = _row(client, "event", ts)
    assert row["device"] == device
    assert row["type"] == "fire_trouble"
    for name, value in attributes.items():
        # InfluxDB's JSON prints whole floats without a decimal point; float() reads them back.
        assert (row[name] if isinstance(value, str) else float(row[name])) == value, name


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(metrics=st.dictionaries(names, numbers, min_size=1, max_size=8))
def test_metric_floats_keep_full_precision(client, metrics):
    ts = next(_clock)
    client.write(encode_lines([Reading(DeviceRef("rt", EquipmentKind.PUMP, "p"), ts, metrics)]))
    row = _row(client, "pump", ts)
    for name, value in metrics.items():
        assert float(row[name]) == value, name
