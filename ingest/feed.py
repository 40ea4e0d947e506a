"""A subscription that hands each message's records to another service (analytics), decoded
with the same contract and the same refusals as ingest's own, then acknowledged."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from facility import Record, Settings
from ingest.codec import decode_message
from ingest.mqtt import MqttSubscriber, SessionOptions
from ingest.pipeline import AckToken

OnRecords = Callable[[Sequence[Record]], None]


def record_subscriber(
    settings: Settings,
    session: SessionOptions,
    on_records: OnRecords,
    clock: Callable[[], float] = time.time,
) -> MqttSubscriber:
    """An MQTT subscriber (not yet started) that calls ``on_records`` with every message's
    records and acknowledges the message once that returns."""

    def on_message(topic: str, payload: bytes, token: AckToken) -> None:
        decoded = decode_message(topic, payload, int(clock() * 1000))
        on_records(decoded.records)
        subscriber.ack([token])

    subscriber = MqttSubscriber(
        settings.mqtt_url, session, on_message, settings.mqtt_username, settings.mqtt_password
    )
    return subscriber
