"""The analytics engine saved to disk and loaded again, so a restart continues where it stopped.

Without it, a restarted `facmon analytics` forgot every learned baseline (and relearned from
whatever came next, faults included) and every open alert (which then never cleared). The
snapshot is the engine pickled whole, written atomically; only the analytics service writes
it, in its own state directory. Anything unusable (missing, damaged, another format, other
settings) is logged and the engine starts fresh: a lost snapshot costs learning, never the
service.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analytics.engine import Engine, EngineSettings
from facility import write_atomically

log = logging.getLogger("facmon.analytics")

# Raise when the engine's state changes shape (2: time warm-up; 3: the alert tracker keeps
# the alerts it cleared, which format 2 kept beside the engine and _from_format_2 moves in).
SNAPSHOT_FORMAT = 3


@dataclass
class EngineSnapshot:
    """The engine as saved (its alert tracker with the alerts it has cleared), and when."""

    engine: Engine
    saved_ms: int


def dump_snapshot(snapshot: EngineSnapshot) -> bytes:
    """The bytes to save (call it under the engine's lock: it reads the whole engine)."""
    return pickle.dumps({"format": SNAPSHOT_FORMAT, "snapshot": snapshot})


def save_snapshot(path: Path, data: bytes) -> None:
    """Write dumped bytes atomically (its folder is created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)


def load_snapshot(path: Path, settings: EngineSettings) -> EngineSnapshot | None:
    """The saved engine, or None (and why, in the log) when it cannot be used."""
    if not path.exists():
        return None
    try:
        with path.open("rb") as file:  # written by this service, in its own state dir
            saved = _Unpickler(file).load()
        snapshot = _current(saved)
    except Exception as error:  # damaged or foreign: start fresh rather than not at all
        log.warning("engine snapshot unreadable; starting fresh", extra={"error": repr(error)})
        return None
    if not isinstance(snapshot, EngineSnapshot):
        log.warning("engine snapshot of another format; starting fresh", extra={"path": str(path)})
        return None
    if snapshot.engine.settings != settings:
        log.warning("engine settings changed since the snapshot; starting fresh")
        return None
    return snapshot


def _current(saved: Any) -> object:
    """The snapshot in today's format, or None for a format this version cannot read."""
    if saved.get("format") == SNAPSHOT_FORMAT:
        return saved["snapshot"]
    if saved.get("format") == 2:
        return _from_format_2(saved["snapshot"])
    return None


def _from_format_2(snapshot: object) -> object:
    """Format 2 saved the cleared alerts beside the engine (`past_alerts`): hand them to the
    engine's tracker, which keeps them since format 3."""
    if isinstance(snapshot, EngineSnapshot):
        past_alerts = vars(snapshot).pop("past_alerts", [])
        snapshot.engine.tracker.remember_cleared(past_alerts)
    return snapshot


class _Unpickler(pickle.Unpickler):
    """Reads snapshots saved before the service moved from facmon/ to analytics/ as well."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "facmon.engine_snapshot":
            module = __name__
        return super().find_class(module, name)
