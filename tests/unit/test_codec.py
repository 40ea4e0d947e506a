"""The MQTT contract at the edge: topics, payloads, and why anything is refused."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from facility import CATALOGUE, Channel, DeviceRef, EquipmentKind, Event, Reading, StatusChange
from ingest.codec import (
    MAX_TEXT_ATTRIBUTE,
    METRIC_NAME,
    Decoded,
    DecodePolicy,
    Reason,
    decode_message,
    parse_topic,
)
from ingest.deadletters import DeadLetter
from ingest.lineprotocol import encode_lines

NOW_MS = 1_700_000_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PUMP = DeviceRef("tower-a", EquipmentKind.PUMP, "p1")
TELEMETRY = "facmon/tower-a/pump/p1/telemetry"
EVENT = "facmon/tower-a/pump/p1/event"
STATUS = "facmon/tower-a/pump/p1/status"
POLICY = DecodePolicy()


def decode(topic: str, body: Any, received_ms: int = NOW_MS, **policy: int) -> Decoded:
    """Decode a JSON-serialisable body (or raw bytes) as one MQTT message."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return decode_message(topic, payload, received_ms, DecodePolicy(**policy))


def reasons(decoded: Decoded) -> list[Reason]:
    return [r.reason for r in decoded.rejections]


def only_reading(decoded: Decoded) -> Reading:
    assert decoded.rejections == []
    assert len(decoded.records) == 1
    record = decoded.records[0]
    assert isinstance(record, Reading)
    return record


def epoch_ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def reading(ts: Any = NOW_MS, **metrics: Any) -> dict[str, Any]:
    return {"ts": ts, "metrics": metrics or {"pressure_bar": 3.5}}


# --- topics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(EquipmentKind))
@pytest.mark.parametrize("channel", list(Channel))
def test_parse_topic_accepts_every_kind_and_channel(kind: EquipmentKind, channel: Channel) -> None:
    source, parsed_channel = parse_topic(f"facmon/site_1/{kind.value}/dev-9/{channel.value}")
    assert source == DeviceRef("site_1", kind, "dev-9")
    assert parsed_channel is channel


@pytest.mark.parametrize(
    "topic",
    [
        "facmon/tower-a/pump/p1",  # too few segments
        "facmon/tower-a/pump/p1/telemetry/extra",  # too many
        "/facmon/tower-a/pump/p1/telemetry",  # leading slash
        "facmon/tower-a/pump/p1/telemetry/",  # trailing slash
        "other/tower-a/pump/p1/telemetry",  # wrong root
        "FACMON/tower-a/pump/p1/telemetry",  # root is case-sensitive
        "facmon//pump/p1/telemetry",  # empty site
        "facmon/tower-a/pump//telemetry",  # empty device
        "facmon/tower a/pump/p1/telemetry",  # space in site
        "facmon/tower-a/pump/p+1/telemetry",  # wildcard character in device
        "facmon/tower-a/pump/p1/telemetrics",  # unknown channel
        "facmon/tower-a/pump/p1/Telemetry",  # channel is case-sensitive
        "",
    ],
)
def test_malformed_topic_is_refused(topic: str) -> None:
    decoded = decode(topic, reading())
    assert decoded.records == []
    assert reasons(decoded) == [Reason.MALFORMED_TOPIC]
    assert decoded.rejections[0].detail  # says what the topic should look like


@pytest.mark.parametrize("kind", ["boiler", "Pump", "pumps"])
def test_unknown_kind_is_refused_and_the_known_kinds_are_listed(kind: str) -> None:
    decoded = decode(f"facmon/tower-a/{kind}/p1/telemetry", reading())
    assert decoded.records == []
    assert reasons(decoded) == [Reason.UNKNOWN_KIND]
    for known in EquipmentKind:
        assert known.value in decoded.rejections[0].detail


@pytest.mark.parametrize("segment", ["site", "device"])
def test_names_of_64_characters_are_accepted_and_65_refused(segment: str) -> None:
    def topic(name: str) -> str:
        site, device = (name, "p1") if segment == "site" else ("tower-a", name)
        return f"facmon/{site}/pump/{device}/telemetry"

    source = only_reading(decode(topic("d" * 64), reading())).source
    assert "d" * 64 in (source.site, source.device)
    refused = decode(topic("d" * 65), reading())
    assert refused.records == []
    assert reasons(refused) == [Reason.MALFORMED_TOPIC]
    assert segment in refused.rejections[0].detail


# --- telemetry payloads ------------------------------------------------------------------------


def test_single_object_decodes_to_one_reading() -> None:
    ts = NOW_MS - 1234
    record = only_reading(decode(TELEMETRY, reading(ts, pressure_bar=3.5, flow_m3_h=12)))
    assert record == Reading(PUMP, ts, {"pressure_bar": 3.5, "flow_m3_h": 12.0})
    assert all(type(v) is float for v in record.metrics.values())


def test_array_batch_decodes_every_reading_in_order() -> None:
    items = [reading(NOW_MS - 3000 + i * 1000, pressure_bar=float(i)) for i in range(3)]
    decoded = decode(TELEMETRY, items)
    assert decoded.rejections == []
    assert decoded.records == [
        Reading(PUMP, item["ts"], {"pressure_bar": float(i)}) for i, item in enumerate(items)
    ]


def test_booleans_are_stored_as_one_and_zero() -> None:
    on = only_reading(decode(TELEMETRY, reading(running=True)))
    off = only_reading(decode(TELEMETRY, reading(running=False)))
    assert on.metrics == {"running": 1.0}
    assert off.metrics == {"running": 0.0}
    assert type(on.metrics["running"]) is float


def test_reading_source_comes_from_the_topic() -> None:
    topic = "facmon/block_7/elevator/lift-2/telemetry"
    record = only_reading(decode(topic, reading(trips=10)))
    assert record.source == DeviceRef("block_7", EquipmentKind.ELEVATOR, "lift-2")


# --- timestamps -------------------------------------------------------------------------------

MOMENT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2023-11-14T22:13:20Z", MOMENT),
        ("2023-11-15T00:13:20+02:00", MOMENT),
        ("2023-11-14T17:43:20-04:30", MOMENT),
        ("2023-11-14T22:13:20.250Z", MOMENT + timedelta(milliseconds=250)),
        ("2023-11-14T22:13:20.5+01:00", MOMENT + timedelta(milliseconds=500) - timedelta(hours=1)),
        ("2023-11-14T22:13:20.123456789Z", MOMENT + timedelta(milliseconds=123)),
    ],
)
def test_rfc3339_timestamps_convert_to_epoch_ms(text: str, moment: datetime) -> None:
    record = only_reading(decode(TELEMETRY, reading(text), received_ms=epoch_ms(MOMENT)))
    assert record.ts_ms == epoch_ms(moment)


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000)),
    offset_min=st.integers(-23 * 60 - 59, 23 * 60 + 59),
)
def test_any_utc_offset_gives_the_same_instant(moment: datetime, offset_min: int) -> None:
    local = moment.astimezone(timezone(timedelta(minutes=offset_min)))
    text = local.isoformat(timespec="milliseconds")
    record = only_reading(decode(TELEMETRY, reading(text), received_ms=epoch_ms(moment)))
    assert record.ts_ms == epoch_ms(moment)


@pytest.mark.parametrize(
    "text",
    [
        "2023-11-14t22:13:20z",  # RFC 3339 allows lower case; the contract asks for T and Z
        "20231114T221320Z",  # ISO 8601 basic form: Python reads it, RFC 3339 has no such form
        "2023-11-14 22:13:20Z",
        "2023-11-14T22:13:20+0000",
        "2023-11-14T22:13Z",
    ],
)
def test_timestamp_forms_outside_the_contract_are_refused(text: str) -> None:
    decoded = decode(TELEMETRY, reading(text), received_ms=epoch_ms(MOMENT))
    assert decoded.records == []
    assert reasons(decoded) == [Reason.INVALID_TIMESTAMP]
    assert "RFC 3339" in decoded.rejections[0].detail


@pytest.mark.parametrize("text", ["2023-11-14T22:13:20", "2023-11-14"])
def test_timestamp_without_offset_is_refused(text: str) -> None:
    decoded = decode(TELEMETRY, reading(text))
    assert decoded.records == []
    assert reasons(decoded) == [Reason.INVALID_TIMESTAMP]
    assert "offset" in decoded.rejections[0].detail


@pytest.mark.parametrize("value", ["yesterday", "2023-13-01T00:00:00Z", 1.7e12, True, None, [1]])
def test_timestamp_of_the_wrong_form_is_refused(value: Any) -> None:
    decoded = decode(TELEMETRY, reading(value))
    assert decoded.records == []
    assert reasons(decoded) == [Reason.INVALID_TIMESTAMP]


def test_epoch_seconds_are_refused_with_a_hint_to_send_milliseconds() -> None:
    decoded = decode(TELEMETRY, reading(NOW_MS // 1000))
    assert decoded.records == []
    assert reasons(decoded) == [Reason.INVALID_TIMESTAMP]
    assert "milliseconds" in decoded.rejections[0].detail


def test_tiny_timestamp_is_refused_without_the_seconds_hint() -> None:
    decoded = decode(TELEMETRY, reading(5))
    assert reasons(decoded) == [Reason.INVALID_TIMESTAMP]
    assert "seconds" not in decoded.rejections[0].detail


def test_earliest_timestamp_is_accepted_and_one_ms_earlier_refused() -> None:
    earliest = POLICY.earliest_ts_ms
    assert only_reading(decode(TELEMETRY, reading(earliest))).ts_ms == earliest
    assert reasons(decode(TELEMETRY, reading(earliest - 1))) == [Reason.INVALID_TIMESTAMP]


@pytest.mark.parametrize("skew_ms", [POLICY.max_future_skew_ms, 1000])
def test_future_timestamp_is_accepted_up_to_the_policy_skew(skew_ms: int) -> None:
    at_limit = decode(TELEMETRY, reading(NOW_MS + skew_ms), max_future_skew_ms=skew_ms)
    assert only_reading(at_limit).ts_ms == NOW_MS + skew_ms
    beyond = decode(TELEMETRY, reading(NOW_MS + skew_ms + 1), max_future_skew_ms=skew_ms)
    assert beyond.records == []
    assert reasons(beyond) == [Reason.FUTURE_TIMESTAMP]
    assert "clock" in beyond.rejections[0].detail


def test_future_limit_applies_to_rfc3339_text_too() -> None:
    received = epoch_ms(MOMENT)
    text = (MOMENT + timedelta(hours=1)).isoformat()
    assert reasons(decode(TELEMETRY, reading(text), received_ms=received)) == [
        Reason.FUTURE_TIMESTAMP
    ]


def test_old_timestamps_are_accepted() -> None:
    week_ago = NOW_MS - 7 * 86_400_000
    assert only_reading(decode(TELEMETRY, reading(week_ago))).ts_ms == week_ago


# --- metric values ----------------------------------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused(literal: str) -> None:
    payload = f'{{"ts": {NOW_MS}, "metrics": {{"pressure_bar": {literal}}}}}'.encode()
    decoded = decode(TELEMETRY, payload)
    assert decoded.records == []
    assert reasons(decoded) == [Reason.NON_FINITE]
    assert "pressure_bar" in decoded.rejections[0].detail


@pytest.mark.parametrize("value", ["3.5", None, [3.5], {"v": 3.5}])
def test_non_numbers_are_refused_as_wrong_type(value: Any) -> None:
    decoded = decode(TELEMETRY, reading(pressure_bar=value))
    assert decoded.records == []
    assert reasons(decoded) == [Reason.WRONG_TYPE]
    assert "pressure_bar" in decoded.rejections[0].detail


CATALOGUED = [(kind, spec) for kind, specs in CATALOGUE.items() for spec in specs.values()]


@pytest.mark.parametrize(
    ("kind", "spec"), CATALOGUED, ids=[f"{k.value}.{s.name}" for k, s in CATALOGUED]
)
def test_catalogue_range_is_inclusive_and_refusals_name_the_unit(kind, spec) -> None:
    topic = f"facmon/tower-a/{kind.value}/d1/telemetry"
    margin = max(1.0, abs(spec.maximum) * 0.01)
    for edge in (spec.minimum, spec.maximum):
        assert only_reading(decode(topic, reading(**{spec.name: edge}))).metrics == {
            spec.name: float(edge)
        }
    for outside in (spec.minimum - margin, spec.maximum + margin):
        decoded = decode(topic, reading(**{spec.name: outside}))
        assert decoded.records == []
        assert reasons(decoded) == [Reason.OUT_OF_RANGE]
        detail = decoded.rejections[0].detail
        assert spec.name in detail
        assert spec.unit in detail


def test_ranges_are_per_kind() -> None:
    # motor_current_a allows 2000 A on a pump but only 100 A on an access gate.
    assert only_reading(decode(TELEMETRY, reading(motor_current_a=500)))
    gate = decode("facmon/tower-a/access_gate/g1/telemetry", reading(motor_current_a=500))
    assert reasons(gate) == [Reason.OUT_OF_RANGE]


def test_uncatalogued_metrics_are_stored_and_reported() -> None:
    decoded = decode(TELEMETRY, reading(pressure_bar=2.0, humidity_pct=41, Extra_1=True))
    record = only_reading(decoded)
    assert record.metrics == {"pressure_bar": 2.0, "humidity_pct": 41.0, "Extra_1": 1.0}
    assert decoded.uncatalogued == {"humidity_pct", "Extra_1"}


def test_refused_uncatalogued_metric_is_not_reported_as_seen() -> None:
    decoded = decode(TELEMETRY, reading(pressure_bar=2.0, humidity_pct="high"))
    assert reasons(decoded) == [Reason.WRONG_TYPE]
    assert decoded.uncatalogued == set()


@pytest.mark.parametrize("name", ["time", "1st", "flow-rate", "flow rate", "x" * 65, ""])
def test_invalid_metric_names_are_refused(name: str) -> None:
    decoded = decode(TELEMETRY, reading(pressure_bar=1.0, **{name: 1.0}))
    assert only_valid_metrics(decoded) == {"pressure_bar": 1.0}
    assert reasons(decoded) == [Reason.INVALID_NAME]


def only_valid_metrics(decoded: Decoded) -> dict[str, float]:
    assert len(decoded.records) == 1
    record = decoded.records[0]
    assert isinstance(record, Reading)
    return record.metrics


@pytest.mark.parametrize(
    "body",
    [
        {"metrics": {"pressure_bar": 1}},  # no ts
        {"ts": NOW_MS},  # no metrics
        {"ts": NOW_MS, "metrics": {}},  # empty metrics
        {"ts": NOW_MS, "metrics": [1, 2]},  # metrics not an object
        42,
        "reading",
        None,
    ],
)
def test_payload_of_the_wrong_shape_is_invalid_schema(body: Any) -> None:
    decoded = decode(TELEMETRY, body)
    assert decoded.records == []
    assert reasons(decoded) == [Reason.INVALID_SCHEMA]


def test_one_bad_metric_does_not_reject_its_neighbours() -> None:
    decoded = decode(
        TELEMETRY, reading(pressure_bar=3.0, flow_m3_h="fast", vibration_mm_s=1e9, running=True)
    )
    assert only_valid_metrics(decoded) == {"pressure_bar": 3.0, "running": 1.0}
    assert sorted(reasons(decoded)) == sorted([Reason.WRONG_TYPE, Reason.OUT_OF_RANGE])


def test_one_bad_reading_does_not_reject_its_neighbours() -> None:
    batch = [
        reading(NOW_MS - 4, pressure_bar=1.0),
        {"metrics": {"pressure_bar": 2.0}},  # no ts
        reading(NOW_MS - 3, pressure_bar=3.0),
        reading(NOW_MS + 3_600_000, pressure_bar=4.0),  # an hour ahead
        "not an object",
        reading(NOW_MS - 2, pressure_bar="x"),  # its only metric is refused
        reading(NOW_MS - 1, pressure_bar=5.0, flow_m3_h=-1),  # one of two refused
    ]
    decoded = decode(TELEMETRY, batch)
    assert [(r.ts_ms, r.metrics) for r in decoded.records if isinstance(r, Reading)] == [
        (NOW_MS - 4, {"pressure_bar": 1.0}),
        (NOW_MS - 3, {"pressure_bar": 3.0}),
        (NOW_MS - 1, {"pressure_bar": 5.0}),
    ]
    assert reasons(decoded) == [
        Reason.INVALID_SCHEMA,
        Reason.FUTURE_TIMESTAMP,
        Reason.INVALID_SCHEMA,
        Reason.WRONG_TYPE,
        Reason.OUT_OF_RANGE,
    ]
    # Each refusal says which element of the batch it is about.
    assert "[1]" in decoded.rejections[0].detail
    assert "[3]" in decoded.rejections[1].detail
    assert "[4]" in decoded.rejections[2].detail


# --- whole-message refusals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (TELEMETRY, json.dumps([reading(NOW_MS - i) for i in range(50)]).encode()),
        (EVENT, json.dumps({"ts": NOW_MS, "type": "note", "text": "x" * 500}).encode()),
        (STATUS, b"offline"),
    ],
)
def test_payload_larger_than_the_policy_is_refused(topic: str, payload: bytes) -> None:
    at_limit = decode_message(topic, payload, NOW_MS, DecodePolicy(max_payload_bytes=len(payload)))
    assert at_limit.rejections == []
    assert at_limit.records
    small = DecodePolicy(max_payload_bytes=len(payload) - 1)
    too_large = decode_message(topic, payload, NOW_MS, small)
    assert too_large.records == []
    assert reasons(too_large) == [Reason.PAYLOAD_TOO_LARGE]
    assert str(len(payload)) in too_large.rejections[0].detail


@pytest.mark.parametrize(
    "payload",
    [b"", b"{", b'{"ts": 1,}', b"metrics=1", b"\x89PNG", b'{"ts": "\xff\xfe\xfa"}', b"\xc3\x28"],
)
@pytest.mark.parametrize("topic", [TELEMETRY, EVENT])
def test_malformed_json_or_utf8_is_refused(topic: str, payload: bytes) -> None:
    decoded = decode_message(topic, payload, NOW_MS)
    assert decoded.records == []
    assert reasons(decoded) == [Reason.MALFORMED_JSON]


def test_deeply_nested_json_is_refused_not_raised() -> None:
    payload = b"[" * 100_000  # well under the 256 KiB payload limit
    decoded = decode_message(TELEMETRY, payload, NOW_MS)
    assert reasons(decoded) == [Reason.MALFORMED_JSON]


BIG = "1" + "0" * 400  # an integer JSON accepts but a float cannot hold


def test_huge_integer_metric_is_refused_not_raised() -> None:
    payload = f'{{"ts": {NOW_MS}, "metrics": {{"pressure_bar": {BIG}, "flow_m3_h": 1}}}}'
    decoded = decode_message(TELEMETRY, payload.encode(), NOW_MS)
    assert only_valid_metrics(decoded) == {"flow_m3_h": 1.0}
    assert reasons(decoded) in ([Reason.NON_FINITE], [Reason.OUT_OF_RANGE])


def test_huge_integer_timestamp_is_refused_not_raised() -> None:
    payload = f'[{{"ts": {BIG}, "metrics": {{"pressure_bar": 1}}}}, {json.dumps(reading())}]'
    decoded = decode_message(TELEMETRY, payload.encode(), NOW_MS)
    assert len(decoded.records) == 1
    assert reasons(decoded) == [Reason.FUTURE_TIMESTAMP]


def test_huge_integer_event_attribute_is_refused_not_raised() -> None:
    payload = f'{{"ts": {NOW_MS}, "type": "dry_run", "litres": {BIG}}}'
    decoded = decode_message(EVENT, payload.encode(), NOW_MS)
    assert decoded.records == []
    assert len(decoded.rejections) == 1


@pytest.mark.parametrize("topic", [TELEMETRY, EVENT])
def test_empty_batch_is_refused(topic: str) -> None:
    decoded = decode(topic, [])
    assert reasons(decoded) == [Reason.INVALID_SCHEMA]


@pytest.mark.parametrize(
    ("channel", "body"),
    [
        pytest.param("event", '{"type": "x", "note": "\\ud800"}', id="attr"),
        pytest.param("event", '{"type": "x", "\\ud800": 1}', id="attr-name"),
        pytest.param("event", '{"type": "x", "note": ["\\ud800"]}', id="nested-attr"),
        pytest.param("event", '{"type": "\\ud800"}', id="type"),
        pytest.param("telemetry", '{"metrics": {"\\ud800": 1}}', id="name"),
        pytest.param("telemetry", '{"metrics": {"a": "\\ud800"}}', id="value"),
    ],
)
def test_lone_surrogate_escapes_never_reach_utf8_output(channel: str, body: str) -> None:
    # JSON can escape an unpaired UTF-16 surrogate; UTF-8 (InfluxDB, spool, SQLite) cannot
    # carry one, so it must be refused or made visible, never passed on raw.
    item = json.loads(body)
    item["ts"] = NOW_MS
    topic = f"facmon/tower-a/pump/p1/{channel}"
    payload = json.dumps(item).encode()
    decoded = decode_message(topic, payload, NOW_MS)
    assert decoded.records or decoded.rejections
    for line in encode_lines(decoded.records):
        line.encode("utf-8")
    for rejection in decoded.rejections:
        letter = DeadLetter.of(NOW_MS, topic, rejection.reason, rejection.detail, payload)
        letter.detail.encode("utf-8")


# --- events -----------------------------------------------------------------------------------


def only_event(decoded: Decoded) -> Event:
    assert decoded.rejections == []
    assert len(decoded.records) == 1
    record = decoded.records[0]
    assert isinstance(record, Event)
    return record


def test_event_attributes_are_numbers_text_or_json_text() -> None:
    body = {
        "ts": NOW_MS,
        "type": "door_forced",
        "floor": 3,
        "pressure": 2.5,
        "confirmed": True,
        "note": 'gate "B" \\ north',
        "nothing": None,
        "zones": [1, 2],
        "details": {"by": "badge", "ids": [7]},
    }
    event = only_event(decode(EVENT, body))
    assert event == Event(
        PUMP,
        NOW_MS,
        "door_forced",
        {
            "floor": 3.0,
            "pressure": 2.5,
            "confirmed": 1.0,
            "note": 'gate "B" \\ north',
            "nothing": "null",
            "zones": "[1,2]",
            "details": '{"by":"badge","ids":[7]}',
        },
    )
    assert json.loads(str(event.attributes["details"])) == body["details"]


def test_event_without_attributes_and_rfc3339_time() -> None:
    event = only_event(
        decode(EVENT, {"ts": "2023-11-14T22:13:20Z", "type": "x"}, received_ms=epoch_ms(MOMENT))
    )
    assert (event.ts_ms, event.type, event.attributes) == (epoch_ms(MOMENT), "x", {})


@pytest.mark.parametrize(
    "event_type", [None, 3, "", "DoorForced", "door-forced", "9lives", "a" * 65]
)
def test_event_type_is_validated(event_type: Any) -> None:
    body: dict[str, Any] = {"ts": NOW_MS, "floor": 1}
    if event_type is not None:
        body["type"] = event_type
    decoded = decode(EVENT, body)
    assert decoded.records == []
    assert reasons(decoded) == [Reason.INVALID_SCHEMA]
    assert "type" in decoded.rejections[0].detail


@pytest.mark.parametrize("name", ["count", "time", "bad-name", "with space", "0zone", "x" * 65])
def test_event_with_a_bad_attribute_name_is_refused(name: str) -> None:
    decoded = decode(EVENT, {"ts": NOW_MS, "type": "dry_run", name: 1})
    assert decoded.records == []
    assert reasons(decoded) == [Reason.INVALID_NAME]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_event_with_a_non_finite_attribute_is_refused(literal: str) -> None:
    payload = f'{{"ts": {NOW_MS}, "type": "dry_run", "litres": {literal}}}'.encode()
    assert reasons(decode(EVENT, payload)) == [Reason.NON_FINITE]


def test_text_attribute_length_limit() -> None:
    at_limit = "x" * MAX_TEXT_ATTRIBUTE
    event = only_event(decode(EVENT, {"ts": NOW_MS, "type": "note", "text": at_limit}))
    assert event.attributes == {"text": at_limit}
    too_long = decode(EVENT, {"ts": NOW_MS, "type": "note", "text": at_limit + "x"})
    assert reasons(too_long) == [Reason.INVALID_SCHEMA]
    nested = decode(EVENT, {"ts": NOW_MS, "type": "note", "list": list(range(MAX_TEXT_ATTRIBUTE))})
    assert reasons(nested) == [Reason.INVALID_SCHEMA]


def test_one_bad_event_does_not_reject_its_neighbours() -> None:
    batch = [
        {"ts": NOW_MS - 2, "type": "door_forced"},
        {"ts": NOW_MS - 1, "type": "Bad Type"},
        {"type": "no_ts"},
        {"ts": NOW_MS, "type": "entrapment", "car": 2},
    ]
    decoded = decode(EVENT, batch)
    assert [(e.ts_ms, e.type) for e in decoded.records if isinstance(e, Event)] == [
        (NOW_MS - 2, "door_forced"),
        (NOW_MS, "entrapment"),
    ]
    assert reasons(decoded) == [Reason.INVALID_SCHEMA, Reason.INVALID_SCHEMA]


def test_event_timestamp_rules_match_telemetry() -> None:
    assert reasons(decode(EVENT, {"ts": NOW_MS // 1000, "type": "x"})) == [Reason.INVALID_TIMESTAMP]
    assert reasons(decode(EVENT, {"ts": NOW_MS + 3_600_000, "type": "x"})) == [
        Reason.FUTURE_TIMESTAMP
    ]


# --- status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "online"), [(b"online", True), (b"offline", False), (b" online\n", True)]
)
def test_status_online_and_offline(payload: bytes, online: bool) -> None:
    decoded = decode_message(STATUS, payload, NOW_MS)
    assert decoded.rejections == []
    assert decoded.records == [StatusChange(PUMP, NOW_MS, online)]


@pytest.mark.parametrize(
    "payload", [b"  ", b"Online", b"on", b"true", b'{"online": true}', b"\xff\xfe", b"online!"]
)
def test_status_garbage_is_refused(payload: bytes) -> None:
    decoded = decode_message(STATUS, payload, NOW_MS)
    assert decoded.records == []
    assert reasons(decoded) == [Reason.INVALID_SCHEMA]


def test_empty_status_clears_a_retained_status_and_stores_nothing() -> None:
    decoded = decode_message(STATUS, b"", NOW_MS)
    assert decoded.records == []
    assert decoded.rejections == []


# --- properties -------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
CATALOGUE_NAMES = sorted({name for specs in CATALOGUE.values() for name in specs})
metric_names = st.sampled_from(CATALOGUE_NAMES) | st.text(max_size=8)
timestamps = st.one_of(
    st.integers(NOW_MS - 10**9, NOW_MS + 10**9),
    st.integers(-(2**63), 2**63),
    st.datetimes(timezones=st.none() | st.timezones()).map(datetime.isoformat),
    json_values,
)
reading_like = st.fixed_dictionaries(
    {"ts": timestamps, "metrics": st.dictionaries(metric_names, json_values, max_size=5)}
)
event_like = st.fixed_dictionaries(
    {"ts": timestamps, "type": st.sampled_from(["door_forced", "Bad"]) | st.text(max_size=5)},
    optional={"note": json_values, "count": json_values, "x y": json_values},
)
items = json_values | reading_like | event_like
bodies = items | st.lists(items, min_size=1, max_size=5)
topics = st.sampled_from([TELEMETRY, EVENT, STATUS, "facmon/x/boiler/y/telemetry", "bad"])


def assert_nothing_vanished(topic: str, payload: bytes, decoded: Decoded) -> None:
    assert decoded.records or decoded.rejections
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):
        return
    if topic in (TELEMETRY, EVENT) and isinstance(body, list):
        # Each element yields a record or at least one rejection.
        assert len(decoded.records) + len(decoded.rejections) >= len(body)
    if topic == STATUS:
        assert len(decoded.records) + len(decoded.rejections) == 1


def is_empty_array(payload: bytes) -> bool:
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):
        return False
    return isinstance(body, list) and not body


@given(topic=topics, payload=st.binary(max_size=300))
def test_any_bytes_are_decoded_or_refused(topic: str, payload: bytes) -> None:
    assume(not is_empty_array(payload))  # see test_empty_batch_is_refused
    assume(payload or not topic.endswith("/status"))  # see test_empty_status_clears_...
    decoded = decode_message(topic, payload, NOW_MS)
    assert_nothing_vanished(topic, payload, decoded)


@given(topic=topics, body=bodies)
def test_any_json_is_decoded_or_refused(topic: str, body: Any) -> None:
    assume(body != [])  # see test_empty_batch_is_refused
    payload = json.dumps(body).encode()
    decoded = decode_message(topic, payload, NOW_MS)
    assert_nothing_vanished(topic, payload, decoded)
    for record in decoded.records:
        assert record.source.site == "tower-a"
        if isinstance(record, Reading):
            assert record.metrics
            assert all(math.isfinite(v) for v in record.metrics.values())


@given(item=reading_like)
def test_every_metric_of_an_accepted_reading_is_stored_or_refused(item: dict[str, Any]) -> None:
    decoded = decode(TELEMETRY, item)
    if not decoded.records:
        assert decoded.rejections
        return
    [record] = decoded.records
    assert isinstance(record, Reading)
    sent = item["metrics"]
    assert set(record.metrics) <= set(sent)
    assert len(record.metrics) + len(decoded.rejections) == len(sent)


@given(topic=st.sampled_from([TELEMETRY, EVENT]), batch=st.lists(items, min_size=1, max_size=5))
def test_batch_outcome_is_the_sum_of_its_elements_alone(topic: str, batch: list[Any]) -> None:
    together = decode(topic, batch)
    alone = [decode(topic, [item]) for item in batch]
    assert together.records == [r for d in alone for r in d.records]
    assert reasons(together) == [r for d in alone for r in reasons(d)]
    assert together.uncatalogued == set().union(*(d.uncatalogued for d in alone))


def valid_metric(kind: EquipmentKind) -> st.SearchStrategy[tuple[str, Any]]:
    """A (name, JSON value) pair the decoder must accept for this kind."""
    catalogued = st.sampled_from(sorted(CATALOGUE[kind].values(), key=lambda s: s.name)).flatmap(
        lambda spec: st.tuples(
            st.just(spec.name),
            st.booleans()
            if spec.maximum == 1 and spec.minimum == 0
            else st.floats(spec.minimum, spec.maximum)
            | st.integers(math.ceil(spec.minimum), math.floor(spec.maximum)),
        )
    )
    extra_name = st.from_regex(METRIC_NAME, fullmatch=True).filter(
        lambda n: n != "time" and n not in CATALOGUE[kind]
    )
    extra = st.tuples(extra_name, st.floats(allow_nan=False, allow_infinity=False) | st.booleans())
    return catalogued | extra


@st.composite
def valid_batches(draw: st.DrawFn) -> tuple[EquipmentKind, list[dict[str, Any]]]:
    kind = draw(st.sampled_from(list(EquipmentKind)))
    batch = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "ts": st.integers(POLICY.earliest_ts_ms, NOW_MS + POLICY.max_future_skew_ms),
                    "metrics": st.lists(valid_metric(kind), min_size=1, max_size=6).map(dict),
                }
            ),
            min_size=1,
            max_size=8,
        )
    )
    return kind, batch


@given(valid_batches())
def test_every_valid_metric_round_trips_into_the_reading(
    case: tuple[EquipmentKind, list[dict[str, Any]]],
) -> None:
    kind, batch = case
    decoded = decode(f"facmon/tower-a/{kind.value}/d1/telemetry", batch)
    assert decoded.rejections == []
    assert [(r.ts_ms, r.metrics) for r in decoded.records if isinstance(r, Reading)] == [
        (item["ts"], {name: float(value) for name, value in item["metrics"].items()})
        for item in batch
    ]
    sent = {name for item in batch for name in item["metrics"]}
    assert decoded.uncatalogued == sent - set(CATALOGUE[kind])


def test_rejection_reasons_are_counted_per_code() -> None:
    # Reason values are stable codes used as metric labels and stored in dead letters.
    decoded = decode(TELEMETRY, [reading(pressure_bar="x"), reading(flow_m3_h="y"), 1])
    assert Counter(r.reason.value for r in decoded.rejections) == {
        "wrong_type": 2,
        "invalid_schema": 1,
    }


class _BrokenBytes(bytes):
    """A payload whose length cannot be read: stands in for any bug inside the decoder."""

    def __len__(self) -> int:
        raise RuntimeError("boom")


def test_a_failure_inside_the_decoder_is_refused_as_internal_error_not_raised() -> None:
    decoded = decode_message(TELEMETRY, _BrokenBytes(b"{}"), NOW_MS)
    assert decoded.records == []
    assert reasons(decoded) == [Reason.INTERNAL_ERROR]
    assert "RuntimeError: boom" in decoded.rejections[0].detail


@pytest.mark.parametrize("name", ["time", "site", "device"])
def test_metric_names_that_would_clash_with_the_schema_are_refused(name: str) -> None:
    payload = json.dumps({"ts": NOW_MS, "metrics": {name: 1.0, "flow_m3_h": 2.0}}).encode()
    decoded = decode_message(TELEMETRY, payload, NOW_MS)
    assert reasons(decoded) == [Reason.INVALID_NAME]
    assert decoded.records == [Reading(PUMP, NOW_MS, {"flow_m3_h": 2.0})]


@pytest.mark.parametrize("name", ["time", "count", "site", "device", "kind"])
def test_event_attribute_names_that_would_clash_with_the_schema_are_refused(name: str) -> None:
    body = {"ts": NOW_MS, "type": "door_forced", name: 1}
    decoded = decode_message(EVENT, json.dumps(body).encode(), NOW_MS)
    assert decoded.records == []
    assert reasons(decoded) == [Reason.INVALID_NAME]


# --- hostile values the contract names a reason for (issue 13, point 4) ------------------------

DEEP = "[" * 1000 + "]" * 1000
HUGE = "9" * 5000


def test_metric_nested_1000_deep_is_wrong_type_and_its_siblings_are_stored() -> None:
    payload = f'{{"ts": {NOW_MS}, "metrics": {{"a": {DEEP}, "pressure_bar": 1.5}}}}'
    decoded = decode_message(TELEMETRY, payload.encode(), NOW_MS)
    assert only_valid_metrics(decoded) == {"pressure_bar": 1.5}
    assert reasons(decoded) == [Reason.WRONG_TYPE]
    assert "metrics.a" in decoded.rejections[0].detail


def test_event_attribute_nested_1000_deep_is_invalid_schema() -> None:
    payload = f'{{"ts": {NOW_MS}, "type": "dry_run", "a": {DEEP}}}'
    decoded = decode_message(EVENT, payload.encode(), NOW_MS)
    assert decoded.records == []
    assert reasons(decoded) == [Reason.INVALID_SCHEMA]


def test_timestamp_nested_1000_deep_is_invalid_timestamp() -> None:
    payload = f'{{"ts": {DEEP}, "metrics": {{"pressure_bar": 1.5}}}}'
    assert reasons(decode_message(TELEMETRY, payload.encode(), NOW_MS)) == [
        Reason.INVALID_TIMESTAMP
    ]


@pytest.mark.parametrize("sign", ["", "-"])
def test_5000_digit_metric_is_non_finite_and_its_siblings_are_stored(sign: str) -> None:
    payload = f'{{"ts": {NOW_MS}, "metrics": {{"a": {sign}{HUGE}, "pressure_bar": 1.5}}}}'
    decoded = decode_message(TELEMETRY, payload.encode(), NOW_MS)
    assert only_valid_metrics(decoded) == {"pressure_bar": 1.5}
    assert reasons(decoded) == [Reason.NON_FINITE]
    assert f"metrics.a is {sign}9999" in decoded.rejections[0].detail


def test_5000_digit_event_attribute_is_non_finite() -> None:
    payload = f'{{"ts": {NOW_MS}, "type": "dry_run", "litres": {HUGE}}}'
    decoded = decode_message(EVENT, payload.encode(), NOW_MS)
    assert decoded.records == []
    assert reasons(decoded) == [Reason.NON_FINITE]


@pytest.mark.parametrize("ts", [str(2**64), str(2**64 + 1), str(10**30), HUGE])
def test_timestamp_of_64_bits_or_more_is_future(ts: str) -> None:
    payload = f'[{{"ts": {ts}, "metrics": {{"pressure_bar": 1}}}}, {json.dumps(reading())}]'
    decoded = decode_message(TELEMETRY, payload.encode(), NOW_MS)
    assert len(decoded.records) == 1
    assert reasons(decoded) == [Reason.FUTURE_TIMESTAMP]


@pytest.mark.parametrize("ts", [str(-(2**64)), "-" + HUGE])
def test_negative_timestamp_of_64_bits_or_more_is_invalid(ts: str) -> None:
    payload = f'{{"ts": {ts}, "metrics": {{"pressure_bar": 1}}}}'
    assert reasons(decode_message(TELEMETRY, payload.encode(), NOW_MS)) == [
        Reason.INVALID_TIMESTAMP
    ]
