"""Ingest counters in Prometheus format, on a registry owned by the service (not global)."""

from __future__ import annotations

import sqlite3
from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ingest.codec import Reason

_LAG_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.2,
    0.3,
    0.5,
    0.75,
    1,
    1.5,
    2,
    3,
    5,
    10,
    30,
    60,
    300,
    3600,
)


class IngestMetrics:
    """received, stored, spooled, dead-lettered by reason, write latency and data lag."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "facmon_ingest_messages_received", "MQTT messages received", registry=r
        )
        self.acked = Counter(
            "facmon_ingest_messages_acked", "MQTT messages acknowledged", registry=r
        )
        self.stored = Counter(
            "facmon_ingest_points_stored", "points stored in InfluxDB", registry=r
        )
        self.spooled = Counter(
            "facmon_ingest_points_spooled", "points spooled during outages", registry=r
        )
        self.replayed = Counter(
            "facmon_ingest_points_replayed", "spooled points replayed", registry=r
        )
        self.dead_letters = Counter(
            "facmon_ingest_dead_letters", "refused messages or values", ["reason"], registry=r
        )
        self.write_seconds = Histogram(
            "facmon_ingest_batch_write_seconds", "time to make one batch durable", registry=r
        )
        self.lag_seconds = Histogram(
            "facmon_ingest_reading_lag_seconds",
            "from a reading's timestamp to its storage in InfluxDB",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.spool_bytes = Gauge(
            "facmon_ingest_spool_bytes", "bytes waiting in the spool", registry=r
        )
        self.mqtt_subscribed = Gauge(
            "facmon_ingest_mqtt_subscribed", "1 while the MQTT subscription is active", registry=r
        )
        self.ready = Gauge(
            "facmon_ingest_ready",
            "1 while ingest receives and stores; 0 when subscribed is 0 or storing keeps failing",
            registry=r,
        )
        self.handler_errors = Counter(
            "facmon_ingest_handler_errors",
            "exceptions caught on the MQTT thread (the message is dead-lettered or redelivered)",
            registry=r,
        )
        self.store_failures = Counter(
            "facmon_ingest_store_failures",
            "failed attempts to make a batch durable (retried with backoff, never acknowledged)",
            ["error"],
            registry=r,
        )
        self.influx_outage = Gauge(
            "facmon_ingest_influx_outage", "1 while InfluxDB is unreachable", registry=r
        )
        for reason in Reason:
            self.dead_letters.labels(reason.value)  # export zeros so dashboards see every reason

    def count_dead_letters(self, reasons: list[Reason]) -> None:
        for reason, n in Tally(reasons).items():
            self.dead_letters.labels(reason.value).inc(n)


def error_label(error: BaseException) -> str:
    """A short, bounded label for a failure: database_locked, or the exception's type."""
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return "database_locked"
    return type(error).__name__
