"""The KPI cache: one computation per period, stale answers served while refreshed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from api.kpi_cache import KpiCache, Period

DAY = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counting:
    """A computation that answers with how many times it has run for the period."""

    def __init__(self) -> None:
        self.runs: dict[Period, int] = {}

    def __call__(self, period: Period) -> dict[str, Any]:
        self.runs[period] = self.runs.get(period, 0) + 1
        return {"run": self.runs[period]}


def make(clock: Clock, compute: Any, **options: Any) -> tuple[KpiCache, ThreadPoolExecutor]:
    refresher = ThreadPoolExecutor(1)
    cache = KpiCache(compute, fresh_s=60, stale_s=600, executor=refresher, clock=clock, **options)
    return cache, refresher


def test_a_fresh_answer_is_not_computed_again():
    clock, compute = Clock(), Counting()
    cache, _ = make(clock, compute)
    assert cache.get(DAY) == {"run": 1, "computed_s_ago": 0.0}
    clock.now += 59
    assert cache.get(DAY) == {"run": 1, "computed_s_ago": 59.0}
    assert compute.runs == {DAY: 1}


def test_a_stale_answer_is_served_while_one_refresh_runs_in_the_background():
    clock, compute = Clock(), Counting()
    cache, refresher = make(clock, compute)
    cache.get(DAY)
    clock.now += 61
    assert cache.get(DAY)["run"] == 1  # the old answer, at once
    assert cache.get(DAY)["run"] == 1  # a second stale request queues no second refresh
    refresher.shutdown(wait=True)
    assert compute.runs[DAY] == 2
    assert cache.get(DAY) == {"run": 2, "computed_s_ago": 0.0}


def test_an_answer_too_old_to_serve_is_computed_on_the_request():
    clock, compute = Clock(), Counting()
    cache, _ = make(clock, compute)
    cache.get(DAY)
    clock.now += 601
    assert cache.get(DAY) == {"run": 2, "computed_s_ago": 0.0}


def test_periods_are_kept_apart_and_the_oldest_is_forgotten():
    clock, compute = Clock(), Counting()
    cache, _ = make(clock, compute, periods=2)
    week = (DAY[0], DAY[0] + timedelta(days=7))
    cache.get(DAY)
    clock.now += 1
    cache.get(week)
    clock.now += 1
    cache.get(None)  # the rolling period is a period of its own; DAY is forgotten
    assert cache.get(week)["run"] == 1
    assert cache.get(DAY)["run"] == 2


def test_a_failed_refresh_keeps_the_old_answer_and_is_tried_again():
    clock, fail = Clock(), threading.Event()
    compute = Counting()

    def flaky(period: Period) -> dict[str, Any]:
        if fail.is_set():
            raise RuntimeError("database gone")
        return compute(period)

    cache, refresher = make(clock, flaky)
    cache.get(DAY)
    fail.set()
    clock.now += 61
    assert cache.get(DAY)["run"] == 1
    refresher.submit(lambda: None).result()  # the failed refresh has finished
    fail.clear()
    assert cache.get(DAY)["run"] == 1  # still stale: a new refresh is queued
    refresher.shutdown(wait=True)
    assert cache.get(DAY)["run"] == 2
