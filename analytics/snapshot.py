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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.alerts import Alert
from analytics.engine import Engine, EngineSettings
from facility import write_atomically

log = logging.getLogger("facmon.analytics")

SNAPSHOT_FORMAT = 2  # raise when the engine's state changes shape (2: time warm-up)


@dataclass
class EngineSnapshot:
    """The engine as saved, with when, and the alerts it has cleared (left out of refits)."""

    engine: Engine
    saved_ms: int
    past_alerts: list[Alert] = field(default_factory=list)  # cleared: left out of refits


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
        snapshot = saved["snapshot"] if saved.get("format") == SNAPSHOT_FORMAT else None
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


class _Unpickler(pickle.Unpickler):
    """Reads snapshots saved before the service moved from facmon/ to analytics/ as well."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "facmon.engine_snapshot":
            module = __name__
        return super().find_class(module, name)
