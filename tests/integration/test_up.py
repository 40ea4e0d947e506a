"""`facmon up`, the README's run command: starts its own broker and InfluxDB when none answers,
stores what devices publish, stops everything on Ctrl-C, and continues after a restart."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from localservers import free_port, is_reachable
from maintenance.sla import DEFAULT_POLICIES
from tests.integration.harness import up_environment, wait_for
from timeseries import InfluxClient

pytestmark = pytest.mark.integration


def _subscribed(metrics_port: int) -> bool:
    try:
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return False
    return "facmon_ingest_mqtt_subscribed 1.0" in text


def _start_up(env: dict[str, str], state: Path, api_port: int) -> subprocess.Popen[bytes]:
    metrics_port = free_port()
    while metrics_port == api_port:  # after a restart the API's port is free too, and may be
        metrics_port = free_port()  # handed out again: the metrics server would answer for it
    command = ["up", "--metrics-port", str(metrics_port), "--port", str(api_port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "facmon.cli", *command],
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


def _api_status(api_port: int, key: str | None) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        url = f"http://127.0.0.1:{api_port}/api/v1/work-orders"
        return httpx.get(url, headers=headers, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def _admin_key(state: Path) -> str | None:
    for line in (state.parent / "up.out").read_text().splitlines():
        if "admin API key" in line:
            return line.split()[-1]
    return None


def test_up_runs_the_platform_stops_on_ctrl_c_and_continues_after_restart(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
):
    api_port, state = free_port(), tmp_path / "var"
    env = up_environment(state)
    mqtt_port = urlparse(env["FACMON_MQTT_URL"]).port or 1883
    influx_url = env["FACMON_INFLUX_URL"]
    first = _start_up(env, state, api_port)
    started.append(first)
    _publish(mqtt_port, 2.5)
    wait_for(lambda: _pressures(influx_url) == [2.5], 20, "first reading stored")
    key = _admin_key(state)  # the first start prints an admin key, once
    assert key is not None and key.startswith("fmk_")
    wait_for(
        lambda: _api_status(api_port, None) == 401, 30, "the API, refusing callers without a key"
    )
    assert _api_status(api_port, key) == 200
    policies = _sla_policy_names(api_port, key)  # a first start installs editable defaults
    assert policies == sorted(p.name for p in DEFAULT_POLICIES)

    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=30) == 0
    assert not is_reachable(env["FACMON_MQTT_URL"]), "Ctrl-C stops the broker it started"
    assert not is_reachable(influx_url), "and the InfluxDB it started"

    (state.parent / "up.out").write_text("")
    second = _start_up(env, state, api_port)
    started.append(second)
    _publish(mqtt_port, 3.5)
    wait_for(lambda: _pressures(influx_url) == [2.5, 3.5], 20, "both readings, old and new")
    assert _admin_key(state) is None  # not a second time
    wait_for(lambda: _api_status(api_port, key) == 200, 30, "the same key after the restart")
    assert _sla_policy_names(api_port, key) == policies  # not installed twice
    second.send_signal(signal.SIGINT)
    assert second.wait(timeout=30) == 0


def _provision(env: dict[str, str], kind: str, device: str) -> dict[str, str]:
    command = ["devices", "provision", "--site", "home", "--kind", kind, "--device", device]
    result = subprocess.run(
        [sys.executable, "-m", "facmon.cli", *command],
        env=env,
        capture_output=True,
        check=True,
    )
    issued: dict[str, str] = json.loads(result.stdout)
    return issued


def _publish_as(
    mqtt_port: int, topic: str, body: dict[str, object], account: dict[str, str] | None
) -> subprocess.CompletedProcess[bytes]:
    login = ["-u", account["username"], "-P", account["password"]] if account else []
    command = ["mosquitto_pub", "-p", str(mqtt_port), "-q", "1", *login, "-t", topic]
    return subprocess.run([*command, "-m", json.dumps(body)], capture_output=True, timeout=30)


def _sla_policy_names(api_port: int, key: str) -> list[str]:
    reply = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/sla-policies",
                      headers={"Authorization": f"Bearer {key}"}, timeout=10)  # fmt: skip
    return sorted(p["name"] for p in reply.json())


def _work_orders(api_port: int, key: str) -> list[dict[str, object]]:
    try:
        response = httpx.get(
            f"http://127.0.0.1:{api_port}/api/v1/work-orders",
            headers={"Authorization": f"Bearer {key}"},
            timeout=5,
        )
    except httpx.HTTPError:
        return []
    orders: list[dict[str, object]] = response.json() if response.status_code == 200 else []
    return orders


def test_up_with_provisioned_devices_admits_only_their_credentials_and_uses_the_platform_account(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
):
    api_port, state = free_port(), tmp_path / "var"
    env = up_environment(state)
    mqtt_port = urlparse(env["FACMON_MQTT_URL"]).port or 1883
    pump = _provision(env, "pump", "p1")  # before the first start, as an installer would
    panel = _provision(env, "fire_panel", "fp1")
    # The metrics say ingest subscribed: it logged in with the platform account, since the
    # broker admits no anonymous client (checked below).
    started.append(_start_up(env, state, api_port))
    key = _admin_key(state)
    assert key is not None

    now_ms = int(time.time() * 1000)
    reading = {"ts": now_ms, "metrics": {"pressure_bar": 4.25}}
    assert _publish_as(mqtt_port, "facmon/home/pump/p1/telemetry", reading, pump).returncode == 0
    wait_for(lambda: _pressures(env["FACMON_INFLUX_URL"]) == [4.25], 20, "the device's reading")

    anonymous = {"ts": now_ms + 1, "metrics": {"pressure_bar": 9.75}}
    refused = _publish_as(mqtt_port, "facmon/home/pump/p1/telemetry", anonymous, None)
    assert refused.returncode != 0
    assert b"not authori" in refused.stderr.lower()  # "Connection Refused: not authorised."

    # Analytics is a separate process with the same account: a fire alarm from the panel
    # becomes an alert and a work order. (On a first start the broker keeps messages for
    # analytics only from its first subscription on, which it marks with this file.)
    wait_for((state / "analytics" / "subscribed").exists, 30, "analytics subscribed")
    alarm = {"ts": now_ms + 2, "type": "fire_alarm", "zone": 3, "test": False}
    sent = _publish_as(mqtt_port, "facmon/home/fire_panel/fp1/event", alarm, panel)
    assert sent.returncode == 0
    wait_for(
        lambda: any(o["alert_signature"] == "fire_alarm" for o in _work_orders(api_port, key)),
        60,
        "a work order from the panel's fire alarm",
    )
    time.sleep(1.0)  # anything the anonymous client might have got through would be stored now
    assert _pressures(env["FACMON_INFLUX_URL"]) == [4.25]
