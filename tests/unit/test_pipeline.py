"""Batching and storing: when batches are released, and that every line ends up durable."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.codec import Reason, decode_message
from ingest.deadletters import DeadLetter
from ingest.lineprotocol import encode_lines
from ingest.pipeline import (
    AckToken,
    Batch,
    Batcher,
    BatchLimits,
    BatchStore,
    Inbound,
    RetryPolicy,
    write_isolating_rejections,
)
from tests.unit.fakes import (
    FakeDeadLetters,
    FakeSpool,
    FakeWriter,
    RecordingSleep,
    SteppingClock,
)

NOW_MS = 1_700_000_000_000
TOPIC_A = "facmon/tower-a/pump/p1/telemetry"
TOPIC_B = "facmon/tower-a/elevator/e1/telemetry"
RETRY = RetryPolicy(delays_s=(0.1, 0.2, 0.4))

_mids = iter(range(1, 1_000_000))


def message(
    lines: Sequence[str] = ("l",), topic: str = TOPIC_A, letters: Sequence[DeadLetter] = ()
) -> Inbound:
    return Inbound(AckToken(1, next(_mids), 1), topic, list(lines), list(letters), [])


def letter(detail: str = "bad") -> DeadLetter:
    return DeadLetter.of(NOW_MS, TOPIC_A, Reason.WRONG_TYPE, detail, b"{}")


def lines_of(prefix: str, n: int) -> list[str]:
    return [f"pump,site=s,device={prefix}{i} x=1.0 {NOW_MS + i}" for i in range(n)]


# --- Inbound and Batch ------------------------------------------------------------------------


def test_inbound_of_encodes_records_and_keeps_refusals_as_dead_letters() -> None:
    payload = (
        b'[{"ts": 1700000000000, "metrics": {"pressure_bar": 2, "flow_m3_h": "x"}},'
        b' {"ts": 1699999999000, "metrics": {"running": true}}, 7]'
    )
    decoded = decode_message(TOPIC_A, payload, NOW_MS)
    token = AckToken(connection=3, mid=42, qos=1)
    inbound = Inbound.of(token, TOPIC_A, payload, decoded, NOW_MS)
    assert inbound.ack_token == token
    assert inbound.lines == encode_lines(decoded.records)
    assert len(inbound.lines) == 2
    assert inbound.reading_ts_ms == [1_700_000_000_000, 1_699_999_999_000]
    assert [(d.reason, d.topic, d.received_ms) for d in inbound.dead_letters] == [
        (Reason.WRONG_TYPE, TOPIC_A, NOW_MS),
        (Reason.INVALID_SCHEMA, TOPIC_A, NOW_MS),
    ]
    assert all(d.payload == payload.decode() for d in inbound.dead_letters)
    assert [d.detail for d in inbound.dead_letters] == [r.detail for r in decoded.rejections]


def test_batch_flattens_lines_origins_and_dead_letters_in_message_order() -> None:
    first_letter, second_letter = letter("one"), letter("two")
    batch = Batch(
        [
            message(["a1", "a2"], TOPIC_A, [first_letter]),
            message([], TOPIC_B, [second_letter]),
            message(["b1"], TOPIC_B),
        ]
    )
    assert batch.lines() == ["a1", "a2", "b1"]
    assert batch.origins() == [TOPIC_A, TOPIC_A, TOPIC_B]
    assert batch.dead_letters() == [first_letter, second_letter]


# --- Batcher ----------------------------------------------------------------------------------

# The clock is fake; the batcher's condition wait is real, so fake seconds are kept small.
DELAY = 0.03


def test_batch_is_released_as_soon_as_max_messages_is_reached() -> None:
    clock = SteppingClock(step=0.001)
    batcher = Batcher(BatchLimits(max_lines=1000, max_messages=3, max_delay_s=DELAY), clock)
    sent = [message() for _ in range(3)]
    for m in sent:
        batcher.add(m)
    batch = batcher.take(timeout_s=1.0)
    assert batch is not None
    assert batch.messages == sent
    assert clock.readings[-1] < batch.opened_at + DELAY  # did not wait for the delay


@pytest.mark.parametrize(("lines_per_message", "messages_to_fill"), [(2, 2), (5, 1), (1, 4)])
def test_batch_is_released_as_soon_as_max_lines_is_reached(
    lines_per_message: int, messages_to_fill: int
) -> None:
    clock = SteppingClock(step=0.001)
    batcher = Batcher(BatchLimits(max_lines=4, max_messages=100, max_delay_s=DELAY), clock)
    sent = [message(["x"] * lines_per_message) for _ in range(messages_to_fill)]
    for m in sent:
        batcher.add(m)
    batch = batcher.take(timeout_s=1.0)
    assert batch is not None
    assert batch.messages == sent
    assert batch.line_count == lines_per_message * messages_to_fill
    assert clock.readings[-1] < batch.opened_at + DELAY


def test_batch_below_the_limits_waits_for_max_delay() -> None:
    clock = SteppingClock(start=5.0, step=0.001)
    batcher = Batcher(BatchLimits(max_lines=4, max_messages=3, max_delay_s=DELAY), clock)
    sent = [message(["x"]), message(["y", "z"])]
    for m in sent:
        batcher.add(m)
    batch = batcher.take(timeout_s=0.0)  # something is pending: the timeout does not apply
    assert batch is not None
    assert batch.messages == sent
    assert batch.line_count == 3
    assert batch.opened_at >= 5.0
    assert clock.readings[-1] >= batch.opened_at + DELAY


def test_old_batch_is_released_at_once() -> None:
    clock = SteppingClock(start=0.0)
    batcher = Batcher(BatchLimits(max_lines=10, max_messages=10, max_delay_s=2.0), clock)
    sent = message()
    batcher.add(sent)
    clock.now = 2.0
    batch = batcher.take(timeout_s=0.0)
    assert batch is not None
    assert batch.messages == [sent]


def test_later_messages_do_not_make_a_batch_younger() -> None:
    clock = SteppingClock(start=0.0)
    batcher = Batcher(BatchLimits(max_lines=10, max_messages=10, max_delay_s=DELAY), clock)
    batcher.add(message())
    clock.now = 1.0
    batcher.add(message())
    clock.step = 0.001
    batch = batcher.take(timeout_s=0.0)
    assert batch is not None
    assert batch.opened_at == 0.0
    assert len(batch.messages) == 2
    assert clock.readings[-1] < 1.0 + DELAY  # released at once: it is due since 0 + DELAY


def test_the_delay_counts_from_the_first_message_of_each_batch() -> None:
    clock = SteppingClock(start=0.0)
    batcher = Batcher(BatchLimits(max_lines=10, max_messages=10, max_delay_s=DELAY), clock)
    batcher.add(message())
    clock.now = 100.0
    assert batcher.take(timeout_s=0.0) is not None
    clock.step = 0.001
    second = message()
    batcher.add(second)
    batch = batcher.take(timeout_s=0.0)
    assert batch is not None
    assert batch.messages == [second]
    assert batch.opened_at >= 100.0
    assert clock.readings[-1] >= batch.opened_at + DELAY


def test_take_returns_none_when_idle() -> None:
    assert Batcher(BatchLimits(), SteppingClock()).take(timeout_s=0.0) is None
    clock = SteppingClock(start=1.0, step=0.001)
    assert Batcher(BatchLimits(), clock).take(timeout_s=DELAY) is None
    assert clock.readings[-1] >= 1.0 + DELAY  # it waited for the whole timeout


def test_drain_returns_whatever_is_pending_then_nothing() -> None:
    batcher = Batcher(BatchLimits(max_messages=100), SteppingClock())
    sent = [message(["a", "b"]), message(["c"])]
    for m in sent:
        batcher.add(m)
    drained = batcher.drain()
    assert drained is not None
    assert drained.messages == sent
    assert drained.lines() == ["a", "b", "c"]
    assert batcher.drain() is None
    assert batcher.take(timeout_s=0.0) is None


def test_a_full_batch_wakes_a_waiting_taker() -> None:
    batcher = Batcher(BatchLimits(max_lines=100, max_messages=2, max_delay_s=60.0))
    taken: list[Batch | None] = []
    taker = threading.Thread(target=lambda: taken.append(batcher.take(timeout_s=60.0)))
    taker.start()
    batcher.add(message())
    batcher.add(message())
    taker.join(timeout=5.0)
    assert not taker.is_alive()
    assert taken[0] is not None
    assert len(taken[0].messages) == 2


def test_first_message_is_released_after_max_delay_even_while_taker_waits() -> None:
    batcher = Batcher(BatchLimits(max_lines=100, max_messages=100, max_delay_s=0.05))
    taken: list[Batch | None] = []
    taker = threading.Thread(target=lambda: taken.append(batcher.take(timeout_s=2.0)))
    taker.start()
    try:
        threading.Event().wait(0.05)  # let the taker start waiting on an empty batcher
        batcher.add(message())
        taker.join(timeout=1.0)  # 20 times max_delay_s, half of timeout_s
        assert taken, "the batch was not released within max_delay_s"
    finally:
        taker.join()


# --- BatchStore -------------------------------------------------------------------------------


class Harness:
    def __init__(self, writer: FakeWriter, sleep: RecordingSleep | None = None) -> None:
        self.writer = writer
        self.spool = FakeSpool()
        self.dead_letters = FakeDeadLetters()
        self.sleep = sleep or RecordingSleep()
        self.store = BatchStore(writer, self.spool, self.dead_letters, RETRY, self.sleep)

    def spooled(self) -> list[str]:
        return [line for batch in self.spool.batches for line in batch]


def test_healthy_store_writes_the_batch_in_one_call() -> None:
    h = Harness(FakeWriter())
    batch = Batch([message(lines_of("a", 3)), message(lines_of("b", 2), TOPIC_B)])
    outcome = h.store.store(batch)
    assert h.writer.calls == [batch.lines()]
    assert (outcome.stored, outcome.spooled, outcome.rejected) == (5, 0, 0)
    assert h.spool.batches == []
    assert h.sleep.delays == []
    assert not h.store.outage.is_set()


@pytest.mark.parametrize("failures", [1, 2, 3])
def test_store_retries_while_influx_is_unavailable_then_stores(failures: int) -> None:
    h = Harness(FakeWriter(unavailable_times=failures))
    lines = lines_of("a", 4)
    outcome = h.store.store(Batch([message(lines)]))
    assert h.writer.stored == lines
    assert len(h.writer.calls) == failures + 1
    assert h.sleep.delays == list(RETRY.delays_s[:failures])
    assert (outcome.stored, outcome.spooled) == (4, 0)
    assert h.spool.batches == []
    assert not h.store.outage.is_set()


def test_store_spools_and_declares_an_outage_when_retries_are_exhausted() -> None:
    h = Harness(FakeWriter(unavailable_times=len(RETRY.delays_s) + 1))
    lines = lines_of("a", 4)
    outcome = h.store.store(Batch([message(lines)]))
    assert h.writer.stored == []
    assert len(h.writer.calls) == len(RETRY.delays_s) + 1
    assert h.sleep.delays == list(RETRY.delays_s)
    assert h.spool.batches == [lines]
    assert (outcome.stored, outcome.spooled) == (0, 4)
    assert h.store.outage.is_set()


def test_during_an_outage_batches_go_to_the_spool_without_calling_influx() -> None:
    h = Harness(FakeWriter(unavailable_times=len(RETRY.delays_s) + 1))
    h.store.store(Batch([message(lines_of("a", 2))]))
    calls_before = len(h.writer.calls)
    later = lines_of("b", 3)
    outcome = h.store.store(Batch([message(later)]))  # the writer would succeed now
    assert len(h.writer.calls) == calls_before
    assert h.spool.batches[-1] == later
    assert (outcome.stored, outcome.spooled) == (0, 3)
    assert h.store.outage.is_set()


def test_outage_clears_when_the_replayer_says_so() -> None:
    h = Harness(FakeWriter())
    h.store.outage.set()
    h.store.store(Batch([message(["a"])]))
    assert h.writer.calls == []
    h.store.outage.clear()
    h.store.store(Batch([message(["b"])]))
    assert h.writer.stored == ["b"]


def test_rejected_lines_are_isolated_and_dead_lettered_with_their_topic() -> None:
    good_a, good_b = lines_of("a", 4), lines_of("b", 4)
    bad = [good_a[1], good_b[2]]
    h = Harness(FakeWriter(rejects=bad))
    batch = Batch([message(good_a, TOPIC_A), message(good_b, TOPIC_B)])
    outcome = h.store.store(batch)
    expected_stored = [line for line in batch.lines() if line not in bad]
    assert h.writer.stored == expected_stored
    assert (outcome.stored, outcome.rejected, outcome.spooled) == (6, 2, 0)
    assert [(d.reason, d.topic, d.payload) for d in h.dead_letters.letters] == [
        (Reason.STORE_REJECTED, TOPIC_A, bad[0]),
        (Reason.STORE_REJECTED, TOPIC_B, bad[1]),
    ]
    assert all("field type conflict" in d.detail for d in h.dead_letters.letters)
    assert outcome.dead_letters == h.dead_letters.letters  # what the metrics count
    assert h.sleep.delays == []  # a refusal is not retried
    assert not h.store.outage.is_set()


@given(n=st.integers(1, 40), data=st.data())
def test_bisection_stores_exactly_the_lines_influx_accepts(n: int, data: st.DataObject) -> None:
    lines = lines_of("d", n)
    bad_indices = data.draw(st.sets(st.integers(0, n - 1)))
    writer = FakeWriter(rejects=[lines[i] for i in bad_indices])
    rejected = write_isolating_rejections(writer, lines, RETRY, RecordingSleep())
    assert sorted(i for i, _ in rejected) == sorted(bad_indices)
    assert all(lines[i] in why for i, why in rejected)  # the message matches the line
    assert writer.stored == [line for i, line in enumerate(lines) if i not in bad_indices]


def test_dead_letters_from_decoding_are_added_with_the_batch() -> None:
    payload = b'{"ts": 1700000000000, "metrics": {"pressure_bar": 2, "flow_m3_h": "x"}}'
    decoded = decode_message(TOPIC_A, payload, NOW_MS)
    inbound = Inbound.of(AckToken(1, 1, 1), TOPIC_A, payload, decoded, NOW_MS)
    h = Harness(FakeWriter())
    h.store.store(Batch([inbound, message(lines_of("b", 1), TOPIC_B, [letter()])]))
    assert h.dead_letters.letters == [*inbound.dead_letters, letter()]
    assert h.writer.stored == [*inbound.lines, *lines_of("b", 1)]


def test_dead_letters_are_kept_during_an_outage_too() -> None:
    h = Harness(FakeWriter())
    h.store.outage.set()
    h.store.store(Batch([message(["a"], letters=[letter("x")])]))
    assert h.dead_letters.letters == [letter("x")]
    assert h.spool.batches == [["a"]]


def test_batch_of_only_dead_letters_does_not_touch_influx_or_the_spool() -> None:
    h = Harness(FakeWriter())
    outcome = h.store.store(Batch([message([], letters=[letter()])]))
    assert h.writer.calls == []
    assert h.spool.batches == []
    assert h.dead_letters.letters == [letter()]
    assert (outcome.stored, outcome.spooled, outcome.rejected) == (0, 0, 0)


def test_full_spool_blocks_until_there_is_room() -> None:
    spool_holder: list[FakeSpool] = []

    def free_room_after_three_sleeps(calls: int) -> None:
        if calls == 3:
            spool_holder[0].full = False

    h = Harness(FakeWriter(), RecordingSleep(then=free_room_after_three_sleeps))
    spool_holder.append(h.spool)
    h.spool.full = True
    h.store.outage.set()
    outcome = h.store.store(Batch([message(["a", "b"])]))
    assert h.sleep.delays == [1.0, 1.0, 1.0]
    assert h.spool.batches == [["a", "b"]]
    assert outcome.spooled == 2


def test_influx_lost_while_isolating_a_rejection_loses_nothing() -> None:
    lines = lines_of("a", 8)

    class FailsAfterFirstRejection(FakeWriter):
        def write(self, lines: Sequence[str]) -> None:
            if len(self.calls) == 1:
                self.unavailable_times = 100  # InfluxDB goes away during the bisection
            super().write(lines)

    h = Harness(FailsAfterFirstRejection(rejects=[lines[5]]))
    outcome = h.store.store(Batch([message(lines)]))
    assert h.store.outage.is_set()
    assert set(lines) <= set(h.writer.stored) | set(h.spooled())
    assert outcome.spooled == len(h.spooled())
