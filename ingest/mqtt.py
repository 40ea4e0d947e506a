"""The paho-mqtt adapter: a persistent MQTT v5 session with manual acknowledgements.

It only moves messages: each one is handed on with an acknowledgement token, and the
message is acknowledged when the pipeline says its data is durable. Tokens carry the
connection they came from, because message ids are reused by the next connection: acking
an old id on a new connection would acknowledge a different, unstored message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.pipeline import AckToken

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes, AckToken], None]


@dataclass(frozen=True)
class SessionOptions:
    """How ingest subscribes. A stable client id with clean start off and a session expiry
    lets the broker keep unacknowledged and new messages while ingest is down."""

    client_id: str = "facmon-ingest"
    # Everything under facmon/, so malformed topics reach ingest and are dead-lettered
    # with a reason instead of never being seen.
    topic_filter: str = "facmon/#"
    share_group: str | None = None
    session_expiry_s: int = 7 * 24 * 3600
    receive_maximum: int = 65535
    keepalive_s: int = 30

    @property
    def subscription(self) -> str:
        if self.share_group:
            return f"$share/{self.share_group}/{self.topic_filter}"
        return self.topic_filter


class MqttSubscriber:
    """Subscribes at QoS 1 and calls the handler for each message from paho's thread."""

    def __init__(
        self,
        url: str,
        options: SessionOptions,
        handler: MessageHandler,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.options = options
        self._handler = handler
        self._address = urlparse(url)
        self._connection = 0
        self.subscribed = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        if username:
            self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=15)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    def start(self) -> None:
        """Connect (retrying in the background until the broker answers) and start receiving."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.options.session_expiry_s
        properties.ReceiveMaximum = self.options.receive_maximum
        self._client.connect_async(
            self._address.hostname or "127.0.0.1",
            self._address.port or 1883,
            keepalive=self.options.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()

    def ack(self, token: AckToken) -> None:
        if token.connection == self._connection and token.qos > 0:
            self._client.ack(token.mid, token.qos)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self, client: paho.Client, _: Any, flags: Any, reason: ReasonCode, __: Any
    ) -> None:
        if reason.is_failure:
            log.error("mqtt connect refused", extra={"reason": str(reason)})
            return
        self._connection += 1
        log.info(
            "mqtt connected",
            extra={
                "session_present": flags.session_present,
                "subscription": self.options.subscription,
            },
        )
        # Retained status only for a new subscription: on every reconnect it would otherwise be
        # stored again, stamped with the reconnect time.
        client.subscribe(
            self.options.subscription, options=SubscribeOptions(qos=1, retainHandling=1)
        )

    def _on_subscribe(
        self, _: paho.Client, __: Any, ___: int, reasons: list[ReasonCode], ____: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            log.error("mqtt subscription refused", extra={"reasons": [str(r) for r in reasons]})
            return
        self.subscribed.set()

    def _on_disconnect(
        self, _: paho.Client, __: Any, ___: Any, reason: ReasonCode, ____: Any
    ) -> None:
        self.subscribed.clear()
        log.warning("mqtt disconnected", extra={"reason": str(reason)})

    def _on_message(self, _: paho.Client, __: Any, message: paho.MQTTMessage) -> None:
        token = AckToken(self._connection, message.mid, message.qos)
        self._handler(message.topic, bytes(message.payload), token)
