"""The NAB scorer against cases worked out by hand from the rules in shared/datasets/README.md.

Every case uses 20 rows, so the first floor(0.15 * 20) = 3 rows are probationary, and one
window [10, 14] (5 rows), unless it says otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.scoring.nab import (
    PROFILES,
    LabelledScores,
    normalise,
    probationary_rows,
    score_file,
    sweep_threshold,
)

STANDARD = PROFILES["standard"]
WINDOW = ((10, 14),)


def sigma(y: float) -> float:
    """NAB's scaled sigmoid, written out independently of the code under test."""
    return -1.0 if y > 3 else 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def detections(*rows: int, n_rows: int = 20) -> np.ndarray:
    scores = np.zeros(n_rows)
    scores[list(rows)] = 1.0
    return scores


def raw(*rows: int, windows: tuple[tuple[int, int], ...] = WINDOW, profile=STANDARD) -> float:
    return score_file(detections(*rows), windows, 0.5, profile).raw


def test_probationary_period_is_15_percent_capped_at_750_rows() -> None:
    assert probationary_rows(20) == 3
    assert probationary_rows(1624) == 243
    assert probationary_rows(4032) == 604
    assert probationary_rows(10_000) == 750


def test_detection_at_the_window_start_earns_the_full_true_positive_weight() -> None:
    assert raw(10) == pytest.approx(1.0)


def test_detection_at_the_window_end_earns_almost_nothing() -> None:
    # y = -(14 - 14 + 1) / 5 = -0.2: sigma(-0.2) / sigma(-1) = 0.4621 / 0.9866
    assert raw(14) == pytest.approx(sigma(-0.2) / sigma(-1.0))
    assert raw(14) == pytest.approx(0.46839, abs=1e-5)


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    earliest = sigma(-4 / 5) / sigma(-1.0)  # row 11
    assert raw(11, 13, 14) == pytest.approx(earliest)
    assert raw(11, 13, 14) == pytest.approx(raw(11))


def test_a_missed_window_costs_a_false_negative() -> None:
    assert raw() == pytest.approx(-1.0)
    assert raw(profile=PROFILES["reward_low_fn"]) == pytest.approx(-2.0)


def test_false_positive_before_any_window_ended_costs_the_full_weight() -> None:
    assert raw(5) == pytest.approx(-0.11 - 1.0)  # also misses the window
    assert raw(5, 10) == pytest.approx(1.0 - 0.11)
    assert raw(5, 10, profile=PROFILES["reward_low_fp"]) == pytest.approx(1.0 - 0.22)


def test_false_positive_after_a_window_is_weighted_by_its_distance_from_the_end() -> None:
    # row 16: y = (16 - 14) / (14 - 10) = 0.5, sigma(0.5) = -0.8483
    assert raw(10, 16) == pytest.approx(1.0 + 0.11 * sigma(0.5))
    # right after the window it costs less than far after it; beyond y = 3 it is the full -A_FP
    assert raw(10, 15) > raw(10, 16) > raw(10, 19)
    long_file = np.zeros(60)
    long_file[[10, 40]] = 1.0  # row 40: y = 26 / 4 > 3
    assert score_file(long_file, WINDOW, 0.5, STANDARD).raw == pytest.approx(1.0 - 0.11)


def test_false_positive_uses_the_last_window_that_ended_before_it() -> None:
    windows = ((5, 7), (10, 14))
    # row 9 lies between the windows: weighed against [5, 7]: y = (9 - 7) / 2 = 1
    expected = 1.0 + 1.0 + 0.11 * sigma(1.0)
    assert raw(5, 9, 10, windows=windows) == pytest.approx(expected)


def test_probationary_rows_are_ignored() -> None:
    assert raw(0, 1, 2, 10) == pytest.approx(1.0)
    probation_in_window = score_file(detections(2), ((1, 4),), 0.5, STANDARD)
    assert probation_in_window.raw == pytest.approx(-1.0)  # not a hit: not scored at all


def test_file_score_counts_hits_false_alarms_and_misses() -> None:
    result = score_file(detections(5, 11, 16), ((10, 14), (17, 19)), 0.5, STANDARD)
    assert (result.true_positives, result.false_positives, result.false_negatives) == (1, 2, 1)


def test_normalisation_maps_silence_to_0_and_perfection_to_100() -> None:
    assert normalise(-3.0, 3, STANDARD) == pytest.approx(0.0)
    assert normalise(3.0, 3, STANDARD) == pytest.approx(100.0)
    assert normalise(0.0, 3, STANDARD) == pytest.approx(50.0)
    assert normalise(-6.0, 3, PROFILES["reward_low_fn"]) == pytest.approx(0.0)
    assert normalise(0.0, 3, PROFILES["reward_low_fn"]) == pytest.approx(100 * 6 / 9)


def two_files() -> list[LabelledScores]:
    """A: a confident hit (0.9) at row 12, a false alarm (0.5) at row 5 and a late one (0.3).
    B: its only hit scores 0.4, at the window start."""
    a = np.zeros(20)
    a[[12, 5, 16]] = [0.9, 0.5, 0.3]
    b = np.zeros(20)
    b[10] = 0.4
    return [LabelledScores("a.csv", a, WINDOW), LabelledScores("b.csv", b, WINDOW)]


def test_sweep_picks_the_threshold_that_maximises_the_corpus_score() -> None:
    hit_a = sigma(-3 / 5) / sigma(-1.0)
    # theta 0.9: hit A, miss B. theta 0.5: + false alarm. theta 0.4: + hit B (worth it).
    # theta 0.3: + late false alarm. theta 0: every row fires.
    result = sweep_threshold(two_files(), STANDARD)
    assert result.threshold == pytest.approx(0.4)
    assert result.raw == pytest.approx(hit_a - 0.11 + 1.0)
    assert result.normalised == pytest.approx(100 * (result.raw + 2) / 4)


def test_sweep_prefers_fewer_alarms_when_false_positives_cost_more() -> None:
    files = two_files()
    files[0].scores[[3, 4, 5, 6, 7, 8, 9]] = 0.5  # seven early false alarms at 0.5
    late_hit = np.zeros(20)
    late_hit[14] = 0.45  # B is only caught at its window's end, worth 0.468
    files[1] = LabelledScores("b.csv", late_hit, WINDOW)
    # Lowering theta from 0.9 to 0.45 gains 1 + 0.468 for B and pays seven false alarms:
    # 7 x 0.11 = 0.77 is worth it, 7 x 0.22 = 1.54 is not.
    assert sweep_threshold(files, STANDARD).threshold == pytest.approx(0.45)
    assert sweep_threshold(files, PROFILES["reward_low_fp"]).threshold == pytest.approx(0.9)


def test_sweep_equals_brute_force_over_every_distinct_score() -> None:
    rng = np.random.default_rng(7)
    files = []
    for k in range(6):
        scores = np.round(rng.random(120), 1)  # many ties
        windows = ((30, 45), (80, 95)) if k % 2 else ((60, 70),)
        files.append(LabelledScores(f"f{k}.csv", scores, windows))
    n_windows = sum(len(f.windows) for f in files)
    for profile in PROFILES.values():
        best = max(
            sum(score_file(f.scores, f.windows, theta, profile).raw for f in files)
            for theta in np.unique(np.concatenate([f.scores for f in files]))
        )
        result = sweep_threshold(files, profile)
        assert result.raw == pytest.approx(max(best, -profile.a_fn * n_windows))
        check = sum(score_file(f.scores, f.windows, result.threshold, profile).raw for f in files)
        assert check == pytest.approx(result.raw)


def test_a_detector_that_never_stands_out_scores_zero_not_less() -> None:
    # firing everywhere hits the window but pays 75 early false alarms (rows 15..89)
    files = [LabelledScores("flat.csv", np.full(100, 0.5), ((90, 94),))]
    result = sweep_threshold(files, STANDARD)
    assert result.normalised == pytest.approx(0.0)
    assert result.threshold > 0.5


def test_windows_that_overlap_or_leave_the_file_are_refused() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        score_file(np.zeros(20), ((2, 6), (5, 9)), 0.5, STANDARD)
    with pytest.raises(ValueError, match="inside rows"):
        score_file(np.zeros(20), ((15, 25),), 0.5, STANDARD)
