"""SLA notifications from the outbox of a real SQLite database to a real HTTP endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from facmon.wiring import notify_by_webhook
from localservers import free_port
from maintenance import deliver_outbox
from maintenance.desk import Desk
from maintenance.domain import Priority
from maintenance.jobs import sweep_sla
from maintenance.migrate import upgrade
from maintenance.sla import SlaPolicy
from maintenance.sql import SqlStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOTIFY = [SlaPolicy(1, "P2", Priority.P2, None, 30, 240, escalation="notify")]


class Webhook:
    """A local HTTP endpoint that records what it is sent and can be told to fail."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.failures_left = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                failing = hook.failures_left > 0
                hook.failures_left -= failing
                if not failing:
                    hook.received.append(body)
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    url = f"sqlite:///{tmp_path}/facmon.db"
    upgrade(url)
    opened = SqlStore(url)
    yield opened
    opened.close()


def breach_two_orders(store: SqlStore) -> list[int]:
    desk = Desk(store, lambda: NOTIFY, clock=lambda: T0)
    ids = [desk.open(f"Pump leak {n}", Priority.P2, "manager").id or 0 for n in (1, 2)]
    sweep_sla(store, NOTIFY, T0 + timedelta(minutes=31))
    return ids


def test_breaches_reach_the_webhook_once_each_after_an_outage(
    store: SqlStore, webhook: Webhook
) -> None:
    ids = breach_two_orders(store)
    webhook.failures_left = 1
    at = T0 + timedelta(minutes=32)
    send = notify_by_webhook(webhook.url)
    assert deliver_outbox(store, send, at) == 0  # stops at the first failure
    first, second = store.undelivered_notifications()
    assert (first.attempts, first.last_error) == (1, "HTTP 503")
    assert second.attempts == 0  # not tried while the endpoint fails

    assert deliver_outbox(store, send, at + timedelta(minutes=1)) == 2
    assert [body["work_order_id"] for body in webhook.received] == ids
    assert all("breached its response target" in body["text"] for body in webhook.received)
    assert store.undelivered_notifications() == []
    assert deliver_outbox(store, send, at + timedelta(minutes=2)) == 0
    assert len(webhook.received) == 2  # delivered ones are never sent again


def test_an_unreachable_endpoint_keeps_the_notifications(store: SqlStore) -> None:
    breach_two_orders(store)
    nowhere = f"http://127.0.0.1:{free_port()}/hook"
    assert deliver_outbox(store, notify_by_webhook(nowhere), T0 + timedelta(minutes=32)) == 0
    first, second = store.undelivered_notifications()
    assert first.last_error is not None and first.last_error.startswith("ConnectError")
    assert second.attempts == 0
