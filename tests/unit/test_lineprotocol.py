"""Line protocol: the exact lines InfluxDB receives, escaping, and float precision."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facility import DeviceRef, EquipmentKind, Event, Reading, Record, StatusChange
from ingest.codec import METRIC_NAME
from ingest.lineprotocol import (
    EVENT_MEASUREMENT,
    STATUS_MEASUREMENT,
    encode_lines,
    encode_record,
    escape_key,
    field_value,
    float_texts,
)

TS = 1_700_000_000_123
PUMP = DeviceRef("tower-a", EquipmentKind.PUMP, "p1")
GATE = DeviceRef("site_2", EquipmentKind.ACCESS_GATE, "gate-7")


def test_schema_names() -> None:
    assert (EVENT_MEASUREMENT, STATUS_MEASUREMENT) == ("event", "device_status")


def test_reading_line() -> None:
    record = Reading(PUMP, TS, {"pressure_bar": 3.5, "running": 1.0, "flow_m3_h": 120.0})
    assert encode_record(record) == (
        "pump,site=tower-a,device=p1 pressure_bar=3.5,running=1.0,flow_m3_h=120.0 1700000000123"
    )


def test_measurement_is_the_equipment_kind() -> None:
    line = encode_record(Reading(GATE, TS, {"opens": 12.0}))
    assert line == "access_gate,site=site_2,device=gate-7 opens=12.0 1700000000123"


def test_event_line_has_kind_and_type_tags_and_a_count_field() -> None:
    record = Event(PUMP, TS, "dry_run", {"litres": 2.5, "note": "seal"})
    assert encode_record(record) == (
        "event,site=tower-a,device=p1,kind=pump,type=dry_run"
        ' count=1.0,litres=2.5,note="seal" 1700000000123'
    )


def test_event_without_attributes_still_has_a_field() -> None:
    assert encode_record(Event(GATE, TS, "door_forced", {})) == (
        "event,site=site_2,device=gate-7,kind=access_gate,type=door_forced count=1.0 1700000000123"
    )


@pytest.mark.parametrize(("online", "text"), [(True, "true"), (False, "false")])
def test_status_line(online: bool, text: str) -> None:
    assert encode_record(StatusChange(PUMP, TS, online)) == (
        f"device_status,site=tower-a,device=p1,kind=pump online={text} 1700000000123"
    )


def test_encode_lines_keeps_order() -> None:
    records: list[Record] = [
        StatusChange(PUMP, 1, True),
        Reading(PUMP, 2, {"pressure_bar": 1.0}),
        Event(PUMP, 3, "dry_run", {}),
    ]
    lines = encode_lines(records)
    assert lines == [encode_record(r) for r in records]
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain_name", "plain_name"),
        ("zone 3", r"zone\ 3"),
        ("a,b", r"a\,b"),
        ("a=b", r"a\=b"),
        ("zone 3,a=b", r"zone\ 3\,a\=b"),
        ("  ", r"\ \ "),
    ],
)
def test_escape_key(raw: str, escaped: str) -> None:
    assert escape_key(raw) == escaped


def test_keys_and_tag_values_are_escaped_in_lines() -> None:
    # The codec never lets these through, but the encoder must not depend on that.
    odd = DeviceRef("tower a", EquipmentKind.PUMP, "p=1,b")
    line = encode_record(Reading(odd, TS, {"flow rate,x=y": 1.0}))
    assert line == r"pump,site=tower\ a,device=p\=1\,b flow\ rate\,x\=y=1.0 1700000000123"


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ('say "hi"', r'"say \"hi\""'),
        ("C:\\temp", r'"C:\\temp"'),
        ('end\\"', r'"end\\\""'),
        ("comma, equals= space", '"comma, equals= space"'),  # no key escaping inside quotes
        ("", '""'),
    ],
)
def test_string_field_values_are_quoted_and_escaped(text: str, quoted: str) -> None:
    assert field_value(text) == quoted
    line = encode_record(Event(PUMP, TS, "note", {"text": text}))
    assert f",text={quoted} " in line


def unquote(value: str) -> str:
    """Undo string-field escaping the way InfluxDB does (backslash escapes the next char)."""
    assert value.startswith('"')
    assert value.endswith('"')
    out, chars = [], iter(value[1:-1])
    for char in chars:
        if char == "\\":
            char = next(chars)
            assert char in '\\"', "only backslash and quote are escaped"
        else:
            assert char != '"', "an unescaped quote would end the string early"
        out.append(char)
    return "".join(out)


@given(st.text())
def test_string_field_values_round_trip(text: str) -> None:
    assert unquote(field_value(text)) == text


finite_floats = st.floats(allow_nan=False, allow_infinity=False)
metric_names = st.from_regex(METRIC_NAME, fullmatch=True)


@given(finite_floats)
def test_floats_keep_full_precision(value: float) -> None:
    text = field_value(value)
    assert float(text) == value
    assert math.copysign(1.0, float(text)) == math.copysign(1.0, value)
    assert not text.endswith("i")  # an integer field would clash with earlier float writes


@given(st.lists(finite_floats, max_size=50))
def test_bulk_float_texts_keep_full_precision_and_stay_floats(values: list[float]) -> None:
    texts = float_texts(values)
    assert len(texts) == len(values)
    for text, value in zip(texts, values, strict=True):
        assert float(text) == value
        assert math.copysign(1.0, float(text)) == math.copysign(1.0, value)
        assert "." in text or "e" in text  # never an integer literal (12 and 12i differ)


@given(st.lists(st.dictionaries(metric_names, finite_floats, min_size=1, max_size=6), max_size=8))
def test_lines_of_many_readings_match_their_single_lines(batch: list[dict[str, float]]) -> None:
    """encode_lines formats all values in one call and slices them back per reading."""
    records: list[Record] = []
    for index, metrics in enumerate(batch):
        records.append(Reading(PUMP, TS + index, metrics))
        records.append(Event(PUMP, TS + index, "note", {"value": 0.1}))
    assert encode_lines(records) == [encode_record(r) for r in records]
    for line, metrics in zip(encode_lines(records)[::2], batch, strict=True):
        fields = (field.split("=") for field in line.split(" ")[1].split(","))
        assert {key: float(value) for key, value in fields} == metrics


@given(st.integers(-(2**53), 2**53))
def test_whole_numbers_are_written_as_floats(value: int) -> None:
    text = field_value(float(value))
    assert "." in text or "e" in text
    assert float(text) == value


@given(st.dictionaries(metric_names, finite_floats, min_size=1, max_size=10))
def test_reading_fields_parse_back_to_the_metrics(metrics: dict[str, float]) -> None:
    measurement_and_tags, fields, ts = encode_record(Reading(PUMP, TS, metrics)).split(" ")
    assert measurement_and_tags == "pump,site=tower-a,device=p1"
    assert int(ts) == TS
    parsed = {key: float(value) for key, value in (f.split("=") for f in fields.split(","))}
    assert parsed == metrics
