"""The ingest service: MQTT in, durable storage, acknowledgements out.

Threads: paho's network thread decodes each message and adds it to the batcher; the
writer thread stores full batches and then acknowledges their messages; the replayer
drains the spool after an outage. Stopping flushes what was received, acknowledges it
and disconnects; anything not yet acknowledged is redelivered by the broker later.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from facility import Settings
from ingest.codec import DecodePolicy, decode_message
from ingest.deadletters import DeadLetterStore
from ingest.extras import UncataloguedMetrics
from ingest.metrics import IngestMetrics
from ingest.mqtt import MqttSubscriber, SessionOptions
from ingest.pipeline import (
    AckToken,
    Batch,
    Batcher,
    BatchLimits,
    BatchStore,
    Inbound,
    StoreOutcome,
)
from ingest.replay import SpoolReplayer
from ingest.spool import Spool
from timeseries import InfluxClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestOptions:
    session: SessionOptions = field(default_factory=SessionOptions)
    limits: BatchLimits = field(default_factory=BatchLimits)
    policy: DecodePolicy = field(default_factory=DecodePolicy)
    spool_max_bytes: int = 2 * 1024**3


class IngestService:
    """One ingest process. Build it with `IngestService.from_settings`, then `run(stop)`."""

    def __init__(
        self,
        settings: Settings,
        options: IngestOptions,
        metrics: IngestMetrics,
    ) -> None:
        if options.limits.max_messages * 2 > options.session.receive_maximum:
            raise ValueError("receive_maximum must cover two batches of max_messages")
        state = Path(settings.state_dir) / "ingest"
        self.options = options
        self.metrics = metrics
        self.influx = InfluxClient(settings.influx_url, settings.influx_db, settings.influx_token)
        self.spool = Spool(state / "spool", options.spool_max_bytes)
        self.dead_letters = DeadLetterStore(state / "ingest.db")
        self.uncatalogued = UncataloguedMetrics(state / "ingest.db")
        self.store = BatchStore(self.influx, self.spool, self.dead_letters)
        self.batcher = Batcher(options.limits)
        self.replayer = SpoolReplayer(
            self.influx, self.spool, self.store, self.dead_letters, metrics
        )
        self.subscriber = MqttSubscriber(
            settings.mqtt_url,
            options.session,
            self._on_message,
            settings.mqtt_username,
            settings.mqtt_password,
        )
        self._accepting = True
        metrics.mqtt_subscribed.set_function(lambda: float(self.subscriber.subscribed.is_set()))

    def _on_message(self, topic: str, payload: bytes, token: AckToken) -> None:
        if not self._accepting:
            return  # shutting down: leave it unacknowledged, the broker redelivers it
        self.metrics.received.inc()
        received_ms = int(time.time() * 1000)
        decoded = decode_message(topic, payload, received_ms, self.options.policy)
        if decoded.uncatalogued and decoded.records:
            source = decoded.records[0].source
            self.uncatalogued.note(((source, m) for m in decoded.uncatalogued), received_ms)
        self.batcher.add(Inbound.of(token, topic, payload, decoded, received_ms))

    def run(self, stop: threading.Event) -> None:
        """Serve until `stop` is set, then flush, acknowledge and disconnect."""
        self._ensure_database()
        replayer = threading.Thread(target=self.replayer.run, args=(stop,), name="replayer")
        replayer.start()
        self.subscriber.start()
        log.info("ingest running", extra={"subscription": self.options.session.subscription})
        while not stop.is_set():
            batch = self.batcher.take(timeout_s=0.5)
            if batch is not None:
                self._commit(batch, stop)
        self._accepting = False
        final = self.batcher.drain()
        if final is not None:
            self._commit(final, stop)
        time.sleep(0.2)  # let paho's thread send the last acknowledgements
        self.subscriber.stop()
        replayer.join()
        self.close()
        log.info("ingest stopped")

    def _ensure_database(self) -> None:
        try:
            self.influx.ensure_database()
        except Exception as error:  # an outage at start is survivable
            log.warning("influxdb not reachable at start; spooling", extra={"error": str(error)})
            self.store.outage.set()

    def _commit(self, batch: Batch, stop: threading.Event) -> None:
        """Store, then acknowledge. An unexpected failure (disk full, a bug) is logged and the
        batch retried: unacknowledged, it is never lost, and ingest does not die."""
        while True:
            try:
                outcome = self.store.store(batch)
                break
            except Exception:
                log.exception(
                    "storing a batch failed; retrying", extra={"messages": len(batch.messages)}
                )
                if stop.wait(1.0):
                    return  # shutting down: the broker redelivers the unacknowledged batch
        self.subscriber.ack([message.ack_token for message in batch.messages])
        self._record(batch, outcome)

    def _record(self, batch: Batch, outcome: StoreOutcome) -> None:
        m = self.metrics
        m.acked.inc(len(batch.messages))
        m.stored.inc(outcome.stored)
        m.spooled.inc(outcome.spooled)
        m.write_seconds.observe(outcome.write_seconds)
        m.count_dead_letters([d.reason for d in outcome.dead_letters])
        m.spool_bytes.set(self.spool.size_bytes)
        m.influx_outage.set(1 if self.store.outage.is_set() else 0)
        if outcome.stored:
            now_s = time.time()
            for message in batch.messages:
                if message.reading_ts_ms:
                    m.lag_seconds.observe(now_s - max(message.reading_ts_ms) / 1000)

    def close(self) -> None:
        self.influx.close()
        self.dead_letters.close()
        self.uncatalogued.close()
