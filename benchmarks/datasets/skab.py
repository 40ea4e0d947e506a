"""Run a batch detector over the Skoltech Anomaly Benchmark (SKAB) the way its leaderboard does.

Protocol (../shared/datasets/README.md): every labelled file on its own, from scratch, with the
same frozen parameters; fit on the file's first 400 rows, then a 0/1 label for every later row.
The detector sees the metric columns only (no time, no row position), and the label of row i
depends on rows up to i only. The predictions are written as `datetime,anomaly` CSVs that
mirror the input folders, then all test rows of all files are pooled and scored
(analytics.scoring.skab). This module is the thin I/O shell: reading and writing CSV. Usage:

    result = run_skab(Path("../shared/datasets/skab-dev"), Path("var/bench/skab"))
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from analytics import FloatArray, MewmaShiftDetector
from benchmarks.scoring.skab import SkabScore, pool_scores, score_labels

__all__ = [
    "TRAIN_ROWS",
    "SkabFile",
    "find_labelled_files",
    "read_skab_file",
    "run_skab",
    "write_predictions",
]

TRAIN_ROWS = 400
IntArray = npt.NDArray[np.int64]
Progress = Callable[[str, int, int], None]
_NOT_METRICS = {"datetime", "anomaly", "changepoint"}


class LabellingDetector(Protocol):
    """What the runner needs: learn from healthy rows, then a causal 0/1 label per later row."""

    def fit(self, X: FloatArray) -> LabellingDetector: ...

    def predict(self, X: FloatArray) -> IntArray: ...

    def get_params(self) -> dict[str, float]: ...


@dataclass(frozen=True)
class SkabFile:
    """One labelled SKAB file: its path relative to the data folder, and its columns."""

    name: str
    timestamps: list[str]
    metrics: list[str]
    values: FloatArray
    anomaly: IntArray


def find_labelled_files(data_dir: Path) -> list[Path]:
    """Every CSV under data_dir, in a stable order (unlabelled ones are skipped when read)."""
    return sorted(data_dir.rglob("*.csv"), key=lambda path: _natural_key(path, data_dir))


def _natural_key(path: Path, root: Path) -> list[tuple[int, int | str]]:
    """Sort valve1/2.csv before valve1/10.csv."""
    parts = path.relative_to(root).with_suffix("").parts
    return [(0, int(part)) if part.isdigit() else (1, part) for part in parts]


def read_skab_file(path: Path, name: str) -> SkabFile | None:
    """Read a `;`- or `,`-separated SKAB CSV; None when it has no `anomaly` column."""
    with path.open(newline="") as handle:
        first = handle.readline()
        handle.seek(0)
        reader = csv.reader(handle, delimiter=";" if ";" in first else ",")
        header = [column.strip() for column in next(reader)]
        if "anomaly" not in header or "datetime" not in header:
            return None
        rows = [row for row in reader if row]
    metrics = [column for column in header if column not in _NOT_METRICS]
    index = {column: position for position, column in enumerate(header)}
    values = np.array([[_to_float(row[index[m]]) for m in metrics] for row in rows])
    anomaly = np.array([int(_to_float(row[index["anomaly"]]) > 0) for row in rows])
    timestamps = [row[index["datetime"]] for row in rows]
    return SkabFile(name, timestamps, metrics, values.reshape(len(rows), len(metrics)), anomaly)


def _to_float(text: str) -> float:
    """A number, or NaN for an empty or unreadable cell (the detector copes with NaN)."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def write_predictions(path: Path, timestamps: list[str], labels: IntArray) -> None:
    """Write `datetime,anomaly` with the input's datetime text and one 0/1 per row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["datetime", "anomaly"])
        writer.writerows(zip(timestamps, (int(label) for label in labels), strict=True))


def detect_file(
    data: SkabFile, detector: Callable[[], LabellingDetector], train_rows: int
) -> IntArray:
    """Fit a fresh detector on the first rows, label the rest (the protocol for one file)."""
    model = detector().fit(data.values[:train_rows])
    return np.asarray(model.predict(data.values[train_rows:]), dtype=np.int64)


def run_skab(
    data_dir: Path,
    out_dir: Path,
    progress: Progress | None = None,
    detector: Callable[[], LabellingDetector] = MewmaShiftDetector,
    train_rows: int = TRAIN_ROWS,
) -> dict[str, Any]:
    """Apply the protocol to every labelled file under data_dir; write and score predictions.

    FAR and MAR are returned in per cent (`far_pct`, `mar_pct`); F1 as a fraction. Files too
    short to leave a test row after training are listed under `skipped`.
    """
    started = time.perf_counter()
    paths = find_labelled_files(data_dir)
    scores: list[SkabScore] = []
    skipped: list[str] = []
    for position, path in enumerate(paths, start=1):
        name = path.relative_to(data_dir).as_posix()
        if progress is not None:
            progress(name, position, len(paths))
        data = read_skab_file(path, name)
        if data is None:
            continue
        if len(data.timestamps) <= train_rows:
            skipped.append(name)
            continue
        labels = detect_file(data, detector, train_rows)
        write_predictions(out_dir / name, data.timestamps[train_rows:], labels)
        scores.append(score_labels(data.anomaly[train_rows:], labels))
    return _summary(scores, skipped, detector().get_params(), train_rows, started)


def _summary(
    scores: list[SkabScore],
    skipped: list[str],
    params: dict[str, float],
    train_rows: int,
    started: float,
) -> dict[str, Any]:
    """The result dictionary: pooled figures, counts and the frozen parameters."""
    total = pool_scores(scores)
    return {
        "dataset": "skab",
        "files": len(scores),
        "rows": total.rows,
        "f1": total.f1,
        "far_pct": 100.0 * total.far,
        "mar_pct": 100.0 * total.mar,
        "counts": {"tp": total.tp, "fp": total.fp, "fn": total.fn, "tn": total.tn},
        "parameters": {"train_rows": train_rows, **params},
        "skipped": skipped,
        "seconds": round(time.perf_counter() - started, 3),
    }
