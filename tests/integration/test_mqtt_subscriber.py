"""ingest's MQTT adapter against the real broker: buffered reads and bulk acknowledgements.

The adapter serves paho's reads from one large `recv` and sends a batch's PUBACKs in one
write. These tests check the two things that could go wrong with that: a message split
across reads must arrive whole, and exactly the acknowledged messages must be forgotten by
the broker while the others come back on the next connection.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from ingest.mqtt import READ_CHUNK_BYTES, MqttSubscriber, SessionOptions
from ingest.pipeline import AckToken
from localservers import Mosquitto
from tests.integration.harness import Device, wait_for


class Inbox:
    """What a subscriber received, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, AckToken]] = []
        self._lock = threading.Lock()

    def __call__(self, topic: str, payload: bytes, token: AckToken) -> None:
        with self._lock:
            self.messages.append((topic, payload, token))

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [payload for _, payload, _ in self.messages]


@contextmanager
def subscribed(
    broker: Mosquitto, client_id: str, site: str
) -> Iterator[tuple[MqttSubscriber, Inbox]]:
    inbox = Inbox()
    options = SessionOptions(client_id=client_id, topic_filter=f"facmon/{site}/#")
    subscriber = MqttSubscriber(broker.url, options, inbox)
    subscriber.start()
    try:
        assert subscriber.subscribed.wait(10), "no SUBACK within 10 s"
        yield subscriber, inbox
    finally:
        subscriber.stop()


def payloads_of_many_sizes(count: int) -> list[bytes]:
    # Every seventh message is larger than half a read, so some messages start in one read
    # and end in the next; the rest are small, so one read holds many of them.
    big = READ_CHUNK_BYTES // 2 + 1234
    return [
        f"{index:06d}:".encode()
        + bytes([65 + index % 26]) * (big if index % 7 == 3 else index % 200)
        for index in range(count)
    ]


def test_messages_split_across_reads_arrive_whole_and_in_order(
    mosquitto: Mosquitto, device: Device, site: str
) -> None:
    sent = payloads_of_many_sizes(400)
    with subscribed(mosquitto, f"sub-{uuid.uuid4().hex[:8]}", site) as (_, inbox):
        device.publish_many((f"facmon/{site}/pump/p1/telemetry", p) for p in sent)
        wait_for(lambda: len(inbox.payloads()) >= len(sent), 20, "every message to arrive")
        assert inbox.payloads() == sent


def test_exactly_the_acknowledged_messages_are_not_redelivered(
    mosquitto: Mosquitto, device: Device, site: str
) -> None:
    client_id = f"sub-{uuid.uuid4().hex[:8]}"
    sent = payloads_of_many_sizes(300)
    with subscribed(mosquitto, client_id, site) as (subscriber, inbox):
        device.publish_many((f"facmon/{site}/pump/p1/telemetry", p) for p in sent)
        wait_for(lambda: len(inbox.payloads()) >= len(sent), 20, "every message to arrive")
        acked = [token for _, payload, token in inbox.messages if int(payload[:6]) % 3 != 0]
        subscriber.ack(acked)
    with subscribed(mosquitto, client_id, site) as (_, again):
        unacked = [p for p in sent if int(p[:6]) % 3 == 0]
        wait_for(lambda: len(again.payloads()) >= len(unacked), 20, "the redeliveries")
        device.publish(f"facmon/{site}/pump/p1/telemetry", b"marker")
        wait_for(lambda: again.payloads()[-1:] == [b"marker"], 10, "a new message after them")
        assert again.payloads() == [*unacked, b"marker"]


def test_tokens_of_an_earlier_connection_acknowledge_nothing(
    mosquitto: Mosquitto, device: Device, site: str
) -> None:
    """Message ids restart with each connection, so an old token would ack the wrong message."""
    client_id = f"sub-{uuid.uuid4().hex[:8]}"
    topic = f"facmon/{site}/pump/p1/telemetry"
    with subscribed(mosquitto, client_id, site) as (subscriber, inbox):
        device.publish(topic, b"first")
        wait_for(lambda: inbox.payloads() == [b"first"], 10, "the first message")
        old_token = inbox.messages[0][2]
        mosquitto.stop()  # the subscriber reconnects to the restarted broker (same session)
        wait_for(lambda: not subscriber.subscribed.is_set(), 10, "the disconnect")
        mosquitto.start_again()
        assert subscriber.subscribed.wait(20), "no resubscription after the broker restart"
        wait_for(lambda: inbox.payloads() == [b"first", b"first"], 10, "the redelivery")
        subscriber.ack([old_token])  # the same message id, but of the previous connection
    with subscribed(mosquitto, client_id, site) as (_, again):
        wait_for(lambda: again.payloads() == [b"first"], 10, "the second redelivery")
