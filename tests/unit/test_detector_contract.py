"""Every detector through the same checks: the one contract of analytics/detectors/base.py.

Streaming: finite scores before learning, higher for anomalies, no mutation of inputs, pickle
round trip, determinism, constant and missing data. Batch: the same for fit/score_samples.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable

import numpy as np
import pytest

from analytics.detectors import BatchDetector, StreamingDetector
from analytics.detectors.multivariate import MewmaShiftDetector
from analytics.detectors.residual import LinearResidual
from analytics.detectors.robust import RobustBaseline
from analytics.detectors.streaming import NoveltyDetector

STREAMING: dict[str, Callable[[], StreamingDetector]] = {
    "robust_baseline": RobustBaseline,
    "linear_residual": lambda: LinearResidual(warmup=50),
    "novelty": NoveltyDetector,
}
BATCH: dict[str, Callable[[], BatchDetector]] = {
    "mewma_shift": MewmaShiftDetector,
}


def healthy_stream(n: int = 600, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 20.0 + rng.normal(0.0, 1.0, n)


def run_stream(detector: StreamingDetector, values: np.ndarray) -> list[float]:
    scores = []
    for value in values:
        scores.append(detector.score_one(float(value)))
        detector.learn_one(float(value))
    return scores


@pytest.fixture(params=sorted(STREAMING))
def streaming(request: pytest.FixtureRequest) -> Callable[[], StreamingDetector]:
    return STREAMING[request.param]


def test_streaming_scores_are_finite_before_anything_is_learned(streaming) -> None:
    score = streaming().score_one(42.0)
    assert np.isfinite(score)


def test_streaming_scores_an_outlier_far_above_ordinary_values(streaming) -> None:
    detector = streaming()
    ordinary = run_stream(detector, healthy_stream())[-200:]
    outlier = detector.score_one(35.0)  # 15 standard deviations away
    assert outlier > 3 * np.percentile(ordinary, 99)


def test_streaming_is_deterministic_and_survives_pickling(streaming) -> None:
    first, second = streaming(), streaming()
    assert run_stream(first, healthy_stream()) == run_stream(second, healthy_stream())
    clone = pickle.loads(pickle.dumps(first))
    tail = healthy_stream(50, seed=1)
    assert run_stream(clone, tail) == run_stream(first, tail)


def test_streaming_takes_constant_missing_and_gappy_data_without_crashing(streaming) -> None:
    detector = streaming()
    constant = run_stream(detector, np.full(200, 7.0))
    assert all(np.isfinite(constant))
    with_nan = run_stream(detector, np.array([7.0, np.nan, 7.0, np.inf, 7.0]))
    assert all(np.isfinite(s) for s in with_nan)
    assert np.isfinite(detector.score_one(7.0))


def test_streaming_does_not_change_its_input(streaming) -> None:
    values = np.array([1.0, 2.0, 3.0])
    kept = values.copy()
    detector = streaming()
    detector.score_one(values)
    detector.learn_one(values)
    assert np.array_equal(values, kept)


@pytest.mark.parametrize("name", sorted(BATCH))
def test_batch_detectors_keep_the_contract(name: str) -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(0.0, 1.0, (400, 4))
    train = np.column_stack([base[:, 0], base[:, 0] * 2 + 0.1 * base[:, 1], base[:, 2:]])
    kept = train.copy()
    detector = BATCH[name]().fit(train)
    assert np.array_equal(train, kept)
    test = train[:50].copy()
    test[:, 1] += 8.0
    scores = detector.score_samples(np.vstack([train[:50], test]))
    assert np.all(np.isfinite(scores))
    assert np.median(scores[50:]) > np.percentile(scores[:50], 95)
    clone = pickle.loads(pickle.dumps(detector))
    assert np.array_equal(clone.score_samples(test), detector.score_samples(test))
    gappy = test.copy()
    gappy[::3, 2] = np.nan
    assert np.all(np.isfinite(detector.score_samples(gappy)))
