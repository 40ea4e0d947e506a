"""The lockout rule for unknown API keys (pure), and the guard that keeps it per address."""

from __future__ import annotations

import pytest

from api.lockout import Attempts, KeyGuard, LockoutPolicy, after_failure, seconds_locked

RULE = LockoutPolicy(failures=3, window_s=60, lockout_s=300)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_below_the_threshold_only_count() -> None:
    attempts = after_failure(RULE, after_failure(RULE, Attempts(), 0.0), 10.0)
    assert attempts == Attempts((0.0, 10.0), None)
    assert seconds_locked(attempts, 10.0) == 0


def test_the_failure_reaching_the_threshold_locks_out_for_the_lockout() -> None:
    attempts = after_failure(RULE, Attempts((0.0, 10.0)), 20.0)
    assert attempts == Attempts((), 320.0)
    assert seconds_locked(attempts, 20.0) == 300
    assert seconds_locked(attempts, 319.5) == 0.5
    assert seconds_locked(attempts, 320.0) == 0


def test_failures_older_than_the_window_are_forgotten() -> None:
    attempts = after_failure(RULE, Attempts((0.0, 10.0)), 65.0)
    assert attempts == Attempts((10.0, 65.0), None)


def test_a_lockout_that_ended_starts_a_fresh_count() -> None:
    ended = Attempts((), 320.0)
    assert after_failure(RULE, ended, 400.0).failures == (400.0,)
    assert seconds_locked(after_failure(RULE, ended, 400.0), 400.0) == 0


def test_the_guard_locks_one_address_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    guard = KeyGuard(RULE, clock)
    for _ in range(3):
        assert guard.retry_after("10.0.0.1") == 0
        guard.failed("10.0.0.1")
    assert guard.retry_after("10.0.0.1") == 300
    assert guard.retry_after("10.0.0.2") == 0  # another address is not affected
    clock.now += 299.2
    assert guard.retry_after("10.0.0.1") == 1  # whole seconds, rounded up
    clock.now += 1
    assert guard.retry_after("10.0.0.1") == 0
    assert (guard.failures, guard.lockouts, guard.refused) == (3, 1, 2)
    assert [r.getMessage() for r in caplog.records] == [
        "address 10.0.0.1 locked out for 300 s: 3 unknown API keys within 60 s"
    ]


def test_the_guard_forgets_stale_addresses_when_it_remembers_too_many() -> None:
    clock = Clock()
    guard = KeyGuard(RULE, clock, max_addresses=5)
    for n in range(5):
        guard.failed(f"10.0.0.{n}")
    clock.now += 61
    guard.failed("10.0.1.1")
    assert guard.remembered() == {"10.0.1.1"}
