"""A per-metric streaming detector robust to noise and outliers, vectorised across series.

Each series (one metric of one device) keeps a robust location and scale: the location moves
toward each value by a small step in the value's direction (so it tracks the median, and a
single wild value moves it no more than an ordinary one), and the scale is an exponentially
weighted mean absolute deviation of values clipped at a few scales (so outliers cannot inflate
it). The score is the distance from the location in robust standard deviations. Values that
score as anomalous are not learned, which protects the baseline from the fault it should report.

All state lives in numpy arrays indexed by series slot, so a batch of readings from thousands
of devices is scored and learned in a few vector operations.
"""

from __future__ import annotations

import numpy as np

from analytics.detectors.base import FloatArray, Observation

__all__ = ["RobustBaseline"]

_MEAN_DEVIATION_TO_SD = 1.2533  # sqrt(pi/2): a normal distribution's SD per mean |x - mean|
_IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]


class RobustBaseline:
    """Robust z-scores for many series at once (slots 0..n-1); also one series via *_one.

    `alpha` is the learning rate (about 1/alpha observations of memory), `clip` caps how many
    scales a value may move the scale estimate, `learn_below` is the score above which a value
    is not learned, and `floor` is the smallest scale (in the metric's units) so a perfectly
    constant signal does not make every tiny change infinitely anomalous.
    """

    def __init__(
        self,
        alpha: float = 0.01,
        clip: float = 4.0,
        learn_below: float = 6.0,
        floor: float = 1e-6,
        warmup: int = 20,
    ) -> None:
        self.alpha = alpha
        self.clip = clip
        self.learn_below = learn_below
        self.floor = floor
        self.warmup = warmup
        self.location_: FloatArray = np.zeros(0)
        self.scale_: FloatArray = np.zeros(0)
        self.seen_: FloatArray = np.zeros(0)

    def _ensure(self, size: int) -> None:
        """Grow the state arrays to hold `size` series (new series start unlearned)."""
        if size <= self.location_.size:
            return
        grow = size - self.location_.size
        self.location_ = np.concatenate([self.location_, np.zeros(grow)])
        self.scale_ = np.concatenate([self.scale_, np.zeros(grow)])
        self.seen_ = np.concatenate([self.seen_, np.zeros(grow)])

    def score_many(self, slots: _IntArray, values: FloatArray) -> FloatArray:
        """Robust z-score of each value against its series; 0 for unlearned series and NaN."""
        return np.abs(self.deviation_many(slots, values))

    def deviation_many(self, slots: _IntArray, values: FloatArray) -> FloatArray:
        """Signed robust z-scores (positive above the location): for faults with a direction."""
        self._ensure(int(slots.max(initial=-1)) + 1)
        location, scale = self.location_[slots], self.scale_[slots]
        spread = np.maximum(_MEAN_DEVIATION_TO_SD * scale, self.floor)
        deviations = (values - location) / spread
        ready = self.seen_[slots] >= self.warmup
        return np.where(ready & np.isfinite(deviations), deviations, 0.0)

    def learn_many(self, slots: _IntArray, values: FloatArray) -> None:
        """Fold values into their series; NaN and anomalous values are skipped.

        A slot should appear once per call: repeated slots are learned once (numpy fancy
        assignment keeps the last), which only slows learning down.
        """
        self._ensure(int(slots.max(initial=-1)) + 1)
        finite = np.isfinite(values)
        keep = finite & (self.score_many(slots, np.where(finite, values, 0.0)) < self.learn_below)
        slots, values = slots[keep], values[keep]
        seen = self.seen_[slots]
        location, scale = self.location_[slots], self.scale_[slots]
        rate = np.maximum(self.alpha, 1.0 / (seen + 1.0))  # fast start, then slow and steady
        warming = seen < self.warmup
        offset = values - location
        # While warming up: plain running mean and mean absolute deviation. After: the location
        # moves a fixed step toward the value (a median tracker) and deviations are clipped.
        limit = np.where(warming, np.inf, self.clip * np.maximum(scale, self.floor))
        deviation = np.minimum(np.abs(offset), limit)
        step = np.where(warming, offset, np.maximum(scale, self.floor) * np.sign(offset))
        self.location_[slots] = location + rate * step
        self.scale_[slots] = scale + rate * (deviation - scale)
        self.seen_[slots] = seen + 1

    def forget(self, slot: int) -> None:
        """Start one series over, as if nothing had been learned (for a refit from history)."""
        self._ensure(slot + 1)
        self.location_[slot] = self.scale_[slot] = self.seen_[slot] = 0.0

    # The single-series contract: slot 0, one value (or a vector of metrics as slots 0..k-1).
    def score_one(self, x: Observation) -> float:
        values = np.atleast_1d(np.asarray(x, dtype=np.float64))
        return float(self.score_many(np.arange(values.size), values).max(initial=0.0))

    def learn_one(self, x: Observation) -> None:
        values = np.atleast_1d(np.asarray(x, dtype=np.float64))
        self.learn_many(np.arange(values.size), values)
