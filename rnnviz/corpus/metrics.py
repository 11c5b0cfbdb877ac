"""Classification helpers: accuracy, confusion matrix, the majority-class baseline, class weights.

Labels are integer class ids ``0 .. K-1`` in 1-D arrays of equal length.
"""

from __future__ import annotations

import numpy as np


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of predictions equal to the truth; NaN for no examples."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(K, K)`` int64 counts: ``m[i, j]`` examples of true class i predicted as class j."""
    y_true, y_pred = _pair(y_true, y_pred)
    if len(y_true) and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= n_classes):
        raise ValueError(f"class ids must be in 0..{n_classes - 1}")
    flat = y_true.astype(np.int64) * n_classes + y_pred.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def row_fractions(confusion: np.ndarray) -> np.ndarray:
    """``(K, K)`` float64: each row of a confusion matrix divided by its sum (row i: where the
    examples of true class i went). A class with no examples has a row of zeros, not NaN."""
    m = np.asarray(confusion, dtype=np.float64)
    totals = m.sum(axis=1, keepdims=True)  # (K, 1)
    return np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)


def class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """``(K,)`` float64 per-class accuracy (recall): the diagonal over the row sums; NaN for a class
    with no examples (its accuracy is not defined: no name of it was asked)."""
    m = np.asarray(confusion, dtype=np.float64)
    totals = m.sum(axis=1)
    out = np.full(len(m), np.nan)
    np.divide(np.diag(m), totals, out=out, where=totals > 0)
    return out


def majority_baseline(train_labels: np.ndarray, eval_labels: np.ndarray | None = None) -> float:
    """Accuracy of always answering the most frequent training class, measured on ``eval_labels``
    (default: the training labels). The number a classifier has to beat."""
    train_labels = np.asarray(train_labels)
    majority = np.bincount(train_labels).argmax()  # ties: the lowest class id
    evaluated = train_labels if eval_labels is None else np.asarray(eval_labels)
    return accuracy(evaluated, np.full(len(evaluated), majority))


def class_weights(labels: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """``(K,)`` float64 inverse-frequency weights, scaled so the mean weight over the examples is 1.

    ``w[c] = N / (K_present * n_c)``: every present class then carries the same total weight.
    A class with no examples gets weight 0 (it never occurs, so it never weighs anything).
    Multiply each example's loss by ``w[label]`` to stop a 47 %-Russian dataset from teaching
    "always say Russian".
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=n_classes or 0).astype(np.float64)  # (K,)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = len(labels) / (present.sum() * counts[present])
    return weights


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} and {len(y_pred)}")
    return y_true, y_pred
