"""The SKAB benchmark runner on the development files: what it writes and what it reports.

The figures themselves are recorded in docs/benchmarks.md, not asserted here; this test checks
that the prediction files follow the protocol and that the reported metrics are exactly what
the written files score against the labels.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest

from analytics.detectors.multivariate import MewmaShiftDetector
from benchmarks.datasets.skab import TRAIN_ROWS, run_skab

REPO = Path(__file__).resolve().parents[2]
SKAB_DEV = Path(os.environ.get("FACMON_SKAB_DIR", REPO.parent / "shared/datasets/skab-dev"))

pytestmark = [
    pytest.mark.benchmark,
    pytest.mark.skipif(not SKAB_DEV.is_dir(), reason=f"SKAB data not found at {SKAB_DEV}"),
]


def read_rows(path: Path, delimiter: str) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader)
        return header, [row for row in reader if row]


def labelled_inputs() -> dict[str, tuple[list[str], list[int]]]:
    """Relative path -> (datetime texts, 0/1 truth) of every input file with labels."""
    found = {}
    for path in sorted(SKAB_DEV.rglob("*.csv")):
        header, rows = read_rows(path, ";")
        if "anomaly" in header:
            when, label = header.index("datetime"), header.index("anomaly")
            truth = [int(float(row[label])) for row in rows]
            found[path.relative_to(SKAB_DEV).as_posix()] = ([row[when] for row in rows], truth)
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, list[str]]:
    out = tmp_path_factory.mktemp("skab")
    seen: list[str] = []
    result = run_skab(SKAB_DEV, out, progress=lambda name, i, n: seen.append(name))
    return result, out, seen


def test_a_prediction_file_mirrors_each_labelled_input(run) -> None:
    result, out, _ = run
    inputs = labelled_inputs()
    assert result["files"] == len(inputs) >= 1
    for name, (timestamps, _) in inputs.items():
        header, rows = read_rows(out / name, ",")
        assert header == ["datetime", "anomaly"]
        assert [row[0] for row in rows] == timestamps[TRAIN_ROWS:]
        assert {row[1] for row in rows} <= {"0", "1"}
    written = {p.relative_to(out).as_posix() for p in out.rglob("*.csv")}
    assert written == set(inputs)  # nothing for the unlabelled anomaly-free file


def test_reported_metrics_equal_a_recount_of_the_written_files(run) -> None:
    result, out, _ = run
    tp = fp = fn = tn = 0
    for name, (_, truth) in labelled_inputs().items():
        _, rows = read_rows(out / name, ",")
        for actual, row in zip(truth[TRAIN_ROWS:], rows, strict=True):
            flagged = row[1] == "1"
            tp += actual and flagged
            fp += (not actual) and flagged
            fn += actual and not flagged
            tn += not actual and not flagged
    assert result["rows"] == tp + fp + fn + tn
    assert result["counts"] == {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
    assert result["f1"] == pytest.approx(tp / (tp + (fp + fn) / 2))
    assert result["far_pct"] == pytest.approx(100 * fp / (fp + tn))
    assert result["mar_pct"] == pytest.approx(100 * fn / (fn + tp))


def test_the_report_names_the_dataset_progress_and_frozen_parameters(run) -> None:
    result, _, seen = run
    assert result["dataset"] == "skab"
    assert len(seen) == len(list(SKAB_DEV.rglob("*.csv")))  # one call per file found
    assert result["parameters"] == {"train_rows": TRAIN_ROWS, **MewmaShiftDetector().get_params()}
