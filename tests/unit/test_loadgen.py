"""The load generator's pure parts: MQTT framing, pacing, planning and the messages it makes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facility import CATALOGUE, NAME_PATTERN, EquipmentKind
from simulators.loadgen import (
    CONNACK,
    DEFAULT_RECEIVE_MAXIMUM,
    MAX_VARINT,
    PUBACK,
    Pacer,
    PacketReader,
    ProtocolError,
    PublisherSpec,
    TelemetryFactory,
    connect_packet,
    decode_varint,
    encode_string,
    encode_varint,
    parse_connack,
    parse_puback,
    plan_publishers,
    publish_packet,
)


def read_varint(data: bytes, offset: int) -> tuple[int, int]:
    """An independent decoder (MQTT v5 section 1.5.5), to check the encoder against."""
    multiplier, value = 1, 0
    while True:
        byte = data[offset]
        offset += 1
        value += (byte & 127) * multiplier
        multiplier *= 128
        if byte < 128:
            return value, offset


def read_publish(packet: bytes) -> tuple[int, str, int, bytes]:
    """(first byte, topic, packet id, payload) of a PUBLISH without properties."""
    remaining, offset = read_varint(packet, 1)
    assert len(packet) - offset == remaining, "remaining length must cover the rest exactly"
    topic_length = int.from_bytes(packet[offset : offset + 2], "big")
    topic = packet[offset + 2 : offset + 2 + topic_length].decode()
    offset += 2 + topic_length
    packet_id = int.from_bytes(packet[offset : offset + 2], "big")
    assert packet[offset + 2] == 0, "properties length"
    return packet[0], topic, packet_id, packet[offset + 3 :]


# MQTT v5 section 1.5.5: the boundaries where the encoding grows a byte.
@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "00"),
        (127, "7f"),
        (128, "8001"),
        (16_383, "ff7f"),
        (16_384, "808001"),
        (2_097_151, "ffff7f"),
        (2_097_152, "80808001"),
        (MAX_VARINT, "ffffff7f"),
    ],
)
def test_varint_matches_the_specification_at_its_boundaries(value: int, encoded: str) -> None:
    assert encode_varint(value).hex() == encoded
    assert decode_varint(bytes.fromhex(encoded)) == (value, len(encoded) // 2)


@given(st.integers(0, MAX_VARINT), st.binary(max_size=3))
def test_varint_round_trips_and_reports_where_it_ends(value: int, prefix: bytes) -> None:
    encoded = encode_varint(value)
    assert decode_varint(prefix + encoded + b"\xff", len(prefix)) == (
        value,
        len(prefix) + len(encoded),
    )
    assert read_varint(encoded, 0) == (value, len(encoded))


@pytest.mark.parametrize("value", [-1, MAX_VARINT + 1])
def test_varint_refuses_values_mqtt_cannot_carry(value: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        encode_varint(value)


def test_varint_cut_short_is_incomplete_and_five_bytes_are_an_error() -> None:
    assert decode_varint(bytes.fromhex("8080")) is None
    with pytest.raises(ProtocolError):
        decode_varint(bytes.fromhex("8080808001"))


@given(
    topic=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=80),
    packet_id=st.integers(1, 65535),
    payload_size=st.sampled_from([0, 1, 110, 120, 127, 16_370, 16_380, 20_000]),
)
def test_publish_packet_decodes_back_to_its_parts(
    topic: str, packet_id: int, payload_size: int
) -> None:
    payload = bytes(range(256)) * (payload_size // 256) + bytes(payload_size % 256)
    packet = publish_packet(encode_string(topic), packet_id, payload)
    first_byte, decoded_topic, decoded_id, decoded_payload = read_publish(packet)
    assert first_byte == 0x32  # PUBLISH, QoS 1, no DUP, no RETAIN
    assert (decoded_topic, decoded_id, decoded_payload) == (topic, packet_id, payload)


def test_connect_packet_asks_for_mqtt5_clean_start_and_carries_credentials() -> None:
    packet = connect_packet("gen-1", keepalive_s=60, username="dev", password="s3cret")
    remaining, offset = read_varint(packet, 1)
    body = packet[offset:]
    assert packet[0] == 0x10 and len(body) == remaining
    assert body[:7] == b"\x00\x04MQTT\x05"
    assert body[7] == 0x80 | 0x40 | 0x02  # username, password, clean start
    assert int.from_bytes(body[8:10], "big") == 60
    assert body[10] == 0  # no properties: session expiry 0
    assert body[11:] == encode_string("gen-1") + encode_string("dev") + encode_string("s3cret")


def test_connack_yields_receive_maximum_among_other_properties() -> None:
    properties = (
        b"\x22\x00\x0a"  # topic alias maximum 10
        + b"\x12"
        + encode_string("assigned-id")
        + b"\x26"
        + encode_string("k")
        + encode_string("v")  # user property
        + b"\x21\x00\x14"  # receive maximum 20
        + b"\x13\x00\x1e"  # server keep alive 30
    )
    connack = parse_connack(b"\x01\x00" + encode_varint(len(properties)) + properties)
    assert connack.session_present
    assert connack.reason_code == 0
    assert connack.receive_maximum == 20
    assert connack.server_keepalive_s == 30


def test_connack_without_receive_maximum_means_65535() -> None:
    assert parse_connack(b"\x00\x00\x00").receive_maximum == DEFAULT_RECEIVE_MAXIMUM == 65535
    assert parse_connack(b"\x00\x87\x00").reason_code == 0x87


def test_connack_with_an_unknown_property_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="0x7e"):
        parse_connack(b"\x00\x00\x02\x7e\x00")


def test_puback_short_form_means_success_and_long_form_carries_the_reason() -> None:
    assert parse_puback(b"\x12\x34") == (0x1234, 0)
    assert parse_puback(b"\x00\x07\x10\x00") == (7, 0x10)
    with pytest.raises(ProtocolError):
        parse_puback(b"\x01")


@given(cuts=st.lists(st.integers(0, 200), max_size=6))
def test_packet_reader_reassembles_packets_however_the_stream_is_cut(cuts: list[int]) -> None:
    big_body = b"\x00\x05" + bytes(300)  # remaining length needs two bytes
    stream = b"\x20\x03\x00\x00\x00" + b"\x40\x02\x00\x05" + b"\x40" + encode_varint(302)
    stream += big_body + b"\x40\x03\x00\x06\x10"
    reader = PacketReader()
    packets = []
    start = 0
    for cut in [*sorted({min(c, len(stream)) for c in cuts}), len(stream)]:
        packets += reader.feed(stream[start:cut])
        start = cut
    assert packets == [
        (CONNACK, b"\x00\x00\x00"),
        (PUBACK, b"\x00\x05"),
        (PUBACK, big_body),
        (PUBACK, b"\x00\x06\x10"),
    ]


def decoded(payload: bytes) -> list[dict[str, object]]:
    body = json.loads(payload)
    return body if isinstance(body, list) else [body]


def test_messages_follow_the_contract_with_plausible_pump_metrics() -> None:
    factory = TelemetryFactory("tower-a", "g0-", devices=3, seed=4)
    pump = CATALOGUE[EquipmentKind.PUMP]
    for n in range(300):
        topic_field, payload = factory.next_message(1_800_000_000_000 + n)
        topic = topic_field[2:].decode()
        _, site, kind, device, channel = topic.split("/")
        assert (site, kind, channel) == ("tower-a", "pump", "telemetry")
        assert NAME_PATTERN.fullmatch(device)
        (reading,) = decoded(payload)
        metrics = reading["metrics"]
        assert isinstance(metrics, dict)
        assert "running" in metrics and set(metrics) <= set(pump)
        assert all(pump[name].admits(float(value)) for name, value in metrics.items())


def test_device_and_timestamp_never_repeat_even_when_the_clock_stands_still() -> None:
    factories = [TelemetryFactory("s", f"p{i}-", devices=7, batch=3) for i in range(2)]
    keys: list[tuple[str, int]] = []
    last_ts: dict[str, int] = {}
    for now_ms in (1_800_000_000_000,) * 50 + (1_800_000_000_001,) * 50:
        for factory in factories:
            topic_field, payload = factory.next_message(now_ms)
            device = topic_field[2:].decode().split("/")[3]
            stamps = [int(str(r["ts"])) for r in decoded(payload)]
            assert stamps == sorted(set(stamps)) and len(stamps) == 3
            assert stamps[0] > last_ts.get(device, 0), "a device's time only moves forward"
            last_ts[device] = stamps[-1]
            keys += [(device, ts) for ts in stamps]
    assert len(keys) == len(set(keys)) == 2 * 100 * 3


def test_a_batch_ends_at_the_publish_time_when_the_clock_moves_on() -> None:
    factory = TelemetryFactory("s", "p-", devices=2, batch=100, interval_ms=10)
    now_ms = 1_800_000_000_000
    for _ in range(10):
        now_ms += 5000
        _, payload = factory.next_message(now_ms)
        stamps = [int(str(r["ts"])) for r in decoded(payload)]
        assert stamps[-1] == now_ms
        assert stamps == [now_ms - 10 * (99 - k) for k in range(100)]


def test_factory_refuses_names_that_break_the_topic_contract() -> None:
    with pytest.raises(ValueError, match="must match"):
        TelemetryFactory("tower a", "p-", devices=1)


def test_pacer_releases_rate_per_second_and_saves_up_only_a_short_burst() -> None:
    pacer = Pacer(1000.0, now=0.0, burst_s=0.25)
    sent = 0
    for step in range(1, 1001):  # one second in 1 ms steps, spending everything due
        due = pacer.available(step / 1000)
        pacer.spend(due)
        sent += due
    assert 995 <= sent <= 1000
    assert pacer.available(60.0) == 250  # a minute's stall releases a quarter second's worth


def test_pacer_without_rate_never_holds_back() -> None:
    pacer = Pacer(None, now=0.0)
    pacer.spend(10**9)
    assert pacer.available(0.0) >= 10**9


def test_plan_splits_messages_and_rate_with_distinct_clients_and_devices() -> None:
    template = PublisherSpec("", 0, "gen", 0, None, "site", "p")
    plan = plan_publishers("mqtt://broker.local", 3, 1001, 900.0, template)
    assert sum(p.messages for p in plan) == 1001
    assert sorted(p.messages for p in plan) == [333, 334, 334]
    assert [p.rate for p in plan] == [300.0] * 3
    assert len({p.client_id for p in plan}) == len({p.device_prefix for p in plan}) == 3
    assert {(p.host, p.port) for p in plan} == {("broker.local", 1883)}


def test_plan_refuses_urls_the_plain_socket_client_cannot_serve() -> None:
    template = PublisherSpec("", 0, "gen", 0, None, "site", "p")
    with pytest.raises(ValueError, match="plain mqtt"):
        plan_publishers("mqtts://broker:8883", 1, 10, None, template)
