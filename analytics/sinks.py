"""Where the analytics service's results go: alert changes to a JSON Lines journal (and the
log), to several sinks at once, and to a sink that may fail for a while (a locked database)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from analytics.alerts import AlertSink
from facility import AlertNotice

log = logging.getLogger("facmon.analytics")


class JsonLinesSink:
    """Alert changes appended to a file (one JSON object a line) and logged."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def handle(self, notice: AlertNotice) -> None:
        """Append the notice with the time it arrived, and log it."""
        record = {"received_ms": int(time.time() * 1000), **notice_fields(notice)}
        with self._lock:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
        log.info(f"alert {notice.change}: {_summary(notice)}")

    def close(self) -> None:
        self._file.close()


class FanOut:
    """Several sinks behind one: every notice goes to each, in order."""

    def __init__(self, *sinks: AlertSink) -> None:
        self.sinks = sinks

    def handle(self, notice: AlertNotice) -> None:
        """Hand the notice to every sink."""
        for sink in self.sinks:
            sink.handle(notice)


@dataclass
class PersistentSink:
    """A sink that is tried until it takes the notice: the tracker has already moved on, so a
    notice given up would be an alert lost for good (a fire alarm never becoming work).

    Each failure (a write-locked database, a version conflict) is logged with the notice and
    counted in `failures`; the wait between tries doubles up to `max_wait_s`. Meanwhile the
    caller (the MQTT thread) waits too, so later messages stay with the broker, unacknowledged,
    rather than overtaking this one.
    """

    sink: AlertSink
    first_wait_s: float = 0.1
    max_wait_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    failures: int = field(default=0, init=False)

    def handle(self, notice: AlertNotice) -> None:
        """Hand the notice on, trying again until the sink takes it."""
        wait = self.first_wait_s
        while True:
            try:
                self.sink.handle(notice)
                return
            except Exception as error:  # whatever the sink raised, the notice must not be lost
                self.failures += 1
                reason = f"{type(error).__name__}: {error}"
                log.warning(f"alert {notice.change} not handed on ({reason}), again in {wait:.1f}s",
                            extra=notice_fields(notice))  # fmt: skip
            self.sleep(wait)
            wait = min(wait * 2, self.max_wait_s)


def notice_fields(notice: AlertNotice) -> dict[str, Any]:
    """A notice as plain JSON-ready fields: its own, `at` in ISO 8601 and epoch milliseconds."""
    fields = asdict(notice)
    fields["at"] = notice.at.isoformat(timespec="milliseconds")
    fields["at_ms"] = notice.at_ms
    return fields


def _summary(notice: AlertNotice) -> str:
    """One line for the log: what, where, why."""
    why = "; ".join(notice.evidence) if notice.evidence else "no detail"
    return f"{notice.severity} {notice.signature} on {notice.device} ({why})"
