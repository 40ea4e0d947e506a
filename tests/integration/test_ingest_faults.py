"""ingest under faults of its own state and of its own code, against a real Mosquitto, a real
InfluxDB and the real ingest.db (issue 13, points 1 and 6).

A held write lock on ingest.db must neither kill ingest's MQTT thread nor lose or acknowledge
a message early; the readiness metric says so while it lasts. A site may bring only so many
metric names outside the catalogue.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingest import Reason
from ingest.mqtt import MqttSubscriber, SessionOptions
from ingest.pipeline import AckToken
from localservers import Influxd, Mosquitto
from tests.integration.harness import (
    Device,
    IngestProcess,
    reading,
    stored_seqs,
    telemetry,
    wait_for,
)
from timeseries import InfluxClient

pytestmark = pytest.mark.integration

LOCK_HELD_S = 8  # longer than ingest's SQLite busy timeout (5 s), as in the drill


@contextmanager
def write_locked(database: Path) -> Iterator[None]:
    """What the documented dead-letter clean-up does: hold the write lock of ingest.db."""
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def readiness_while(ingest: IngestProcess, seconds: float) -> set[float | None]:
    """Every value the readiness metric showed during the next `seconds`."""
    seen: set[float | None] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.add(ingest.metric("facmon_ingest_ready"))
        time.sleep(0.2)
    return seen


def test_a_write_locked_ingest_db_delays_storage_but_kills_nothing(
    start_ingest, device: Device, influxd: Influxd, influx_db: str, site: str
) -> None:
    ingest = start_ingest()
    now = int(time.time() * 1000)
    with write_locked(ingest.state_dir / "ingest" / "ingest.db"):
        # `seq` is outside the catalogue: ingest must note it in ingest.db, which is locked.
        device.publish(*telemetry(site, "p1", reading(now, 0)))
        seen_during_lock = readiness_while(ingest, LOCK_HELD_S)
    device.publish(*telemetry(site, "p1", reading(now + 1, 1)))

    wait_for(lambda: stored_seqs(influxd, influx_db, site) == [0, 1], 30, "both readings stored")
    assert ingest.process is not None and ingest.process.poll() is None
    assert 0.0 in seen_during_lock, "the readiness metric did not show the stuck writer"
    wait_for(lambda: ingest.metric("facmon_ingest_ready") == 1, 10, "ready again")
    assert ingest.metric("facmon_ingest_mqtt_subscribed") == 1
    failures = ingest.metric("facmon_ingest_store_failures_total", 'error="database_locked"')
    assert failures is not None and failures >= 1
    assert ingest.metric("facmon_ingest_messages_acked_total") == 2


def test_the_locked_message_is_not_acknowledged_before_it_is_stored(
    start_ingest, device: Device, influxd: Influxd, influx_db: str, site: str
) -> None:
    ingest = start_ingest()
    now = int(time.time() * 1000)
    with write_locked(ingest.state_dir / "ingest" / "ingest.db"):
        device.publish(*telemetry(site, "p1", reading(now, 0)))
        wait_for(lambda: ingest.metric("facmon_ingest_ready") == 0, 15, "not ready")
        assert ingest.metric("facmon_ingest_messages_acked_total") == 0
        ingest.kill()  # the message was never acknowledged, so the broker still holds it
    start_ingest()
    wait_for(lambda: stored_seqs(influxd, influx_db, site) == [0], 30, "the reading stored")


def _field_keys(influxd: Influxd, database: str) -> set[str]:
    client = InfluxClient(influxd.url, database)
    try:
        series = client.query("SHOW FIELD KEYS FROM pump")
    finally:
        client.close()
    return {row[0] for s in series for row in s["values"]}


def test_metric_names_beyond_the_site_cap_are_dead_lettered(
    start_ingest, device: Device, influxd: Influxd, influx_db: str, site: str
) -> None:
    ingest = start_ingest(extra_args=["--max-new-metrics-per-site", "3"])
    now = int(time.time() * 1000)
    # seq is the first new name, x_a and x_b fill the cap; p2 repeats a known name.
    first = reading(now, 0, x_a=1, x_b=2, x_c=3, x_d=4)
    second = reading(now, 1, x_a=5, x_e=6)
    device.publish(*telemetry(site, "p1", first))
    device.publish(*telemetry(site, "p2", second))

    wait_for(lambda: stored_seqs(influxd, influx_db, site) == [0, 1], 30, "both readings")
    assert _field_keys(influxd, influx_db) == {"flow_m3_h", "seq", "x_a", "x_b"}
    wait_for(lambda: ingest.metric("facmon_ingest_messages_acked_total") == 2, 10, "acks")
    letters = ingest.dead_letters().recent(reason=Reason.TOO_MANY_METRICS)
    assert sorted(letter.detail.split(":")[0] for letter in letters) == [
        "metrics.x_c",
        "metrics.x_d",
        "metrics.x_e",
    ]
    assert ingest.metric("facmon_ingest_dead_letters_total", 'reason="too_many_metrics"') == 3


def test_an_exception_in_the_handler_leaves_the_mqtt_thread_running(
    mosquitto: Mosquitto, device: Device, site: str
) -> None:
    received: list[bytes] = []
    errors: list[BaseException] = []

    def handler(_: str, payload: bytes, __: AckToken) -> None:
        received.append(payload)
        if payload == b"boom":
            raise sqlite3.OperationalError("database is locked")

    options = SessionOptions(
        client_id=f"sub-{uuid.uuid4().hex[:8]}", topic_filter=f"facmon/{site}/#"
    )
    subscriber = MqttSubscriber(mosquitto.url, options, handler, on_handler_error=errors.append)
    subscriber.start()
    try:
        assert subscriber.subscribed.wait(10), "no SUBACK within 10 s"
        device.publish(f"facmon/{site}/pump/p1/telemetry", b"boom")
        device.publish(f"facmon/{site}/pump/p1/telemetry", b"after")
        wait_for(lambda: b"after" in received, 10, "the next message")
        assert subscriber.receiving()
        assert [type(e) for e in errors] == [sqlite3.OperationalError]
    finally:
        subscriber.stop()
