"""In-memory implementations of the ingest seams (writer, spool, dead-letter sink, clock).

They implement the same small protocols as the real adapters, so the pipeline is tested
without InfluxDB, without a disk and without patching anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ingest.deadletters import DeadLetter
from timeseries import InfluxRejected, InfluxUnavailable


class FakeWriter:
    """A LineWriter (and ReachableWriter) that is unreachable for the first
    `unavailable_times` calls and whenever `up` is False, and otherwise refuses
    (all-or-nothing, like a 400) any write containing a line in `rejects`."""

    def __init__(self, unavailable_times: int = 0, rejects: Sequence[str] = ()) -> None:
        self.unavailable_times = unavailable_times
        self.rejects = set(rejects)
        self.calls: list[list[str]] = []
        self.stored: list[str] = []
        self.up = True
        self.database_ensured = False

    def write(self, lines: Sequence[str]) -> None:
        self.calls.append(list(lines))
        if self.unavailable_times > 0:
            self.unavailable_times -= 1
            raise InfluxUnavailable("HTTP 500: error syncing wal")
        if not self.up:
            raise InfluxUnavailable("ConnectError: connection refused")
        refused = [line for line in lines if line in self.rejects]
        if refused:
            raise InfluxRejected(f"HTTP 400: partial write: field type conflict: {refused[0]}")
        self.stored.extend(lines)

    def is_up(self) -> bool:
        return self.up

    def ensure_database(self) -> None:
        self.database_ensured = True


class FakeSpool:
    """A LineSpool in memory; `full` makes has_room() answer False."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.full = False

    def append(self, lines: list[str]) -> object:
        self.batches.append(list(lines))
        return len(self.batches)

    def has_room(self) -> bool:
        return not self.full


class FakeDeadLetters:
    """A DeadLetterSink that keeps every letter, and records each add() call."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []
        self.adds = 0

    def add(self, letters: Sequence[DeadLetter]) -> None:
        self.adds += 1
        self.letters.extend(letters)


class RecordingSleep:
    """A sleep that returns at once and remembers the delays it was asked for; `then` is
    called with the number of calls so far (e.g. to free room in a full spool)."""

    def __init__(self, then: Callable[[int], None] | None = None) -> None:
        self.delays: list[float] = []
        self._then = then

    def __call__(self, delay_s: float) -> None:
        self.delays.append(delay_s)
        if self._then is not None:
            self._then(len(self.delays))


class SteppingClock:
    """A monotonic clock that advances by `step` seconds every time it is read."""

    def __init__(self, start: float = 0.0, step: float = 0.0) -> None:
        self.now = start
        self.step = step
        self.readings: list[float] = []

    def __call__(self) -> float:
        value = self.now
        self.readings.append(value)
        self.now += self.step
        return value
