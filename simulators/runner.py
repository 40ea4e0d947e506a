"""Run a simulation against the wall clock: pace it, publish it, write its labels, count it.

The pacing maps simulated time onto wall time (`speed` 3600 = one simulated hour per second);
without a speed, messages go as fast as the broker acknowledges them. The tally counts what
was sent, so the closing summary can be checked against what a subscriber received.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulators.building import Label, Message, Simulation

__all__ = ["Tally", "run_simulation"]


@dataclass
class Tally:
    """What a run has sent and recorded so far."""

    messages: int = 0
    readings: int = 0
    events: int = 0
    status: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    first_ms: int | None = None
    last_ms: int | None = None

    def count(self, item: Message | Label) -> None:
        if isinstance(item, Label):
            name = str(item.fields["label"])
            self.labels[name] = self.labels.get(name, 0) + 1
            return
        self.messages += 1
        self.readings += item.readings
        self.events += item.topic.endswith("/event")
        self.status += item.topic.endswith("/status")
        self.first_ms = item.ts_ms if self.first_ms is None else min(self.first_ms, item.ts_ms)
        self.last_ms = item.ts_ms if self.last_ms is None else max(self.last_ms, item.ts_ms)

    def summary(self, published: int, devices: int, wall_s: float) -> dict[str, Any]:
        """The closing JSON line: `published` is what the broker acknowledged."""
        simulated_s = ((self.last_ms or 0) - (self.first_ms or 0)) / 1000
        return {
            "published": published,
            "sent": self.messages,
            "readings": self.readings,
            "events": self.events,
            "status": self.status,
            "devices": devices,
            "faults": self.labels.get("fault", 0),
            "outages": self.labels.get("offline", 0),
            "sensor_incidents": self.labels.get("sensor_stuck", 0)
            + self.labels.get("sensor_spike", 0),
            "simulated_s": simulated_s,
            "wall_s": round(wall_s, 3),
            "messages_per_s": round(self.messages / wall_s, 1) if wall_s > 0 else None,
        }


@dataclass
class Pacer:
    """Holds each message back until its simulated time, scaled by `speed`, has come.

    With `live`, a message also waits for its own timestamp on the wall clock: a device cannot
    report the future, and ingest refuses readings from more than a few minutes ahead. An
    accelerated run from a past start then catches up with the present and goes on in real time.
    """

    speed: float | None
    live: bool = False
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    origin: tuple[int, float] | None = None  # (first simulated ms, clock then)

    def delay_s(self, ts_ms: int) -> float:
        """How long to wait before sending a message stamped ts_ms (0 when it is due)."""
        delay = self._scaled_delay_s(ts_ms)
        if self.live:
            delay = max(delay, ts_ms / 1000 - self.wall_clock())
        return max(0.0, delay)

    def _scaled_delay_s(self, ts_ms: int) -> float:
        if not self.speed:
            return 0.0
        if self.origin is None:
            self.origin = (ts_ms, self.clock())
        first_ms, started = self.origin
        return started + (ts_ms - first_ms) / 1000 / self.speed - self.clock()


def run_simulation(
    simulation: Simulation,
    send: Callable[[Message], None],
    record: Callable[[Label], None],
    pacer: Pacer,
    stop: threading.Event,
) -> Tally:
    """Send every message and record every label until the run ends or `stop` is set.

    A stopped run still ends properly: last batches flushed, every device marked offline.
    """
    tally = Tally()
    reached = simulation.options.start_ms
    items = simulation.run()
    for item in items:
        if isinstance(item, Message):
            if stop.wait(pacer.delay_s(item.ts_ms)):
                items.close()
                break
            reached = max(reached, item.ts_ms)
        _deliver(item, send, record, tally)
    else:
        return tally
    for item in simulation.finish(reached):
        _deliver(item, send, record, tally)
    return tally


def _deliver(
    item: Message | Label,
    send: Callable[[Message], None],
    record: Callable[[Label], None],
    tally: Tally,
) -> None:
    if isinstance(item, Message):
        send(item)
    else:
        record(item)
    tally.count(item)
