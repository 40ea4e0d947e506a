"""`facmon bench throughput`: readings scored per second by the streaming path, on one core.

The per-metric robust baseline scores and learns a batch of readings from many devices in a
few vector operations; this measures how many readings a second that is, for a fleet of
`--series` device-metric series, with batches as ingest would hand them over.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from analytics import RobustBaseline
from facility import Settings


def run(settings: Settings, args: argparse.Namespace) -> int:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    rng = np.random.default_rng(0)
    detector = RobustBaseline()
    everything = np.arange(args.series)
    for _ in range(detector.warmup + 1):  # learned series, so scores are real
        detector.learn_many(everything, rng.normal(50.0, 5.0, args.series))
    batches = [
        (rng.integers(0, args.series, args.batch), rng.normal(50.0, 5.0, args.batch))
        for _ in range(64)
    ]
    scored, started = 0, time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for slots, values in batches:
            detector.score_many(slots, values)
            detector.learn_many(slots, values)
            scored += slots.size
    elapsed = time.perf_counter() - started
    result = {"readings_per_s": round(scored / elapsed), "series": args.series, "batch": args.batch}
    print(json.dumps(result), flush=True)
    return 0
