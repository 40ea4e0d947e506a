"""The paho-mqtt side of the simulators: publish at QoS 1 and count what the broker accepted.

A message counts as published only when the broker acknowledged it (PUBACK), so the count a run
reports is what a subscriber can receive. In-flight messages are bounded: paho queues QoS 1
publishes without limit and reuses message ids past 65535, silently replacing unacknowledged
ones, so the publisher waits for acknowledgements instead of queueing without end.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

__all__ = ["MqttPublisher", "PublishFailed"]


class PublishFailed(RuntimeError):
    """The broker could not be reached, refused the connection, or stopped acknowledging."""


class MqttPublisher:
    """One MQTT v5 connection that publishes QoS 1 messages and waits for their PUBACKs."""

    STALL_S = 60.0  # no acknowledgement for this long: the broker is gone, give up

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        max_in_flight: int = 1000,
        client_id: str | None = None,
    ) -> None:
        self._address = urlparse(url)
        # paho calls on_publish holding its own message lock, which publish() also takes: so
        # in-flight slots are a semaphore, never a lock held across client.publish().
        self._slots = threading.Semaphore(max_in_flight)
        self._sent = 0
        self._acked = 0
        self._counts = threading.Condition()
        self._connected = threading.Event()
        self._refusal: str | None = None
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"facmon-sim-{uuid.uuid4().hex[:12]}",
            protocol=paho.MQTTv5,
        )
        if username:
            self._client.username_pw_set(username, password)
        self._client.max_inflight_messages_set(max_in_flight)
        self._client.on_connect = self._on_connect
        self._client.on_publish = self._on_publish

    @property
    def acknowledged(self) -> int:
        """Messages the broker has acknowledged so far."""
        with self._counts:
            return self._acked

    def connect(self, timeout_s: float = 10.0) -> None:
        """Connect, or raise PublishFailed with the reason."""
        where = self._address.netloc
        try:
            self._client.connect(self._address.hostname or "127.0.0.1", self._address.port or 1883)
        except OSError as error:
            raise PublishFailed(f"cannot reach the MQTT broker at {where}: {error}") from error
        self._client.loop_start()
        if not self._connected.wait(timeout_s):
            self._client.loop_stop()
            reason = self._refusal or f"no answer within {timeout_s:.0f} s"
            raise PublishFailed(f"the MQTT broker at {where} refused the connection: {reason}")

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """Send at QoS 1, first waiting while too many messages await acknowledgement.

        While the connection is down paho keeps the message and sends it on reconnection.
        """
        if not self._slots.acquire(timeout=self.STALL_S):
            raise PublishFailed(f"the broker acknowledged nothing for {self.STALL_S:.0f} s")
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            self._slots.release()
            raise PublishFailed(f"publish to {topic} failed: {paho.error_string(info.rc)}")
        with self._counts:
            self._sent += 1

    def close(self, timeout_s: float = 30.0) -> None:
        """Wait for every outstanding acknowledgement, then disconnect cleanly."""
        try:
            with self._counts:
                if not self._counts.wait_for(lambda: self._acked >= self._sent, timeout_s):
                    missing = self._sent - self._acked
                    raise PublishFailed(f"{missing} messages unacknowledged after {timeout_s} s")
        finally:
            self._client.disconnect()
            self._client.loop_stop()

    def _on_connect(self, _: paho.Client, __: Any, ___: Any, reason: ReasonCode, ____: Any) -> None:
        if reason.is_failure:
            self._refusal = str(reason)
            return
        self._connected.set()

    def _on_publish(self, _: paho.Client, __: Any, ___: int, ____: Any, _____: Any) -> None:
        with self._counts:
            self._acked += 1
            self._counts.notify_all()
        self._slots.release()
