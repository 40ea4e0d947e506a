"""Bad input never stops ingest and is never dropped silently: each refusal is dead-lettered
with the right reason while good traffic keeps flowing around it."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import Reason
from localservers import Influxd, Mosquitto
from tests.integration.harness import (
    Device,
    IngestProcess,
    reading,
    stored_seqs,
    telemetry,
    wait_for,
)

pytestmark = pytest.mark.integration


def handmade_corpus(site: str, now: int) -> list[tuple[str, bytes | str, Reason]]:
    """One bad message per refusal rule, each with the reason it must be filed under."""
    pump = f"facmon/{site}/pump/p1/telemetry"
    return [
        (pump, b"{not json", Reason.MALFORMED_JSON),
        (pump, b"\xff\xfe\x00garbage", Reason.MALFORMED_JSON),
        (pump, "[1]", Reason.INVALID_SCHEMA),
        (pump, json.dumps({"ts": now}), Reason.INVALID_SCHEMA),
        (pump, json.dumps({"metrics": {"flow_m3_h": 1}}), Reason.INVALID_SCHEMA),
        (
            pump,
            json.dumps({"ts": "yesterday", "metrics": {"flow_m3_h": 1}}),
            Reason.INVALID_TIMESTAMP,
        ),
        (
            pump,
            json.dumps({"ts": now // 1000, "metrics": {"flow_m3_h": 1}}),
            Reason.INVALID_TIMESTAMP,
        ),
        (
            pump,
            json.dumps({"ts": now + 3_600_000, "metrics": {"flow_m3_h": 1}}),
            Reason.FUTURE_TIMESTAMP,
        ),
        (pump, json.dumps({"ts": now, "metrics": {"flow_m3_h": "high"}}), Reason.WRONG_TYPE),
        (pump, f'{{"ts": {now}, "metrics": {{"flow_m3_h": NaN}}}}', Reason.NON_FINITE),
        (pump, f'{{"ts": {now}, "metrics": {{"flow_m3_h": -Infinity}}}}', Reason.NON_FINITE),
        (pump, json.dumps({"ts": now, "metrics": {"pressure_bar": 900}}), Reason.OUT_OF_RANGE),
        (pump, json.dumps({"ts": now, "metrics": {"bad name!": 1}}), Reason.INVALID_NAME),
        (pump, b"x" * 300_000, Reason.PAYLOAD_TOO_LARGE),
        (f"facmon/{site}/lift/l1/telemetry", "{}", Reason.UNKNOWN_KIND),
        (f"facmon/{site}/pump/p1/readings", "{}", Reason.MALFORMED_TOPIC),
        (f"facmon/{site}/pump/p1/extra/telemetry", "{}", Reason.MALFORMED_TOPIC),
        (f"facmon/{site}/pump/p1/status", "maybe", Reason.INVALID_SCHEMA),
        (f"facmon/{site}/fire_panel/f1/event", json.dumps({"ts": now}), Reason.INVALID_SCHEMA),
    ]


@pytest.fixture
def ingest(mosquitto: Mosquitto, influxd: Influxd, influx_db: str, tmp_path: Path):
    site = f"bad-{uuid.uuid4().hex[:8]}"
    process = IngestProcess(mosquitto, influxd, influx_db, tmp_path / "state", site).start()
    yield process
    process.close()


def test_each_bad_message_is_dead_lettered_with_its_reason_between_good_ones(
    ingest, mosquitto, influxd, influx_db
):
    site, now = ingest.site, int(time.time() * 1000)
    corpus = handmade_corpus(site, now)
    device = Device(mosquitto)
    for seq, (topic, payload, _) in enumerate(corpus):
        device.publish(topic, payload)
        device.publish(*telemetry(site, "good", reading(now + seq, seq)))
    # One bad value inside a gateway batch does not reject its neighbours.
    batch = [
        reading(now + 100, 100),
        {"ts": now + 101, "metrics": {"pressure_bar": -9}},
        reading(now + 102, 102),
    ]
    device.publish(*telemetry(site, "gw", batch))
    device.close()

    expected = [*range(len(corpus)), 100, 102]
    wait_for(lambda: stored_seqs(influxd, influx_db, site) == expected, 30, "good readings")
    wanted = Counter([reason for _, _, reason in corpus] + [Reason.OUT_OF_RANGE])
    store = ingest.dead_letters()
    wait_for(lambda: store.counts_by_reason() == wanted, 10, f"dead letters {wanted}")
    letter = store.recent(limit=1, reason=Reason.OUT_OF_RANGE)[0]
    assert letter.topic == f"facmon/{site}/pump/gw/telemetry"
    assert "pressure_bar" in letter.detail and "bar" in letter.detail
    too_large = store.recent(limit=1, reason=Reason.PAYLOAD_TOO_LARGE)[0]
    assert too_large.payload_bytes == 300_000 and len(too_large.payload) < 300_000
    assert ingest.metric("facmon_ingest_dead_letters_total", 'reason="non_finite"') == 2
    assert ingest.process.poll() is None, "bad input must never stop ingest"


not_json = st.binary(min_size=1, max_size=200).filter(lambda b: not _parses(b))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
wrong_values = st.one_of(st.text(max_size=10), st.none(), st.lists(st.integers(), max_size=3))
out_of_range = st.one_of(
    st.floats(min_value=101, max_value=1e9), st.floats(max_value=-1.01, min_value=-1e9)
)


def _parses(payload: bytes) -> bool:
    try:
        json.loads(payload)
    except ValueError:
        return False
    return True


@st.composite
def bad_messages(draw: st.DrawFn, now: int) -> tuple[bytes, Reason]:
    """Generated garbage whose refusal reason is known in advance."""
    choice = draw(st.sampled_from(["json", "scalar", "type", "range"]))
    if choice == "json":
        return draw(not_json), Reason.MALFORMED_JSON
    if choice == "scalar":
        return json.dumps(draw(scalars)).encode(), Reason.INVALID_SCHEMA
    if choice == "type":
        body = {"ts": now, "metrics": {"vibration_mm_s": draw(wrong_values)}}
        return json.dumps(body).encode(), Reason.WRONG_TYPE
    value = draw(out_of_range)
    assert math.isfinite(value)
    return json.dumps({"ts": now, "metrics": {"pressure_bar": value}}).encode(), Reason.OUT_OF_RANGE


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_generated_garbage_is_dead_lettered_while_good_traffic_flows(
    data, ingest, mosquitto, influxd, influx_db
):
    site, now = ingest.site, int(time.time() * 1000)
    store = ingest.dead_letters()
    before = store.counts_by_reason()
    start = len(stored_seqs(influxd, influx_db, site))
    garbage = data.draw(st.lists(bad_messages(now), min_size=20, max_size=40))
    device = Device(mosquitto)
    for offset, (payload, _) in enumerate(garbage):
        device.publish(f"facmon/{site}/pump/fuzz/telemetry", payload)
        seq = start + offset
        device.publish(*telemetry(site, "good", reading(now + seq, seq)))
    device.close()

    expected = list(range(start + len(garbage)))
    wait_for(lambda: stored_seqs(influxd, influx_db, site) == expected, 30, "good readings")
    wanted = Counter(before) + Counter(reason for _, reason in garbage)
    wait_for(lambda: Counter(store.counts_by_reason()) == wanted, 10, f"dead letters {wanted}")
