"""The ingest service: MQTT in, durable storage, acknowledgements out.

Threads: paho's network thread decodes each message and adds it to the batcher (in memory
only: it never waits on a disk, and nothing it raises may kill it); the writer thread makes
full batches durable and then acknowledges their messages, retrying with backoff while a
store fails (a locked SQLite file); the replayer drains the spool after an outage.
Stopping flushes what was received, acknowledges it and disconnects; anything not yet
acknowledged is redelivered by the broker later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from facility import Settings
from ingest.codec import Decoded, DecodePolicy, Reason, Rejection, decode_message
from ingest.deadletters import DeadLetterStore
from ingest.extras import DEFAULT_MAX_NEW_METRICS_PER_SITE, UncataloguedMetrics, refuse_beyond_cap
from ingest.metrics import IngestMetrics, error_label
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
    max_new_metrics_per_site: int = DEFAULT_MAX_NEW_METRICS_PER_SITE
    # Waits between attempts to make a batch durable; the last one repeats.
    store_backoff_s: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


def _backoff(delays_s: tuple[float, ...]) -> Iterator[float]:
    yield from delays_s
    while True:
        yield delays_s[-1]


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
        self.uncatalogued = UncataloguedMetrics(
            state / "ingest.db", options.max_new_metrics_per_site
        )
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
            on_handler_error=lambda _: metrics.handler_errors.inc(),
        )
        self._accepting = True
        self.stalled = threading.Event()  # set while the writer cannot make a batch durable
        metrics.mqtt_subscribed.set_function(lambda: float(self.subscriber.receiving()))
        metrics.ready.set_function(lambda: float(self.ready()))

    def ready(self) -> bool:
        """Receiving messages and able to store them (what the readiness metric says)."""
        return self.subscriber.receiving() and not self.stalled.is_set()

    def _on_message(self, topic: str, payload: bytes, token: AckToken) -> None:
        if not self._accepting:
            return  # shutting down: leave it unacknowledged, the broker redelivers it
        self.metrics.received.inc()
        received_ms = int(time.time() * 1000)
        self.batcher.add(self._inbound(topic, payload, token, received_ms))

    def _inbound(self, topic: str, payload: bytes, token: AckToken, received_ms: int) -> Inbound:
        """The message decoded and capped, in memory only. Never raises: a failure here (a
        bug) dead-letters the message as internal_error rather than stopping paho's thread."""
        try:
            decoded = decode_message(topic, payload, received_ms, self.options.policy)
            extras = self.uncatalogued
            sightings = refuse_beyond_cap(decoded, extras.admit, extras.max_per_site)
            return Inbound.of(token, topic, payload, decoded, received_ms, sightings)
        except Exception as error:
            log.exception("handling an mqtt message failed", extra={"topic": topic})
            self.metrics.handler_errors.inc()
            detail = f"ingest could not handle this message ({type(error).__name__}: {error})"
            failed = Decoded(rejections=[Rejection(Reason.INTERNAL_ERROR, detail[:500])])
            return Inbound.of(token, topic, payload, failed, received_ms)

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
        """Make durable, then acknowledge. A failure (a locked database, a full disk, a bug)
        is logged, counted, shown by the readiness metric and retried with backoff:
        unacknowledged, the batch is never lost, and ingest does not die."""
        delays = _backoff(self.options.store_backoff_s)
        while True:
            try:
                outcome = self._make_durable(batch)
                break
            except Exception as error:
                self._failed(batch, error)
                if stop.wait(next(delays)):
                    return  # shutting down: the broker redelivers the unacknowledged batch
        self.stalled.clear()
        self.subscriber.ack([message.ack_token for message in batch.messages])
        self._record(batch, outcome)

    def _make_durable(self, batch: Batch) -> StoreOutcome:
        # Sightings first: noting them is idempotent, so a retry after a failure in the
        # store below records nothing twice (dead letters are added once, last).
        self.uncatalogued.note(batch.sightings(), batch.received_ms())
        return self.store.store(batch)

    def _failed(self, batch: Batch, error: Exception) -> None:
        self.stalled.set()
        kind = error_label(error)
        self.metrics.store_failures.labels(kind).inc()
        context = {"messages": len(batch.messages), "error": kind}
        if kind == "database_locked":  # transient: another process holds the write lock
            log.warning("ingest.db is locked; retrying the batch", extra=context)
        else:
            log.exception("storing a batch failed; retrying", extra=context)

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
