"""The ingest service against a real Mosquitto and a real InfluxDB: nothing lost, nothing
duplicated, bad input explained and kept, through outages, restarts and kill -9."""

from __future__ import annotations

import json
import time

import pytest

from localservers import Influxd
from tests.integration.harness import (
    BackgroundPublisher,
    count_points,
    reading,
    stored_seqs,
    telemetry,
    wait_for,
)

pytestmark = pytest.mark.integration


def assert_stored_exactly_once(
    influxd: Influxd, db: str, site: str, published: int, timeout_s: float
) -> None:
    """Every reading 0..published-1 is stored, and nothing else (extras would show by now)."""
    wait_for(
        lambda: len(stored_seqs(influxd, db, site)) >= published,
        timeout_s,
        f"{published} readings stored",
    )
    time.sleep(0.5)
    assert stored_seqs(influxd, db, site) == list(range(published))


def test_every_published_reading_is_stored_exactly_once(
    start_ingest, device, influxd, influx_db, site
):
    ingest = start_ingest()
    now = int(time.time() * 1000)
    singles = [telemetry(site, f"p{i % 10}", reading(now + i, i)) for i in range(1500)]
    batches = [
        telemetry(site, f"gw{b}", [reading(now + i, 1500 + b * 50 + i) for i in range(50)])
        for b in range(30)
    ]
    assert device.publish_many(singles + batches) == 1530

    assert_stored_exactly_once(influxd, influx_db, site, 3000, timeout_s=30)
    assert ingest.metric("facmon_ingest_messages_acked_total") == 1530
    assert ingest.metric("facmon_ingest_points_stored_total") == 3000


def test_influxdb_down_for_30_s_loses_and_duplicates_nothing(
    start_ingest, mosquitto, influxd, influx_db, site
):
    ingest = start_ingest()
    publisher = BackgroundPublisher(mosquitto, site, rate_per_s=150).start()
    time.sleep(3)
    influxd.stop()
    time.sleep(30)
    influxd.start_again()
    time.sleep(3)
    published = publisher.stop()

    assert_stored_exactly_once(influxd, influx_db, site, published, timeout_s=60)
    spooled = ingest.metric("facmon_ingest_points_spooled_total")
    assert spooled is not None and spooled > 1000, "the outage should have been spooled"
    wait_for(
        lambda: not list((ingest.state_dir / "ingest" / "spool").glob("*.gz")), 10, "empty spool"
    )


def test_ingest_killed_with_sigkill_mid_stream_loses_nothing(
    start_ingest, mosquitto, influxd, influx_db, site
):
    first = start_ingest()
    publisher = BackgroundPublisher(mosquitto, site, rate_per_s=300).start()
    time.sleep(4)
    first.kill()
    time.sleep(3)  # the broker keeps queueing for the persistent session meanwhile
    start_ingest()
    time.sleep(2)
    published = publisher.stop()

    assert_stored_exactly_once(influxd, influx_db, site, published, timeout_s=60)


def test_sigkill_during_an_outage_replays_the_spool_after_restart(
    start_ingest, mosquitto, influxd, influx_db, site
):
    first = start_ingest()
    publisher = BackgroundPublisher(mosquitto, site, rate_per_s=200).start()
    time.sleep(2)
    influxd.stop()
    time.sleep(8)  # spooling and acknowledging while InfluxDB is away
    first.kill()
    assert list((first.state_dir / "ingest" / "spool").glob("*.gz")), "expected a spool"
    influxd.start_again()
    start_ingest()
    time.sleep(2)
    published = publisher.stop()

    assert_stored_exactly_once(influxd, influx_db, site, published, timeout_s=60)


def test_sigterm_flushes_acknowledges_and_exits_zero(
    start_ingest, device, influxd, influx_db, site
):
    ingest = start_ingest()
    now = int(time.time() * 1000)
    device.publish_many(telemetry(site, "p1", reading(now + i, i)) for i in range(200))
    assert ingest.terminate() == 0
    assert "ingest stopped" in ingest.log_text()
    # Published while no ingest runs: the persistent session keeps it for the next start.
    device.publish_many(telemetry(site, "p1", reading(now + i, i)) for i in range(200, 300))
    start_ingest()
    assert_stored_exactly_once(influxd, influx_db, site, 300, timeout_s=30)


def test_shared_subscription_splits_the_load_between_two_processes(
    start_ingest, device, influxd, influx_db, site, tmp_path
):
    share = ["--share-group", f"g{site}"]
    one = start_ingest(client_id=f"a-{site}", extra_args=share, state_dir=tmp_path / "a")
    two = start_ingest(client_id=f"b-{site}", extra_args=share, state_dir=tmp_path / "b")
    now = int(time.time() * 1000)
    device.publish_many(telemetry(site, f"p{i % 10}", reading(now + i, i)) for i in range(2000))

    assert_stored_exactly_once(influxd, influx_db, site, 2000, timeout_s=30)
    received = [p.metric("facmon_ingest_messages_received_total") or 0 for p in (one, two)]
    assert sum(received) == 2000
    assert min(received) > 200, f"load should be shared, got {received}"


def test_events_and_status_are_stored_with_their_schema(
    start_ingest, device, influxd, influx_db, site
):
    start_ingest()
    now = int(time.time() * 1000)
    event = {"ts": now, "type": "fire_alarm", "zone": "B2 lobby", "detectors": 2}
    device.publish(f"facmon/{site}/fire_panel/fp1/event", json.dumps(event))
    device.publish(f"facmon/{site}/fire_panel/fp1/status", "offline", retain=True)

    wait_for(lambda: count_points(influxd, influx_db, "event", site) == 1, 20, "event stored")
    wait_for(lambda: count_points(influxd, influx_db, "device_status", site) == 1, 20, "status")
    from timeseries import InfluxClient

    client = InfluxClient(influxd.url, influx_db)
    rows = client.query(f"SELECT * FROM event WHERE site = '{site}'")
    client.close()
    row = dict(zip(rows[0]["columns"], rows[0]["values"][0], strict=True))
    assert row["type"] == "fire_alarm"
    assert row["kind"] == "fire_panel"
    assert row["device"] == "fp1"
    assert row["zone"] == "B2 lobby"
    assert row["detectors"] == 2
    device.publish(f"facmon/{site}/fire_panel/fp1/status", b"", retain=True)  # clear retained


def test_a_database_dropped_while_running_is_recreated_and_nothing_is_lost(
    start_ingest, mosquitto, influxd, influx_db, site
):
    start_ingest()
    publisher = BackgroundPublisher(mosquitto, site, rate_per_s=150).start()
    time.sleep(2)
    from timeseries import InfluxClient

    admin = InfluxClient(influxd.url, influx_db)
    admin.query(f'DROP DATABASE "{influx_db}"')  # writes now answer 404: spooled, not lost
    admin.close()
    time.sleep(3)
    published = publisher.stop()

    def last_is_stored() -> bool:
        seqs = stored_seqs(influxd, influx_db, site)
        return bool(seqs) and seqs[-1] == published - 1

    wait_for(last_is_stored, 30, "the last reading")
    seqs = stored_seqs(influxd, influx_db, site)
    assert seqs[0] > 0, "what was stored before the drop went with the database"
    assert seqs == list(range(seqs[0], published)), "everything after the drop is stored"


def test_a_failing_spool_is_retried_without_acknowledging_and_nothing_is_lost(
    start_ingest, mosquitto, influxd, influx_db, site
):
    ingest = start_ingest()
    spool = ingest.state_dir / "ingest" / "spool"
    influxd.stop()  # every batch must now go to the spool...
    spool.rename(spool.with_name("spool.away"))
    spool.write_text("not a directory")  # ...which cannot take it
    publisher = BackgroundPublisher(mosquitto, site, rate_per_s=100).start()
    wait_for(lambda: "storing a batch failed" in ingest.log_text(), 20, "the failure logged")
    time.sleep(2)
    assert ingest.process is not None and ingest.process.poll() is None, "ingest must not die"

    spool.unlink()
    spool.with_name("spool.away").rename(spool)
    influxd.start_again()
    time.sleep(2)
    published = publisher.stop()
    assert_stored_exactly_once(influxd, influx_db, site, published, timeout_s=60)
