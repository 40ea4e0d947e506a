"""`facmon bench latency`: from the MQTT publish of a reading or event to its alert, measured.

A local Mosquitto and the analytics service (in this process, its sink timing each alert) run;
a publisher sends fire alarms to many panels, and to many pumps first a healthy history (back-
dated, a reading a minute) and then the readings of a failing bearing, one at a time. Each
alert is matched to the message that raised it (its device and timestamp), and the latency is
the time from that message's publish to the alert at the sink: p50 and p99 per path.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from analytics import AnalyticsService
from facility import AlertNotice, Settings
from ingest import SessionOptions, record_subscriber
from localservers import Mosquitto

MIN_MS = 60_000


class TimingSink:
    """Records when each raised alert reached the sink, keyed by device and triggering time."""

    def __init__(self) -> None:
        self.raised: dict[tuple[str, int], float] = {}
        self.changed = threading.Condition()

    def handle(self, notice: AlertNotice) -> None:
        if notice.change == "raised":
            with self.changed:
                self.raised[(notice.device, notice.at_ms)] = time.time()
                self.changed.notify_all()

    def wait_for(self, count: int, timeout_s: float = 60.0) -> None:
        with self.changed:
            self.changed.wait_for(lambda: len(self.raised) >= count, timeout_s)


def run(settings: Settings, args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp, Mosquitto.start(Path(tmp)) as broker:
        sink = TimingSink()
        session = SessionOptions(client_id="bench-latency", topic_filter="facmon/bench/#")
        service = AnalyticsService(sink)
        subscriber = record_subscriber(Settings(mqtt_url=broker.url), session, service.on_records)
        subscriber.start()
        if not subscriber.subscribed.wait(10):
            raise SystemExit("the analytics service did not subscribe")
        publisher = _publisher(broker.port)
        sent = _fire_alarms(publisher, args.alarms) | _worn_bearings(publisher, args.pumps)
        sink.wait_for(args.alarms + args.pumps)
        subscriber.stop()
        publisher.disconnect()
    print(json.dumps(_report(sent, sink.raised)), flush=True)
    return 0


def _publisher(port: int) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-latency-device")
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _send(client: paho.Client, topic: str, body: dict[str, object]) -> float:
    """Publish at QoS 1, wait for the PUBACK; the wall time it left."""
    sent_at = time.time()
    client.publish(topic, json.dumps(body), qos=1).wait_for_publish(10)
    return sent_at


def _fire_alarms(client: paho.Client, panels: int) -> dict[tuple[str, int], float]:
    sent = {}
    for number in range(panels):
        device, ts = f"fp-{number}", int(time.time() * 1000)
        body = {"ts": ts, "type": "fire_alarm", "zone": "Z1"}
        sent[(device, ts)] = _send(client, f"facmon/bench/fire_panel/{device}/event", body)
        time.sleep(0.01)
    return sent


def _worn_bearings(client: paho.Client, pumps: int) -> dict[tuple[str, int], float]:
    """Healthy history in bulk, then each pump's failing readings paced as live ones."""
    start = int(time.time() * 1000) - 300 * MIN_MS
    for number in range(pumps):
        for minute in range(150):
            body = _pump(start + minute * MIN_MS, 2.0 + 0.05 * ((minute * 7919) % 5 - 2))
            client.publish(f"facmon/bench/pump/p-{number}/telemetry", json.dumps(body), qos=1)
    sent = {}
    for minute in range(150, 175):
        for number in range(pumps):
            ts = start + minute * MIN_MS
            topic = f"facmon/bench/pump/p-{number}/telemetry"
            sent[(f"p-{number}", ts)] = _send(client, topic, _pump(ts, 6.0))
    return sent


def _pump(ts: int, vibration: float) -> dict[str, object]:
    return {"ts": ts, "metrics": {"running": True, "vibration_mm_s": vibration}}


def _report(
    sent: dict[tuple[str, int], float], raised: dict[tuple[str, int], float]
) -> dict[str, object]:
    paths: dict[str, list[float]] = {"fire_alarm": [], "anomaly": []}
    for key, at in raised.items():
        if key in sent:
            paths["fire_alarm" if key[0].startswith("fp-") else "anomaly"].append(at - sent[key])
    return {name: _percentiles(values) for name, values in paths.items()}


def _percentiles(latencies: list[float]) -> dict[str, float | int]:
    if not latencies:
        return {"alerts": 0}
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {"alerts": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(p99 * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2)}  # fmt: skip
