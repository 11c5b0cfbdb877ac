"""Loss, perplexity, accuracy and confusion matrix on held-out batches (no dropout, no updates)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from rnnviz.corpus import Batch, confusion_matrix
from rnnviz.engine.config import ModelConfig
from rnnviz.engine.model import forward, loss
from rnnviz.engine.runtime import DEFAULT, Runtime
from rnnviz.engine.step import nonfinite_expected


@dataclass(frozen=True)
class EvalReport:
    """Loss on held-out data; accuracy and confusion matrix (rows: true class) for classification."""

    loss: float  # mean per token (lm, regress) or per row (classify)
    perplexity: float | None  # language models: exp(loss)
    accuracy: float | None
    confusion: np.ndarray | None  # (K, K) counts
    count: int  # tokens (lm, regress) or rows (classify) evaluated
    # classify: (N,) the predicted class of each row evaluated, in the batches' order (the lab names the
    # misclassified examples with it); None for the other heads
    predictions: np.ndarray | None = None


def evaluate_batches(
    params: dict[str, np.ndarray], cfg: ModelConfig, batches: Iterable[Batch], runtime: Runtime = DEFAULT
) -> EvalReport | None:
    """Run the model over ``batches``; None when there were none.

    Language-model batches that continue the previous ones (``carry``) start from the previous
    final state, as in training. Weights that overflow give a loss that is not finite (NaN or inf):
    that is the report, without NumPy warnings (the caller says what it means).
    """
    with nonfinite_expected():
        return _evaluate(params, cfg, batches, runtime)


def _evaluate(params: dict[str, np.ndarray], cfg: ModelConfig, batches: Iterable[Batch], runtime: Runtime):
    total = count = 0.0
    y_true: list[np.ndarray] = []
    y_pred: list[np.ndarray] = []
    state = None
    for batch in batches:
        if not batch.carry or (state is not None and state[0][0].shape[0] != batch.size):
            state = None
        fp = forward(params, cfg, batch.x, state=state, lengths=batch.lengths, runtime=runtime)
        res = loss(fp, batch.y)
        total += float(res.per_step.sum())
        count += res.per_step.size
        if cfg.head == "classify":
            y_true.append(np.asarray(batch.y))
            y_pred.append(np.argmax(fp.probs, axis=-1))
        state = fp.final_state() if cfg.head == "lm" else None
    if count == 0:
        return None
    mean = total / count
    accuracy = confusion = p = None
    if cfg.head == "classify":
        t, p = np.concatenate(y_true), np.concatenate(y_pred)
        accuracy = float(np.mean(t == p))
        confusion = confusion_matrix(t, p, cfg.n_out)
    return EvalReport(mean, perplexity(mean) if cfg.head == "lm" else None, accuracy, confusion, int(count), p)


def perplexity(loss: float) -> float:
    """exp(mean cross-entropy in nats): the number of tokens the model is as unsure as a uniform choice
    among. Capped at exp(700) so that a diverged loss gives a huge number, not an overflow."""
    return float(np.exp(min(loss, 700.0)))
