"""Temporary lockout of a client address that keeps sending unknown API keys.

Keys carry 256 bits, so guessing one is hopeless; the lockout is there so that a client
hammering the API with bad keys is slowed down, refused with 429 and Retry-After, and seen
(counted in /metrics) instead of answered 401 at full speed. The rule is pure
(`after_failure`, `seconds_locked`); `KeyGuard` keeps one record per address and the counts.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from threading import Lock

__all__ = ["Attempts", "KeyGuard", "LockoutPolicy", "after_failure", "seconds_locked"]

_log = logging.getLogger(__name__)
MAX_ADDRESSES = 10_000  # beyond this many remembered addresses, stale ones are forgotten


@dataclass(frozen=True)
class LockoutPolicy:
    """`failures` unknown keys from one address within `window_s` lock it out for `lockout_s`
    (settings FACMON_API_LOCKOUT_FAILURES, _WINDOW_S, FACMON_API_LOCKOUT_S)."""

    failures: int = 10
    window_s: float = 60.0
    lockout_s: float = 300.0


@dataclass(frozen=True)
class Attempts:
    """One address's recent failures (monotonic seconds) and the end of its lockout."""

    failures: tuple[float, ...] = ()
    locked_until: float | None = None


def seconds_locked(attempts: Attempts, now: float) -> float:
    """How long this address stays locked out from `now`; 0 if it is not.

    >>> seconds_locked(Attempts(locked_until=130.0), now=100.0)
    30.0
    >>> seconds_locked(Attempts(locked_until=130.0), now=130.0)
    0.0
    """
    return max(0.0, (attempts.locked_until or now) - now)


def after_failure(policy: LockoutPolicy, attempts: Attempts, now: float) -> Attempts:
    """The record after one more unknown key at `now`: failures older than the window are
    forgotten, and the one that reaches `policy.failures` starts a lockout (and a new count).

    >>> rule = LockoutPolicy(failures=2, window_s=10, lockout_s=60)
    >>> after_failure(rule, Attempts((1.0,)), now=5.0)
    Attempts(failures=(), locked_until=65.0)
    >>> after_failure(rule, Attempts((1.0,)), now=12.0)
    Attempts(failures=(12.0,), locked_until=None)
    """
    recent = (*(t for t in attempts.failures if now - t < policy.window_s), now)
    if len(recent) >= policy.failures:
        return Attempts((), now + policy.lockout_s)
    return replace(attempts, failures=recent)


def _stale(policy: LockoutPolicy, attempts: Attempts, now: float) -> bool:
    """Nothing left to remember: no lockout running and no failure inside the window."""
    return seconds_locked(attempts, now) == 0 and all(
        now - t >= policy.window_s for t in attempts.failures
    )


class KeyGuard:
    """The lockout state of one API process (in memory: a restart forgets it), safe to use
    from the server's threads. The counts feed /metrics."""

    def __init__(
        self,
        policy: LockoutPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self.policy = policy or LockoutPolicy()
        self._clock = clock
        self._max_addresses = max_addresses
        self._lock = Lock()
        self._by_address: dict[str, Attempts] = {}
        self.failures = 0  # unknown or revoked keys
        self.lockouts = 0  # lockouts started
        self.refused = 0  # requests answered 429

    def retry_after(self, address: str) -> int:
        """Whole seconds until `address` may try again (0: it may now); a refusal is counted."""
        with self._lock:
            left = seconds_locked(self._by_address.get(address, Attempts()), self._clock())
            self.refused += left > 0
        return math.ceil(left)

    def failed(self, address: str) -> None:
        """`address` sent an unknown or revoked key."""
        with self._lock:
            now = self._clock()
            if len(self._by_address) >= self._max_addresses:
                self._forget_stale(now)
            before = self._by_address.get(address, Attempts())
            found = self._by_address[address] = after_failure(self.policy, before, now)
            self.failures += 1
            started = found.locked_until != before.locked_until
            self.lockouts += started
        if started:
            _log.warning("address %s locked out for %.0f s: %d unknown API keys within %.0f s",
                         address, self.policy.lockout_s, self.policy.failures,
                         self.policy.window_s)  # fmt: skip

    def remembered(self) -> set[str]:
        """The addresses with a record kept (a lockout or failures inside the window, or not
        yet forgotten)."""
        with self._lock:
            return set(self._by_address)

    def _forget_stale(self, now: float) -> None:
        for address, attempts in list(self._by_address.items()):
            if _stale(self.policy, attempts, now):
                del self._by_address[address]
