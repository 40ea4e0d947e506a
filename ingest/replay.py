"""Replays the spool into InfluxDB once it is reachable again, oldest batch first."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from ingest.metrics import IngestMetrics, error_label
from ingest.pipeline import (
    BatchStore,
    DeadLetterSink,
    LineWriter,
    RetryPolicy,
    rejected_letters,
    write_isolating_rejections,
)
from ingest.spool import Spool

log = logging.getLogger(__name__)


class ReachableWriter(LineWriter, Protocol):
    def is_up(self) -> bool: ...
    def ensure_database(self) -> None: ...


class SpoolReplayer:
    """Drains the spool; ends the store's outage mode when the spool is empty."""

    def __init__(
        self,
        influx: ReachableWriter,
        spool: Spool,
        store: BatchStore,
        dead_letters: DeadLetterSink,
        metrics: IngestMetrics,
    ) -> None:
        self._influx = influx
        self._spool = spool
        self._store = store
        self._dead_letters = dead_letters
        self._metrics = metrics

    def replay_available(self) -> int:
        """Replay spooled batches until none is left or InfluxDB fails; returns lines replayed."""
        replayed = 0
        if not self._influx.is_up():
            return 0
        self._influx.ensure_database()  # it may be why writes failed (dropped, new server)
        for path in self._spool.files():
            lines = self._spool.read(path)
            try:
                rejected = write_isolating_rejections(
                    self._influx, lines, RetryPolicy(delays_s=(0.1,)), lambda _: None
                )
            except Exception as error:  # any failure: keep the file, try later
                log.warning("spool replay paused", extra={"error": str(error)})
                return replayed
            letters = rejected_letters(rejected, lines, ["(spool)"] * len(lines))
            self._dead_letters.add(letters)
            self._metrics.count_dead_letters([d.reason for d in letters])
            self._spool.remove(path)
            replayed += len(lines)
            self._metrics.replayed.inc(len(lines))
        if not self._spool.files():
            self._store.outage.clear()
        self._metrics.spool_bytes.set(self._spool.size_bytes)
        self._metrics.influx_outage.set(1 if self._store.outage.is_set() else 0)
        return replayed

    def run(self, stop: threading.Event, interval_s: float = 1.0) -> None:
        """Check every interval while the spool holds anything or an outage is declared.
        A failure (a locked ingest.db, a full disk, a bug) is logged and counted, and the
        next interval tries again: the thread never ends before `stop`."""
        while not stop.wait(interval_s):
            try:
                self._replay_pending()
            except Exception as error:
                log.exception("spool replay failed; retrying", extra={"error": str(error)})
                self._metrics.store_failures.labels(error_label(error)).inc()

    def _replay_pending(self) -> None:
        pending = self._store.outage.is_set() or self._spool.files()
        if pending and self.replay_available():
            log.info("spool replayed", extra={"spool_bytes": self._spool.size_bytes})
