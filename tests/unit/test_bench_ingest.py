"""The ingest benchmark's reading of the ingest's own Prometheus metrics."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from benchmarks.ingest import histogram_quantile, parse_ingest_metrics
from ingest.metrics import IngestMetrics


def scrape(metrics: IngestMetrics) -> str:
    return generate_latest(metrics.registry).decode()


def test_counters_and_both_histograms_are_read_from_a_real_exposition() -> None:
    metrics = IngestMetrics()
    metrics.received.inc(7)
    metrics.stored.inc(700)
    for seconds in (0.004, 0.02, 0.02, 0.3):
        metrics.write_seconds.observe(seconds)
    metrics.lag_seconds.observe(0.15)
    sample = parse_ingest_metrics(scrape(metrics))
    assert (sample.received, sample.stored) == (7, 700)
    assert sample.write_buckets[-1] == (float("inf"), 4)
    assert dict(sample.write_buckets)[0.025] == 3
    assert dict(sample.lag_buckets)[0.2] == 1
    assert histogram_quantile(0.5, sample.write_buckets) == pytest.approx(0.0175)


def test_a_difference_of_samples_holds_only_what_happened_in_between() -> None:
    metrics = IngestMetrics()
    metrics.write_seconds.observe(2.0)  # before the measured run: must not count
    before = parse_ingest_metrics(scrape(metrics))
    for _ in range(99):
        metrics.write_seconds.observe(0.008)
    metrics.stored.inc(5)
    delta = parse_ingest_metrics(scrape(metrics)) - before
    assert delta.stored == 5
    assert delta.write_buckets[-1] == (float("inf"), 99)
    p99 = histogram_quantile(0.99, delta.write_buckets)
    assert p99 is not None and 0.005 < p99 <= 0.01


def test_samples_of_two_processes_add_up() -> None:
    first, second = IngestMetrics(), IngestMetrics()
    first.write_seconds.observe(0.001)
    second.write_seconds.observe(0.001)
    second.lag_seconds.observe(1.0)
    total = parse_ingest_metrics(scrape(first)) + parse_ingest_metrics(scrape(second))
    assert total.write_buckets[-1] == (float("inf"), 2)
    assert total.lag_buckets[-1] == (float("inf"), 1)
