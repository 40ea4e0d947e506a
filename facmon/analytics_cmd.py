"""`facmon analytics`: the streaming engine on live MQTT telemetry, with its scheduled jobs.

Wiring only: messages come from the broker through ingest's subscriber and codec (the same
contract, the same refusals), go through analytics.Engine, and the alert changes go to the sink:
a JSON Lines file under FACMON_STATE_DIR/analytics/ and the log, until maintenance/ plugs in its
work-order sink. APScheduler runs the periodic jobs: silence checks, forecasts from InfluxDB
history, and refits of every device's baselines from its healthy history.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from analytics.alerts import Alert, AlertChange, AlertSink, ChangeKind
from analytics.engine import Engine, EngineSettings
from analytics.history import HistorySource, forecasts_for, healthy_history
from facility import DeviceRef, Settings
from facmon.engine_snapshot import EngineSnapshot, dump_snapshot, load_snapshot, save_snapshot
from facmon.wiring import open_store, stop_on_signals
from ingest import AckToken, MqttSubscriber, SessionOptions, decode_message
from maintenance.desk import AlertNotice, Desk
from timeseries import InfluxClient, InfluxHistory

log = logging.getLogger("facmon.analytics")

__all__ = ["AnalyticsService", "JsonLinesSink", "add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-id", default="facmon-analytics", help="stable MQTT client id")
    parser.add_argument("--topic", default="facmon/#", help="MQTT topic filter")
    parser.add_argument("--tick", type=float, default=30.0, help="seconds between silence checks")
    parser.add_argument("--forecast-every", type=float, default=3600.0, help="seconds")
    parser.add_argument("--refit-every", type=float, default=86_400.0, help="seconds")
    parser.add_argument(
        "--snapshot-every", type=float, default=300.0, help="seconds between engine snapshots"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=EngineSettings().warmup,
        help="readings each device learns from before they are judged",
    )
    parser.add_argument(
        "--warmup-hours",
        type=float,
        default=24.0,
        help="and hours (of the readings' own time) since a device's first reading",
    )
    parser.set_defaults(handler=run)


class JsonLinesSink:
    """Alert changes appended to a file (one JSON object a line) and logged."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def handle(self, change: AlertChange) -> None:
        record = {"change": change.kind.value, "received_ms": int(time.time() * 1000)}
        record.update(alert_fields(change.alert))
        with self._lock:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
        log.info(f"alert {change.kind.value}: {change.alert.summary}")

    def close(self) -> None:
        self._file.close()


class DeskSink:
    """Alert changes into the work-order desk (maintenance/), translated to its own notice."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def handle(self, change: AlertChange) -> None:
        alert = change.alert
        at_ms = alert.cleared_ms if change.kind is ChangeKind.CLEARED else alert.updated_ms
        notice = AlertNotice(
            change.kind.value, alert.source.site, str(alert.source.kind), alert.source.device,
            alert.signature, str(alert.severity), datetime.fromtimestamp((at_ms or 0) / 1000, UTC),
            alert.evidence, alert.score,
        )  # fmt: skip
        self.desk.handle(notice)


class FanOut:
    """Several sinks behind one: every change goes to each, in order."""

    def __init__(self, *sinks: AlertSink) -> None:
        self.sinks = sinks

    def handle(self, change: AlertChange) -> None:
        for sink in self.sinks:
            sink.handle(change)


def alert_fields(alert: Alert) -> dict[str, Any]:
    fields = asdict(alert)
    fields["source"] = {**asdict(alert.source), "kind": str(alert.source.kind)}
    fields["severity"] = str(alert.severity)
    return fields


class AnalyticsService:
    """The engine behind an MQTT subscription, one lock around it, and its scheduled jobs."""

    def __init__(
        self,
        settings: Settings,
        session: SessionOptions,
        sink: AlertSink,
        history: HistorySource | None = None,
        clock: Callable[[], float] = time.time,
        forecasts_path: Path | None = None,
        subscribed_path: Path | None = None,
        engine: EngineSettings | None = None,
        snapshot_path: Path | None = None,
    ) -> None:
        self.forecasts_path = forecasts_path
        self.subscribed_path = subscribed_path
        self.snapshot_path = snapshot_path
        wanted = engine or EngineSettings()
        restored = load_snapshot(snapshot_path, wanted) if snapshot_path else None
        self.engine = restored.engine if restored else Engine(wanted)
        self.sink = sink
        self.history = history
        self.clock = clock
        self.forecasts: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._past_alerts: list[Alert] = restored.past_alerts if restored else []
        if restored:
            log.info("analytics continues from its snapshot", extra={"saved_ms": restored.saved_ms})
        self.subscriber = MqttSubscriber(
            settings.mqtt_url,
            session,
            self._on_message,
            settings.mqtt_username,
            settings.mqtt_password,
        )

    def _on_message(self, topic: str, payload: bytes, token: AckToken) -> None:
        decoded = decode_message(topic, payload, int(self.clock() * 1000))
        with self._lock:
            changes = self.engine.on_records(decoded.records)
        self._deliver(changes)
        self.subscriber.ack([token])

    def _deliver(self, changes: list[AlertChange]) -> None:
        for change in changes:
            if change.kind is ChangeKind.CLEARED:
                self._past_alerts.append(change.alert)
            self.sink.handle(change)

    def tick(self) -> None:
        with self._lock:
            changes = self.engine.tick(int(self.clock() * 1000))
        self._deliver(changes)

    def devices(self) -> list[DeviceRef]:
        with self._lock:
            return list(self.engine.silence.last_seen_)

    def refresh_forecasts(self) -> None:
        """Forecasts for every device seen, from InfluxDB history (skipped when it is down)."""
        if self.history is None:
            return
        now_ms = int(self.clock() * 1000)
        found = {
            f"{d.site}/{d.device}": forecasts_for(self.history, d, now_ms) for d in self.devices()
        }
        self.forecasts = found
        if self.forecasts_path is not None:
            # Written whole and renamed, so the API's PM job never reads half a file.
            partial = self.forecasts_path.with_suffix(".partial")
            partial.write_text(json.dumps({"computed_ms": now_ms, "devices": found}))
            partial.replace(self.forecasts_path)

    def refit(self) -> None:
        """Relearn each device from its last week, leaving out the periods of its alerts."""
        if self.history is None:
            return
        now_ms = int(self.clock() * 1000)
        with self._lock:
            alerts = [*self._past_alerts, *self.engine.tracker.open_alerts]
        for device in self.devices():
            readings = healthy_history(self.history, device, now_ms, alerts)
            with self._lock:
                learned = self.engine.refit(device, readings)
            log.info(f"refit {device.device} from {learned} healthy readings")

    def save_snapshot(self) -> None:
        """Save the engine (see facmon.engine_snapshot); a failure is logged, not fatal."""
        if self.snapshot_path is None:
            return
        with self._lock:
            snapshot = EngineSnapshot(self.engine, int(self.clock() * 1000), self._past_alerts)
            data = dump_snapshot(snapshot)
        try:
            save_snapshot(self.snapshot_path, data)
        except OSError:
            log.exception("could not save the engine snapshot")

    def run(self, stop: threading.Event, args: argparse.Namespace) -> None:
        scheduler = BackgroundScheduler()
        scheduler.add_job(self.tick, "interval", seconds=args.tick)
        scheduler.add_job(self.refresh_forecasts, "interval", seconds=args.forecast_every)
        scheduler.add_job(self.refit, "interval", seconds=args.refit_every)
        scheduler.add_job(self.save_snapshot, "interval", seconds=args.snapshot_every)
        scheduler.start()
        self.subscriber.start()
        log.info("analytics running", extra={"subscription": self.subscriber.options.subscription})
        self._note_subscription(stop)
        stop.wait()
        self.subscriber.stop()
        scheduler.shutdown(wait=False)
        self.save_snapshot()
        log.info("analytics stopped")

    def _note_subscription(self, stop: threading.Event) -> None:
        """Create `subscribed_path` once the broker has confirmed the subscription: from then on
        it keeps this session's messages, so `facmon up` may start publishers (its demo site)
        whose every message analytics must see."""
        if self.subscribed_path is None:
            return
        while not stop.is_set():
            if self.subscriber.subscribed.wait(0.2):
                self.subscribed_path.touch()
                return


def run(settings: Settings, args: argparse.Namespace) -> int:
    journal = JsonLinesSink(Path(settings.state_dir) / "analytics" / "alerts.jsonl")
    store = open_store(settings)
    sink = FanOut(journal, DeskSink(Desk(store, store.sla_policies)))
    influx = InfluxClient(settings.influx_url, settings.influx_db, settings.influx_token)
    session = SessionOptions(client_id=args.client_id, topic_filter=args.topic)
    forecasts = Path(settings.state_dir) / "analytics" / "forecasts.json"
    history = InfluxHistory(influx)
    subscribed = Path(settings.state_dir) / "analytics" / "subscribed"
    engine = EngineSettings(warmup=args.warmup, warmup_s=args.warmup_hours * 3600)
    snapshot = Path(settings.state_dir) / "analytics" / "engine.snapshot"
    service = AnalyticsService(settings, session, sink, history, forecasts_path=forecasts,
                               subscribed_path=subscribed, engine=engine,
                               snapshot_path=snapshot)  # fmt: skip
    try:
        service.run(stop_on_signals(), args)
    finally:
        influx.close()
        journal.close()
        store.close()
    return 0
