"""`facmon up`, the README's run command: starts its own broker and InfluxDB when none answers,
stores what devices publish, stops everything on Ctrl-C, and continues after a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from facmon.localstack import free_port, is_reachable
from ingest import InfluxClient
from tests.integration.harness import wait_for

pytestmark = pytest.mark.integration


def _subscribed(metrics_port: int) -> bool:
    try:
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return False
    return "facmon_ingest_mqtt_subscribed 1.0" in text


def _start_up(env: dict[str, str], state: Path) -> subprocess.Popen[bytes]:
    metrics_port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "facmon.cli", "up", "--metrics-port", str(metrics_port)],
        env=env,
        stdout=(state.parent / "up.out").open("ab"),
        stderr=(state.parent / "up.err").open("ab"),
    )
    try:
        wait_for(lambda: "facmon is running" in (state.parent / "up.out").read_text(), 30, "up")
        wait_for(lambda: _subscribed(metrics_port), 10, "ingest subscribed")
    except AssertionError:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        raise
    return process


def _publish(mqtt_port: int, value: float) -> None:
    payload = json.dumps({"ts": int(time.time() * 1000), "metrics": {"pressure_bar": value}})
    topic = "facmon/home/pump/p1/telemetry"
    subprocess.run(
        ["mosquitto_pub", "-p", str(mqtt_port), "-q", "1", "-t", topic, "-m", payload], check=True
    )


def _pressures(influx_url: str) -> list[float]:
    client = InfluxClient(influx_url, "facmon")
    try:
        series = client.query("SELECT pressure_bar FROM pump")
    finally:
        client.close()
    return [row[1] for s in series for row in s["values"]]


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """`facmon up` processes of a test; Ctrl-C'd at the end even if the test failed, so the
    servers they started do not outlive it."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def test_up_runs_the_platform_stops_on_ctrl_c_and_continues_after_restart(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
):
    mqtt_port, influx_port = free_port(), free_port()
    state = tmp_path / "var"
    env = {
        **os.environ,
        "FACMON_STATE_DIR": str(state),
        "FACMON_MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}",
        "FACMON_INFLUX_URL": f"http://127.0.0.1:{influx_port}",
    }
    influx_url = env["FACMON_INFLUX_URL"]
    first = _start_up(env, state)
    started.append(first)
    _publish(mqtt_port, 2.5)
    wait_for(lambda: _pressures(influx_url) == [2.5], 20, "first reading stored")

    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=30) == 0
    assert not is_reachable(env["FACMON_MQTT_URL"]), "Ctrl-C stops the broker it started"
    assert not is_reachable(influx_url), "and the InfluxDB it started"

    second = _start_up(env, state)
    started.append(second)
    _publish(mqtt_port, 3.5)
    wait_for(lambda: _pressures(influx_url) == [2.5, 3.5], 20, "both readings, old and new")
    second.send_signal(signal.SIGINT)
    assert second.wait(timeout=30) == 0
