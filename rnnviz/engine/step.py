"""One training update with the safety rule: a step whose loss, gradients or new weights are not all
finite is not applied. The caller gets told where it first went wrong and keeps the last good weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine.clipping import ClipConfig, ClipReport, clip_gradients, grad_norms
from rnnviz.engine.config import ModelConfig
from rnnviz.engine.model import Backward, ForwardPass, State, backward, forward, loss
from rnnviz.engine.optim import Optimizer
from rnnviz.engine.runtime import DEFAULT, Runtime


@dataclass(frozen=True)
class NonFinite:
    """Where a step first produced NaN or infinity."""

    stage: str  # "loss", "gradient" or "weights"
    timestep: int | None = None  # loss: the first time step (0-based) whose loss is not finite
    parameter: str | None = None  # gradient / weights: the first parameter affected

    def describe(self, step: int | None = None) -> str:
        at = f"step {step}: " if step is not None else ""
        if self.stage == "loss":
            where = f" at time step {self.timestep}" if self.timestep is not None else ""
            return f"{at}the loss became NaN or infinite{where}; the update was skipped."
        if self.stage == "gradient":
            return f"{at}the gradient of {self.parameter} became NaN or infinite; the update was skipped."
        return f"{at}the update would make {self.parameter} NaN or infinite; it was skipped."


@dataclass
class StepResult:
    """What one training step did. ``applied`` is False when the update was refused (``nonfinite``)."""

    loss: float
    per_step: np.ndarray  # (T, B) or (B,) per-token / per-row loss
    fp: ForwardPass
    bw: Backward | None  # None when the loss was not finite (no backward pass ran)
    grad_norms: dict[str, float]  # per parameter, before clipping
    clip: ClipReport | None
    lr: float
    applied: bool
    nonfinite: NonFinite | None


def nonfinite_expected() -> np.errstate:
    """Silence NumPy's overflow, invalid-value and divide warnings for a computation that may meet NaN
    or infinity on purpose, because its caller checks every result and handles what is not finite: a
    training step refuses it and says where; a probe, a trace or a validation pass on diverged weights
    carries the NaN into numbers the panels leave out, and a pause message has already said why.
    Anywhere else a warning still means a bug, and pytest turns it into an error."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def _first_nonfinite_timestep(per_step: np.ndarray) -> int | None:
    bad = ~np.isfinite(per_step)
    if per_step.ndim == 2:
        bad = bad.any(axis=1)  # (T,)
        return int(np.argmax(bad)) if bad.any() else None
    return None


def train_step(
    params: dict[str, np.ndarray],
    cfg: ModelConfig,
    opt: Optimizer,
    x: np.ndarray,
    y: np.ndarray,
    *,
    clip: ClipConfig = ClipConfig(),
    state: State | None = None,
    lengths: np.ndarray | None = None,
    class_weights: np.ndarray | None = None,
    dropout_rng: np.random.Generator | None = None,
    runtime: Runtime = DEFAULT,
    commit: bool = True,
) -> StepResult:
    """Forward, loss, BPTT, clipping and (if everything is finite) one optimizer update of ``params``.

    ``commit=False`` computes everything but makes no update (``applied`` is then False with no
    ``nonfinite``): what a step would show with these weights, after a Roll back for example.

    NumPy's overflow / invalid-value warnings are silenced inside: this function checks for
    non-finite numbers itself and reports them in plain words (``StepResult.nonfinite``).
    ``runtime``: a ``Runtime`` with a ``BufferPool`` owned by the caller makes repeated steps faster
    (see ``runtime`` and ``buffers``).
    """
    with nonfinite_expected():
        return _train_step(params, cfg, opt, x, y, clip, state, lengths, class_weights, dropout_rng, runtime, commit)


def _train_step(
    params, cfg, opt, x, y, clip, state, lengths, class_weights, dropout_rng, runtime, commit
) -> StepResult:
    fp = forward(params, cfg, x, state=state, lengths=lengths, dropout_rng=dropout_rng, runtime=runtime)
    lr_res = loss(fp, y, class_weights)
    lr_now = opt.lr_at(opt.step)
    if not np.isfinite(lr_res.loss):
        bad = NonFinite("loss", timestep=_first_nonfinite_timestep(lr_res.per_step))
        return StepResult(lr_res.loss, lr_res.per_step, fp, None, {}, None, lr_now, False, bad)
    bw = backward(params, fp, lr_res.dout)
    norms = grad_norms(bw.grads)
    for name, n in norms.items():
        if not np.isfinite(n) and not np.isfinite(bw.grads[name]).all():
            return StepResult(
                lr_res.loss, lr_res.per_step, fp, bw, norms, None, lr_now, False, NonFinite("gradient", parameter=name)
            )
    report = clip_gradients(bw.grads, clip, norms)
    if not commit:
        return StepResult(lr_res.loss, lr_res.per_step, fp, bw, norms, report, lr_now, False, None)
    proposal = opt.propose(params, bw.grads)
    for name, w in proposal.params.items():
        if not np.isfinite(w).all():
            return StepResult(
                lr_res.loss, lr_res.per_step, fp, bw, norms, report, lr_now, False, NonFinite("weights", parameter=name)
            )
    opt.commit(params, proposal)
    return StepResult(lr_res.loss, lr_res.per_step, fp, bw, norms, report, proposal.lr, True, None)
