"""Wiring that several `facmon` commands share: the work-order database, stop signals, the
notification channel and `facmon simulate`'s fleet options. Nothing else: each command's own
wiring stays in its module."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from sqlalchemy.engine import make_url

from facility import EquipmentKind, Settings
from maintenance import OutboxItem, Send, SqlStore, upgrade
from notifications import Message, Webhook

log = logging.getLogger("facmon")

__all__ = [
    "KIND_OPTIONS",
    "migrate",
    "notify_by_webhook",
    "open_store",
    "sqlite_path",
    "stop_on_signals",
]

# `facmon simulate`'s option for the number of devices of each kind (`facmon up --demo` too).
KIND_OPTIONS = {
    EquipmentKind.ELEVATOR: "--elevators",
    EquipmentKind.PUMP: "--pumps",
    EquipmentKind.FIRE_PANEL: "--fire-panels",
    EquipmentKind.ACCESS_GATE: "--gates",
}


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL; None for other databases and in-memory SQLite.

    >>> sqlite_path("sqlite:///./var/facmon.db")
    PosixPath('var/facmon.db')
    >>> sqlite_path("postgresql://db.example/facmon") is None
    True
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def migrate(url: str) -> str:
    """Create or migrate the database at ``url``; the revision it is at now."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    return upgrade(url)


def open_store(settings: Settings) -> SqlStore:
    """The migrated database at FACMON_DATABASE_URL (created if missing)."""
    migrate(settings.database_url)
    return SqlStore(settings.database_url)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT, so the service can flush before exiting."""
    stop = threading.Event()

    def handle(signum: int, _: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def notify_by_webhook(url: str) -> Send:
    """maintenance's outbox delivered to the webhook at ``url`` (see notifications/)."""
    webhook = Webhook(url)

    def send(notification: OutboxItem) -> str | None:
        return webhook.send(
            Message(notification.text, notification.work_order_id, notification.created_at)
        )

    return send
