"""A regression-residual detector in the spirit of MSET: what should this metric read, given
the others? It catches faults that no single metric shows: a pump whose flow falls while its
motor draws the same current (a seal leak) has every reading inside its normal range.

It learns a linear model of the first column from the rest (ridge least squares, accumulated
over the first `fit_size` healthy observations), and scores an observation by its residual in
robust standard deviations of the residuals seen then. The model is then frozen: a slow fault
would otherwise be learned bit by bit, each step too small to look anomalous. Refitting from
a later stretch of healthy history is the scheduler's job. Residuals are clipped when the
scale is learned, so sensor spikes cannot widen it.
"""

from __future__ import annotations

import numpy as np

from analytics.detectors.base import FloatArray, Observation

__all__ = ["LinearResidual"]

_MEAN_DEVIATION_TO_SD = 1.2533


class LinearResidual:
    """Streaming: x = [target, input_1, ..., input_k]; score = |residual| / its robust scale."""

    def __init__(
        self,
        warmup: int = 200,
        fit_size: int = 600,
        ridge: float = 1e-3,
        clip: float = 4.0,
        learn_below: float = 3.0,
    ) -> None:
        self.warmup = warmup
        self.fit_size = fit_size
        self.clip = clip
        self.ridge = ridge
        self.learn_below = learn_below
        self.gram_: FloatArray | None = None
        self.cross_: FloatArray | None = None
        self.coef_: FloatArray | None = None
        self.low_: FloatArray | None = None  # the operating envelope seen while fitting
        self.high_: FloatArray | None = None
        self.scale_ = 0.0
        self.seen_ = 0

    def deviation_one(self, x: Observation) -> float:
        """Signed residual (measured minus predicted) in robust SDs; 0 until warmed up."""
        row = np.atleast_1d(np.asarray(x, dtype=np.float64))
        if self.coef_ is None or self.seen_ < self.warmup or not np.all(np.isfinite(row)):
            return 0.0
        if not self._within_envelope(row[1:]):
            return 0.0  # no judgement outside the operating range the model learned
        residual = row[0] - float(_design(row[1:]) @ self.coef_)
        return float(residual / max(_MEAN_DEVIATION_TO_SD * self.scale_, 1e-9))

    def score_one(self, x: Observation) -> float:
        return abs(self.deviation_one(x))

    def learn_one(self, x: Observation) -> None:
        row = np.atleast_1d(np.asarray(x, dtype=np.float64))
        if self.seen_ >= self.fit_size or not np.all(np.isfinite(row)):
            return
        if self.score_one(row) >= self.learn_below:
            return
        features = _design(row[1:])
        if self.gram_ is None or self.cross_ is None:
            self.gram_ = self.ridge * np.eye(features.size)
            self.cross_ = np.zeros(features.size)
        self.gram_ = self.gram_ + np.outer(features, features)
        self.cross_ = self.cross_ + features * row[0]
        self.seen_ += 1
        inputs = row[1:]
        self.low_ = inputs if self.low_ is None else np.minimum(self.low_, inputs)
        self.high_ = inputs if self.high_ is None else np.maximum(self.high_, inputs)
        self.coef_ = np.linalg.solve(self.gram_, self.cross_)
        residual = abs(row[0] - float(features @ self.coef_))
        if self.seen_ > 10:  # past the first few points, whose residuals are meaninglessly small
            residual = min(residual, self.clip * self.scale_)
        self.scale_ += (residual - self.scale_) / self.seen_

    def _within_envelope(self, inputs: FloatArray) -> bool:
        if self.low_ is None or self.high_ is None:
            return False
        margin = 0.1 * (self.high_ - self.low_)
        return bool(np.all((inputs >= self.low_ - margin) & (inputs <= self.high_ + margin)))


def _design(inputs: FloatArray) -> FloatArray:
    """The inputs with a constant term."""
    return np.concatenate([inputs, [1.0]])
