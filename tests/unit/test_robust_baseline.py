"""The robust per-metric baseline: scale estimates, outlier resistance, vectorised series."""

from __future__ import annotations

import numpy as np

from analytics.detectors.robust import RobustBaseline


def test_scores_are_in_standard_deviations_of_the_healthy_signal() -> None:
    rng = np.random.default_rng(1)
    detector = RobustBaseline(alpha=0.01)
    for value in rng.normal(50.0, 4.0, 3000):
        detector.learn_one(value)
    assert abs(detector.score_one(62.0) - 3.0) < 0.4  # 12 above the mean is 3 SD
    assert detector.score_one(50.0) < 0.3


def test_outliers_do_not_drag_the_baseline_or_inflate_the_scale() -> None:
    rng = np.random.default_rng(2)
    clean, dirty = RobustBaseline(), RobustBaseline()
    values = rng.normal(10.0, 1.0, 2000)
    spiked = values.copy()
    spiked[::50] = 500.0  # 2% wild spikes
    for a, b in zip(values, spiked, strict=True):
        clean.learn_one(a)
        dirty.learn_one(b)
    assert abs(dirty.location_[0] - clean.location_[0]) < 0.2
    assert dirty.scale_[0] < 1.2 * clean.scale_[0]


def test_anomalous_values_are_not_learned() -> None:
    detector = RobustBaseline(learn_below=6.0)
    rng = np.random.default_rng(3)
    for value in rng.normal(0.0, 1.0, 500):
        detector.learn_one(value)
    before = detector.location_.copy()
    for _ in range(200):
        detector.learn_one(25.0)  # a fault: far outside, held for a long time
    assert np.array_equal(detector.location_, before)
    assert detector.score_one(25.0) > 15


def test_many_series_are_scored_independently_in_one_call() -> None:
    rng = np.random.default_rng(4)
    detector = RobustBaseline()
    slots = np.arange(3)
    levels = np.array([1.0, 100.0, -40.0])
    for _ in range(400):
        detector.learn_many(slots, levels + rng.normal(0.0, [0.1, 5.0, 1.0]))
    scores = detector.score_many(slots, levels + np.array([0.5, 5.0, 1.0]))
    assert scores[0] > 3 and scores[1] < 2 and scores[2] < 2
    assert detector.score_many(np.array([7]), np.array([3.0]))[0] == 0.0  # unlearned series
