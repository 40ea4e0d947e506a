"""Benchmarks, in one home: ingest, API, analytics latency and throughput, detection on a
simulated fleet, and the detectors on the SKAB and NAB labelled datasets (datasets/ runs them
the way their leaderboards do, scoring/ holds the pure scorers).

May import any package but facmon; `facmon bench ...` parses the arguments and calls `run_*`.
"""

from benchmarks.anomaly import run as run_anomaly
from benchmarks.api import run as run_api
from benchmarks.detect import run as run_detect
from benchmarks.ingest import run as run_ingest
from benchmarks.latency import run as run_latency
from benchmarks.throughput import run as run_throughput

__all__ = [
    "run_anomaly",
    "run_api",
    "run_detect",
    "run_ingest",
    "run_latency",
    "run_throughput",
]
