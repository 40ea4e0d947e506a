"""Where the analytics service's results go: alert changes to a JSON Lines journal (and the
log), to several sinks at once."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict
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
