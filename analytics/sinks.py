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

from analytics.alerts import Alert, AlertChange, AlertSink

log = logging.getLogger("facmon.analytics")


class JsonLinesSink:
    """Alert changes appended to a file (one JSON object a line) and logged."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def handle(self, change: AlertChange) -> None:
        """Append the change with the time it arrived, and log it."""
        record = {"change": change.kind.value, "received_ms": int(time.time() * 1000)}
        record.update(alert_fields(change.alert))
        with self._lock:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
        log.info(f"alert {change.kind.value}: {change.alert.summary}")

    def close(self) -> None:
        self._file.close()


class FanOut:
    """Several sinks behind one: every change goes to each, in order."""

    def __init__(self, *sinks: AlertSink) -> None:
        self.sinks = sinks

    def handle(self, change: AlertChange) -> None:
        """Hand the change to every sink."""
        for sink in self.sinks:
            sink.handle(change)


def alert_fields(alert: Alert) -> dict[str, Any]:
    """An alert as plain JSON-ready fields."""
    fields = asdict(alert)
    fields["source"] = {**asdict(alert.source), "kind": str(alert.source.kind)}
    fields["severity"] = str(alert.severity)
    return fields
