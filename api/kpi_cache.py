"""KPI answers per period, kept off the request path.

A period's KPIs take about a second of Python to compute over 100,000 work orders (see
docs/benchmarks.md), and managers' dashboards ask for the same few periods every few seconds.
So the first request for a period waits for the computation; later requests get the kept
answer at once, and an answer older than `fresh_s` is still served while one background thread
recomputes it. Only an answer older than `stale_s` (or one for a forgotten period) makes a
request wait again.

The computation runs on an executor: `facmon api` gives it a process of its own, so that a
second of KPI arithmetic does not hold the API process's interpreter lock while requests wait.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from time import monotonic
from typing import Any

from maintenance import DEFAULT_KPI_PERIOD, Store, kpi_report

__all__ = ["KpiCache", "Period", "kpis_for_period"]

log = logging.getLogger("facmon.api")

Period = tuple[datetime, datetime] | None  # None: a rolling period that ends when computed
Compute = Callable[[Period], dict[str, Any]]


def kpis_for_period(store: Store, period: Period) -> dict[str, Any]:
    """The KPI report of a period from maintenance; None: the 30 days up to the moment it is
    computed (to the moment: an order opened a second ago counts)."""
    if period is None:
        end = datetime.now(UTC)
        period = (end - DEFAULT_KPI_PERIOD, end)
    return kpi_report(store, *period)


@dataclass(frozen=True)
class _Kept:
    at: float  # monotonic time of the computation
    answer: dict[str, Any]


class KpiCache:
    def __init__(
        self,
        compute: Compute,
        *,
        fresh_s: float = 60.0,
        stale_s: float = 900.0,
        periods: int = 40,  # the trend's 12 weeks and the usual periods
        executor: Executor | None = None,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self._compute = compute
        self._fresh_s, self._stale_s, self._periods = fresh_s, stale_s, periods
        self._executor = executor or ThreadPoolExecutor(1, thread_name_prefix="kpi-refresh")
        self._clock = clock
        self._kept: dict[Period, _Kept] = {}
        self._refreshing: set[Period] = set()
        self._lock = threading.RLock()  # a done callback may run in the submitting thread

    def get(self, period: Period) -> dict[str, Any]:
        """The period's KPIs, with how many seconds ago they were computed."""
        now = self._clock()
        with self._lock:
            kept = self._kept.get(period)
            if kept and self._fresh_s <= now - kept.at < self._stale_s:
                self._refresh_later(period)
        if kept is None or now - kept.at >= self._stale_s:
            kept = self._keep(period, self._executor.submit(self._compute, period).result())
        return kept.answer | {"computed_s_ago": round(max(0.0, self._clock() - kept.at), 1)}

    def _refresh_later(self, period: Period) -> None:
        """Called holding the lock: at most one refresh per period is queued."""
        if period in self._refreshing:
            return
        self._refreshing.add(period)
        future = self._executor.submit(self._compute, period)
        future.add_done_callback(partial(self._refreshed, period))

    def _refreshed(self, period: Period, future: Future[dict[str, Any]]) -> None:
        with self._lock:
            self._refreshing.discard(period)
        if future.exception() is not None:  # the kept answer stays; the next request retries
            log.error("KPI refresh failed for %s: %s", period or "the rolling period",
                      future.exception())  # fmt: skip
            return
        self._keep(period, future.result())

    def _keep(self, period: Period, answer: dict[str, Any]) -> _Kept:
        kept = _Kept(self._clock(), answer)
        with self._lock:
            self._kept[period] = kept
            while len(self._kept) > self._periods:  # bounded: forget the oldest answer
                del self._kept[min(self._kept, key=lambda p: self._kept[p].at)]
        return kept
