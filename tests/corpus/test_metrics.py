"""Classification helpers."""

import numpy as np
import pytest

from rnnviz.corpus import accuracy, class_weights, confusion_matrix, majority_baseline


def test_accuracy():
    assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    assert np.isnan(accuracy([], []))
    with pytest.raises(ValueError):
        accuracy([0, 1], [0])


def test_confusion_matrix_rows_are_truth_columns_predictions():
    m = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 4)
    assert m.shape == (4, 4) and m.dtype.kind == "i"
    assert m.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    assert m.sum() == 6 and np.trace(m) / m.sum() == accuracy([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2])
    with pytest.raises(ValueError):
        confusion_matrix([0, 3], [0, 1], 3)


def test_majority_baseline():
    train = np.array([2, 2, 2, 1, 0])
    assert majority_baseline(train) == 0.6
    assert majority_baseline(train, np.array([2, 1, 1, 1])) == 0.25


def test_class_weights_are_inverse_frequency_with_mean_one():
    labels = np.array([0] * 80 + [1] * 15 + [2] * 5)
    w = class_weights(labels, n_classes=4)
    assert w.shape == (4,) and w[3] == 0
    assert w[labels].mean() == pytest.approx(1.0)
    assert w[0] * 80 == pytest.approx(w[1] * 15) == pytest.approx(w[2] * 5)
