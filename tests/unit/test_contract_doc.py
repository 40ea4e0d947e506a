"""docs/mqtt-contract.md against the code, so the integrators' contract cannot drift.

The metric tables must equal the catalogue, every refusal example must produce the quoted
detail, every accepted example must decode cleanly, and the stated limits and storage
examples must be what ingest really does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from facility import CATALOGUE, NAME_PATTERN, Channel, EquipmentKind, MetricType
from ingest import DecodePolicy, IngestOptions, Reason, decode_message, encode_record
from ingest.extras import refuse_beyond_cap

DOC = Path(__file__).resolve().parents[2] / "docs" / "mqtt-contract.md"

# The receive time the document's examples assume: 2024-05-01T12:00:05Z.
RECEIVED_MS = 1_714_564_805_000


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _section(heading: str, level: int = 2) -> str:
    """The body of a heading, up to the next heading of the same or a higher level."""
    text = _text()
    start = re.search(rf"^{'#' * level} {re.escape(heading)}\s*$", text, re.MULTILINE)
    assert start is not None, f"mqtt-contract.md has no heading {heading!r}"
    rest = text[start.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def _subsections(body: str) -> dict[str, str]:
    """`### name` (backticks optional) to the text below it."""
    parts = re.split(r"^### `?([^`\n]+?)`?\s*$", body, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def _table(body: str) -> list[dict[str, str]]:
    """The first markdown table in body, as rows keyed by header; a cell that is one code span
    is unwrapped (`pump` becomes pump)."""
    lines = [line.strip() for line in body.splitlines() if line.strip().startswith("|")]
    assert len(lines) >= 2, "expected a markdown table"

    def cells(line: str) -> list[str]:
        stripped = [cell.strip() for cell in line.strip("|").split("|")]
        return [c[1:-1] if re.fullmatch(r"`[^`]*`", c) else c for c in stripped]

    header = cells(lines[0])
    return [dict(zip(header, cells(line), strict=True)) for line in lines[2:]]


def _fenced(body: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", body, flags=re.MULTILINE | re.DOTALL)


# --- metric catalogue -------------------------------------------------------------------------


def _documented_catalogue() -> dict[str, list[dict[str, str]]]:
    return {kind: _table(body) for kind, body in _subsections(_section("Metric catalogue")).items()}


def test_catalogue_tables_cover_every_kind_and_no_other() -> None:
    assert set(_documented_catalogue()) == {kind.value for kind in EquipmentKind}


@pytest.mark.parametrize("kind", list(EquipmentKind), ids=str)
def test_catalogue_table_matches_code(kind: EquipmentKind) -> None:
    rows = _documented_catalogue()[kind.value]
    documented = [row["Metric"] for row in rows]
    assert sorted(documented) == sorted(CATALOGUE[kind]), "metrics differ"
    assert len(documented) == len(set(documented)), "a metric is listed twice"
    for row in rows:
        spec = CATALOGUE[kind][row["Metric"]]
        assert row["Unit"] == spec.unit, spec.name
        assert MetricType(row["Type"]) is spec.type, spec.name
        assert float(row["Min"]) == spec.minimum, spec.name
        assert float(row["Max"]) == spec.maximum, spec.name
        assert row["Description"] == spec.description, spec.name


# --- topics and limits ------------------------------------------------------------------------


def test_topic_levels_list_the_real_kinds_and_channels() -> None:
    rows = {row["Level"]: row["Allowed values"] for row in _table(_section("Topics"))}
    assert re.findall(r"`([a-z_]+)`", rows["{kind}"]) == [k.value for k in EquipmentKind]
    assert re.findall(r"`([a-z_]+)`", rows["{channel}"]) == [c.value for c in Channel]


def _limits() -> dict[str, str]:
    return {row["Limit"]: row["Value"] for row in _table(_section("Limits"))}


def test_limits_match_the_decode_policy() -> None:
    limits, policy = _limits(), DecodePolicy()
    assert int(limits["Payload size"].split()[0]) == policy.max_payload_bytes
    assert float(limits["Timestamp ahead of the receive time"].split()[0]) * 1000 == (
        policy.max_future_skew_ms
    )
    earliest = datetime.fromisoformat(limits["Earliest timestamp"])
    assert round(earliest.timestamp() * 1000) == policy.earliest_ts_ms
    assert limits["Site and device names"] == NAME_PATTERN.pattern


def test_name_patterns_are_the_ones_the_decoder_enforces() -> None:
    limits = _limits()
    topic = "facmon/s/pump/p/telemetry"
    bad_metric = b'{"ts": 1714564800000, "metrics": {"bad-name": 1}}'
    [refused] = decode_message(topic, bad_metric, RECEIVED_MS).rejections
    assert limits["Metric and attribute names"] in refused.detail
    bad_type = b'{"ts": 1714564800000, "type": "Bad"}'
    [refused] = decode_message("facmon/s/pump/p/event", bad_type, RECEIVED_MS).rejections
    assert limits["Event types"] in refused.detail


def test_text_attribute_limit_is_the_decoders() -> None:
    chars = int(_limits()["Text attribute of an event"].split()[0])

    def event_with_note(length: int) -> bytes:
        return json.dumps({"ts": 1714564800000, "type": "note", "text": "x" * length}).encode()

    topic = "facmon/s/pump/p/event"
    assert not decode_message(topic, event_with_note(chars), RECEIVED_MS).rejections
    assert decode_message(topic, event_with_note(chars + 1), RECEIVED_MS).rejections


# --- accepted examples ------------------------------------------------------------------------


def _accepted_examples() -> list[tuple[str, str]]:
    """Every ```json block preceded by a `Topic: ...` line, as (topic, payload)."""
    return re.findall(r"^Topic: `([^`]+)`\n```json\n(.*?)^```", _text(), re.MULTILINE | re.DOTALL)


def test_document_has_telemetry_and_event_examples() -> None:
    channels = {topic.rsplit("/", 1)[1] for topic, _ in _accepted_examples()}
    assert channels == {"telemetry", "event"}


@pytest.mark.parametrize(("topic", "payload"), _accepted_examples())
def test_accepted_example_decodes_without_refusal(topic: str, payload: str) -> None:
    decoded = decode_message(topic, payload.encode(), RECEIVED_MS)
    assert decoded.rejections == []
    assert len(decoded.records) == max(1, payload.count('"ts"'))


@pytest.mark.parametrize("kind", ["fire_alarm", "fire_trouble", "door_forced", "entrapment"])
def test_recommended_event_types_have_an_example(kind: str) -> None:
    types = [json.loads(p).get("type") for t, p in _accepted_examples() if t.endswith("/event")]
    assert kind in types


def test_storage_example_is_what_ingest_writes() -> None:
    examples = dict(_accepted_examples())
    reading = decode_message(
        "facmon/tower-a/pump/p1/telemetry",
        examples["facmon/tower-a/pump/p1/telemetry"].encode(),
        RECEIVED_MS,
    ).records
    alarm = next(
        payload
        for topic, payload in _accepted_examples()
        if topic.endswith("/event") and json.loads(payload)["type"] == "fire_alarm"
    )
    event = decode_message("facmon/tower-a/fire_panel/fp1/event", alarm.encode(), RECEIVED_MS)
    status = decode_message("facmon/tower-a/pump/p1/status", b"online", RECEIVED_MS)
    expected = [encode_record(r) for r in [*reading, *event.records, *status.records]]
    documented = _fenced(_section("How the data is stored"), "text")[0].splitlines()
    assert documented == expected


# --- refusals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefusalExample:
    reason: str
    topic: str | None
    payload: str | None
    detail: str


def _refusal_examples() -> list[RefusalExample]:
    examples = []
    for reason, body in _subsections(_section("What is refused, and why")).items():
        for block in _fenced(body, "text"):
            fields = dict(re.findall(r"^(topic|payload|detail): +(.*)$", block, re.MULTILINE))
            examples.append(
                RefusalExample(reason, fields.get("topic"), fields.get("payload"), fields["detail"])
            )
    return examples


def test_every_reason_code_is_explained_with_an_example() -> None:
    documented = {example.reason for example in _refusal_examples()}
    assert documented == {reason.value for reason in Reason}


def _payload_bytes(text: str) -> bytes:
    # A stand-in too large to print, written as "<N bytes>".
    size = re.fullmatch(r"<(\d+) bytes>", text)
    return b" " * int(size[1]) if size else text.encode()


@pytest.mark.parametrize(
    "example",
    [e for e in _refusal_examples() if e.payload is not None],
    ids=lambda e: e.reason,
)
def test_refusal_example_gives_the_documented_detail(example: RefusalExample) -> None:
    assert example.topic is not None and example.payload is not None
    decoded = decode_message(example.topic, _payload_bytes(example.payload), RECEIVED_MS)
    assert [(r.reason.value, r.detail) for r in decoded.rejections] == [
        (example.reason, example.detail)
    ]


def test_refusal_table_names_only_real_reason_codes() -> None:
    table = _table(_section("What is refused, and why"))
    named = {code for row in table for code in re.findall(r"[a-z_]+", row["Reason codes"])}
    assert named == {reason.value for reason in Reason}


def test_metric_cap_is_the_ingest_default_and_its_refusal_reads_as_documented() -> None:
    cap = int(_limits()["Metric names outside the catalogue, per site"])
    assert cap == IngestOptions().max_new_metrics_per_site
    [example] = [e for e in _refusal_examples() if e.reason == Reason.TOO_MANY_METRICS]
    assert example.topic is not None
    name = example.detail.split(":")[0].removeprefix("metrics.")
    payload = json.dumps({"ts": 1714564800000, "metrics": {name: 1.0, "pressure_bar": 4.2}})
    decoded = decode_message(example.topic, payload.encode(), RECEIVED_MS)
    refuse_beyond_cap(decoded, lambda _, __: False, cap)
    assert [(r.reason.value, r.detail) for r in decoded.rejections] == [
        (example.reason, example.detail)
    ]
