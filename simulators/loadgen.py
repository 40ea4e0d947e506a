"""Rate-controlled MQTT load: pump telemetry at QoS 1 from several processes, paced and counted.

The load mode of the simulators. `run_load` starts publisher processes; each speaks just
enough MQTT v5 over a plain socket: CONNECT, pre-framed QoS 1 PUBLISH packets within the
broker's Receive Maximum, PUBACK counting, PINGREQ when idle, DISCONNECT. A general client
is the wrong tool here: paho spends so much CPU per message that on a 2-core machine the load
generator steals the CPU the broker and ingest need, and it silently overwrites queued
messages once 65535 QoS 1 messages wait for acknowledgement (message id wrap).

Every reading becomes its own InfluxDB point: each process names its own devices, and a
device's timestamps strictly increase, so no (device, ts) pair repeats within a run.

Example::

    report = run_load("mqtt://127.0.0.1:1883", processes=2, total_messages=100_000, rate=10_000)
    print(report.published, report.messages_per_s)
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import queue
import random
import select
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from facility import CATALOGUE, NAME_PATTERN, EquipmentKind

__all__ = [
    "LoadError",
    "LoadReport",
    "Pacer",
    "PacketReader",
    "ProtocolError",
    "PublisherSpec",
    "TelemetryFactory",
    "connect_packet",
    "decode_varint",
    "encode_varint",
    "parse_connack",
    "parse_puback",
    "plan_publishers",
    "publish_packet",
    "run_load",
]

# ---------------------------------------------------------------------------------------------
# MQTT v5 wire format (pure: bytes in, values out)

CONNACK, PUBLISH, PUBACK, PINGRESP, DISCONNECT = 2, 3, 4, 13, 14
PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"  # normal disconnection, no properties
MAX_VARINT = 268_435_455
MAX_PACKET_ID = 65535
DEFAULT_RECEIVE_MAXIMUM = 65535  # MQTT v5 3.2.2.3.3: absent means 65535
RECEIVE_MAXIMUM_PROPERTY = 0x21
SERVER_KEEP_ALIVE_PROPERTY = 0x13
NO_MATCHING_SUBSCRIBERS = 0x10

# Property identifier -> encoded size in bytes; 0 = two-byte length prefix, -1 = string pair,
# -2 = variable byte integer (MQTT v5 section 2.2.2.2).
_PROPERTY_SIZES = {
    0x01: 1, 0x02: 4, 0x03: 0, 0x08: 0, 0x09: 0, 0x0B: -2, 0x11: 4, 0x12: 0, 0x13: 2,
    0x15: 0, 0x16: 0, 0x17: 1, 0x18: 4, 0x19: 1, 0x1A: 0, 0x1C: 0, 0x1F: 0, 0x21: 2,
    0x22: 2, 0x23: 2, 0x24: 1, 0x25: 1, 0x26: -1, 0x27: 4, 0x28: 1, 0x29: 1, 0x2A: 1,
}  # fmt: skip


class ProtocolError(Exception):
    """The broker sent something malformed, refused us or closed the connection."""


def encode_varint(value: int) -> bytes:
    """MQTT Variable Byte Integer: 7 bits per byte, least significant group first.

    >>> encode_varint(321).hex()
    'c102'
    """
    if not 0 <= value <= MAX_VARINT:
        raise ValueError(f"{value} is outside 0..{MAX_VARINT}")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def decode_varint(data: bytes | bytearray, offset: int = 0) -> tuple[int, int] | None:
    """(value, offset just after it), or None when data ends inside the integer.

    >>> decode_varint(bytes.fromhex("c102"))
    (321, 2)
    """
    value = 0
    for index in range(4):
        if offset + index >= len(data):
            return None
        byte = data[offset + index]
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, offset + index + 1
    raise ProtocolError("variable byte integer longer than 4 bytes")


def encode_string(text: str | bytes) -> bytes:
    """A UTF-8 string or binary data with its two-byte length prefix."""
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > 0xFFFF:
        raise ValueError(f"{len(raw)} bytes do not fit an MQTT string")
    return len(raw).to_bytes(2, "big") + raw


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + encode_varint(len(body)) + body


def connect_packet(
    client_id: str,
    keepalive_s: int,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    """CONNECT, MQTT v5, clean start, session expiry 0 (the broker forgets us on disconnect)."""
    flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    header = b"\x00\x04MQTT\x05" + bytes([flags]) + keepalive_s.to_bytes(2, "big") + b"\x00"
    payload = encode_string(client_id)
    if username is not None:
        payload += encode_string(username)
    if password is not None:
        payload += encode_string(password)
    return _packet(0x10, header + payload)


def publish_packet(topic_field: bytes, packet_id: int, payload: bytes) -> bytes:
    """PUBLISH at QoS 1 without properties; `topic_field` is `encode_string(topic)`.

    >>> publish_packet(encode_string("a/b"), 7, b"{}").hex(" ")
    '32 0a 00 03 61 2f 62 00 07 00 7b 7d'
    """
    body_length = len(topic_field) + 3 + len(payload)  # packet id (2) + properties length (1)
    head = b"\x32" + encode_varint(body_length) + topic_field + packet_id.to_bytes(2, "big")
    return head + b"\x00" + payload


@dataclass(frozen=True)
class Connack:
    """What the broker said to our CONNECT."""

    session_present: bool
    reason_code: int
    receive_maximum: int = DEFAULT_RECEIVE_MAXIMUM
    server_keepalive_s: int | None = None


def parse_connack(body: bytes) -> Connack:
    """Decode a CONNACK body (the bytes after the fixed header)."""
    if len(body) < 2:
        raise ProtocolError(f"CONNACK of {len(body)} bytes is too short")
    properties = parse_properties(body, 2) if len(body) > 2 else {}
    receive_maximum = properties.get(RECEIVE_MAXIMUM_PROPERTY, DEFAULT_RECEIVE_MAXIMUM)
    keepalive = properties.get(SERVER_KEEP_ALIVE_PROPERTY)
    return Connack(
        session_present=bool(body[0] & 0x01),
        reason_code=body[1],
        receive_maximum=int(receive_maximum) if isinstance(receive_maximum, int) else 65535,
        server_keepalive_s=keepalive if isinstance(keepalive, int) else None,
    )


def parse_properties(data: bytes | bytearray, offset: int) -> dict[int, int | bytes]:
    """The properties that start at `offset` (length first); integers decoded, the rest raw."""
    decoded = decode_varint(data, offset)
    if decoded is None:
        raise ProtocolError("properties length is cut short")
    length, position = decoded
    end = position + length
    found: dict[int, int | bytes] = {}
    while position < end:
        identifier = data[position]
        size = _PROPERTY_SIZES.get(identifier)
        if size is None:
            raise ProtocolError(f"unknown property 0x{identifier:02x}")
        found[identifier], position = _property_value(data, position + 1, size)
    if position != end:
        raise ProtocolError("properties overrun their length")
    return found


def _property_value(data: bytes | bytearray, position: int, size: int) -> tuple[int | bytes, int]:
    if size > 0:
        return int.from_bytes(data[position : position + size], "big"), position + size
    if size == -2:
        decoded = decode_varint(data, position)
        if decoded is None:
            raise ProtocolError("property value is cut short")
        return decoded
    strings = 2 if size == -1 else 1
    start = position
    for _ in range(strings):
        position += 2 + int.from_bytes(data[position : position + 2], "big")
    return bytes(data[start:position]), position


def parse_puback(body: bytes) -> tuple[int, int]:
    """(packet id, reason code) of a PUBACK body; a 2-byte body means success (0)."""
    if len(body) < 2:
        raise ProtocolError(f"PUBACK of {len(body)} bytes is too short")
    return int.from_bytes(body[:2], "big"), body[2] if len(body) > 2 else 0


class PacketReader:
    """Splits the bytes a socket delivers into whole packets: (packet type, body)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add received bytes; return the packets they complete, in order."""
        self._buffer += data
        packets: list[tuple[int, bytes]] = []
        offset = 0
        while (found := self._packet_at(offset)) is not None:
            packet, offset = found
            packets.append(packet)
        del self._buffer[:offset]
        return packets

    def _packet_at(self, offset: int) -> tuple[tuple[int, bytes], int] | None:
        buffer = self._buffer
        length = decode_varint(buffer, offset + 1) if len(buffer) > offset else None
        if length is None or length[1] + length[0] > len(buffer):
            return None
        body_length, start = length
        end = start + body_length
        return (buffer[offset] >> 4, bytes(buffer[start:end])), end


# ---------------------------------------------------------------------------------------------
# What the simulated pumps say (pure)

# Nominal duty point of a building's booster pump, and how much a reading scatters around it.
_PUMP_NOMINAL = {
    "flow_m3_h": (120.0, 4.0),
    "pressure_bar": (6.2, 0.15),
    "motor_current_a": (41.5, 1.2),
    "vibration_mm_s": (2.1, 0.3),
    "bearing_temp_c": (55.0, 1.5),
}
_STOPPED_SHARE = 0.02  # readings taken while the pump is off: no flow, no current


def pump_metrics(rng: random.Random) -> dict[str, float | bool]:
    """One plausible pump reading, inside the catalogue's physical ranges."""
    running = rng.random() >= _STOPPED_SHARE
    values: dict[str, float | bool] = {}
    for name, (mean, spread) in _PUMP_NOMINAL.items():
        value = rng.gauss(mean, spread)
        if not running and name in ("flow_m3_h", "motor_current_a", "vibration_mm_s"):
            value = 0.0
        spec = CATALOGUE[EquipmentKind.PUMP][name]
        values[name] = round(min(max(value, spec.minimum), spec.maximum), 3)
    values["running"] = running
    return values


def metric_pool(seed: int, size: int = 1024) -> list[str]:
    """`size` pump readings as JSON object text, drawn once so publishing costs no maths."""
    rng = random.Random(seed)
    return [json.dumps(pump_metrics(rng), separators=(",", ":")) for _ in range(size)]


class TelemetryFactory:
    """Topics and payloads for one publisher's pumps, in round-robin over its devices.

    A message's newest reading carries the publish time; a batch's earlier readings are
    `interval_ms` apart before it. A device's timestamps strictly increase (pushed forward by
    the minimum amount if the clock has not moved on), so (device, ts) never repeats.
    """

    def __init__(
        self,
        site: str,
        device_prefix: str,
        devices: int,
        batch: int = 1,
        interval_ms: int = 1,
        seed: int = 0,
    ) -> None:
        if devices < 1 or batch < 1 or interval_ms < 1:
            raise ValueError("devices, batch and interval_ms must be at least 1")
        self.devices = [f"{device_prefix}{index:05d}" for index in range(devices)]
        for name in (site, *self.devices[:1]):
            if not NAME_PATTERN.fullmatch(name):
                raise ValueError(f"{name!r} must match {NAME_PATTERN.pattern}")
        self.topics = [f"facmon/{site}/pump/{device}/telemetry" for device in self.devices]
        self.topic_fields = [encode_string(topic) for topic in self.topics]
        self.batch = batch
        self.interval_ms = interval_ms
        self._last_ts = [0] * devices
        self._pool = metric_pool(seed)
        self._count = 0

    def next_message(self, now_ms: int) -> tuple[bytes, bytes]:
        """(topic field, payload) of the next message, its newest reading at `now_ms` or later."""
        count = self._count
        self._count = count + 1
        device = count % len(self.devices)
        span = (self.batch - 1) * self.interval_ms
        newest = max(now_ms, self._last_ts[device] + span + 1)
        self._last_ts[device] = newest
        return self.topic_fields[device], self._payload(newest, count).encode()

    def _payload(self, newest_ms: int, count: int) -> str:
        pool = self._pool
        if self.batch == 1:
            return f'{{"ts":{newest_ms},"metrics":{pool[count % len(pool)]}}}'
        first = newest_ms - (self.batch - 1) * self.interval_ms
        readings = (
            f'{{"ts":{first + k * self.interval_ms},"metrics":{pool[(count + k) % len(pool)]}}}'
            for k in range(self.batch)
        )
        return "[" + ",".join(readings) + "]"


# ---------------------------------------------------------------------------------------------
# Pacing (pure)


class Pacer:
    """Token bucket: `rate` messages per second, saving up at most `burst_s` seconds' worth.

    A short stall (scheduling, a slow broker) is caught up; a long one lowers the achieved
    rate instead of releasing a flood. `rate=None` means as fast as possible.
    """

    def __init__(self, rate: float | None, now: float, burst_s: float = 0.25) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive, or None for no limit")
        self.rate = rate
        self._capacity = max(1.0, (rate or 0) * burst_s)
        self._tokens = 0.0
        self._updated = now

    def available(self, now: float) -> int:
        """Messages that may be sent now."""
        if self.rate is None:
            return sys.maxsize
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._capacity, self._tokens + elapsed * self.rate)
        self._updated = now
        return int(self._tokens)

    def spend(self, messages: int) -> None:
        """Account for messages sent."""
        if self.rate is not None:
            self._tokens -= messages


# ---------------------------------------------------------------------------------------------
# One publisher over one socket (I/O)

MAX_CHUNK = 1000  # messages per socket write, so acknowledgements are read in between


@dataclass(frozen=True)
class PublisherSpec:
    """What one publisher process sends, and where."""

    host: str
    port: int
    client_id: str
    messages: int
    rate: float | None
    site: str
    device_prefix: str
    devices: int = 1000
    batch: int = 1
    interval_ms: int = 1
    seed: int = 0
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 60
    tick_s: float = 0.005
    ack_timeout_s: float = 30.0


@dataclass(frozen=True)
class PublisherResult:
    """Counts of one publisher, with wall-clock times (epoch seconds) of its first publish
    and its last acknowledgement."""

    published: int  # acknowledged with a success code
    unrouted: int  # acknowledged, but the broker had no subscriber for it
    rejected: int  # acknowledged with a failure code
    unacknowledged: int  # sent, but no acknowledgement within ack_timeout_s
    first_publish_s: float
    last_ack_s: float
    receive_maximum: int
    cpu_s: float  # CPU time the publisher spent from its first publish to its last ack


class Publisher:
    """Publishes `spec.messages` messages at `spec.rate` and counts their PUBACKs."""

    def __init__(self, spec: PublisherSpec, on_acked: Callable[[int], None] | None = None) -> None:
        self.spec = spec
        self._on_acked = on_acked
        self._factory = TelemetryFactory(
            spec.site, spec.device_prefix, spec.devices, spec.batch, spec.interval_ms, spec.seed
        )
        self._reader = PacketReader()
        self._pending = bytearray(MAX_PACKET_ID + 1)  # 1 = packet id awaits its PUBACK
        self._next_id = 1
        self._sock: socket.socket | None = None
        self._window = DEFAULT_RECEIVE_MAXIMUM
        self._keepalive_s = spec.keepalive_s
        self.sent = self.inflight = self.published = self.unrouted = self.rejected = 0
        self._first_publish_s = self._last_ack_s = 0.0
        self._cpu_at_start_s = 0.0
        self._last_write = self._last_ack = time.monotonic()

    def connect(self, timeout_s: float = 10.0) -> Connack:
        """Open the connection and wait for the broker's CONNACK."""
        spec = self.spec
        sock = socket.create_connection((spec.host, spec.port), timeout=timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        sock.sendall(connect_packet(spec.client_id, spec.keepalive_s, spec.username, spec.password))
        connack = self._await_connack(timeout_s)
        if connack.reason_code >= 0x80:
            raise ProtocolError(f"broker refused CONNECT: reason 0x{connack.reason_code:02x}")
        self._window = connack.receive_maximum
        self._keepalive_s = connack.server_keepalive_s or spec.keepalive_s
        sock.setblocking(True)
        sock.settimeout(None)
        return connack

    def _await_connack(self, timeout_s: float) -> Connack:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for kind, body in self._reader.feed(self._recv()):
                if kind == CONNACK:
                    return parse_connack(body)
        raise ProtocolError(f"no CONNACK within {timeout_s:g} s")

    def run(self) -> PublisherResult:
        """Publish everything, wait for the acknowledgements, disconnect."""
        pacer = Pacer(self.spec.rate, time.monotonic())
        self._cpu_at_start_s = time.process_time()
        self._last_ack = time.monotonic()  # the stall timer starts with the first publish
        while self.sent < self.spec.messages or self.inflight:
            wait_s, wake_on_ack = self._send_due(pacer)
            self._await_acks(wait_s, wake_on_ack)
            self._keep_alive()
            if self.inflight and time.monotonic() - self._last_ack > self.spec.ack_timeout_s:
                break
        self.close()
        return self._result()

    def _send_due(self, pacer: Pacer) -> tuple[float, bool]:
        """Send what is due and fits the window. Returns how long to read acknowledgements
        before sending again, and whether to return as soon as some arrive (the window, not
        the rate, held messages back)."""
        room = self._window - self.inflight
        due = min(pacer.available(time.monotonic()), self.spec.messages - self.sent)
        count = min(room, due, MAX_CHUNK)
        if count > 0:
            self._publish(count)
            pacer.spend(count)
        if due > count:
            return (0.0, False) if count < room else (self.spec.tick_s, True)
        return self.spec.tick_s, False

    def _publish(self, count: int) -> None:
        now_ms = int(time.time() * 1000)
        if not self.sent:
            self._first_publish_s = now_ms / 1000
        factory = self._factory
        packets = [
            publish_packet(*self._with_id(factory.next_message(now_ms))) for _ in range(count)
        ]
        self._write(b"".join(packets))
        self.sent += count
        self.inflight += count

    def _with_id(self, message: tuple[bytes, bytes]) -> tuple[bytes, int, bytes]:
        packet_id = self._next_id
        while self._pending[packet_id]:  # ids are reused only after their PUBACK
            packet_id = packet_id % MAX_PACKET_ID + 1
        self._pending[packet_id] = 1
        self._next_id = packet_id % MAX_PACKET_ID + 1
        return message[0], packet_id, message[1]

    def _await_acks(self, wait_s: float, wake_on_ack: bool) -> None:
        """Read acknowledgements for `wait_s`, or until the first ones if `wake_on_ack`."""
        deadline = time.monotonic() + wait_s
        while True:
            got_some = self._read_acks(max(0.0, deadline - time.monotonic()))
            if (got_some and wake_on_ack) or time.monotonic() >= deadline:
                return

    def _read_acks(self, timeout_s: float) -> bool:
        assert self._sock is not None
        readable, _, _ = select.select([self._sock], [], [], timeout_s)
        if not readable:
            return False
        for kind, body in self._reader.feed(self._recv()):
            if kind == PUBACK:
                self._acknowledged(*parse_puback(body))
            elif kind == DISCONNECT:
                reason = body[0] if body else 0
                raise ProtocolError(f"broker sent DISCONNECT, reason 0x{reason:02x}")
        if self._on_acked is not None:
            self._on_acked(self.published + self.unrouted + self.rejected)
        return True

    def _acknowledged(self, packet_id: int, reason_code: int) -> None:
        if not self._pending[packet_id]:
            raise ProtocolError(f"PUBACK for packet id {packet_id}, which is not in flight")
        self._pending[packet_id] = 0
        self.inflight -= 1
        if reason_code >= 0x80:
            self.rejected += 1
        elif reason_code == NO_MATCHING_SUBSCRIBERS:
            self.unrouted += 1
        else:
            self.published += 1
        self._last_ack = time.monotonic()
        self._last_ack_s = time.time()

    def _keep_alive(self) -> None:
        if self._keepalive_s and time.monotonic() - self._last_write > self._keepalive_s / 2:
            self._write(PINGREQ_PACKET)

    def _recv(self) -> bytes:
        assert self._sock is not None
        data = self._sock.recv(1 << 16)
        if not data:
            raise ProtocolError("broker closed the connection")
        return data

    def _write(self, data: bytes) -> None:
        assert self._sock is not None
        self._sock.sendall(data)
        self._last_write = time.monotonic()

    def close(self) -> None:
        """Send DISCONNECT (best effort) and close the socket."""
        if self._sock is None:
            return
        with contextlib.suppress(OSError):  # already gone: nothing left to tell the broker
            self._sock.sendall(DISCONNECT_PACKET)
        self._sock.close()
        self._sock = None

    def _result(self) -> PublisherResult:
        return PublisherResult(
            published=self.published,
            unrouted=self.unrouted,
            rejected=self.rejected,
            unacknowledged=self.inflight,
            first_publish_s=self._first_publish_s,
            last_ack_s=self._last_ack_s,
            receive_maximum=self._window,
            cpu_s=time.process_time() - self._cpu_at_start_s,
        )


# ---------------------------------------------------------------------------------------------
# Several publisher processes


class LoadError(RuntimeError):
    """A publisher process failed (connection refused, protocol error, crash)."""


@dataclass(frozen=True)
class LoadReport:
    """What the publishers achieved together. Times are epoch seconds."""

    published: int  # PUBACKed with a success code
    readings: int  # published * batch
    unrouted: int
    rejected: int
    unacknowledged: int
    processes: int
    batch: int
    rate_asked: float | None
    started_at: float  # first publish of any process
    finished_at: float  # last acknowledgement of any process
    receive_maximum: int  # the window the broker allowed each publisher
    cpu_seconds: float  # CPU time of all publishers while publishing

    @property
    def seconds(self) -> float:
        return max(self.finished_at - self.started_at, 1e-9)

    @property
    def messages_per_s(self) -> float:
        return self.published / self.seconds

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.seconds

    def as_dict(self) -> dict[str, Any]:
        """The report as one JSON object, with the achieved rates beside the asked one."""
        return {
            **asdict(self),
            "seconds": round(self.seconds, 3),
            "messages_per_s": round(self.messages_per_s, 1),
            "readings_per_s": round(self.readings_per_s, 1),
        }


def plan_publishers(
    url: str,
    processes: int,
    total_messages: int,
    rate: float | None,
    template: PublisherSpec,
) -> list[PublisherSpec]:
    """Split messages and rate over processes; each gets its own client id, devices and seed.

    >>> plan = plan_publishers("mqtt://h:1884", 2, 5, 100.0, PublisherSpec("", 0, "c", 0, None,
    ...     "s", "p"))
    >>> [(p.port, p.client_id, p.messages, p.rate, p.device_prefix) for p in plan]
    [(1884, 'c-0', 3, 50.0, 'p0-'), (1884, 'c-1', 2, 50.0, 'p1-')]
    """
    if processes < 1 or total_messages < 0:
        raise ValueError("processes must be at least 1 and total_messages not negative")
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError(f"the load generator speaks plain mqtt://host:port, not {url!r}")
    share, extra = divmod(total_messages, processes)
    return [
        replace(
            template,
            host=parts.hostname,
            port=parts.port or 1883,
            client_id=f"{template.client_id}-{index}",
            messages=share + (1 if index < extra else 0),
            rate=None if rate is None else rate / processes,
            device_prefix=f"{template.device_prefix}{index}-",
            seed=template.seed + index,
        )
        for index in range(processes)
    ]


def run_load(
    url: str,
    processes: int,
    total_messages: int,
    rate: float | None,
    batch: int = 1,
    *,
    site: str = "loadgen",
    devices_per_process: int = 1000,
    interval_ms: int = 1,
    username: str | None = None,
    password: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Publish `total_messages` (each with `batch` readings) at `rate` messages/s in total,
    from `processes` processes that start together; return when all are acknowledged.

    `rate=None` publishes as fast as the broker acknowledges. `on_progress` is called a few
    times a second, in this thread, with the number of messages acknowledged so far.
    """
    template = PublisherSpec(
        host="",
        port=0,
        client_id=f"{site}-loadgen-{uuid.uuid4().hex[:6]}",
        messages=0,
        rate=None,
        site=site,
        device_prefix="p",
        devices=devices_per_process,
        batch=batch,
        interval_ms=interval_ms,
        username=username,
        password=password,
    )
    specs = plan_publishers(url, processes, total_messages, rate, template)
    results = _run_processes(specs, on_progress)
    return _combine(results, batch, rate)


def _combine(results: list[PublisherResult], batch: int, rate: float | None) -> LoadReport:
    published = sum(r.published for r in results)
    active = [r for r in results if r.first_publish_s] or results
    return LoadReport(
        published=published,
        readings=published * batch,
        unrouted=sum(r.unrouted for r in results),
        rejected=sum(r.rejected for r in results),
        unacknowledged=sum(r.unacknowledged for r in results),
        processes=len(results),
        batch=batch,
        rate_asked=rate,
        started_at=min(r.first_publish_s for r in active),
        finished_at=max(r.last_ack_s for r in active),
        receive_maximum=min(r.receive_maximum for r in results),
        cpu_seconds=sum(r.cpu_s for r in results),
    )


def _run_processes(
    specs: list[PublisherSpec], on_progress: Callable[[int], None] | None
) -> list[PublisherResult]:
    # spawn, not fork: the caller may run threads (progress display, HTTP clients).
    context = multiprocessing.get_context("spawn")
    acked: Any = context.Array("q", len(specs), lock=False)
    go = context.Event()
    replies: Any = context.Queue()
    workers = [
        context.Process(target=_publisher_main, args=(spec, index, acked, go, replies), daemon=True)
        for index, spec in enumerate(specs)
    ]
    for worker in workers:
        worker.start()
    try:
        _await_replies(replies, workers, "ready", on_progress=None, acked=acked)
        go.set()
        return _await_replies(replies, workers, "done", on_progress, acked)
    finally:
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()


def _await_replies(
    replies: Any,
    workers: list[Any],
    kind: str,
    on_progress: Callable[[int], None] | None,
    acked: Any,
) -> list[PublisherResult]:
    """Wait for one `kind` reply per worker; report progress while waiting."""
    received: dict[int, PublisherResult] = {}
    for reply in _replies(replies, workers):
        if reply is None:
            if on_progress is not None:
                on_progress(sum(acked))
            continue
        reply_kind, index, value = reply
        if reply_kind == "error":
            raise LoadError(f"publisher {index} failed: {value}")
        if reply_kind == kind:
            received[index] = value
            if len(received) == len(workers):
                break
    if on_progress is not None:
        on_progress(sum(acked))
    return [received[index] for index in sorted(received)]


def _replies(replies: Any, workers: list[Any]) -> Iterator[tuple[str, int, Any] | None]:
    """Replies as they come, None every 0.2 s without one; fails if a worker died silently."""
    while True:
        try:
            yield replies.get(timeout=0.2)
        except queue.Empty:
            dead = [w for w in workers if w.exitcode not in (None, 0)]
            if dead:
                raise LoadError(f"publisher process exited with code {dead[0].exitcode}") from None
            yield None


def _publisher_main(
    spec: PublisherSpec, index: int, acked: Any, go: Any, replies: Any
) -> None:  # pragma: no cover - runs in a child process
    def progress(count: int) -> None:
        acked[index] = count

    try:
        publisher = Publisher(spec, progress)
        publisher.connect()
        replies.put(("ready", index, None))
        go.wait()
        replies.put(("done", index, publisher.run()))
    except Exception as error:  # reported to the parent, which raises LoadError
        replies.put(("error", index, f"{type(error).__name__}: {error}"))
