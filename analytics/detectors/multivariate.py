"""A multivariate shift detector for one device's metrics, learned from its own healthy history.

Why this shape (measured on SKAB, see docs/benchmarks.md):

- **Sustained shifts, not single outliers.** Equipment faults (a valve half closed, a rotor out
  of balance) move a metric's level and keep it there; sensor noise does not. Each column's
  innovation (how far the new reading is from what was expected) is smoothed by an exponentially
  weighted moving average (EWMA), so a small shift that persists piles up while noise averages
  out. The whole vector of EWMAs is the classic MEWMA chart of statistical process control.
- **Slow columns are watched through their changes.** Temperatures wander with the room and
  the load: their level an hour later is not predictable from a few minutes of history, so a
  level test on them raises false alarms. A column whose healthy rows are strongly
  autocorrelated (lag-1 autocorrelation above `slow_autocorr`) is therefore monitored through
  its first differences (a change of pace, rising faster than it ever wandered, still shows);
  the other columns through their level.
- **A baseline that follows healthy drift but not the fault.** Levels are measured from a
  baseline that creeps toward each reading (rate `baseline_rate`) while no alarm is raised and
  freezes during an alarm, so the model never learns the fault it should report.
- **Outliers are clipped** (Huber-style, at `clip_sd` innovation standard deviations), so one
  wild reading moves the EWMA no more than a few ordinary ones.
- **Per-column and joint tests.** A row alarms when any column's EWMA leaves `threshold_sd` of
  its healthy standard deviations, or when the Mahalanobis distance of the EWMA vector (which
  sees broken correlations between columns) passes the chi-square limit with the same nominal
  tail probability. Limits come from the healthy rows' own EWMA spread, not from labels.
- **Hysteresis.** Once raised, an alarm holds until the score falls below `release`, so one
  fault gives one alarm instead of a flickering one.

`score_samples(X)` treats the rows of X as the readings that follow the training rows, in time
order: the score of row i depends on rows up to i only (causal), and is normalised so that 1.0
is the alarm limit. Scoring does not change the model, so the same X always gives the same
scores. A missing reading (NaN or inf) carries no news: its innovation is zero and it does not
move the baseline.

>>> rng = np.random.default_rng(0)
>>> healthy = rng.normal(0.0, 1.0, (300, 3))
>>> detector = MewmaShiftDetector().fit(healthy)
>>> faulty = rng.normal(0.0, 1.0, (40, 3)); faulty[20:, 1] += 3.0
>>> labels = detector.predict(faulty)
>>> bool(labels[:15].any()), bool(labels[30:].all())
(False, True)
>>> int(np.argmax(detector.contributions(faulty)[-1]))
1
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Self

import numpy as np
import numpy.typing as npt

from analytics.detectors.base import FloatArray

__all__ = ["Hysteresis", "MewmaShiftDetector", "hysteresis_labels"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_MAD_TO_SD = 1.4826  # a normal distribution's SD per median absolute deviation
_TINY = 1e-12
_MIN_TRAINING_ROWS = 10


@dataclass
class Hysteresis:
    """A causal 0/1 latch: switches on when a score exceeds `on`, off when it drops below `off`.

    >>> latch = Hysteresis(on=1.0, off=0.5)
    >>> [latch.update(s) for s in (0.2, 1.2, 0.7, 0.4, 0.9)]
    [False, True, True, False, False]
    """

    on: float = 1.0
    off: float = 0.8
    active: bool = False

    def update(self, score: float) -> bool:
        """Fold in the next score and say whether the alarm is raised after it."""
        if self.active:
            self.active = not score < self.off
        else:
            self.active = score > self.on
        return self.active


def hysteresis_labels(scores: FloatArray, on: float = 1.0, off: float = 0.8) -> IntArray:
    """0/1 labels for a score series in time order, each depending on earlier scores only.

    >>> hysteresis_labels(np.array([0.1, 1.5, 0.9, 0.3, 1.1]), on=1.0, off=0.8).tolist()
    [0, 1, 1, 0, 1]
    """
    latch = Hysteresis(on=on, off=off)
    return np.array([int(latch.update(float(s))) for s in scores], dtype=np.int64)


@dataclass
class _ScanState:
    """Where a causal scan stands: per-column baseline, last reading and EWMA (all in z units)."""

    baseline: FloatArray
    previous: FloatArray
    ewma: FloatArray

    def copy(self) -> _ScanState:
        return _ScanState(self.baseline.copy(), self.previous.copy(), self.ewma.copy())


@dataclass
class _Trace:
    """What a scan saw: the EWMA vector and normalised score per row, labels and final state."""

    ewma: FloatArray
    scores: FloatArray
    labels: IntArray
    state: _ScanState


def _robust_scale(values: FloatArray) -> FloatArray:
    """Per-column spread: the larger of the MAD-based and the classical SD, 1.0 if both are 0.

    The MAD alone collapses to zero on quantised sensors (a flow meter that reads 32 most of the
    time); the SD alone is inflated by outliers. The larger of the two is safe on both counts.
    """
    center = np.nanmedian(values, axis=0)
    mad = _MAD_TO_SD * np.nanmedian(np.abs(values - center), axis=0)
    scale = np.fmax(mad, np.nanstd(values, axis=0))
    return np.where(np.isfinite(scale) & (scale > _TINY), scale, 1.0)


def _lag1_autocorrelation(z: FloatArray) -> FloatArray:
    """Lag-1 autocorrelation per column (missing values count as the column mean)."""
    seen = np.isfinite(z)
    mean = np.where(seen, z, 0.0).sum(axis=0) / np.maximum(seen.sum(axis=0), 1)
    filled = np.where(seen, z - mean, 0.0)
    cross = np.sum(filled[1:] * filled[:-1], axis=0)
    return np.asarray(cross / np.maximum(np.sum(filled * filled, axis=0), _TINY))


def _joint_limit(threshold_sd: float, dims: int) -> float:
    """Chi-square limit for `dims` degrees of freedom with the tail of a ±threshold_sd test.

    Wilson-Hilferty's cube-root normal approximation keeps the module free of scipy; it is
    within 2 % of the exact limit for 8 columns (8 % high for one column, where the per-column
    test decides anyway).
    """
    tail = 2.0 * NormalDist().cdf(-threshold_sd)
    z = NormalDist().inv_cdf(1.0 - tail)
    k = 2.0 / (9.0 * dims)
    return float(dims * (1.0 - k + z * np.sqrt(k)) ** 3)


class MewmaShiftDetector:
    """Causal multivariate EWMA shift detector; see the module docstring for the reasoning.

    Hyper-parameters: `alpha` EWMA weight (about 1/alpha rows of memory); `threshold_sd` alarm
    limit in healthy EWMA standard deviations; `release` score below which an alarm clears
    (1.0 is the alarm limit); `clip_sd` Huber clip of innovations; `baseline_rate` how fast
    level baselines follow healthy drift; `slow_autocorr` lag-1 autocorrelation above which a
    column is watched through its changes; `warmup` first training rows left out of the
    statistics (the EWMA is still settling); `ridge` shrinkage of the EWMA covariance.
    """

    def __init__(
        self,
        alpha: float = 0.15,
        threshold_sd: float = 4.0,
        release: float = 0.8,
        clip_sd: float = 3.0,
        baseline_rate: float = 0.01,
        slow_autocorr: float = 0.7,
        warmup: int = 50,
        ridge: float = 0.01,
    ) -> None:
        self.alpha = alpha
        self.threshold_sd = threshold_sd
        self.release = release
        self.clip_sd = clip_sd
        self.baseline_rate = baseline_rate
        self.slow_autocorr = slow_autocorr
        self.warmup = warmup
        self.ridge = ridge

    def get_params(self) -> dict[str, float]:
        """The hyper-parameters, as a benchmark report or a saved model wants them."""
        names = ("alpha", "threshold_sd", "release", "clip_sd", "baseline_rate")
        params = {name: float(getattr(self, name)) for name in names}
        params.update(slow_autocorr=self.slow_autocorr, warmup=self.warmup, ridge=self.ridge)
        return params

    # ----------------------------------------------------------------- learning

    def fit(self, X: FloatArray) -> Self:
        """Learn healthy behaviour from rows of X in time order (X is not modified)."""
        rows = self._as_matrix(X, fitting=True)
        self.n_features_in_ = rows.shape[1]
        self.usable_ = np.sum(np.isfinite(rows), axis=0) >= 2
        self.center_ = np.where(self.usable_, np.nanmedian(_with_nan_columns(rows), axis=0), 0.0)
        self.scale_ = np.where(self.usable_, _robust_scale(_with_nan_columns(rows)), 1.0)
        z = self._standardise(rows)
        self.slow_ = _lag1_autocorrelation(z) > self.slow_autocorr
        self.innovation_scale_ = np.ones(self.n_features_in_)
        skip = self._settled_from(len(z))
        raw = self._scan(z, self._initial_state(z), alpha=1.0, clip=np.inf).ewma[skip:]
        self.innovation_scale_ = _robust_scale(raw)
        trace = self._scan(z, self._initial_state(z), alpha=self.alpha, clip=self.clip_sd)
        self._learn_limits(trace.ewma[skip:])
        self.state_ = trace.state
        return self

    def _learn_limits(self, ewma: FloatArray) -> None:
        """Healthy EWMA spread per column, its covariance and the joint chi-square limit."""
        dims = ewma.shape[1]
        cov = ewma.T @ ewma / max(len(ewma), 1)
        self.ewma_sd_ = np.sqrt(np.maximum(np.diag(cov), _TINY))
        shrink = self.ridge * float(np.trace(cov)) / dims + _TINY
        self.precision_ = np.linalg.inv(cov + shrink * np.eye(dims))
        self.joint_limit_ = _joint_limit(self.threshold_sd, dims)

    def _initial_state(self, z: FloatArray) -> _ScanState:
        """Start level baselines at the healthy median (0 in z units) and the EWMA at rest."""
        first = np.where(np.isfinite(z[0]), z[0], 0.0)
        zeros = np.zeros(z.shape[1])
        return _ScanState(baseline=zeros.copy(), previous=first, ewma=zeros.copy())

    def _settled_from(self, n_rows: int) -> int:
        """First training row used for statistics: after the warm-up, keeping at least half."""
        return min(self.warmup, n_rows // 2)

    # ------------------------------------------------------------------ scoring

    def score_samples(self, X: FloatArray) -> FloatArray:
        """Normalised scores (1.0 = alarm limit) for the rows that follow the training rows."""
        return self._trace(X).scores

    def predict(self, X: FloatArray) -> IntArray:
        """0/1 alarm per row, with hysteresis; equals hysteresis_labels(score_samples(X))."""
        return self._trace(X).labels

    def contributions(self, X: FloatArray) -> FloatArray:
        """Each column's share of its row's deviation (rows sum to 1, or 0 when all is quiet).

        The share is the column's squared EWMA in healthy standard deviations over the row's
        total, so the largest share names the metric an alert should talk about.
        """
        trace = self._trace(X)
        squared = (trace.ewma / self.ewma_sd_) ** 2
        total = squared.sum(axis=1, keepdims=True)
        return np.asarray(np.where(total > _TINY, squared / np.maximum(total, _TINY), 0.0))

    def level_ratios(self, X: FloatArray) -> FloatArray:
        """Each reading over its column's healthy median ("2.8x its normal level"); NaN if 0."""
        rows = self._as_matrix(X, fitting=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = rows / self.center_
        return np.asarray(np.where(np.abs(self.center_) > _TINY, ratio, np.nan))

    def _trace(self, X: FloatArray) -> _Trace:
        z = self._standardise(self._as_matrix(X, fitting=False))
        return self._scan(z, self.state_.copy(), self.alpha, self.clip_sd, gated=True)

    # --------------------------------------------------------------- the scan

    def _scan(
        self, z: FloatArray, state: _ScanState, alpha: float, clip: float, gated: bool = False
    ) -> _Trace:
        """Walk the rows in order; with `gated`, score them and freeze baselines in alarms."""
        ewma = np.empty_like(z)
        scores = np.zeros(len(z))
        labels = np.zeros(len(z), dtype=np.int64)
        latch = Hysteresis(on=1.0, off=self.release)
        for i, row in enumerate(z):
            reading = self._fill_missing(row, state)
            step = self._innovation(reading, state)
            state.ewma += alpha * (np.clip(step, -clip, clip) - state.ewma)
            ewma[i] = state.ewma
            if gated:
                scores[i] = self._normalised_score(state.ewma)
                labels[i] = latch.update(scores[i])
            if not latch.active:
                state.baseline += self.baseline_rate * (reading - state.baseline)
            state.previous = reading
        return _Trace(ewma=ewma, scores=scores, labels=labels, state=state)

    def _fill_missing(self, row: FloatArray, state: _ScanState) -> FloatArray:
        """A missing reading is taken as exactly what was expected, so it carries no news."""
        expected = np.where(self.slow_, state.previous, state.baseline)
        return np.asarray(np.where(np.isfinite(row), row, expected))

    def _innovation(self, reading: FloatArray, state: _ScanState) -> FloatArray:
        """Change since the last reading (slow columns) or distance from the baseline (others)."""
        expected = np.where(self.slow_, state.previous, state.baseline)
        return np.asarray((reading - expected) / self.innovation_scale_)

    def _normalised_score(self, ewma: FloatArray) -> float:
        """The worst of the per-column and joint tests, each divided by its alarm limit."""
        per_column = float(np.max((ewma / self.ewma_sd_) ** 2)) / self.threshold_sd**2
        joint = float(ewma @ self.precision_ @ ewma) / self.joint_limit_
        return max(per_column, joint)

    # ---------------------------------------------------------------- plumbing

    def _as_matrix(self, X: FloatArray, fitting: bool) -> FloatArray:
        """A float copy of X as (rows, columns); a precise error for a wrong shape."""
        rows = np.array(X, dtype=np.float64, copy=True)
        if rows.ndim == 1:  # one metric over time, or (when scoring) one row of metrics
            one_metric = fitting or self.n_features_in_ == 1
            rows = rows.reshape(-1, 1) if one_metric else rows.reshape(1, -1)
        if rows.ndim != 2:
            raise ValueError(f"expected a 2-D array of rows x metrics, got shape {rows.shape}")
        if fitting and len(rows) < _MIN_TRAINING_ROWS:
            raise ValueError(f"need at least {_MIN_TRAINING_ROWS} healthy rows, got {len(rows)}")
        if not fitting and rows.shape[1] != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_} metrics, got {rows.shape[1]}")
        rows[~np.isfinite(rows)] = np.nan
        return rows

    def _standardise(self, rows: FloatArray) -> FloatArray:
        """Robust z units; columns never seen in training are treated as always missing."""
        z = (rows - self.center_) / self.scale_
        return np.asarray(np.where(self.usable_, z, np.nan))


def _with_nan_columns(rows: FloatArray) -> FloatArray:
    """Rows with all-missing columns filled by 0, so nan-statistics stay quiet about them."""
    empty = ~np.any(np.isfinite(rows), axis=0)
    return np.asarray(np.where(empty, 0.0, rows))
