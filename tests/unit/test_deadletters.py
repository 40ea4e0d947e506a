"""Dead letters in a real SQLite file: stored, listed, counted, bounded, kept across restarts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.codec import Reason
from ingest.deadletters import PAYLOAD_EXCERPT_BYTES, DeadLetter, DeadLetterStore

TOPIC = "facmon/tower-a/pump/p1/telemetry"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "dead_letters.db"


@pytest.fixture
def store(path: Path) -> Iterator[DeadLetterStore]:
    opened = DeadLetterStore(path)
    yield opened
    opened.close()


def letter(n: int, reason: Reason = Reason.WRONG_TYPE, payload: bytes = b"{}") -> DeadLetter:
    return DeadLetter.of(1_700_000_000_000 + n, TOPIC, reason, f"detail {n}", payload)


def test_added_letters_are_listed_newest_first(store: DeadLetterStore) -> None:
    letters = [letter(i) for i in range(5)]
    store.add(letters[:2])
    store.add(letters[2:])
    assert store.recent() == letters[::-1]
    assert store.recent(limit=2) == [letters[4], letters[3]]


def test_adding_nothing_stores_nothing(store: DeadLetterStore) -> None:
    store.add([])
    assert store.recent() == []
    assert store.counts_by_reason() == {}


def test_counts_by_reason(store: DeadLetterStore) -> None:
    reasons = [Reason.WRONG_TYPE, Reason.OUT_OF_RANGE, Reason.WRONG_TYPE, Reason.STORE_REJECTED]
    store.add([letter(i, reason) for i, reason in enumerate(reasons)])
    store.add([letter(9, Reason.WRONG_TYPE)])
    assert store.counts_by_reason() == {
        Reason.WRONG_TYPE: 3,
        Reason.OUT_OF_RANGE: 1,
        Reason.STORE_REJECTED: 1,
    }


def test_recent_filters_by_reason(store: DeadLetterStore) -> None:
    letters = [
        letter(0, Reason.WRONG_TYPE),
        letter(1, Reason.NON_FINITE),
        letter(2, Reason.WRONG_TYPE),
        letter(3, Reason.NON_FINITE),
    ]
    store.add(letters)
    assert store.recent(reason=Reason.NON_FINITE) == [letters[3], letters[1]]
    assert store.recent(reason=Reason.WRONG_TYPE, limit=1) == [letters[2]]
    assert store.recent(reason=Reason.MALFORMED_TOPIC) == []


def test_every_field_round_trips(store: DeadLetterStore) -> None:
    original = DeadLetter.of(
        123, "facmon/x/pump/y/event", Reason.INVALID_SCHEMA, "type: must be a string", b'{"a":1}'
    )
    store.add([original])
    assert store.recent() == [original]
    assert type(store.recent()[0].reason) is Reason


def test_small_payload_is_kept_whole() -> None:
    payload = '{"ts": 1, "metrics": {"temp_°c": "x"}}'.encode()
    kept = DeadLetter.of(1, TOPIC, Reason.WRONG_TYPE, "d", payload)
    assert kept.payload == payload.decode()
    assert kept.payload_bytes == len(payload)


def test_large_payload_is_truncated_and_its_size_kept(store: DeadLetterStore) -> None:
    payload = b"[" + b"1," * 5000 + b"1]"
    kept = DeadLetter.of(1, TOPIC, Reason.PAYLOAD_TOO_LARGE, "too large", payload)
    assert kept.payload == payload[:PAYLOAD_EXCERPT_BYTES].decode()
    assert kept.payload_bytes == len(payload)
    store.add([kept])
    assert store.recent()[0].payload == payload[:PAYLOAD_EXCERPT_BYTES].decode()
    assert store.recent()[0].payload_bytes == len(payload)


def test_binary_payload_is_kept_with_replacement_characters() -> None:
    kept = DeadLetter.of(1, TOPIC, Reason.MALFORMED_JSON, "not UTF-8", b"\xff\xfe{}")
    assert kept.payload == "\ufffd\ufffd{}"
    assert kept.payload_bytes == 4


def test_a_character_cut_by_the_excerpt_becomes_a_replacement_character() -> None:
    payload = b"x" + "é".encode() * PAYLOAD_EXCERPT_BYTES  # "é" is two bytes
    kept = DeadLetter.of(1, TOPIC, Reason.PAYLOAD_TOO_LARGE, "too large", payload)
    whole_characters = (PAYLOAD_EXCERPT_BYTES - 1) // 2
    assert kept.payload == "x" + "é" * whole_characters + "\ufffd"
    assert kept.payload_bytes == len(payload)


def test_letters_survive_reopening(path: Path) -> None:
    first = DeadLetterStore(path)
    letters = [
        letter(i, reason) for i, reason in enumerate([Reason.NON_FINITE, Reason.OUT_OF_RANGE])
    ]
    first.add(letters)
    first.close()
    reopened = DeadLetterStore(path)
    try:
        assert reopened.recent() == letters[::-1]
        assert reopened.counts_by_reason() == {Reason.NON_FINITE: 1, Reason.OUT_OF_RANGE: 1}
        reopened.add([letter(7)])
        assert reopened.recent(limit=1) == [letter(7)]
    finally:
        reopened.close()


def test_letter_with_a_lone_surrogate_in_its_detail_is_stored(store: DeadLetterStore) -> None:
    # A JSON "\\ud800" escape in a metric name ends up quoted in the codec's detail.
    odd = DeadLetter.of(1, TOPIC, Reason.INVALID_NAME, "metrics.\ud800: bad name", b"{}")
    store.add([odd])
    [stored] = store.recent()
    assert stored.detail.encode("utf-8")
    assert "ud800" in stored.detail  # still visible to the integrator


def unstorable(n: int) -> DeadLetter:
    """A letter SQLite cannot bind (built directly, bypassing DeadLetter.of's cleaning)."""
    return DeadLetter(n, TOPIC, Reason.WRONG_TYPE, "detail", "\ud800", 1)


def test_a_failed_add_does_not_break_later_adds(store: DeadLetterStore) -> None:
    with pytest.raises(UnicodeEncodeError):
        store.add([unstorable(0)])
    store.add([letter(1)])
    assert store.recent() == [letter(1)]


def test_a_failed_add_stores_none_of_its_letters(store: DeadLetterStore) -> None:
    with pytest.raises(UnicodeEncodeError):
        store.add([letter(0), letter(1), unstorable(2), letter(3)])
    assert store.recent() == []
