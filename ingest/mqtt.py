"""The paho-mqtt adapter: a persistent MQTT v5 session with manual acknowledgements.

It only moves messages: each one is handed on with an acknowledgement token, and the
message is acknowledged when the pipeline says its data is durable. Tokens carry the
connection they came from, because message ids are reused by the next connection: acking
an old id on a new connection would acknowledge a different, unstored message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.pipeline import AckToken

log = logging.getLogger(__name__)

READ_CHUNK_BYTES = 256 * 1024
PUBACK_HEADER = bytes([PacketTypes.PUBACK << 4, 2])  # fixed header: PUBACK, 2 more bytes (mid)

MessageHandler = Callable[[str, bytes, AckToken], None]
ErrorHook = Callable[[BaseException], None]


def _ignore(_: BaseException) -> None:
    pass


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


class BufferedClient(paho.Client):
    """paho's client with reads and acknowledgements in bulk; the protocol stays paho's.

    paho reads each packet with three or more `recv` calls (type byte, length bytes, body)
    and sends each PUBACK as its own packet: at thousands of messages a second that was about
    half of ingest's CPU. Here one `recv` fills a buffer that paho's reads are served from,
    and a stored batch's PUBACKs leave in one write. (It overrides paho's `_sock_recv`,
    `_sock_close` and uses `_packet_queue`, which is why pyproject pins paho's minor version.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_buffer = b""
        self._read_position = 0

    def _buffered(self) -> int:
        return len(self._read_buffer) - self._read_position

    def _sock_recv(self, bufsize: int) -> bytes:
        if not self._buffered():
            data = super()._sock_recv(READ_CHUNK_BYTES)  # raises BlockingIOError when empty
            if not data:
                return data  # the broker closed the connection
            self._read_buffer, self._read_position = data, 0
        start = self._read_position
        self._read_position = min(start + bufsize, len(self._read_buffer))
        return self._read_buffer[start : self._read_position]

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        # select() only sees the socket: handle every packet already buffered before going
        # back to it, or they would wait for the next bytes from the broker.
        while True:
            rc = super().loop_read(max_packets)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or not self._buffered():
                return rc

    def _sock_close(self) -> None:
        # A new connection must not start with the old one's unread bytes.
        self._read_buffer, self._read_position = b"", 0
        super()._sock_close()

    def network_thread_alive(self) -> bool:
        """Whether the thread `loop_start` started is still running."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def ack_many(self, mids: list[int]) -> None:
        """Acknowledge QoS 1 messages with one packet queue entry (PUBACKs back to back)."""
        if mids:
            packets = b"".join([PUBACK_HEADER + mid.to_bytes(2, "big") for mid in mids])
            self._packet_queue(PacketTypes.PUBACK << 4, packets, 0, 0)


class MqttSubscriber:
    """Subscribes at QoS 1 and calls the handler for each message from paho's thread."""

    def __init__(
        self,
        url: str,
        options: SessionOptions,
        handler: MessageHandler,
        username: str | None = None,
        password: str | None = None,
        on_handler_error: ErrorHook = _ignore,
    ) -> None:
        self.options = options
        self._handler = handler
        self._on_handler_error = on_handler_error
        self._address = urlparse(url)
        self._connection = 0
        self.subscribed = threading.Event()
        self._client = BufferedClient(
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

    def ack(self, tokens: Sequence[AckToken]) -> None:
        """Acknowledge messages of the current connection; older tokens are skipped, since
        their ids now belong to other messages (the broker redelivers those anyway)."""
        connection = self._connection
        mids = [t.mid for t in tokens if t.connection == connection and t.qos == 1]
        self._client.ack_many(mids)

    def receiving(self) -> bool:
        """Subscribed, and paho's network thread still alive to deliver messages."""
        return self.subscribed.is_set() and self._client.network_thread_alive()

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
        try:
            self._handler(message.topic, bytes(message.payload), token)
        except Exception as error:
            # paho re-raises a callback's exception and its network thread dies with it, while
            # the process looks alive. The message stays unacknowledged: the broker delivers it
            # again on the next connection, so it is not lost.
            log.exception("mqtt message handler failed", extra={"topic": message.topic})
            self._on_handler_error(error)
