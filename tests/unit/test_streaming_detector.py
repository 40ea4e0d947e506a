"""NoveltyDetector, AlarmShaper and NoveltyAlarm: what must keep working for NAB-style streams."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from analytics.detectors.base import StreamingDetector
from analytics.detectors.streaming import AlarmShaper, NoveltyAlarm, NoveltyDetector


def noise(n: int = 800, seed: int = 0, level: float = 10.0) -> np.ndarray:
    return level + np.random.default_rng(seed).normal(0.0, 0.5, n)


def run(detector: NoveltyDetector, values: np.ndarray) -> np.ndarray:
    scores = []
    for value in values:
        scores.append(detector.score_one(float(value)))
        detector.learn_one(float(value))
    return np.array(scores)


def test_follows_the_streaming_contract() -> None:
    assert isinstance(NoveltyDetector(), StreamingDetector)


def test_scores_are_finite_before_anything_is_learned() -> None:
    assert NoveltyDetector().score_one(42.0) == 0.0
    assert NoveltyAlarm().update(42.0) == 0.0


def test_a_spike_scores_far_above_steady_noise() -> None:
    detector = NoveltyDetector()
    steady = run(detector, noise())[200:]
    spike = detector.score_one(20.0)  # 20 standard deviations up
    assert spike > steady.max()
    assert spike > 10 * np.percentile(steady, 99)


def test_a_level_shift_scores_far_above_steady_noise() -> None:
    detector = NoveltyDetector()
    steady = run(detector, noise())[200:]
    assert detector.score_one(4.0) > 10 * np.percentile(steady, 99)  # 12 SD down


def test_a_missing_beat_in_a_repeating_pattern_is_noticed_though_every_value_is_familiar() -> None:
    rng = np.random.default_rng(1)
    wave = np.tile(np.r_[np.zeros(32), np.ones(32)], 20) + rng.normal(0.0, 0.05, 1280)
    detector = NoveltyDetector()
    steady = run(detector, wave)[600:]
    flat = run(detector, rng.normal(0.0, 0.05, 200))  # the wave stops, low for 200 readings
    assert flat.max() > 5 * steady.max()


def test_the_alarm_fires_once_for_a_level_shift_then_holds_still() -> None:
    alarm = NoveltyAlarm()
    before = [alarm.update(float(x)) for x in noise()]
    after = [alarm.update(float(x)) for x in noise(100, seed=2, level=16.0)]
    assert after[0] > 0.9 > max(before)
    assert max(after[1:]) == 0.0


def test_shaper_suppresses_repeats_but_lets_a_clearly_stronger_score_through() -> None:
    shaper = AlarmShaper(horizon=10, rise=1.2, warmup=0)
    assert shaper.update(5.0) == pytest.approx(5.0 / 6.0)
    assert shaper.update(5.0) == 0.0  # same strength: the same alert
    assert shaper.update(5.5) == 0.0  # not 20% stronger
    assert shaper.update(7.0) == pytest.approx(7.0 / 8.0)  # clearly worse: a new alert
    quiet = [shaper.update(0.1) for _ in range(10)]
    assert max(quiet) == 0.0
    assert shaper.update(5.0) > 0.0  # the burst has left the horizon


def test_shaper_is_silent_during_warmup() -> None:
    shaper = AlarmShaper(warmup=3)
    assert [shaper.update(9.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert shaper.update(20.0) > 0.9


def test_alarm_outputs_stay_in_the_unit_interval() -> None:
    alarm = NoveltyAlarm()
    values = np.r_[noise(), [1e9, -1e9, 0.0, 50.0]]
    outputs = np.array([alarm.update(float(x)) for x in values])
    assert np.all((outputs >= 0.0) & (outputs < 1.0))


def test_constant_and_missing_input_do_not_crash_and_missing_is_not_learned() -> None:
    alarm = NoveltyAlarm()
    assert max(alarm.update(7.0) for _ in range(1000)) == 0.0
    learned = alarm.detector_.metrics_[0].n_learned_
    for bad in (math.nan, math.inf, -math.inf):
        assert alarm.update(bad) == 0.0
    assert alarm.detector_.metrics_[0].n_learned_ == learned
    assert alarm.update(7.5) > 0.99  # the first change after a flat line is as new as can be


def test_deterministic_and_survives_pickling() -> None:
    first, second = NoveltyAlarm(), NoveltyAlarm()
    history = noise(400)
    assert [first.update(float(x)) for x in history] == [second.update(float(x)) for x in history]
    clone = pickle.loads(pickle.dumps(first))
    tail = np.r_[noise(100, seed=3), [25.0], noise(50, seed=4)]
    assert [clone.update(float(x)) for x in tail] == [first.update(float(x)) for x in tail]


def test_each_metric_of_a_vector_has_its_own_memory() -> None:
    detector = NoveltyDetector()
    pairs = np.column_stack([noise(400), noise(400, seed=5, level=100.0)])
    run_scores = []
    for row in pairs:
        run_scores.append(detector.score_one(row))
        detector.learn_one(row)
    # 20 is ordinary for the second metric's scale but a spike for the first, and vice versa
    assert detector.score_one(np.array([20.0, 100.0])) > 10 * max(run_scores[200:])
    assert detector.score_one(np.array([10.0, 120.0])) > 10 * max(run_scores[200:])


def test_old_readings_are_forgotten_beyond_capacity() -> None:
    detector = NoveltyDetector(capacity=100)
    run(detector, np.r_[[50.0], noise(300)])
    assert len(detector.metrics_[0].sorted_values_) == 100
    # 50 was seen once, long ago: forgotten, it is new again
    assert detector.score_one(50.0) > 1.0


def test_nonsense_hyper_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="block"):
        NoveltyDetector(block=0)
    with pytest.raises(ValueError, match="rise"):
        AlarmShaper(rise=0.5)
