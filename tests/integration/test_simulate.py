"""`facmon simulate` against a real Mosquitto, checked by a real subscriber."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter as Multiset
from pathlib import Path
from typing import Any

import pytest

from facility import EquipmentKind
from facmon.cli import build_parser
from facmon.simulate_cmd import options_from
from localservers import Influxd, Mosquitto, free_port
from simulators import Label, Message, Simulation
from tests.integration.harness import Counter, wait_for
from timeseries import InfluxClient

pytestmark = pytest.mark.integration


def simulate(mqtt_url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "FACMON_MQTT_URL": mqtt_url}
    command = [sys.executable, "-m", "facmon.cli", "--log-level", "WARNING", "simulate", *args]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def summary_of(process: subprocess.Popen[str], timeout_s: float = 120) -> dict[str, Any]:
    out, err = process.communicate(timeout=timeout_s)
    assert process.returncode == 0, err
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return summary


def test_a_subscriber_receives_exactly_the_reported_messages_and_labels_match(
    mosquitto: Mosquitto, counter: Counter, site: str, tmp_path: Path
) -> None:
    args = [
        *("--site", site, "--devices", "8", "--duration", "6h", "--interval", "60s"),
        *("--speed", "0", "--start", "2024-05-01T00:00:00Z", "--seed", "3", "--faults", "all"),
        *("--labels", str(tmp_path / "labels.jsonl")),
    ]
    summary = summary_of(simulate(mosquitto.url, *args))
    received = counter.settle(summary["published"])

    assert summary["published"] == summary["sent"] == len(received)
    assert summary["devices"] == 8 and summary["faults"] > 0
    # What arrived is what the pure simulation of the same options says, byte for byte.
    options = options_from(build_parser().parse_args(["simulate", *args]), now_ms=0)
    expected = list(Simulation(options).run())
    sent = [(m.topic, m.payload) for m in expected if isinstance(m, Message)]
    assert Multiset(received) == Multiset(sent)
    assert summary["readings"] == sum(m.readings for m in expected if isinstance(m, Message))
    labels = [x.json_line() for x in expected if isinstance(x, Label)]
    assert (tmp_path / "labels.jsonl").read_bytes() == b"".join(labels)


def test_ctrl_c_ends_the_run_cleanly_with_every_device_offline(
    mosquitto: Mosquitto, counter: Counter, site: str
) -> None:
    args = ["--site", site, "--devices", "5", "--interval", "10s", "--speed", "600"]
    process = simulate(mosquitto.url, *args)
    wait_for(lambda: len(counter.messages) > 100, 30, "the first simulated messages")
    process.send_signal(signal.SIGINT)
    summary = summary_of(process, timeout_s=30)
    received = counter.settle(summary["published"])

    assert summary["published"] == len(received) > 100
    last_status: dict[str, bytes] = {}
    for topic, payload in received:
        if topic.endswith("/status"):
            last_status[topic] = payload
    assert len(last_status) == 5
    assert set(last_status.values()) == {b"offline"}


def test_an_unreachable_broker_is_a_clear_error_not_a_hang() -> None:
    process = simulate(f"mqtt://127.0.0.1:{free_port()}", "--devices", "2", "--duration", "1h")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "cannot reach the MQTT broker" in err


def stored_rows(influxd: Influxd, database: str, measurement: str, site: str) -> list[list[Any]]:
    client = InfluxClient(influxd.url, database)
    try:
        series = client.query(f"SELECT * FROM {measurement} WHERE site = '{site}'")
    finally:
        client.close()
    return [row for s in series for row in s["values"]]


def test_a_simulated_building_lands_in_influxdb_through_ingest_with_nothing_refused(
    start_ingest: Any, influxd: Influxd, influx_db: str, mosquitto: Mosquitto, site: str
) -> None:
    ingest = start_ingest()
    args = [
        *("--site", site, "--devices", "8", "--duration", "3h", "--interval", "30s"),
        *("--speed", "0", "--faults", "all", "--seed", "5", "--gateway-batch", "4"),
    ]
    summary = summary_of(simulate(mosquitto.url, *args))
    kinds = [kind.value for kind in EquipmentKind]

    def stored_readings() -> int:
        return sum(len(stored_rows(influxd, influx_db, kind, site)) for kind in kinds)

    wait_for(lambda: stored_readings() >= summary["readings"], 60, "every reading stored")
    assert stored_readings() == summary["readings"]
    assert len(stored_rows(influxd, influx_db, "event", site)) == summary["events"] > 0
    store = ingest.dead_letters()
    try:
        assert store.counts_by_reason() == {}, store.recent(5)
    finally:
        store.close()


def test_load_mode_publishes_what_it_reports_at_the_asked_rate(
    mosquitto: Mosquitto, counter: Counter, site: str
) -> None:
    args = ["--load", "--site", site, "--rate", "1000", "--messages", "2000", "--processes", "2"]
    report = summary_of(simulate(mosquitto.url, *args))
    assert report["published"] == len(counter.settle(2000)) == 2000
    assert report["rate_asked"] == 1000
    assert 900 <= report["messages_per_s"] <= 1100, report
