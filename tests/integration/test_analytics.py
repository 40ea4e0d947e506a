"""`facmon analytics` on a real broker: a fire alarm and worn bearings become alerts."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localservers import Influxd, Mosquitto
from maintenance.domain import Priority
from maintenance.sql import SqlStore
from maintenance.sql.engine import BUSY_TIMEOUT_MS
from maintenance.store import WorkOrderQuery
from tests.integration.harness import Device, wait_for

pytestmark = pytest.mark.integration


class AnalyticsProcess:
    """The analytics service as a child process, its alerts read back from its sink file."""

    def __init__(self, broker: Mosquitto, influx: Influxd, database: str, state: Path, site: str):
        env = {
            **os.environ,
            "FACMON_MQTT_URL": broker.url,
            "FACMON_INFLUX_URL": influx.url,
            "FACMON_INFLUX_DB": database,
            "FACMON_STATE_DIR": str(state),
            "FACMON_DATABASE_URL": f"sqlite:///{state}/facmon.db",
        }
        self.database_url = env["FACMON_DATABASE_URL"]
        command = [sys.executable, "-m", "facmon.cli", "analytics", "--topic", f"facmon/{site}/#",
                   "--client-id", f"analytics-{site}", "--tick", "1",
                   "--warmup-hours", "2"]  # fmt: skip
        self.sink = state / "analytics" / "alerts.jsonl"
        self.log = (state / "analytics.log").open("wb")
        self.process = subprocess.Popen(command, env=env, stderr=self.log)

    def alerts(self) -> list[dict[str, Any]]:
        if not self.sink.exists():
            return []
        return [json.loads(line) for line in self.sink.read_text().splitlines() if line]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=20)
        self.log.close()
        return code


@pytest.fixture
def analytics(
    mosquitto: Mosquitto, influxd: Influxd, influx_db: str, tmp_path: Path, site: str
) -> Iterator[AnalyticsProcess]:
    process = AnalyticsProcess(mosquitto, influxd, influx_db, tmp_path, site)
    yield process
    if process.process.poll() is None:
        process.process.kill()


def raised(process: AnalyticsProcess, signature: str) -> list[dict[str, Any]]:
    return [a for a in process.alerts() if a["change"] == "raised" and a["signature"] == signature]


def test_a_fire_alarm_becomes_a_critical_alert_and_worn_bearings_a_warning(
    analytics: AnalyticsProcess, device: Device, site: str
) -> None:
    topic = f"facmon/{site}/fire_panel/fp-1/event"
    deadline = time.monotonic() + 30
    # Until the service has subscribed, messages are not kept for it: repeat the alarm (repeats
    # of an open alert only update it) until it is seen.
    while not raised(analytics, "fire_alarm") and time.monotonic() < deadline:
        alarm = {"ts": int(time.time() * 1000), "type": "fire_alarm", "zone": "B2 lobby"}
        device.publish(topic, json.dumps(alarm))
        time.sleep(0.5)
    (fire,) = raised(analytics, "fire_alarm")
    assert fire["severity"] == "critical" and "zone: B2 lobby" in fire["evidence"][0]

    rng = random.Random(7)
    start = int(time.time() * 1000) - 240 * 60_000
    readings = []
    for minute in range(200):  # a reading a minute: 150 healthy, then a bearing wearing out
        vibration = 2.0 if minute < 150 else 2.0 + 0.15 * (minute - 150)
        metrics = {
            "running": True,
            "vibration_mm_s": round(vibration + rng.gauss(0, 0.1), 2),
            "motor_current_a": round(40 + rng.gauss(0, 0.3), 1),
            "flow_m3_h": 120.0,
        }
        body = {"ts": start + minute * 60_000, "metrics": metrics}
        readings.append((f"facmon/{site}/pump/p-1/telemetry", json.dumps(body)))
    device.publish_many(readings)
    wait_for(lambda: bool(raised(analytics, "vibration_running:high")), 20, "a vibration alert")
    (worn,) = raised(analytics, "vibration_running:high")
    assert worn["device"] == "p-1" and worn["severity"] in ("warning", "major")
    # The journal has the notice's moment, the raise: 10 minutes (the policy's raise_after)
    # after the wear's alert started, which must lie within minutes 150-190.
    assert start + 160 * 60_000 <= worn["at_ms"] <= start + 200 * 60_000
    assert "vibration while running" in worn["evidence"][0]
    assert analytics.stop() == 0
    # Both alerts opened work orders, the fire alarm as life safety (P1).
    store = SqlStore(analytics.database_url)
    try:
        orders = {o.alert_signature: o for o in store.list_orders(WorkOrderQuery())}
    finally:
        store.close()
    assert orders["fire_alarm"].priority is Priority.P1
    assert orders["vibration_running:high"].device == "p-1"


def alerted_devices(process: AnalyticsProcess, signature: str) -> set[str]:
    """Devices with an alert of `signature` in the work-order database."""
    store = SqlStore(process.database_url)
    try:
        return {a.device for a in store.list_alerts() if a.signature == signature}
    finally:
        store.close()


def test_a_fire_alarm_while_the_database_is_write_locked_still_becomes_work(
    analytics: AnalyticsProcess, device: Device, site: str
) -> None:
    """Issue 13, point 2: the desk's write failing with "database is locked" once killed the
    MQTT thread and lost the alarm. Now the alarm waits for the lock and no later one is lost."""

    def alarm(panel: str) -> None:
        body = {"ts": int(time.time() * 1000), "type": "fire_alarm", "zone": panel}
        device.publish(f"facmon/{site}/fire_panel/{panel}/event", json.dumps(body))

    deadline = time.monotonic() + 30
    while not raised(analytics, "fire_alarm") and time.monotonic() < deadline:
        alarm("fp-1")  # until the service has subscribed
        time.sleep(0.5)
    wait_for(lambda: alerted_devices(analytics, "fire_alarm") == {"fp-1"}, 20, "the first alarm")
    lock = sqlite3.connect(analytics.database_url.removeprefix("sqlite:///"), timeout=5)
    lock.execute("BEGIN IMMEDIATE")  # held for longer than the store's busy timeout
    try:
        alarm("fp-2")
        wait_for(lambda: len(raised(analytics, "fire_alarm")) == 2, 20, "the alarm journalled")
        time.sleep(BUSY_TIMEOUT_MS / 1000 + 3)
        assert alerted_devices(analytics, "fire_alarm") == {"fp-1"}  # still locked out
    finally:
        lock.rollback()
        lock.close()
    alarm("fp-3")
    wanted = {"fp-1", "fp-2", "fp-3"}
    wait_for(lambda: alerted_devices(analytics, "fire_alarm") == wanted, 30, "every alarm stored")
    assert analytics.stop() == 0
