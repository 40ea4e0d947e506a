"""Delivering the notification outbox: the loop (maintenance.outbox) and the webhook channel
(notifications/), each with a fake at its seam."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from maintenance import deliver_outbox
from notifications import Message, Webhook

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Note:
    id: int | None
    work_order_id: int | None
    text: str
    created_at: datetime


class Outbox:
    """An in-memory outbox: what is undelivered, and every delivery recorded."""

    def __init__(self, count: int) -> None:
        self.notes = [Note(n, 10 + n, f"order {10 + n} breached", T0) for n in range(1, count + 1)]
        self.recorded: list[tuple[int, datetime, str | None]] = []

    def undelivered_notifications(self) -> list[Note]:
        done = {n for n, _, error in self.recorded if error is None}
        return [note for note in self.notes if note.id not in done]

    def record_delivery(self, notification_id: int, at: datetime, error: str | None) -> None:
        self.recorded.append((notification_id, at, error))


def test_every_notification_is_sent_once_and_recorded() -> None:
    outbox, sent = Outbox(3), []
    assert deliver_outbox(outbox, lambda note: sent.append(note.id), T0) == 3
    assert sent == [1, 2, 3]
    assert outbox.recorded == [(1, T0, None), (2, T0, None), (3, T0, None)]
    assert deliver_outbox(outbox, lambda note: sent.append(note.id), T0) == 0


def test_delivery_stops_at_the_first_failure_and_keeps_the_rest() -> None:
    outbox = Outbox(3)
    assert deliver_outbox(outbox, lambda note: "HTTP 503", T0) == 0
    assert outbox.recorded == [(1, T0, "HTTP 503")]  # the others are not tried
    later = T0 + timedelta(minutes=1)
    assert deliver_outbox(outbox, lambda note: None, later) == 3


class Endpoint:
    """A fake HTTP POST: answers with the given status, or raises the given error."""

    def __init__(self, answer: int | Exception) -> None:
        self.answer = answer
        self.bodies: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, url: str, body: dict[str, Any]) -> int:
        self.bodies.append((url, body))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


MESSAGE = Message("order 7 breached its response target", 7, T0)


def test_a_webhook_gets_the_text_the_order_and_the_time() -> None:
    endpoint = Endpoint(204)
    assert Webhook("http://hook.test/x", endpoint).send(MESSAGE) is None
    body = {"text": MESSAGE.text, "work_order_id": 7, "created_at": T0.isoformat(),
            "source": "facmon"}  # fmt: skip
    assert endpoint.bodies == [("http://hook.test/x", body)]


def test_a_webhook_says_why_it_did_not_deliver() -> None:
    assert Webhook("http://hook.test/x", Endpoint(500)).send(MESSAGE) == "HTTP 500"
    refused = httpx.ConnectError("connection refused")
    assert Webhook("http://hook.test/x", Endpoint(refused)).send(MESSAGE) == (
        "ConnectError: connection refused"
    )
    without_order = replace(MESSAGE, work_order_id=None)
    assert Webhook("http://hook.test/x", Endpoint(200)).send(without_order) is None
