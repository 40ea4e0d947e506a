"""Emptying the notification outbox: each undelivered notification is sent and its delivery
recorded. Nothing is dropped: an unreachable endpoint only delays delivery.

How a notification travels is not maintenance's business: the caller hands in `send`
(facmon wires a webhook from notifications/).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

log = logging.getLogger("facmon.notify")


class OutboxItem(Protocol):
    """A notification as the outbox keeps it (maintenance's Notification)."""

    @property
    def id(self) -> int | None: ...
    @property
    def work_order_id(self) -> int | None: ...
    @property
    def text(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


class Outbox(Protocol):
    """The part of the store that keeps notifications until they are delivered."""

    def undelivered_notifications(self) -> Sequence[OutboxItem]: ...

    def record_delivery(self, notification_id: int, at: datetime, error: str | None) -> None: ...


Send = Callable[[OutboxItem], str | None]  # None: delivered; else the reason it was not


def deliver_outbox(outbox: Outbox, send: Send, now: datetime) -> int:
    """Send the undelivered notifications, oldest first; returns how many were delivered.

    Stops at the first failure: the endpoint is likely down, and each further attempt would
    only hold up the other maintenance jobs by its timeout.
    """
    delivered = 0
    for notification in outbox.undelivered_notifications():
        error = send(notification)
        outbox.record_delivery(notification.id or 0, now, error)
        if error is not None:
            log.warning("notification not delivered; retrying next run",
                        extra={"notification": notification.id, "error": error})  # fmt: skip
            break
        delivered += 1
    return delivered
