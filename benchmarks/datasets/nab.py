"""Run a streaming detector over the Numenta Anomaly Benchmark the way its scoreboard does.

Each file is scored from scratch, one row at a time (score, then learn), with the same frozen
parameters for every file; the scores are written next to their timestamps, then the corpus is
scored with NAB's three cost profiles (analytics.scoring.nab). This module is the thin I/O
shell: reading CSV/JSON and writing CSV. Usage:

    result = run_nab(Path("../shared/datasets/nab-dev/data"),
                     Path("../shared/datasets/nab-dev/labels/combined_windows.json"),
                     Path("var/bench/nab"))
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from analytics import FloatArray, NoveltyAlarm
from benchmarks.scoring.nab import LabelledScores, Window, score_corpus

__all__ = ["AlarmStream", "NabSeries", "read_series", "run_nab", "windows_to_rows"]


class AlarmStream(Protocol):
    """What the runner needs from a detector: one reading in, one NAB output in [0, 1] out."""

    def update(self, x: float) -> float: ...


StreamFactory = Callable[[], AlarmStream]
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class NabSeries:
    """One NAB file: its path relative to the data folder, timestamps (text) and values."""

    name: str
    timestamps: list[str]
    values: FloatArray


def read_series(path: Path, name: str) -> NabSeries:
    """Read a `timestamp,value` CSV; an unreadable value becomes NaN (the detector copes)."""
    timestamps: list[str] = []
    values: list[float] = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        if [column.strip() for column in header[:2]] != ["timestamp", "value"]:
            raise ValueError(f"{path}: expected header timestamp,value, got {header}")
        for row in reader:
            timestamps.append(row[0])
            values.append(_to_float(row[1]))
    return NabSeries(name, timestamps, np.array(values, dtype=np.float64))


def _to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def windows_to_rows(timestamps: Sequence[str], windows: Sequence[Sequence[str]]) -> list[Window]:
    """Map [start, end] timestamp windows to inclusive row spans (rows whose time lies inside)."""
    times = np.array([datetime.fromisoformat(t) for t in timestamps], dtype="datetime64[us]")
    spans: list[Window] = []
    for start, end in windows:
        left = int(np.searchsorted(times, np.datetime64(datetime.fromisoformat(start)), "left"))
        right = int(np.searchsorted(times, np.datetime64(datetime.fromisoformat(end)), "right"))
        if right - 1 < left:
            raise ValueError(f"window [{start}, {end}] holds no rows")
        spans.append((left, right - 1))
    return spans


def score_series(values: FloatArray, make_stream: StreamFactory) -> FloatArray:
    """Stream one file through a fresh detector: the output of row i sees rows <= i only."""
    stream = make_stream()
    return np.array([stream.update(float(x)) for x in values], dtype=np.float64)


def write_scores(path: Path, timestamps: Sequence[str], scores: FloatArray) -> None:
    """Write `timestamp,anomaly_score`; repr keeps every float exact for re-scoring."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "anomaly_score"])
        writer.writerows((t, repr(float(s))) for t, s in zip(timestamps, scores, strict=True))


def load_labels(labels_file: Path) -> dict[str, list[list[str]]]:
    """NAB's combined_windows.json: data-relative path -> list of [start, end] timestamps."""
    labels: dict[str, list[list[str]]] = json.loads(labels_file.read_text())
    return labels


def corpus_summary(files: Sequence[LabelledScores], parameters: dict[str, Any]) -> dict[str, Any]:
    """Score the corpus with the three profiles and shape the benchmark's answer."""
    results = score_corpus(files)
    return {
        "dataset": "nab",
        "files": len(files),
        "standard": results["standard"].normalised,
        "reward_low_fp": results["reward_low_fp"].normalised,
        "reward_low_fn": results["reward_low_fn"].normalised,
        "thresholds": {name: result.threshold for name, result in results.items()},
        "parameters": parameters,
    }


def run_nab(
    data_dir: Path,
    labels_file: Path,
    out_dir: Path,
    progress: Progress | None = None,
    make_stream: StreamFactory | None = None,
) -> dict[str, Any]:
    """Score every CSV under data_dir from scratch, write the scores under out_dir at the same
    relative paths, and return the normalised NAB scores of the three profiles.

    `progress(name, done, total)` is called after each file. `make_stream` swaps the detector
    (default: NoveltyAlarm with its frozen parameters).
    """
    factory: StreamFactory = make_stream or NoveltyAlarm
    labels = load_labels(labels_file)
    paths = sorted(data_dir.rglob("*.csv"))
    scored: list[LabelledScores] = []
    for done, path in enumerate(paths, start=1):
        name = path.relative_to(data_dir).as_posix()
        series = read_series(path, name)
        scores = score_series(series.values, factory)
        write_scores(out_dir / name, series.timestamps, scores)
        if name not in labels:
            raise ValueError(f"{name}: no entry in {labels_file}; is data_dir NAB's data/?")
        windows = tuple(windows_to_rows(series.timestamps, labels[name]))
        scored.append(LabelledScores(name, scores, windows))
        if progress is not None:
            progress(name, done, len(paths))
    return corpus_summary(scored, _parameters_of(factory))


def _parameters_of(factory: StreamFactory) -> dict[str, Any]:
    """The detector's name and frozen parameters, for the record."""
    stream = factory()
    parameters = getattr(stream, "parameters", None)
    described = {"detector": type(stream).__name__}
    if dataclasses.is_dataclass(parameters) and not isinstance(parameters, type):
        described.update(dataclasses.asdict(parameters))
    return described
