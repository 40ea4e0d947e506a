"""SKAB scoring on cases counted by hand: F1 = TP / (TP + (FP + FN) / 2), FAR, MAR, pooling."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.scoring.skab import SkabScore, pool_scores, score_labels


def test_counts_and_figures_match_a_hand_count() -> None:
    truth = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    predicted = np.array([1, 0, 1, 1, 0, 0, 0, 0])
    # rows: TP TP at 0 and 2, FN at 1 and 7, FP at 3, TN at 4..6
    result = score_labels(truth, predicted)
    assert (result.tp, result.fp, result.fn, result.tn) == (2, 1, 2, 3)
    assert result.f1 == pytest.approx(2 / (2 + (1 + 2) / 2))  # 0.5714...
    assert result.far == pytest.approx(1 / 4)
    assert result.mar == pytest.approx(2 / 4)
    assert result.rows == 8


def test_f1_written_the_skab_way_equals_two_pr_over_p_plus_r() -> None:
    result = score_labels(np.array([1, 1, 1, 1, 0, 0]), np.array([1, 1, 1, 0, 1, 1]))
    precision, recall = 3 / 5, 3 / 4
    assert result.f1 == pytest.approx(2 * precision * recall / (precision + recall))


def test_files_are_pooled_by_rows_not_averaged() -> None:
    first = score_labels(np.array([1, 1, 0, 0]), np.array([1, 1, 0, 0]))  # perfect
    second = score_labels(np.array([1, 0, 0, 0, 0, 0]), np.array([0, 1, 1, 0, 0, 0]))  # F1 0
    pooled = pool_scores([first, second])
    assert (pooled.tp, pooled.fp, pooled.fn, pooled.tn) == (2, 2, 1, 5)
    assert pooled.f1 == pytest.approx(2 / (2 + 3 / 2))  # not (1.0 + 0.0) / 2
    assert pooled.far == pytest.approx(2 / 7)
    assert pooled.mar == pytest.approx(1 / 3)


def test_an_all_normal_prediction_misses_everything_and_raises_no_false_alarm() -> None:
    result = score_labels(np.array([0, 1, 1, 0]), np.zeros(4))
    assert (result.f1, result.far, result.mar) == (0.0, 0.0, 1.0)


def test_empty_classes_give_zero_rather_than_a_division_error() -> None:
    nothing = pool_scores([])
    assert (nothing.f1, nothing.far, nothing.mar, nothing.rows) == (0.0, 0.0, 0.0, 0)
    quiet = score_labels(np.zeros(3), np.zeros(3))
    assert (quiet.tn, quiet.f1, quiet.far, quiet.mar) == (3, 0.0, 0.0, 0.0)


def test_labels_read_from_csv_as_floats_or_booleans_count_the_same() -> None:
    as_int = score_labels(np.array([0, 1, 1]), np.array([1, 1, 0]))
    as_float = score_labels(np.array([0.0, 1.0, 1.0]), np.array([True, True, False]))
    assert as_float == as_int


def test_truth_and_predictions_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="3 rows but predictions have 2"):
        score_labels(np.array([0, 1, 0]), np.array([0, 1]))


def test_adding_scores_adds_their_counts() -> None:
    assert SkabScore(1, 2, 3, 4) + SkabScore(10, 20, 30, 40) == SkabScore(11, 22, 33, 44)
