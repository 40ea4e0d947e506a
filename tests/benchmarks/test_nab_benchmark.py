"""The NAB benchmark runner on the development files: what it writes and what it reports.

The figures themselves are recorded in docs/benchmarks.md, not asserted here; this test checks
that a score file mirrors every input, that the scores are NAB's [0, 1] detector output, and that
the reported figures are exactly what the written files score against the labelled windows.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analytics.detectors.streaming import NoveltyAlarmParameters
from benchmarks.datasets.nab import run_nab
from benchmarks.scoring.nab import LabelledScores, score_corpus

REPO = Path(__file__).resolve().parents[2]
NAB_DEV = Path(os.environ.get("FACMON_NAB_DIR", REPO.parent / "shared/datasets/nab-dev"))
DATA = NAB_DEV / "data"
LABELS = NAB_DEV / "labels/combined_windows.json"

pytestmark = [
    pytest.mark.benchmark,
    pytest.mark.skipif(not LABELS.is_file(), reason=f"NAB data not found at {NAB_DEV}"),
]


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [row for row in reader if row]


def rows_inside(timestamps: list[str], start: str, end: str) -> tuple[int, int]:
    """The window's first and last row, found by plain comparison of parsed times."""
    begin, finish = datetime.fromisoformat(start), datetime.fromisoformat(end)
    inside = [i for i, t in enumerate(timestamps) if begin <= datetime.fromisoformat(t) <= finish]
    return inside[0], inside[-1]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, list[str]]:
    out = tmp_path_factory.mktemp("nab")
    seen: list[str] = []
    result = run_nab(DATA, LABELS, out, progress=lambda name, i, n: seen.append(name))
    return result, out, seen


def test_a_score_file_mirrors_each_input(run) -> None:
    result, out, seen = run
    inputs = sorted(p.relative_to(DATA).as_posix() for p in DATA.rglob("*.csv"))
    assert result["files"] == len(inputs) == len(seen) >= 1
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.csv")) == inputs
    for name in inputs:
        _, source = read_rows(DATA / name)
        header, rows = read_rows(out / name)
        assert header == ["timestamp", "anomaly_score"]
        assert [row[0] for row in rows] == [row[0] for row in source]
        scores = np.array([float(row[1]) for row in rows])
        assert np.all((scores >= 0.0) & (scores <= 1.0)), name


def test_reported_figures_equal_a_rescoring_of_the_written_files(run) -> None:
    result, out, _ = run
    labels = json.loads(LABELS.read_text())
    files = []
    for name, windows in sorted(labels.items()):
        _, rows = read_rows(out / name)
        timestamps = [row[0] for row in rows]
        spans = tuple(rows_inside(timestamps, start, end) for start, end in windows)
        files.append(LabelledScores(name, np.array([float(row[1]) for row in rows]), spans))
    rescored = score_corpus(files)
    for profile in ("standard", "reward_low_fp", "reward_low_fn"):
        assert result[profile] == pytest.approx(rescored[profile].normalised)
        assert result["thresholds"][profile] == rescored[profile].threshold


def test_the_report_names_the_dataset_and_the_frozen_parameters(run) -> None:
    result, _, _ = run
    assert result["dataset"] == "nab"
    assert result["parameters"]["detector"] == "NoveltyAlarm"
    assert (
        NoveltyAlarmParameters(**{k: v for k, v in result["parameters"].items() if k != "detector"})
        == NoveltyAlarmParameters()
    )
    assert -100.0 < result["standard"] <= 100.0
