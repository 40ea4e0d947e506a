"""Decode MQTT messages into validated records, explaining everything that is refused.

Pure functions: bytes and a topic in, records and rejections out. No I/O, no clock (the
receive time is passed in), so every rule here is tested without a broker.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson

from facility import (
    CATALOGUE,
    NAME_PATTERN,
    Channel,
    DeviceRef,
    EquipmentKind,
    Event,
    Reading,
    Record,
    StatusChange,
)

TOPIC_ROOT = "facmon"
METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_TEXT_ATTRIBUTE = 1024
# RFC 3339 section 5.6 with the upper-case T and Z the contract asks for: the extended form
# only (no 20240501T120000Z), seconds required, an offset with a colon.
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})", re.ASCII
)
# Python refuses to convert longer digit strings to int (a quadratic-time guard).
MAX_INT_DIGITS = 4300
# An integer this large or larger cannot be a 64-bit epoch: orjson hands it over as a float.
BEYOND_64_BITS = 2**63
# InfluxDB's time column and the tags of the schema: a field of the same name would shadow
# the tag in queries, and `count` is the field facmon adds to every event.
RESERVED_METRIC_NAMES = frozenset({"time", "site", "device"})
RESERVED_ATTRIBUTE_NAMES = frozenset({"time", "count", "site", "device", "kind", "type"})


class Reason(StrEnum):
    """Why a message, reading or value was dead-lettered (stable codes, counted per code)."""

    MALFORMED_TOPIC = "malformed_topic"
    UNKNOWN_KIND = "unknown_kind"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    MALFORMED_JSON = "malformed_json"
    INVALID_SCHEMA = "invalid_schema"
    INVALID_TIMESTAMP = "invalid_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    INVALID_NAME = "invalid_name"
    WRONG_TYPE = "wrong_type"
    NON_FINITE = "non_finite"
    OUT_OF_RANGE = "out_of_range"
    STORE_REJECTED = "store_rejected"
    INTERNAL_ERROR = "internal_error"
    TOO_MANY_METRICS = "too_many_metrics"


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused piece of a message: a reason code and a sentence saying what to fix."""

    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class DecodePolicy:
    """Limits applied while decoding; defaults suit devices with NTP-synchronised clocks."""

    max_future_skew_ms: int = 5 * 60_000
    max_payload_bytes: int = 256 * 1024
    earliest_ts_ms: int = 946_684_800_000  # 2000-01-01: earlier is a clock that never synced


@dataclass(slots=True)
class Decoded:
    """What one MQTT message yielded: the records to store and what was refused."""

    records: list[Record] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    uncatalogued: set[str] = field(default_factory=set)


class _Refused(Exception):
    """Raised inside the decoder to refuse the current unit (message, reading or value)."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.rejection = Rejection(reason, detail)


@lru_cache(maxsize=65536)
def parse_topic(topic: str) -> tuple[DeviceRef, Channel]:
    """Split `facmon/{site}/{kind}/{device}/{channel}` into a device and a channel.

    Cached: each device publishes to the same few topics over and over; refusals raise and
    are not cached.

    >>> parse_topic("facmon/tower-a/pump/p1/telemetry")[1]
    <Channel.TELEMETRY: 'telemetry'>
    """
    parts = topic.split("/")
    expected = "facmon/{site}/{kind}/{device}/{telemetry|event|status}"
    if len(parts) != 5 or parts[0] != TOPIC_ROOT:
        raise _Refused(Reason.MALFORMED_TOPIC, f"topic must look like {expected}")
    _, site, kind, device, channel = parts
    for what, name in (("site", site), ("device", device)):
        if not NAME_PATTERN.fullmatch(name):
            raise _Refused(
                Reason.MALFORMED_TOPIC, f"{what} {name!r} must match [A-Za-z0-9_-]{{1,64}}"
            )
    if kind not in EquipmentKind.__members__.values():
        kinds = ", ".join(k.value for k in EquipmentKind)
        raise _Refused(Reason.UNKNOWN_KIND, f"kind {kind!r} is not one of {kinds}")
    if channel not in Channel.__members__.values():
        raise _Refused(Reason.MALFORMED_TOPIC, f"last topic segment {channel!r}: {expected}")
    return DeviceRef(site, EquipmentKind(kind), device), Channel(channel)


def decode_message(
    topic: str, payload: bytes, received_ms: int, policy: DecodePolicy = DecodePolicy()
) -> Decoded:
    """Decode one MQTT message; a bad reading in a batch never rejects its neighbours.

    Never raises: should the decoder itself fail (a bug), the message is refused as
    internal_error and kept, instead of stopping ingest.
    """
    try:
        return _decode(topic, payload, received_ms, policy)
    except Exception as error:  # the last line of defence, by design
        detail = f"ingest could not decode this message ({type(error).__name__}: {error})"
        return Decoded(rejections=[Rejection(Reason.INTERNAL_ERROR, detail[:500])])


def _decode(topic: str, payload: bytes, received_ms: int, policy: DecodePolicy) -> Decoded:
    decoded = Decoded()
    try:
        source, channel = parse_topic(topic)
        if len(payload) > policy.max_payload_bytes:
            raise _Refused(
                Reason.PAYLOAD_TOO_LARGE,
                f"payload is {len(payload)} bytes; the limit is {policy.max_payload_bytes}",
            )
        if channel is Channel.STATUS:
            if payload:  # an empty payload only clears the retained status: nothing to store
                decoded.records.append(_decode_status(source, payload, received_ms))
            return decoded
        body = _parse_json(payload)
    except _Refused as refused:
        decoded.rejections.append(refused.rejection)
        return decoded
    if body == []:
        decoded.rejections.append(
            Rejection(Reason.INVALID_SCHEMA, "payload is an empty array; send at least one item")
        )
        return decoded
    items = body if isinstance(body, list) else [body]
    where = "[{}]" if isinstance(body, list) else ""
    decode_item = _decode_reading if channel is Channel.TELEMETRY else _decode_event
    for index, item in enumerate(items):
        try:
            decode_item(decoded, source, item, where.format(index), received_ms, policy)
        except _Refused as refused:
            decoded.rejections.append(refused.rejection)
    return decoded


def _parse_json(payload: bytes) -> Any:
    try:
        return orjson.loads(payload)  # about three times faster than json on telemetry
    except orjson.JSONDecodeError:
        pass  # refused by orjson: let the standard parser decide, and explain, exactly
    try:
        return json.loads(payload, parse_int=_integer)
    except (UnicodeDecodeError, ValueError) as error:
        raise _Refused(Reason.MALFORMED_JSON, f"payload is not valid UTF-8 JSON: {error}") from None
    except RecursionError:
        raise _Refused(Reason.MALFORMED_JSON, "payload JSON is nested too deeply") from None


class HugeInteger(float):
    """A JSON integer too long for Python to convert (over MAX_INT_DIGITS digits): kept as an
    infinity of its sign, so a metric or attribute is refused as non_finite and a timestamp
    as far in the future (or past), while showing the digits it arrived with."""

    def __new__(cls, digits: str) -> HugeInteger:
        return super().__new__(cls, "-inf" if digits.startswith("-") else "inf")

    def __init__(self, digits: str) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return self.digits

    __str__ = __repr__


def _integer(digits: str) -> int | float:
    return int(digits) if len(digits.lstrip("-")) <= MAX_INT_DIGITS else HugeInteger(digits)


_SHALLOW = reprlib.Repr()
_SHALLOW.maxlevel = 3


def _shown(value: Any) -> str:
    """The value as repr shows it, or a shallow form of it when nested too deeply for repr."""
    try:
        return repr(value)
    except RecursionError:
        return _SHALLOW.repr(value)


def _decode_status(source: DeviceRef, payload: bytes, received_ms: int) -> StatusChange:
    text = payload.strip().decode("utf-8", errors="replace")
    if text not in ("online", "offline"):
        raise _Refused(
            Reason.INVALID_SCHEMA, f"status payload must be online or offline, not {text[:40]!r}"
        )
    return StatusChange(source, received_ms, text == "online")


def _object_with_ts(item: Any, where: str, received_ms: int, policy: DecodePolicy) -> int:
    if not isinstance(item, dict):
        shape = "a JSON object" if where else "a JSON object or an array of objects"
        raise _Refused(Reason.INVALID_SCHEMA, f"{where or 'payload'} must be {shape}")
    if "ts" not in item:
        raise _Refused(Reason.INVALID_SCHEMA, f"{where}.ts is missing".lstrip("."))
    return parse_timestamp(item["ts"], f"{where}.ts".lstrip("."), received_ms, policy)


def parse_timestamp(value: Any, where: str, received_ms: int, policy: DecodePolicy) -> int:
    """Epoch milliseconds from an RFC 3339 string or an integer, within the policy's window."""
    ts_ms = _rfc3339_ms(value, where) if isinstance(value, str) else _epoch_ms(value, where)
    if ts_ms < policy.earliest_ts_ms:
        hint = (
            " (epoch seconds? send milliseconds)" if ts_ms > policy.earliest_ts_ms // 1000 else ""
        )
        raise _Refused(Reason.INVALID_TIMESTAMP, f"{where} {value!r:.40} is before 2000{hint}")
    if ts_ms - received_ms > policy.max_future_skew_ms:
        ahead_s = (ts_ms - received_ms) // 1000  # integer maths: ts may be any JSON integer
        raise _Refused(
            Reason.FUTURE_TIMESTAMP,
            f"{where} is {ahead_s} s ahead of the receive time; "
            f"the limit is {policy.max_future_skew_ms / 1000:.0f} s (check the device clock)",
        )
    return ts_ms


def _epoch_ms(value: Any, where: str) -> int:
    """An integer timestamp. An integer of 64 bits or more arrives as a float (orjson) or a
    HugeInteger: it is still an integer, so it is judged by the time window like any other."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, HugeInteger):
        sign = -1 if value < 0 else 1
        raise _Refused(
            Reason.FUTURE_TIMESTAMP if sign > 0 else Reason.INVALID_TIMESTAMP,
            f"{where} is a {len(value.digits.lstrip('-'))}-digit integer, "
            + (
                "far ahead of the receive time (check the device clock)"
                if sign > 0
                else "before 2000"
            ),
        )
    if isinstance(value, float) and value.is_integer() and abs(value) >= BEYOND_64_BITS:
        return int(value)
    raise _Refused(
        Reason.INVALID_TIMESTAMP,
        f"{where} must be an RFC 3339 string or integer epoch milliseconds, "
        f"got {_shown(value):.40}",
    )


def _rfc3339_ms(text: str, where: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Refused(Reason.INVALID_TIMESTAMP, f"{where} {text!r:.40} is not RFC 3339") from None
    if moment.tzinfo is None:
        raise _Refused(
            Reason.INVALID_TIMESTAMP, f"{where} {text!r:.40} needs a UTC offset such as Z"
        )
    if not RFC3339.fullmatch(text):  # Python also reads ISO 8601 forms RFC 3339 does not have
        raise _Refused(
            Reason.INVALID_TIMESTAMP,
            f"{where} {text!r:.40} is not RFC 3339 (write it as 2024-05-01T12:00:00Z)",
        )
    return round(moment.timestamp() * 1000)


def _decode_reading(
    decoded: Decoded,
    source: DeviceRef,
    item: Any,
    where: str,
    received_ms: int,
    policy: DecodePolicy,
) -> None:
    ts_ms = _object_with_ts(item, where, received_ms, policy)
    raw_metrics = item.get("metrics")
    if not isinstance(raw_metrics, dict) or not raw_metrics:
        raise _Refused(
            Reason.INVALID_SCHEMA, f"{where}.metrics must be a non-empty object".lstrip(".")
        )
    metrics: dict[str, float] = {}
    catalogue = CATALOGUE[source.kind]
    for name, value in raw_metrics.items():
        spec = catalogue.get(name)
        # Fast path for the common case, a catalogued float within range; NaN and infinities
        # fail the comparison and take the full check below, which explains the refusal.
        if spec is not None and type(value) is float and spec.minimum <= value <= spec.maximum:
            metrics[name] = value
            continue
        try:
            metrics[name] = _metric_value(
                catalogue, name, value, f"{where}.metrics.{name}".lstrip(".")
            )
        except _Refused as refused:
            decoded.rejections.append(refused.rejection)
        else:
            if name not in catalogue:
                decoded.uncatalogued.add(name)
    if metrics:
        decoded.records.append(Reading(source, ts_ms, metrics))


def _metric_value(catalogue: dict[str, Any], name: str, value: Any, where: str) -> float:
    if name not in catalogue and not _is_metric_name(name):
        raise _Refused(
            Reason.INVALID_NAME,
            f"{where}: metric names match [A-Za-z_][A-Za-z0-9_]{{0,63}}, not time, site or device",
        )
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, int | float):
        raise _Refused(
            Reason.WRONG_TYPE, f"{where} must be a number or boolean, got {_shown(value):.40}"
        )
    number = _finite(value, where)
    spec = catalogue.get(name)
    if spec is not None and not spec.admits(number):
        raise _Refused(
            Reason.OUT_OF_RANGE,
            f"{where} = {number:g} {spec.unit} is outside the possible range "
            f"{spec.minimum:g}..{spec.maximum:g}",
        )
    return number


@lru_cache(maxsize=4096)
def _is_metric_name(name: str) -> bool:
    return METRIC_NAME.fullmatch(name) is not None and name not in RESERVED_METRIC_NAMES


def _finite(value: int | float, where: str) -> float:
    """The value as a float, refusing NaN, infinities and integers too large for a float."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise _Refused(
            Reason.NON_FINITE, f"{where} is {str(value)[:24]}; only finite numbers are stored"
        )
    return number


def _json_text(value: Any, where: str) -> str:
    try:
        return json.dumps(value, separators=(",", ":"))
    except RecursionError:
        raise _Refused(
            Reason.INVALID_SCHEMA,
            f"{where} is nested too deeply to keep as text (over {MAX_TEXT_ATTRIBUTE} chars)",
        ) from None


def _is_unicode(text: str) -> bool:
    """False for text with lone surrogates (JSON can escape them; UTF-8 cannot carry them)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _decode_event(
    decoded: Decoded,
    source: DeviceRef,
    item: Any,
    where: str,
    received_ms: int,
    policy: DecodePolicy,
) -> None:
    ts_ms = _object_with_ts(item, where, received_ms, policy)
    event_type = item.get("type")
    if not isinstance(event_type, str) or not EVENT_TYPE.fullmatch(event_type):
        raise _Refused(
            Reason.INVALID_SCHEMA,
            f"{where}.type must be a string matching [a-z][a-z0-9_]{{0,63}}".lstrip("."),
        )
    attributes = {
        name: _attribute(name, value, f"{where}.{name}".lstrip("."))
        for name, value in item.items()
        if name not in ("ts", "type")
    }
    decoded.records.append(Event(source, ts_ms, event_type, attributes))


def _attribute(name: str, value: Any, where: str) -> float | str:
    """Event attributes are kept as numbers or text; nested values as their JSON text."""
    if not METRIC_NAME.fullmatch(name) or name in RESERVED_ATTRIBUTE_NAMES:
        raise _Refused(
            Reason.INVALID_NAME,
            f"{where}: attribute names match [A-Za-z_][A-Za-z0-9_]{{0,63}} and are not "
            "time, count, site, device, kind or type",
        )
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return _finite(value, where)
    text = value if isinstance(value, str) else _json_text(value, where)
    if not _is_unicode(text):
        raise _Refused(Reason.INVALID_SCHEMA, f"{where} holds an unpaired UTF-16 surrogate escape")
    if len(text) > MAX_TEXT_ATTRIBUTE:
        raise _Refused(Reason.INVALID_SCHEMA, f"{where} is longer than {MAX_TEXT_ATTRIBUTE} chars")
    return text
