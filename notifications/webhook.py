"""Delivering a message to a webhook (`FACMON_NOTIFY_URL`).

Each message is POSTed as JSON with a `text` field (the form chat webhooks such as Slack's
incoming webhooks take) plus the work order and time. A 2xx answer means delivered; anything
else is returned as the reason it was not, for the caller to keep the message and retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

Post = Callable[[str, dict[str, Any]], int]  # (url, JSON body) -> HTTP status


@dataclass(frozen=True)
class Message:
    """A plain message for people, about a work order (or none)."""

    text: str
    work_order_id: int | None
    created_at: datetime


def payload(message: Message) -> dict[str, Any]:
    """The JSON body a webhook receives."""
    return {
        "text": message.text,
        "work_order_id": message.work_order_id,
        "created_at": message.created_at.isoformat(),
        "source": "facmon",
    }


def post_json(url: str, body: dict[str, Any]) -> int:
    """POST ``body`` as JSON; the HTTP status (5 s timeout)."""
    return httpx.post(url, json=body, timeout=5.0).status_code


class Webhook:
    """One webhook endpoint; `send` never raises for a failed delivery, it says why."""

    def __init__(self, url: str, post: Post = post_json) -> None:
        self.url = url
        self.post = post

    def send(self, message: Message) -> str | None:
        """Deliver ``message``: None when the endpoint took it, else the reason it did not."""
        try:
            status = self.post(self.url, payload(message))
        except httpx.HTTPError as failure:
            return f"{type(failure).__name__}: {failure}"[:500]
        return None if 200 <= status < 300 else f"HTTP {status}"
