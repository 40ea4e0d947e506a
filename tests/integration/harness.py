"""Drive the real `facmon ingest` process and real devices for integration tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from ingest import DeadLetterStore
from localservers import Influxd, Mosquitto, free_port
from timeseries import InfluxClient


def up_environment(state: Path) -> dict[str, str]:
    """The environment for a `facmon up` of a test's own: no FACMON_ setting of the caller's,
    the state directory given, and broker and InfluxDB URLs on free ports (nothing answers
    there, so `facmon up` starts its own servers)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FACMON_")}
    env.update(FACMON_STATE_DIR=str(state), FACMON_MQTT_URL=f"mqtt://127.0.0.1:{free_port()}",
               FACMON_INFLUX_URL=f"http://127.0.0.1:{free_port()}")  # fmt: skip
    return env


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll until condition() holds; fail with `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


class IngestProcess:
    """`python -m facmon.cli ingest` as a child process, as an operator would run it."""

    def __init__(
        self,
        broker: Mosquitto,
        influx: Influxd,
        database: str,
        state_dir: Path,
        site: str,
        client_id: str | None = None,
        extra_args: Iterable[str] = (),
    ) -> None:
        self.state_dir = state_dir
        self.site = site
        self.client_id = client_id or f"ingest-{site}"
        self.metrics_port = free_port()
        self._env = {
            **os.environ,
            "FACMON_MQTT_URL": broker.url,
            "FACMON_INFLUX_URL": influx.url,
            "FACMON_INFLUX_DB": database,
            "FACMON_STATE_DIR": str(state_dir),
        }
        self._args = [
            sys.executable, "-m", "facmon.cli", "ingest",
            "--client-id", self.client_id,
            "--topic", f"facmon/{site}/#",
            "--metrics-port", str(self.metrics_port),
            *extra_args,
        ]  # fmt: skip
        state_dir.mkdir(parents=True, exist_ok=True)
        self._log = (state_dir / f"{self.client_id}.log").open("ab")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> IngestProcess:
        self.process = subprocess.Popen(self._args, env=self._env, stderr=self._log)
        wait_for(self._is_serving, 20, "ingest to serve its metrics")
        return self

    def _is_serving(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"ingest exited early:\n{self.log_text()[-2000:]}")
        # Subscribed, not just connected: messages published before the first subscription
        # of a new session are not kept for it by the broker.
        return self.metric("facmon_ingest_mqtt_subscribed") == 1

    def metric(self, name: str, labels: str = "") -> float | None:
        """One sample from the Prometheus endpoint, or None if it is not serving."""
        try:
            text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).text
        except httpx.HTTPError:
            return None
        wanted = f"{name}{{{labels}}}" if labels else name
        for line in text.splitlines():
            if line.startswith(wanted + " "):
                return float(line.split()[-1])
        return None

    def terminate(self) -> int:
        """SIGTERM and wait: the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def log_text(self) -> str:
        return (self.state_dir / f"{self.client_id}.log").read_text(errors="replace")

    def dead_letters(self) -> DeadLetterStore:
        return DeadLetterStore(self.state_dir / "ingest" / "ingest.db")

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()
        self._log.close()


class Device:
    """A real MQTT publisher at QoS 1 that waits for every PUBACK."""

    def __init__(self, broker: Mosquitto) -> None:
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"dev-{uuid.uuid4().hex[:8]}",
            protocol=paho.MQTTv5,
        )
        self._client.max_inflight_messages_set(200)
        self._client.connect("127.0.0.1", broker.port)
        self._client.loop_start()

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def publish_many(self, messages: Iterable[tuple[str, str | bytes]]) -> int:
        """Publish all, keeping a bounded number in flight; returns how many were acked."""
        pending = []
        count = 0
        for topic, payload in messages:
            pending.append(self._client.publish(topic, payload, qos=1))
            if len(pending) >= 500:
                count += _wait_all(pending)
        return count + _wait_all(pending)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def _wait_all(pending: list[paho.MQTTMessageInfo]) -> int:
    for info in pending:
        info.wait_for_publish(30)
        assert info.is_published()
    count = len(pending)
    pending.clear()
    return count


def reading(ts_ms: int, seq: int, **metrics: Any) -> dict[str, Any]:
    """A pump reading carrying a sequence number, so stored data can be matched exactly."""
    return {"ts": ts_ms, "metrics": {"flow_m3_h": 10.0 + seq % 7, "seq": seq, **metrics}}


def telemetry(site: str, device: str, body: Any, kind: str = "pump") -> tuple[str, str]:
    return f"facmon/{site}/{kind}/{device}/telemetry", json.dumps(body)


def stored_seqs(influx: Influxd, database: str, site: str) -> list[int]:
    """Every stored `seq` value of a site's pumps (duplicates would show twice)."""
    client = InfluxClient(influx.url, database)
    try:
        series = client.query(f"SELECT seq FROM pump WHERE site = '{site}'")
    finally:
        client.close()
    return sorted(int(row[1]) for s in series for row in s["values"])


def count_points(influx: Influxd, database: str, measurement: str, site: str) -> int:
    client = InfluxClient(influx.url, database)
    try:
        series = client.query(f"SELECT COUNT(*) FROM {measurement} WHERE site = '{site}'")
    finally:
        client.close()
    return max((v for v in series[0]["values"][0][1:] if v), default=0) if series else 0


class BackgroundPublisher:
    """Publishes sequenced readings at a steady pace from a thread until stopped."""

    def __init__(self, broker: Mosquitto, site: str, rate_per_s: float, devices: int = 20) -> None:
        self._device = Device(broker)
        self._site = site
        self._interval = 1 / rate_per_s
        self._devices = devices
        self._stop = threading.Event()
        self.published = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> BackgroundPublisher:
        self._thread.start()
        return self

    def _run(self) -> None:
        base_ms = int(time.time() * 1000)
        while not self._stop.is_set():
            seq = self.published
            # Each device gets its own strictly increasing timestamps: no two points collide.
            ts = base_ms + seq // self._devices
            message = telemetry(self._site, f"p{seq % self._devices}", reading(ts, seq))
            self._device.publish(*message)
            self.published += 1
            time.sleep(self._interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(timeout=30)
        self._device.close()
        return self.published


COUNTER_WAIT_S = 10.0


class Counter:
    """A paho subscriber that keeps every message of one site, to be counted afterwards."""

    def __init__(self, port: int, site: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._subscribed = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"counter-{site}",
            protocol=paho.MQTTv5,
        )
        self._client.on_message = lambda _c, _u, m: self.messages.append(
            (m.topic, bytes(m.payload))
        )
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.connect("127.0.0.1", port)
        self._client.subscribe(f"facmon/{site}/#", qos=1)
        self._client.loop_start()
        assert self._subscribed.wait(COUNTER_WAIT_S), "no SUBACK"

    def settle(self, expected: int) -> list[tuple[str, bytes]]:
        """The messages once `expected` arrived and a further second brought no extra ones."""
        deadline = time.monotonic() + COUNTER_WAIT_S
        while len(self.messages) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        return list(self.messages)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
