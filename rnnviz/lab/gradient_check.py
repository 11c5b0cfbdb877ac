"""*Check gradients*: the run's analytic gradient of a few weights against central finite differences,
on the batch row the panels show, with the current weights (``engine.gradcheck.check_entries``).

The check works in float64 on copies of the weights (they are never changed), without dropout (the
loss of the row as evaluation reads it), from the state the row's step started from (carried, in
truncated BPTT). Each entry costs two forward passes over the row, so a parameter with more than
MAX_ENTRIES entries, and the whole model, are checked on a random sample, and the verdict says how many
of how many were checked.
"""

from __future__ import annotations

import math

import numpy as np

from rnnviz.engine.gradcheck import Problem, check_entries
from rnnviz.engine.step import nonfinite_expected
from rnnviz.lab import events as e
from rnnviz.lab.run import Run

MAX_ENTRIES = 50  # entries of one parameter checked at most (the default model: ~0.1 s)
RANDOM_ENTRIES = 20  # "20 random weights" of the whole model
# the largest relative error (engine.gradcheck.entry_errors): below RIGHT the gradients are right (float64
# rounding of the finite difference alone stays below it), above CLOSE wrong (a broken backward: 1e-1)
RIGHT, CLOSE = 1e-4, 1e-2
RANDOM = "random weights"


def verdict(worst: float, checked: int, total: int, what: str, unused: int = 0) -> str:
    """Plain words for the largest relative error of ``checked`` of ``total`` weights of ``what``, of
    which ``unused`` had no gradient either way (the row never uses them: one-hot rows of characters
    it does not contain)."""
    of = f"all {total:,}" if checked == total else f"{checked:,} of {total:,}"
    where = "weights of the model" if what == RANDOM else f"entries of {what}"
    if not math.isfinite(worst):  # diverged weights: NaN or infinity both ways, no error to measure
        return (
            f"The loss or its gradient is not finite with these weights (they have diverged): there is nothing "
            f"to compare, and this says nothing about backpropagation. Checked {of} {where}; roll back or reset."
        )
    if worst < RIGHT:
        meaning = "the gradients are right"
    elif worst < CLOSE:
        meaning = "close, but more than float64 rounding explains: look closer"
    else:
        meaning = "the gradients are WRONG (the backward pass disagrees with the loss)"
    note = "" if checked == total else " (a random sample: checking every one would take too long)"
    zeros = f" {unused} of them are 0 in both: this row does not use them." if unused else ""
    return f"Max relative error {worst:.1e}: {meaning}. Checked {of} {where}{note}.{zeros}"


def _entries(params: dict[str, np.ndarray], param: str, rng: np.random.Generator) -> tuple[list, int]:
    """The ``(name, flat index)`` pairs to check and how many there were to choose from."""
    if param:
        size = params[param].size
        idx = np.arange(size) if size <= MAX_ENTRIES else np.sort(rng.choice(size, MAX_ENTRIES, replace=False))
        return [(param, int(k)) for k in idx], size
    names = list(params)
    sizes = np.array([params[n].size for n in names])
    total = int(sizes.sum())
    picks = np.sort(rng.choice(total, min(RANDOM_ENTRIES, total), replace=False))  # over every weight alike
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    which = np.searchsorted(starts, picks, side="right") - 1
    return [(names[i], int(p - starts[i])) for i, p in zip(which, picks, strict=True)], total


def check_gradients(run: Run, row: int, param: str = "", seed: int = 0) -> e.GradientCheck:
    """The check of ``param`` (or random weights) of ``run`` on batch row ``row`` of its newest step."""
    t = run.trainer
    what = param or RANDOM
    empty = np.zeros(0)

    def refused(message: str) -> e.GradientCheck:
        return e.GradientCheck(run.id, t.step, row, what, (), empty, empty, empty, empty, 0, "", error=message)

    if param and param not in t.params:
        return refused(f"The model has no parameter {param!r} (it has {', '.join(t.params)}).")
    newest = t.newest_batch()
    if newest is None:
        return refused("Take a training step first (Step update or Train): the check uses the shown batch row.")
    batch, state = newest
    row = t.clamp_row(row)
    rows = slice(row, row + 1)
    problem = Problem(
        x=batch.x[rows].astype(np.intp) if batch.x.dtype.kind in "iu" else batch.x[rows],
        y=batch.y[rows].astype(np.intp) if batch.y.dtype.kind in "iu" else batch.y[rows],
        lengths=None if batch.lengths is None else batch.lengths[rows],
        state=[(h[rows].astype(np.float64), None if c is None else c[rows].astype(np.float64)) for h, c in state],
        class_weights=t.class_weights,
    )
    entries, total = _entries(t.params, param, np.random.default_rng(seed))
    with nonfinite_expected():  # diverged weights: their NaN is reported in words (verdict), not warned about
        check = check_entries(t.model_cfg, t.params, problem, entries)
    worst = float(check.errors.max())
    return e.GradientCheck(
        run.id, t.step, row, what, check.names, check.index, check.analytic, check.numeric, check.errors, total,
        verdict(worst, len(entries), total, what, int(((check.analytic == 0) & (check.numeric == 0)).sum())),
    )  # fmt: skip
