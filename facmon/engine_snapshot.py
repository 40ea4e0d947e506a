"""The analytics engine saved to disk and loaded again, so a restart continues where it stopped.

Without it, a restarted `facmon analytics` forgot every learned baseline (and relearned from
whatever came next, faults included) and every open alert (which then never cleared). The
snapshot is the engine pickled whole, written atomically; only facmon itself writes it, in its
own state directory. Anything unusable (missing, damaged, another format, other settings) is
logged and the engine starts fresh: a lost snapshot costs learning, never the service.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from analytics.alerts import Alert
from analytics.engine import Engine, EngineSettings
from facility import write_atomically

log = logging.getLogger("facmon.analytics")

SNAPSHOT_FORMAT = 2  # raise when the engine's state changes shape (2: time warm-up)


@dataclass
class EngineSnapshot:
    engine: Engine
    saved_ms: int
    past_alerts: list[Alert] = field(default_factory=list)  # cleared: left out of refits


def dump_snapshot(snapshot: EngineSnapshot) -> bytes:
    """The bytes to save (call it under the engine's lock: it reads the whole engine)."""
    return pickle.dumps({"format": SNAPSHOT_FORMAT, "snapshot": snapshot})


def save_snapshot(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)


def load_snapshot(path: Path, settings: EngineSettings) -> EngineSnapshot | None:
    """The saved engine, or None (and why, in the log) when it cannot be used."""
    if not path.exists():
        return None
    try:
        saved = pickle.loads(path.read_bytes())  # written by facmon, in its own state dir
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
