"""Streaming novelty detection, metric by metric, and the alarm shaping that makes it alerts.

`NoveltyDetector` asks two questions of each new reading, using only what came before it:

* value novelty: is the reading somewhere the metric has never been? Inside the range seen so
  far it is the gap to the nearest earlier value, as a fraction of that range. Beyond the
  range it is the excess over the old extreme, measured against how ragged the most extreme
  earlier values were: a new peak a little above a scatter of similar peaks is no news, one
  far above a tight ceiling is.
* shape novelty: is the recent course of the signal (the means of a few consecutive blocks of
  readings) unlike any earlier stretch? Its nearest-neighbour distance to all earlier,
  non-overlapping stretches is compared with the largest such distance met so far, so the
  score rises only when the present is about as strange as the strangest moment yet.

The anomaly score is the larger of the two. Both learn everything they see, on purpose: after
a level shift the new level becomes familiar within a stretch, so one change raises one alarm,
not an alarm per reading for the rest of the day.

`AlarmShaper` then keeps an alert from repeating: it passes a score only when it clearly tops
every score of the last few dozen readings, and reports zero otherwise, so a burst of high
scores reads as one alert. `NoveltyAlarm` wires the two together and yields values in [0, 1).

>>> alarm = NoveltyAlarm()
>>> outputs = [alarm.update(10.0 + (i % 7) * 0.1) for i in range(600)]
>>> max(outputs) == 0.0 and alarm.update(25.0) > 0.9
True
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analytics.detectors.base import FloatArray, Observation

__all__ = ["AlarmShaper", "NoveltyAlarm", "NoveltyAlarmParameters", "NoveltyDetector"]

_UNSEEN = 1e6  # novelty of any change in a signal whose scale has been exactly zero so far


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, where any change over a zero denominator is very novel."""
    if denominator > 0.0:
        return numerator / denominator
    return 0.0 if numerator <= 0.0 else _UNSEEN


@dataclass(frozen=True)
class _Settings:
    """NoveltyDetector's hyper-parameters, shared by the memory of each metric."""

    block: int
    blocks: int
    margin: float
    settle: int
    tail: int
    tail_floor: float
    capacity: int


class NoveltyDetector:
    """Scores how unlike everything seen before a reading and its recent stretch are.

    Hyper-parameters (keyword-only):
        block: readings averaged into one block mean (smooths noise out of the shape).
        blocks: block means that make up one stretch (stretch length = block * blocks).
        margin: fraction of the largest stretch distance so far at which shape novelty starts.
        settle: stretch comparisons to make before shape novelty is judged: the first few,
            against a nearly empty memory, are a poor yardstick.
        tail: how many of the most extreme earlier values describe how ragged an extreme is.
        tail_floor: least spread of those extremes, as a fraction of the range (so a perfectly
            flat ceiling does not make every tiny excess infinitely novel).
        capacity: readings and stretches remembered; older ones are forgotten so memory and
            time per reading stay bounded on an endless stream.

    A vector observation is several metrics: each keeps its own memory (slot by position) and
    the score is the largest. A missing or infinite value scores 0 and is not learned.
    """

    def __init__(
        self,
        *,
        block: int = 32,
        blocks: int = 4,
        margin: float = 1.0,
        settle: int = 128,
        tail: int = 10,
        tail_floor: float = 0.1,
        capacity: int = 8000,
    ) -> None:
        if min(block, blocks, tail) < 1 or capacity < 2 or settle < 0:
            raise ValueError("block, blocks, tail >= 1, settle >= 0 and capacity >= 2 required")
        self.block, self.blocks, self.margin, self.settle = block, blocks, margin, settle
        self.tail, self.tail_floor, self.capacity = tail, tail_floor, capacity
        self.metrics_: list[_MetricMemory] = []

    def score_one(self, x: Observation) -> float:
        """Anomaly score of x (>= 0, higher is stranger): the largest over its metrics."""
        values = self._readings(x)
        return max((m.score(v) for m, v in zip(self.metrics_, values, strict=True)), default=0.0)

    def learn_one(self, x: Observation) -> None:
        """Remember x, metric by metric (missing values are skipped)."""
        for memory, value in zip(self.metrics_, self._readings(x), strict=True):
            memory.learn(value)

    def _readings(self, x: Observation) -> list[float]:
        """The observation as floats, growing the memories to one per metric."""
        values = np.atleast_1d(np.asarray(x, dtype=np.float64)).reshape(-1).tolist()
        while len(self.metrics_) < len(values):
            self.metrics_.append(_MetricMemory(self._settings()))
        return values + [math.nan] * (len(self.metrics_) - len(values))

    def _settings(self) -> _Settings:
        return _Settings(
            self.block,
            self.blocks,
            self.margin,
            self.settle,
            self.tail,
            self.tail_floor,
            self.capacity,
        )


class _MetricMemory:
    """Everything NoveltyDetector remembers of one metric, and the two novelty measures."""

    def __init__(self, settings: _Settings) -> None:
        self.settings = settings
        self.sorted_values_: list[float] = []
        self.value_order_: deque[float] = deque()
        self.recent_: deque[float] = deque(maxlen=self.span)
        self.pending_: deque[FloatArray] = deque()
        self.stretches_ = np.empty((self.settings.capacity, self.settings.blocks))
        self.n_stretches_ = 0
        self.record_distance_ = 0.0
        self.n_comparisons_ = 0
        self.n_learned_ = 0
        # score and the learn after it need the same nearest-stretch search; this cache,
        # keyed by (readings learned, value), runs it once. It is not learned state.
        self._distance_cache: tuple[int, float, float | None] | None = None

    @property
    def span(self) -> int:
        """Readings covered by one stretch."""
        return self.settings.block * self.settings.blocks

    def score(self, value: float) -> float:
        """Novelty of one reading; 0 for a missing or infinite one."""
        if not math.isfinite(value):
            return 0.0
        return max(self._value_novelty(value), self._shape_novelty(value))

    def learn(self, value: float) -> None:
        """Fold one reading in; a missing or infinite reading is skipped rather than learned."""
        if not math.isfinite(value):
            return
        distance = self._stretch_distance(value)
        if distance is not None:
            self.record_distance_ = max(self.record_distance_, distance)
            self.n_comparisons_ += 1
        self.n_learned_ += 1
        self._remember_value(value)
        self.recent_.append(value)
        if len(self.recent_) == self.span:
            self._remember_stretch(self._stretch(self.recent_))

    def _value_novelty(self, value: float) -> float:
        """Gap to the nearest earlier value (inside the range) or excess over the extreme."""
        known = self.sorted_values_
        if len(known) < 2:
            return 0.0
        low, high = known[0], known[-1]
        floor = self.settings.tail_floor * (high - low)
        if value > high:
            ragged = high - known[max(0, len(known) - self.settings.tail)]
            return _ratio(value - high, max(ragged, floor))
        if value < low:
            ragged = known[min(len(known), self.settings.tail) - 1] - low
            return _ratio(low - value, max(ragged, floor))
        at = bisect.bisect_left(known, value)
        nearest = min(abs(value - known[i]) for i in (at - 1, at) if 0 <= i < len(known))
        return _ratio(nearest, high - low)

    def _shape_novelty(self, value: float) -> float:
        """How far the current stretch's novelty tops `margin` times the strangest so far."""
        distance = self._stretch_distance(value)
        if distance is None or self.n_comparisons_ < max(self.settings.settle, 1):
            return 0.0
        return max(0.0, _ratio(distance, self.record_distance_) - self.settings.margin)

    def _stretch_distance(self, value: float) -> float | None:
        """Chebyshev distance from the stretch ending at `value` to its nearest earlier,
        non-overlapping stretch; None until both exist."""
        cached = self._distance_cache
        if cached is not None and cached[:2] == (self.n_learned_, value):
            return cached[2]
        distance = None
        if len(self.recent_) >= self.span - 1 and self.n_stretches_ > 0:
            readings = [*list(self.recent_)[len(self.recent_) - (self.span - 1) :], value]
            known = self.stretches_[: min(self.n_stretches_, self.settings.capacity)]
            distance = float(np.abs(known - self._stretch(readings)).max(axis=1).min())
        self._distance_cache = (self.n_learned_, value, distance)
        return distance

    def _stretch(self, readings: Sequence[float]) -> FloatArray:
        """Block means of the last `span` readings, oldest block first."""
        grid = np.asarray(readings, dtype=np.float64).reshape(
            self.settings.blocks, self.settings.block
        )
        means: FloatArray = grid.mean(axis=1)
        return means

    def _remember_value(self, value: float) -> None:
        bisect.insort(self.sorted_values_, value)
        self.value_order_.append(value)
        if len(self.value_order_) > self.settings.capacity:
            oldest = self.value_order_.popleft()
            del self.sorted_values_[bisect.bisect_left(self.sorted_values_, oldest)]

    def _remember_stretch(self, stretch: FloatArray) -> None:
        """Stretches become searchable only once they no longer overlap the present one,
        so a stretch is never matched against a shifted copy of itself."""
        self.pending_.append(stretch)
        if len(self.pending_) > self.span - 1:
            self.stretches_[self.n_stretches_ % self.settings.capacity] = self.pending_.popleft()
            self.n_stretches_ += 1


class AlarmShaper:
    """Turns raw anomaly scores into alerts: one alert per burst, silence in between.

    A score is passed on (squashed to [0, 1)) only when it exceeds `rise` times every score of
    the previous `horizon` readings; otherwise the output is 0. So a rising or lingering
    anomaly raises one alert rather than dozens, while a clearly stronger one still gets
    through. Nothing is passed during the first `warmup` readings, when any value is new.
    """

    def __init__(self, horizon: int = 50, rise: float = 1.2, warmup: int = 150) -> None:
        if horizon < 1 or rise < 1.0 or warmup < 0:
            raise ValueError("horizon must be >= 1, rise >= 1 and warmup >= 0")
        self.horizon = horizon
        self.rise = rise
        self.warmup = warmup
        self.recent_: deque[float] = deque(maxlen=horizon)
        self.seen_ = 0

    def update(self, score: float) -> float:
        """Output for one raw score (>= 0); the score is remembered either way."""
        score = score if math.isfinite(score) and score > 0.0 else 0.0
        stands_out = score > self.rise * max(self.recent_, default=0.0)
        self.recent_.append(score)
        self.seen_ += 1
        if self.seen_ <= self.warmup or not stands_out:
            return 0.0
        return score / (1.0 + score)


@dataclass(frozen=True)
class NoveltyAlarmParameters:
    """The one frozen parameter set of NoveltyAlarm, used unchanged for every stream."""

    block: int = 32
    blocks: int = 4
    margin: float = 1.0
    settle: int = 128
    tail: int = 10
    tail_floor: float = 0.1
    capacity: int = 8000
    horizon: int = 50
    rise: float = 1.2
    warmup: int = 150


class NoveltyAlarm:
    """Score, then learn, one reading; return an alert strength in [0, 1) (0 = no alert)."""

    def __init__(self, parameters: NoveltyAlarmParameters | None = None) -> None:
        self.parameters = parameters or NoveltyAlarmParameters()
        p = self.parameters
        self.detector_ = NoveltyDetector(
            block=p.block,
            blocks=p.blocks,
            margin=p.margin,
            settle=p.settle,
            tail=p.tail,
            tail_floor=p.tail_floor,
            capacity=p.capacity,
        )
        self.shaper_ = AlarmShaper(p.horizon, p.rise, p.warmup)

    def update(self, x: float) -> float:
        """Alert strength for x given the readings before it; x is learned afterwards."""
        output = self.shaper_.update(self.detector_.score_one(x))
        self.detector_.learn_one(x)
        return output
