"""Skoltech Anomaly Benchmark (SKAB) outlier-detection scoring, from the rules in
../shared/datasets/README.md.

SKAB pools every test row of every file and counts rows, not events: a late alarm costs one
missed row per second of delay, and an alarm that outlasts the fault costs one false alarm per
extra row. F1 is written as TP / (TP + (FP + FN) / 2), which equals the usual 2PR / (P + R);
FAR is the share of normal rows flagged, MAR the share of anomalous rows missed.

>>> result = score_labels(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 0]))
>>> (result.tp, result.fp, result.fn, result.tn, result.f1, result.far, result.mar)
(1, 1, 1, 1, 0.5, 0.5, 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SkabScore", "pool_scores", "score_labels"]

Labels = npt.NDArray[np.integer] | npt.NDArray[np.bool_] | npt.NDArray[np.floating]


@dataclass(frozen=True)
class SkabScore:
    """Row counts and the three SKAB figures; FAR and MAR are fractions (0.1 = 10 %)."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def rows(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def f1(self) -> float:
        """TP / (TP + (FP + FN) / 2); 0.0 when there is nothing to find and nothing flagged."""
        denominator = self.tp + (self.fp + self.fn) / 2
        return self.tp / denominator if denominator else 0.0

    @property
    def far(self) -> float:
        """False alarm rate FP / (FP + TN); 0.0 when there are no normal rows."""
        normal = self.fp + self.tn
        return self.fp / normal if normal else 0.0

    @property
    def mar(self) -> float:
        """Missed alarm rate FN / (FN + TP); 0.0 when there are no anomalous rows."""
        anomalous = self.fn + self.tp
        return self.fn / anomalous if anomalous else 0.0

    def __add__(self, other: SkabScore) -> SkabScore:
        """Pool two sets of rows, as SKAB pools all files before computing the figures."""
        return SkabScore(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )


def score_labels(truth: Labels, predicted: Labels) -> SkabScore:
    """Count one file's rows; both arrays hold 0/1 per row (any non-zero counts as 1)."""
    actual = np.asarray(truth).astype(bool).ravel()
    flagged = np.asarray(predicted).astype(bool).ravel()
    if actual.shape != flagged.shape:
        raise ValueError(f"truth has {actual.size} rows but predictions have {flagged.size}")
    return SkabScore(
        tp=int(np.sum(actual & flagged)),
        fp=int(np.sum(~actual & flagged)),
        fn=int(np.sum(actual & ~flagged)),
        tn=int(np.sum(~actual & ~flagged)),
    )


def pool_scores(scores: Iterable[SkabScore]) -> SkabScore:
    """All files' rows counted together (the leaderboard's figures are over pooled rows)."""
    total = SkabScore(0, 0, 0, 0)
    for score in scores:
        total = total + score
    return total
