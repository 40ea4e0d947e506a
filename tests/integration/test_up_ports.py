"""Two `facmon up` on one machine: the ports each starts itself are free ones, printed in its
banner; a port it must use that is taken ends it with a message, not a traceback."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from facmon.wiring import DEFAULT_METRICS_PORT
from localservers import free_port
from tests.integration.harness import up_environment, wait_for
from timeseries import InfluxClient

pytestmark = pytest.mark.integration


class Up:
    """One `facmon up` child process with a state directory of its own."""

    def __init__(self, tmp: Path, name: str, *args: str) -> None:
        self.state = tmp / name / "var"
        self.state.parent.mkdir(parents=True)
        self.env = up_environment(self.state)
        self.out, self.err = self.state.parent / "up.out", self.state.parent / "up.err"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "facmon.cli", "up", *args],
            env=self.env,
            stdout=self.out.open("ab"),
            stderr=self.err.open("ab"),
        )

    def banner_line(self, label: str) -> str:
        """The value after ``label`` in the banner (its first word)."""
        for line in self.out.read_text().splitlines():
            if line.strip().startswith(label):
                return line.strip()[len(label) :].split()[0]
        raise AssertionError(f"no {label!r} in the banner:\n{self.out.read_text()}")

    def wait_running(self) -> None:
        wait_for(lambda: "facmon is running" in self.out.read_text() or self.exited, 60, "up")
        assert not self.exited, self.err.read_text()[-3000:]

    @property
    def exited(self) -> bool:
        return self.process.poll() is not None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=60)


@pytest.fixture
def instances() -> Iterator[list[Up]]:
    """`facmon up` processes of a test, Ctrl-C'd at its end even if it failed."""
    started: list[Up] = []
    yield started
    for instance in started:
        instance.stop()


@contextlib.contextmanager
def _held(port: int, *, listening: bool = True) -> Iterator[None]:
    """``port`` taken by this test: listening (a server of someone else's) or only bound
    (taken, yet nothing answers there). Already taken by someone else is as good."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            yield
            return
        if listening:
            sock.listen()
        yield


def _subscribed(metrics_url: str) -> bool:
    try:
        return "facmon_ingest_mqtt_subscribed 1.0" in httpx.get(metrics_url, timeout=2).text
    except httpx.HTTPError:
        return False


def _stored(influx_url: str) -> list[float]:
    client = InfluxClient(influx_url, "facmon")
    try:
        series = client.query("SELECT pressure_bar FROM pump")
    finally:
        client.close()
    return [row[1] for s in series for row in s["values"]]


def _publish(mqtt_url: str, value: float) -> None:
    payload = json.dumps({"ts": int(time.time() * 1000), "metrics": {"pressure_bar": value}})
    port = str(urlparse(mqtt_url).port)
    topic = "facmon/home/pump/p1/telemetry"
    subprocess.run(["mosquitto_pub", "-p", port, "-q", "1", "-t", topic, "-m", payload], check=True)


def test_two_instances_run_side_by_side_on_free_ports_they_print(
    tmp_path: Path, instances: list[Up]
) -> None:
    with _held(DEFAULT_METRICS_PORT):  # as a first facmon up would hold it
        first = Up(tmp_path, "first", "--port", str(free_port()))
        instances.append(first)
        first.wait_running()
        second = Up(tmp_path, "second", "--port", str(free_port()))
        instances.append(second)
        # The second's configured broker and InfluxDB ports are taken, yet answer nothing.
        mqtt_port = urlparse(second.env["FACMON_MQTT_URL"]).port or 0
        influx_port = urlparse(second.env["FACMON_INFLUX_URL"]).port or 0
        with _held(mqtt_port, listening=False), _held(influx_port, listening=False):
            second.wait_running()
    metrics = [up.banner_line("ingest metrics") for up in instances]
    assert len(set(metrics)) == 2 and f":{DEFAULT_METRICS_PORT}/" not in " ".join(metrics)
    wait_for(lambda: all(_subscribed(url) for url in metrics), 30, "both ingests subscribed")
    devices_url = second.banner_line("devices publish to")
    influx_url = second.banner_line("telemetry stored in")
    assert urlparse(devices_url).port != mqtt_port and urlparse(influx_url).port != influx_port
    _publish(devices_url, 4.5)  # the printed ports are the ones in use
    wait_for(lambda: _stored(influx_url) == [4.5], 30, "the reading stored by the second")


@pytest.mark.parametrize("option", ["--port", "--metrics-port"])
def test_a_taken_port_asked_for_ends_up_with_a_message(
    tmp_path: Path, instances: list[Up], option: str
) -> None:
    port = free_port()
    with _held(port):
        up = Up(tmp_path, "taken", "--port", str(free_port()), option, str(port))
        instances.append(up)
        assert up.process.wait(timeout=120) == 2
    error = up.err.read_text()
    assert "Traceback" not in error
    assert re.search(rf"facmon up: .*\b{port}\b.*taken.*{option}", error), error


def test_the_metrics_port_may_not_be_the_apis(tmp_path: Path, instances: list[Up]) -> None:
    """Both would start, and the metrics server would answer the dashboard's address."""
    port = free_port()
    up = Up(tmp_path, "same", "--port", str(port), "--metrics-port", str(port))
    instances.append(up)
    assert up.process.wait(timeout=120) == 2
    error = up.err.read_text()
    assert "Traceback" not in error
    assert re.search(rf"facmon up: port {port} is taken by the API: .*--metrics-port", error), error
