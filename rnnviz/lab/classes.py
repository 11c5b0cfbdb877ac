"""A classifier's validation, for the Classes panel: the confusion matrix, accuracy per class and, per
cell, a few of the validation names that landed there ("Russian predicted as Czech: ...").

The counts are the evaluation's own (``training.evaluation``: ``confusion_matrix`` of the same pass);
the row fractions and per-class accuracy come from ``corpus.metrics``. The names are looked up here,
in the lab, so the event the app receives stays small (at most MAX_EXAMPLES names a cell).
"""

from __future__ import annotations

import numpy as np

from rnnviz.corpus import Task
from rnnviz.corpus.metrics import class_accuracy, row_fractions
from rnnviz.lab.events import ClassReport
from rnnviz.training.evaluation import EvalReport

MAX_EXAMPLES = 5  # names listed per cell of the confusion matrix


def class_report(run: str, step: int, task: Task, report: EvalReport) -> ClassReport:
    """The ClassReport of a classifier's validation ``report`` over ``task``'s validation set.

    The pass reads the validation examples in ``task.val_batches()`` order, which for the names is
    ``task.val_idx`` order: prediction k belongs to name ``val_idx[k]``. A pass over part of the set
    (``evaluated < total``) covers its first examples only.
    """
    confusion = np.array(report.confusion, dtype=np.int64)  # (K, K)
    K = len(confusion)
    evaluated = int(confusion.sum())
    val_idx = getattr(task, "val_idx", None)
    total = len(val_idx) if val_idx is not None else evaluated
    examples = _examples(task, report, K) if val_idx is not None and report.predictions is not None else ()
    labels = getattr(task, "train_labels", None)
    counts = np.bincount(labels, minlength=K) if labels is not None else np.full(K, -1)
    return ClassReport(
        run=run, step=step, confusion=confusion, fractions=row_fractions(confusion),
        class_accuracy=class_accuracy(confusion), accuracy=float(report.accuracy), examples=examples,
        train_counts=counts.astype(np.int64), evaluated=evaluated, total=total,
    )  # fmt: skip


def _examples(task, report: EvalReport, K: int) -> tuple:
    """``[i][j]``: the first MAX_EXAMPLES validation names of class i predicted as class j."""
    predicted = np.asarray(report.predictions)  # (N,)
    idx = task.val_idx[: len(predicted)]  # (N,) the names read, in order
    true = task.dataset.labels[idx]  # (N,)
    names = task.dataset.names
    cells: list[list[list[str]]] = [[[] for _ in range(K)] for _ in range(K)]
    for k in np.argsort(true * K + predicted, kind="stable"):  # by cell, in validation order within one
        cell = cells[true[k]][predicted[k]]
        if len(cell) < MAX_EXAMPLES:
            cell.append(names[idx[k]])
    return tuple(tuple(tuple(cell) for cell in row) for row in cells)
