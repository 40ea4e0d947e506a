"""The analytics service: the engine behind a message source, one lock around it, and its
scheduled jobs (silence checks, forecasts, refits, snapshots).

Written against small protocols so that analytics imports only the ground floor: records
arrive through `on_records` (facmon wires ingest's MQTT subscriber and codec to it), alert
changes go to an AlertSink, history comes from a HistorySource, forecasts go to a
ForecastSink, and time comes from a clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from analytics.alerts import AlertSink
from analytics.engine import Engine, EngineSettings
from analytics.history import HistorySource, forecasts_for, healthy_history
from analytics.snapshot import EngineSnapshot, dump_snapshot, load_snapshot, save_snapshot
from facility import AlertNotice, DeviceRef, ForecastRun, Record

log = logging.getLogger("facmon.analytics")

Clock = Callable[[], float]  # seconds since the epoch


class MessageSource(Protocol):
    """A subscription that feeds `on_records` once started (ingest's MqttSubscriber)."""

    @property
    def subscribed(self) -> threading.Event:
        """Set once the broker has confirmed the subscription."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ForecastSink(Protocol):
    """Where each round of forecasts goes: maintenance's ForecastStore, which keeps a round whole
    in one transaction (facmon wires its `replace_forecasts`)."""

    def __call__(self, run: ForecastRun, /) -> object: ...


@dataclass(frozen=True)
class Schedule:
    """Seconds between the service's periodic jobs."""

    tick_s: float = 30.0
    forecast_every_s: float = 3600.0
    refit_every_s: float = 86_400.0
    snapshot_every_s: float = 300.0


class AnalyticsService:
    """The engine, one lock around it, and the jobs that read and save its state."""

    def __init__(
        self,
        sink: AlertSink,
        history: HistorySource | None = None,
        clock: Clock = time.time,
        forecasts: ForecastSink | None = None,
        engine: EngineSettings | None = None,
        snapshot_path: Path | None = None,
    ) -> None:
        self.snapshot_path = snapshot_path
        wanted = engine or EngineSettings()
        restored = load_snapshot(snapshot_path, wanted) if snapshot_path else None
        self.engine = restored.engine if restored else Engine(wanted)
        self.sink, self.history, self.clock, self.forecasts_sink = sink, history, clock, forecasts
        self.forecasts = ForecastRun(None)  # the latest round, also kept here for tests
        self._lock = threading.Lock()
        if restored:
            log.info("analytics continues from its snapshot", extra={"saved_ms": restored.saved_ms})

    def on_records(self, records: Iterable[Record]) -> None:
        """Judge one message's records and deliver the alert changes they cause."""
        with self._lock:
            changes = self.engine.on_records(records)
        self._deliver(changes)

    def _deliver(self, notices: list[AlertNotice]) -> None:
        for notice in notices:
            self.sink.handle(notice)

    def tick(self) -> None:
        """Silence checks at the clock's present."""
        with self._lock:
            changes = self.engine.tick(self._now_ms())
        self._deliver(changes)

    def devices(self) -> list[DeviceRef]:
        """Every device seen so far."""
        with self._lock:
            return self.engine.devices()

    def refresh_forecasts(self) -> None:
        """Forecasts for every device seen, from stored history (skipped without one)."""
        if self.history is None:
            return
        now_ms = self._now_ms()
        found = tuple(forecasts_for(self.history, d, now_ms) for d in self.devices())
        self.forecasts = ForecastRun(now_ms, found)
        if self.forecasts_sink is not None:
            self.forecasts_sink(self.forecasts)

    def refit(self) -> None:
        """Relearn each device from its last week, leaving out the periods of its alerts."""
        if self.history is None:
            return
        now_ms = self._now_ms()
        with self._lock:
            tracker = self.engine.tracker
            alerts = [*tracker.cleared_alerts, *tracker.open_alerts]
        for device in self.devices():
            readings = healthy_history(self.history, device, now_ms, alerts)
            with self._lock:
                learned = self.engine.refit(device, readings)
            log.info(f"refit {device.device} from {learned} healthy readings")

    def save_snapshot(self) -> None:
        """Save the engine (see analytics.snapshot); a failure is logged, not fatal."""
        if self.snapshot_path is None:
            return
        with self._lock:
            snapshot = EngineSnapshot(self.engine, self._now_ms())
            data = dump_snapshot(snapshot)
        try:
            save_snapshot(self.snapshot_path, data)
        except OSError:
            log.exception("could not save the engine snapshot")

    def run(
        self,
        source: MessageSource,
        stop: threading.Event,
        schedule: Schedule,
        subscribed_path: Path | None = None,
    ) -> None:
        """Start the source and the jobs, run until `stop` is set, then save the engine."""
        scheduler = self._scheduler(schedule)
        scheduler.start()
        source.start()
        log.info("analytics running")
        _note_subscription(source, stop, subscribed_path)
        stop.wait()
        source.stop()
        scheduler.shutdown(wait=False)
        self.save_snapshot()
        log.info("analytics stopped")

    def _scheduler(self, schedule: Schedule) -> BackgroundScheduler:
        scheduler = BackgroundScheduler()
        scheduler.add_job(self.tick, "interval", seconds=schedule.tick_s)
        scheduler.add_job(self.refresh_forecasts, "interval", seconds=schedule.forecast_every_s)
        scheduler.add_job(self.refit, "interval", seconds=schedule.refit_every_s)
        scheduler.add_job(self.save_snapshot, "interval", seconds=schedule.snapshot_every_s)
        return scheduler

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)


def _note_subscription(
    source: MessageSource, stop: threading.Event, subscribed_path: Path | None
) -> None:
    """Create `subscribed_path` once the broker has confirmed the subscription: from then on
    it keeps this session's messages, so `facmon up` may start publishers (its demo site)
    whose every message analytics must see."""
    if subscribed_path is None:
        return
    while not stop.is_set():
        if source.subscribed.wait(0.2):
            subscribed_path.touch()
            return
