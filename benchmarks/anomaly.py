"""`facmon bench anomaly`: the detectors on public labelled benchmarks, scored by their rules.

SKAB (a water-pump test bed, multivariate): the published protocol, fit on each file's first
400 rows and label every later row. NAB (univariate streams): a score in [0, 1] for every row,
each file from scratch, scored with the standard, low-FP and low-FN profiles. Predictions are
written per input file under --out; the last line printed is the result as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.progress import Progress as ProgressBar

from benchmarks.datasets.nab import run_nab
from benchmarks.datasets.skab import run_skab
from facility import Settings


def run(settings: Settings, args: argparse.Namespace) -> int:
    if not args.data.is_dir():
        print(f"facmon bench anomaly: no data folder at {args.data}", file=sys.stderr)
        return 2
    if args.dataset == "nab" and (args.labels is None or not args.labels.is_file()):
        print(
            "facmon bench anomaly: NAB needs --labels labels/combined_windows.json", file=sys.stderr
        )
        return 2
    with ProgressBar(transient=True) as bar:
        task = bar.add_task(f"{args.dataset} files", total=None)

        def progress(name: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=name)

        result: dict[str, Any]
        if args.dataset == "skab":
            result = run_skab(args.data, args.out, progress=progress)
        else:
            result = run_nab(args.data, args.labels, args.out, progress=progress)
    print(json.dumps(result), flush=True)
    return 0
