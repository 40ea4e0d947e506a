"""The multivariate shift detector: what it flags, what it tolerates, and its contract."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from analytics.detectors import BatchDetector
from analytics.detectors.multivariate import Hysteresis, MewmaShiftDetector, hysteresis_labels


def healthy(n: int, seed: int) -> np.ndarray:
    """Four metrics: 0 and 1 move together (1 = 2 x 0 + a little noise), 2 and 3 independent."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.0, 1.0, (n, 4))
    return np.column_stack(
        [10.0 + base[:, 0], 5.0 + 2.0 * base[:, 0] + 0.1 * base[:, 1], 1.0 + base[:, 2], base[:, 3]]
    )


@pytest.fixture(scope="module")
def detector() -> MewmaShiftDetector:
    return MewmaShiftDetector().fit(healthy(400, seed=0))


def test_it_is_a_batch_detector(detector: MewmaShiftDetector) -> None:
    assert isinstance(detector, BatchDetector)


def test_healthy_rows_stay_below_the_alarm_limit(detector: MewmaShiftDetector) -> None:
    scores = detector.score_samples(healthy(600, seed=1))
    assert scores.max() < 1.0
    assert not detector.predict(healthy(600, seed=1)).any()


def test_a_shifted_mean_scores_far_higher_and_names_the_shifted_column(
    detector: MewmaShiftDetector,
) -> None:
    rows = healthy(300, seed=2)
    rows[100:, 2] += 3.0  # three standard deviations, sustained
    scores = detector.score_samples(rows)
    assert np.median(scores[110:]) > 3 * np.percentile(scores[:100], 99)
    assert detector.predict(rows)[110:].all()
    shares = detector.contributions(rows)
    assert np.all(np.argmax(shares[110:], axis=1) == 2)
    assert np.allclose(shares.sum(axis=1)[110:], 1.0)


def test_a_broken_correlation_scores_higher_though_each_column_looks_normal(
    detector: MewmaShiftDetector,
) -> None:
    rows = healthy(300, seed=3)
    # column 1 now moves against column 0: same mean and spread, opposite relation
    rows[100:, 1] = 5.0 - 2.0 * (rows[100:, 0] - 10.0)
    scores = detector.score_samples(rows)
    assert abs(np.mean(rows[100:, 1]) - 5.0) < 0.5
    assert np.median(scores[110:]) > 3 * np.percentile(scores[:100], 99)
    assert np.median(scores[110:]) > 1.0


def test_a_sustained_fault_stays_flagged_because_the_baseline_does_not_learn_it() -> None:
    rows = healthy(700, seed=4)
    rows[100:500, 2] += 3.0  # 400 rows: a baseline that kept learning would absorb it
    model = MewmaShiftDetector(baseline_rate=0.02).fit(healthy(400, seed=0))
    labels = model.predict(rows)
    assert labels[110:500].all()
    assert not labels[530:].any()  # and the alarm clears once the fault is gone


def test_a_slowly_wandering_column_is_tolerated_but_a_fast_rise_in_it_is_not() -> None:
    rng = np.random.default_rng(5)
    walk = 20.0 + np.cumsum(rng.normal(0.0, 0.05, 1100)) + rng.normal(0.0, 0.01, 1100)
    rows = np.column_stack([rng.normal(0.0, 1.0, 1100), walk])
    model = MewmaShiftDetector().fit(rows[:400])
    assert model.slow_.tolist() == [False, True]
    assert model.predict(rows[400:]).mean() < 0.01  # wanders beyond its training range
    rising = rows[400:].copy()
    rising[300:340, 1] += np.arange(1, 41) * 0.5  # ten typical steps per row, for 40 rows
    assert model.predict(rising)[300:340].mean() > 0.5


def test_scores_are_causal_a_prefix_scores_the_same_as_the_start_of_the_whole(
    detector: MewmaShiftDetector,
) -> None:
    rows = healthy(200, seed=6)
    rows[120:, 3] -= 4.0
    whole = detector.score_samples(rows)
    assert np.array_equal(detector.score_samples(rows[:130]), whole[:130])


def test_labels_are_the_hysteresis_of_the_scores(detector: MewmaShiftDetector) -> None:
    rows = healthy(300, seed=7)
    rows[100:200, 0] += 2.5
    expected = hysteresis_labels(detector.score_samples(rows), on=1.0, off=detector.release)
    assert np.array_equal(detector.predict(rows), expected)


def test_missing_values_do_not_crash_fitting_or_scoring() -> None:
    train = healthy(400, seed=8)
    train[::7, 1] = np.nan
    train[5, :] = np.nan
    train = np.column_stack([train, np.full(400, np.nan)])  # a metric never reported
    model = MewmaShiftDetector().fit(train)
    rows = np.column_stack([healthy(100, seed=9), np.full(100, 3.0)])
    rows[::3, 2] = np.nan
    rows[10] = np.inf
    scores = model.score_samples(rows)
    assert np.all(np.isfinite(scores))
    assert np.all(np.isfinite(model.contributions(rows)))
    assert not model.predict(rows).any()


def test_fitting_and_scoring_do_not_change_their_input() -> None:
    train = healthy(400, seed=10)
    train[3, 2] = np.nan
    kept = train.copy()
    model = MewmaShiftDetector().fit(train)
    assert np.array_equal(train, kept, equal_nan=True)
    rows = healthy(50, seed=11)
    rows_kept = rows.copy()
    first = model.score_samples(rows)
    assert np.array_equal(rows, rows_kept)
    assert np.array_equal(model.score_samples(rows), first)  # scoring leaves no state behind


def test_pickle_round_trip_gives_identical_scores(detector: MewmaShiftDetector) -> None:
    rows = healthy(150, seed=12)
    rows[50:, 1] += 1.0
    clone = pickle.loads(pickle.dumps(detector))
    assert np.array_equal(clone.score_samples(rows), detector.score_samples(rows))


def test_fitting_twice_on_the_same_rows_gives_the_same_model() -> None:
    first = MewmaShiftDetector().fit(healthy(400, seed=13))
    second = MewmaShiftDetector().fit(healthy(400, seed=13))
    rows = healthy(100, seed=14)
    assert np.array_equal(first.score_samples(rows), second.score_samples(rows))


def test_level_ratios_say_how_many_times_the_normal_level_a_reading_is(
    detector: MewmaShiftDetector,
) -> None:
    ratios = detector.level_ratios(np.array([[28.0, 5.0, 1.0, 0.0]]))
    assert ratios[0, 0] == pytest.approx(28.0 / detector.center_[0])
    assert ratios[0, 0] == pytest.approx(2.8, rel=0.05)


def test_wrong_shapes_and_too_little_history_get_precise_errors(
    detector: MewmaShiftDetector,
) -> None:
    with pytest.raises(ValueError, match="expected 4 metrics, got 3"):
        detector.score_samples(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="at least 10 healthy rows"):
        MewmaShiftDetector().fit(np.zeros((5, 2)))


def test_the_hysteresis_latch_holds_between_its_two_levels() -> None:
    latch = Hysteresis(on=1.0, off=0.5)
    assert [latch.update(s) for s in (0.9, 1.1, 0.6, 0.51, 0.49, 0.8)] == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]
