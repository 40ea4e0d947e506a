"""Numenta Anomaly Benchmark (NAB v1.1) scoring, written from the rules in
../shared/datasets/README.md.

NAB rewards a detector for raising one alarm early inside each labelled window and charges
for every alarm outside the windows, less so for alarms just after a window (late but useful).
The corpus score is normalised so that a detector that never fires scores 0 and a perfect one
scores 100. One threshold per cost profile is chosen for the whole corpus, as the distinct
score that maximises that profile's raw score (or, if every distinct score does worse than
silence, a threshold just above the highest score, as NAB's own sweep allows).

The sweep is exact but cheap: every row's worth if it were a detection does not depend on the
threshold, so the rows are sorted once by score, each false positive adds its own constant, and
each window adds a step each time a new earlier (more valuable) row of it crosses the threshold.
A cumulative sum then gives the corpus score at every distinct threshold at once.

>>> files = [LabelledScores("a.csv", np.array([0.0] * 10 + [0.9, 0.2]), ((10, 11),))]
>>> result = sweep_threshold(files, PROFILES["standard"])
>>> (result.threshold, round(result.normalised, 1))
(0.9, 100.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "PROFILES",
    "CostProfile",
    "FileScore",
    "LabelledScores",
    "SweepResult",
    "Window",
    "normalise",
    "probationary_rows",
    "score_corpus",
    "score_file",
    "sweep_threshold",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Window = tuple[int, int]

MAX_PROBATIONARY_ROWS = 750
PROBATIONARY_FRACTION = 0.15


@dataclass(frozen=True)
class CostProfile:
    """Weights of a true positive, a false positive and a missed window."""

    name: str
    a_tp: float
    a_fp: float
    a_fn: float


PROFILES: dict[str, CostProfile] = {
    "standard": CostProfile("standard", 1.0, 0.11, 1.0),
    "reward_low_fp": CostProfile("reward_low_fp", 1.0, 0.22, 1.0),
    "reward_low_fn": CostProfile("reward_low_fn", 1.0, 0.11, 2.0),
}


@dataclass(frozen=True)
class LabelledScores:
    """One file's detector output (one score per row) and its windows as inclusive row spans."""

    name: str
    scores: FloatArray
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class FileScore:
    """One file's raw score at a fixed threshold, with the counts behind it."""

    raw: float
    true_positives: int
    false_positives: int
    false_negatives: int


@dataclass(frozen=True)
class SweepResult:
    """The best threshold of one profile over a corpus and the scores it earns."""

    profile: str
    threshold: float
    raw: float
    normalised: float


def probationary_rows(n_rows: int) -> int:
    """Rows at the start of a file that are never scored: detectors are still learning there."""
    return min(math.floor(PROBATIONARY_FRACTION * n_rows), MAX_PROBATIONARY_ROWS)


def scaled_sigmoid(y: FloatArray) -> FloatArray:
    """NAB's sigmoid, 2 / (1 + e^(5y)) - 1, pinned to -1 beyond y = 3 (far-off false alarms)."""
    values = 2.0 / (1.0 + np.exp(5.0 * np.minimum(y, 3.0))) - 1.0
    return np.where(y > 3.0, -1.0, values)


_SIGMOID_AT_MINUS_ONE = float(scaled_sigmoid(np.array([-1.0]))[0])


def check_windows(windows: Sequence[Window], n_rows: int) -> None:
    """Refuse windows the rules cannot score: out of range, reversed, unsorted or overlapping."""
    previous_end = -1
    for left, right in windows:
        if not 0 <= left <= right < n_rows:
            raise ValueError(f"window [{left}, {right}] is not inside rows 0..{n_rows - 1}")
        if left <= previous_end:
            raise ValueError(f"window [{left}, {right}] overlaps or precedes the one before it")
        previous_end = right


def window_ids(n_rows: int, windows: Sequence[Window]) -> IntArray:
    """Index of the window each row lies in, -1 for rows outside every window."""
    ids = np.full(n_rows, -1, dtype=np.int64)
    for k, (left, right) in enumerate(windows):
        ids[left : right + 1] = k
    return ids


def true_positive_values(n_rows: int, windows: Sequence[Window], a_tp: float) -> FloatArray:
    """Worth of a detection at each in-window row: near A_TP at the window start, ~0 at its end."""
    values = np.zeros(n_rows)
    for left, right in windows:
        rows = np.arange(left, right + 1, dtype=np.float64)
        position = -(right - rows + 1.0) / (right - left + 1.0)
        values[left : right + 1] = a_tp * scaled_sigmoid(position) / _SIGMOID_AT_MINUS_ONE
    return values


def false_positive_values(n_rows: int, windows: Sequence[Window], a_fp: float) -> FloatArray:
    """Worth (negative) of a detection at each out-of-window row.

    Before any window has ended an alarm is plainly false (-A_FP); after one it is weighed by
    its distance from the end of the last window, relative to that window's length, so an
    alarm just after a window costs almost nothing.
    """
    values = np.full(n_rows, -a_fp)
    for k, (left, right) in enumerate(windows):
        stop = windows[k + 1][0] if k + 1 < len(windows) else n_rows
        rows = np.arange(right + 1, stop, dtype=np.float64)
        values[right + 1 : stop] = a_fp * scaled_sigmoid((rows - right) / max(right - left, 1))
    ids = window_ids(n_rows, windows)
    values[ids >= 0] = 0.0
    return values


def score_file(
    scores: FloatArray, windows: Sequence[Window], threshold: float, profile: CostProfile
) -> FileScore:
    """Raw score of one file when every row scoring >= threshold is a detection."""
    n_rows = len(scores)
    check_windows(windows, n_rows)
    detected = scores >= threshold
    detected[: probationary_rows(n_rows)] = False
    tp_values = true_positive_values(n_rows, windows, profile.a_tp)
    fp_values = false_positive_values(n_rows, windows, profile.a_fp)
    ids = window_ids(n_rows, windows)
    raw, hits = 0.0, 0
    for k in range(len(windows)):
        in_window = np.flatnonzero(detected & (ids == k))
        if in_window.size:
            raw, hits = raw + tp_values[in_window[0]], hits + 1
    false_alarms = detected & (ids < 0)
    raw += float(fp_values[false_alarms].sum()) - profile.a_fn * (len(windows) - hits)
    return FileScore(raw, hits, int(false_alarms.sum()), len(windows) - hits)


def normalise(raw: float, n_windows: int, profile: CostProfile) -> float:
    """Map a raw corpus score to 0 (never fire) .. 100 (one earliest alarm per window)."""
    perfect = n_windows * profile.a_tp
    null = -n_windows * profile.a_fn
    if perfect == null:
        return 0.0
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True)
class _CorpusRows:
    """Every row of a corpus flattened, with its worth if detected, ready to sweep."""

    scores: FloatArray
    fp_values: FloatArray
    tp_values: FloatArray
    window: IntArray
    n_windows: int


def _flatten(files: Sequence[LabelledScores], profile: CostProfile) -> _CorpusRows:
    """Concatenate files; probationary rows keep their scores (they are candidate thresholds)
    but are worth nothing, and window ids are made unique across files."""
    parts: list[tuple[FloatArray, FloatArray, FloatArray, IntArray]] = []
    offset = 0
    for item in files:
        n_rows = len(item.scores)
        check_windows(item.windows, n_rows)
        ids = window_ids(n_rows, item.windows)
        fp = false_positive_values(n_rows, item.windows, profile.a_fp)
        tp = true_positive_values(n_rows, item.windows, profile.a_tp)
        probation = probationary_rows(n_rows)
        fp[:probation], tp[:probation] = 0.0, 0.0
        ids[:probation] = -2  # neither a window row nor a false alarm
        parts.append((np.asarray(item.scores, dtype=np.float64), fp, tp, _shift(ids, offset)))
        offset += len(item.windows)
    scores, fp_all, tp_all, ids_all = (
        np.concatenate(column) for column in zip(*parts, strict=True)
    )
    return _CorpusRows(scores, fp_all, tp_all, ids_all.astype(np.int64), offset)


def _shift(ids: IntArray, offset: int) -> IntArray:
    """Make a file's window ids unique in the corpus, leaving the negative markers alone."""
    return np.where(ids >= 0, ids + offset, ids)


def _score_steps(rows: _CorpusRows, order: IntArray, a_fn: float) -> FloatArray:
    """Change of the corpus raw score as each row (in descending score order) becomes a detection.

    A window's contribution is -A_FN until one of its rows is detected, then the worth of its
    earliest detected row; rows arrive by score, not time, so it is a running maximum.
    """
    window = rows.window[order]
    steps = np.where(window == -1, rows.fp_values[order], 0.0)
    tp_sorted = rows.tp_values[order]
    for k in range(rows.n_windows):
        positions = np.flatnonzero(window == k)
        if positions.size == 0:
            continue
        best = np.maximum.accumulate(tp_sorted[positions])
        steps[positions] += np.diff(best, prepend=-a_fn)
    return steps


def sweep_threshold(files: Sequence[LabelledScores], profile: CostProfile) -> SweepResult:
    """The threshold among all distinct scores of the corpus that maximises the raw score."""
    rows = _flatten(files, profile)
    if rows.scores.size == 0:
        raise ValueError("the corpus has no rows to score")
    if not np.all(np.isfinite(rows.scores)):
        raise ValueError("scores must be finite numbers")
    order = np.argsort(-rows.scores, kind="stable").astype(np.int64)
    totals = -profile.a_fn * rows.n_windows + np.cumsum(_score_steps(rows, order, profile.a_fn))
    sorted_scores = rows.scores[order]
    # Rows tied on a score are detected together: read the total after the last of each tie.
    group_ends = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
    best = group_ends[int(np.argmax(totals[group_ends]))]
    threshold, raw = float(sorted_scores[best]), float(totals[best])
    never_fire = -profile.a_fn * rows.n_windows
    if never_fire > raw:
        # Firing nowhere is NAB's null detector (normalised 0); a threshold just above the
        # highest score gives it, so a useless detector cannot score below zero.
        threshold, raw = float(np.nextafter(sorted_scores[0], np.inf)), never_fire
    return SweepResult(profile.name, threshold, raw, normalise(raw, rows.n_windows, profile))


def score_corpus(
    files: Sequence[LabelledScores], profiles: Sequence[CostProfile] = tuple(PROFILES.values())
) -> dict[str, SweepResult]:
    """Best threshold and normalised score of each profile, NAB's three by default."""
    return {profile.name: sweep_threshold(files, profile) for profile in profiles}
