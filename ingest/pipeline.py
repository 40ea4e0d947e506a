"""From decoded messages to durably stored batches, and only then to acknowledgements.

The rule that makes ingest lossless: a message is acknowledged to the broker only after
everything it carried is durable somewhere: stored in InfluxDB (HTTP 204), in the local
spool, or in the dead-letter store. Until then the broker keeps it and redelivers it after
a crash; InfluxDB's idempotent writes make the redelivery harmless.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from facility import DeviceRef
from ingest.codec import Decoded, Reason
from ingest.deadletters import DeadLetter
from ingest.lineprotocol import encode_lines
from timeseries import InfluxRejected, InfluxUnavailable


class LineWriter(Protocol):
    def write(self, lines: Sequence[str]) -> None: ...


class DeadLetterSink(Protocol):
    def add(self, letters: Sequence[DeadLetter]) -> None: ...


class LineSpool(Protocol):
    def append(self, lines: list[str]) -> object: ...
    def has_room(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class AckToken:
    """What the transport needs to acknowledge a message later: the connection it arrived
    on (message ids are reused by the next connection) and its id and QoS."""

    connection: int
    mid: int
    qos: int


@dataclass(slots=True)
class Inbound:
    """One received message, decoded, waiting for its batch to be stored."""

    ack_token: AckToken
    topic: str
    lines: list[str]
    dead_letters: list[DeadLetter]
    reading_ts_ms: list[int]
    # (device, metric) pairs outside the catalogue, to be noted before the acknowledgement
    sightings: list[tuple[DeviceRef, str]] = field(default_factory=list)
    received_ms: int = 0

    @classmethod
    def of(
        cls,
        ack_token: AckToken,
        topic: str,
        payload: bytes,
        decoded: Decoded,
        received_ms: int,
        sightings: list[tuple[DeviceRef, str]] | None = None,
    ) -> Inbound:
        letters = [
            DeadLetter.of(received_ms, topic, r.reason, r.detail, payload)
            for r in decoded.rejections
        ]
        return cls(
            ack_token,
            topic,
            encode_lines(decoded.records),
            letters,
            [r.ts_ms for r in decoded.records],
            sightings or [],
            received_ms,
        )


@dataclass(slots=True)
class Batch:
    """Messages stored together in one InfluxDB write."""

    messages: list[Inbound] = field(default_factory=list)
    line_count: int = 0
    opened_at: float = 0.0

    def lines(self) -> list[str]:
        return [line for m in self.messages for line in m.lines]

    def origins(self) -> list[str]:
        """The topic each line came from, parallel to lines()."""
        return [m.topic for m in self.messages for _ in m.lines]

    def dead_letters(self) -> list[DeadLetter]:
        return [d for m in self.messages for d in m.dead_letters]

    def sightings(self) -> list[tuple[DeviceRef, str]]:
        return [s for m in self.messages for s in m.sightings]

    def received_ms(self) -> int:
        """When the batch's first message arrived (the first-seen time of its sightings)."""
        return min((m.received_ms for m in self.messages), default=0)


@dataclass(frozen=True)
class BatchLimits:
    """A batch is written when it holds max_lines lines or max_messages messages, or is
    max_delay_s old. max_messages must stay below the MQTT Receive Maximum, or the broker
    stops sending before a batch can fill."""

    max_lines: int = 5000
    max_messages: int = 5000
    max_delay_s: float = 0.2


class Batcher:
    """Collects messages from the MQTT thread; hands full or old batches to the writer."""

    def __init__(self, limits: BatchLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._batch = Batch()
        self._ready = threading.Condition()

    def add(self, message: Inbound) -> None:
        with self._ready:
            opens_batch = not self._batch.messages
            if opens_batch:
                self._batch.opened_at = self._clock()
            self._batch.messages.append(message)
            self._batch.line_count += len(message.lines)
            # Wake the writer when a batch opens (so it starts the max_delay clock instead of
            # idling out its own timeout) and when one is full.
            if opens_batch or self._is_full():
                self._ready.notify()

    def _is_full(self) -> bool:
        return (
            self._batch.line_count >= self.limits.max_lines
            or len(self._batch.messages) >= self.limits.max_messages
        )

    def take(self, timeout_s: float) -> Batch | None:
        """The next batch once full or old enough; None if nothing arrived within timeout_s."""
        deadline = self._clock() + timeout_s
        with self._ready:
            while True:
                if self._batch.messages:
                    due = self._batch.opened_at + self.limits.max_delay_s
                    if self._is_full() or self._clock() >= due:
                        return self._swap()
                    wait = due - self._clock()
                else:
                    wait = deadline - self._clock()
                    if wait <= 0:
                        return None
                self._ready.wait(max(wait, 0.001))

    def drain(self) -> Batch | None:
        """Whatever is pending, now (used at shutdown)."""
        with self._ready:
            return self._swap() if self._batch.messages else None

    def _swap(self) -> Batch:
        batch, self._batch = self._batch, Batch()
        return batch


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for transient InfluxDB failures (1.6 answers 500 'error syncing wal' under
    load). Writes are idempotent, so a retry after an ambiguous failure is safe."""

    delays_s: tuple[float, ...] = (0.05, 0.2, 0.8)


@dataclass
class StoreOutcome:
    stored: int = 0
    spooled: int = 0
    rejected: int = 0
    write_seconds: float = 0.0
    dead_letters: list[DeadLetter] = field(default_factory=list)


class BatchStore:
    """Makes a batch durable: dead letters first, then InfluxDB, or the spool in an outage.

    After a failed write the store goes into outage mode and spools new batches directly,
    so ingest keeps pace while InfluxDB is away; the replayer ends outage mode.
    """

    def __init__(
        self,
        influx: LineWriter,
        spool: LineSpool,
        dead_letters: DeadLetterSink,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._influx = influx
        self._spool = spool
        self._dead_letters = dead_letters
        self._retry = retry
        self._sleep = sleep
        self.outage = threading.Event()

    def store(self, batch: Batch) -> StoreOutcome:
        """Returns when everything in the batch is durable; may block while the spool is full."""
        outcome = StoreOutcome()
        letters = batch.dead_letters()
        lines = batch.lines()
        started = time.perf_counter()
        if lines and not self.outage.is_set():
            try:
                rejected = write_isolating_rejections(self._influx, lines, self._retry, self._sleep)
            except InfluxUnavailable:
                self.outage.set()
            else:
                outcome.stored = len(lines) - len(rejected)
                outcome.rejected = len(rejected)
                letters += rejected_letters(rejected, lines, batch.origins())
                lines = []
        if lines:
            self._spool_blocking(lines)
            outcome.spooled = len(lines)
        outcome.write_seconds = time.perf_counter() - started
        self._dead_letters.add(letters)
        outcome.dead_letters = letters  # decoding refusals and lines InfluxDB refused
        return outcome

    def _spool_blocking(self, lines: list[str]) -> None:
        # A full spool means a long outage: stop acknowledging and let the broker hold the
        # data (persistent session) rather than drop anything.
        while not self._spool.has_room():
            self._sleep(1.0)
        self._spool.append(lines)


def write_isolating_rejections(
    influx: LineWriter,
    lines: Sequence[str],
    retry: RetryPolicy,
    sleep: Callable[[float], None],
) -> list[tuple[int, str]]:
    """Write lines; if InfluxDB refuses the data, bisect to find the lines it refuses.

    Returns (index, InfluxDB's message) for each refused line; the others are stored.
    Raises InfluxUnavailable when InfluxDB stays unreachable through the retries.
    """
    try:
        _write_with_retry(influx, lines, retry, sleep)
        return []
    except InfluxRejected as error:
        if len(lines) == 1:
            return [(0, str(error))]
    middle = len(lines) // 2
    left = write_isolating_rejections(influx, lines[:middle], retry, sleep)
    right = write_isolating_rejections(influx, lines[middle:], retry, sleep)
    return left + [(middle + i, why) for i, why in right]


def _write_with_retry(
    influx: LineWriter, lines: Sequence[str], retry: RetryPolicy, sleep: Callable[[float], None]
) -> None:
    for delay in retry.delays_s:
        try:
            influx.write(lines)
            return
        except InfluxUnavailable:
            sleep(delay)
    influx.write(lines)


def rejected_letters(
    rejected: list[tuple[int, str]], lines: list[str], origins: list[str]
) -> list[DeadLetter]:
    """Dead letters for lines InfluxDB refused (e.g. a field type clash with older data)."""
    now_ms = int(time.time() * 1000)
    return [
        DeadLetter.of(now_ms, origins[i], Reason.STORE_REJECTED, why, lines[i].encode())
        for i, why in rejected
    ]
