"""Delivering the notification outbox to a webhook (`FACMON_NOTIFY_URL`).

Each notification is POSTed as JSON with a `text` field (the form chat webhooks such as
Slack's incoming webhooks take) plus the work order and time. A 2xx answer marks it delivered;
anything else is counted on it, and the rest wait for the next run. Nothing is dropped: an
unreachable endpoint only delays delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from maintenance.store import Notification, Store

log = logging.getLogger("facmon.notify")

Post = Callable[[str, dict[str, Any]], int]  # (url, JSON body) -> HTTP status


def payload(notification: Notification) -> dict[str, Any]:
    return {
        "text": notification.text,
        "work_order_id": notification.work_order_id,
        "created_at": notification.created_at.isoformat(),
        "source": "facmon",
    }


def post_json(url: str, body: dict[str, Any]) -> int:
    return httpx.post(url, json=body, timeout=5.0).status_code


def deliver_notifications(store: Store, url: str, now: datetime, post: Post = post_json) -> int:
    """Send the undelivered notifications, oldest first; returns how many were delivered.

    Stops at the first failure: the endpoint is likely down, and each further attempt would
    only hold up the other maintenance jobs by its timeout.
    """
    delivered = 0
    for notification in store.undelivered_notifications():
        try:
            status = post(url, payload(notification))
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"[:500]
        store.record_delivery(notification.id or 0, now, error)
        if error is not None:
            log.warning("notification not delivered; retrying next run",
                        extra={"notification": notification.id, "error": error})  # fmt: skip
            break
        delivered += 1
    return delivered
