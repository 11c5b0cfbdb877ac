"""Every number of one training iteration of a small model: the walkthrough (issue 11, section 5).

    w = build_walkthrough(params, cfg, x, y, clip=ClipConfig(), optimizer=opt, labels=vocab.labels())
    w.h[t + 1], w.probs[t], w.dh[t], w.dz[t], w.dh_next[t], w.grads["head.W_hy"], w.loss_after

One sequence (a batch of one row), one iteration: the forward pass step by step, the loss, the backward
sweep step by step, clipping and the update, exactly as a training step makes them. Nothing here
computes a number of its own: every array is what ``engine.model.forward`` / ``loss`` / ``backward``
(with ``record_steps``, the layer's per-step record), ``engine.clipping`` and ``Optimizer.propose``
produced, copied and made read-only. The update is proposed, never committed: the caller's weights and
optimizer are untouched.

Notation, as the seed tutorial's, in the engine's row-vector convention (``engine.cells``: a weight maps
by right multiplication, so the engine's ``W_hy`` is ``H x V`` and the tutorial's ``W_hy^T dy`` is
``dy W_hy^T`` here). The loss is the engine's: the *mean* of ``-log p(y_t)`` over the T steps, so
``dy = (p - onehot(y)) / T``. Time steps are 0-based (t = 0 reads the first token); ``h[0]`` is the
initial state, ``h[t + 1]`` the state after step t (the tutorial's ``hs[t]``, ``hs[-1]`` the initial).

Limits: language models only (a softmax and a loss at every step), one layer, at most ``MAX_UNITS``
hidden units (``why_no_walkthrough`` says why in words; ``build_walkthrough`` raises
``WalkthroughRefused`` with that text).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine.cells import get_cell
from rnnviz.engine.clipping import ClipConfig, ClipReport, clip_gradients
from rnnviz.engine.config import ModelConfig
from rnnviz.engine.model import State, backward, forward, loss
from rnnviz.engine.optim import OptimConfig, Optimizer
from rnnviz.engine.step import nonfinite_expected

MAX_UNITS = 16  # more hidden units than this and the numbers no longer fit on a screen or a page

# The engine's parameter names and the tutorial's (one layer: layer0)
TUTORIAL_NAMES = {
    "embed.E": "E",
    "layer0.W_xh": "W_xh",
    "layer0.W_hh": "W_hh",
    "layer0.b_h": "b_h",
    "layer0.b_hh": "b_hh",
    "head.W_hy": "W_hy",
    "head.b_y": "b_y",
}
# What each accumulated gradient sums over the steps (row vectors; x_t the input vector, dz_t the
# pre-activation gradients: the RNN's dh_raw, the gated cells' gate blocks side by side)
GRADIENT_FORMULAS = {
    "embed.E": "dE[x_t] += dz_t W_xh^T  (the row of each token read)",
    "layer0.W_xh": "dW_xh = sum_t x_t^T dz_t",
    "layer0.W_hh": "dW_hh = sum_t h_{t-1}^T dz_t",
    "layer0.b_h": "db_h = sum_t dz_t",
    "layer0.b_hh": "db_hh = sum_t dz_rec_t  (the recurrent part: r * dz_n in the n block)",
    "head.W_hy": "dW_hy = sum_t h_t^T dy_t",
    "head.b_y": "db_y = sum_t dy_t",
}


class WalkthroughRefused(ValueError):
    """The model is not one the walkthrough can show; ``str()`` says why in plain words."""


def why_no_walkthrough(hidden: int, layers: int, head: str) -> str | None:
    """Why a model cannot be walked through, in words (None: it can)."""
    if head != "lm":
        what = "classifies whole sequences" if head == "classify" else "predicts values, without a softmax"
        return f"The walkthrough follows a language model, with a softmax and a loss at every step; this model {what}."
    if layers != 1:
        return f"The walkthrough shows one-layer models; this one has {layers} layers."
    if hidden > MAX_UNITS:
        return (
            f"The walkthrough shows every number of models with at most {MAX_UNITS} hidden units; this one has "
            f"{hidden}, too many numbers to read. The preset 'The king sits on throne' has 5."
        )
    return None


def gradient_name(name: str) -> str:
    """The tutorial's name of a parameter's gradient: ``dW_xh`` for ``layer0.W_xh``."""
    return "d" + TUTORIAL_NAMES.get(name, name)


@dataclass(frozen=True)
class Walkthrough:
    """One iteration on one sequence. T steps, V tokens, I input width, H units, G gate blocks (RNN 1).

    Arrays are read-only copies; ``[t]`` is time step t (0-based) unless said otherwise.
    """

    cell: str  # "rnn", "lstm", "gru"
    gate_names: tuple[str, ...]  # the cell's GATES, e.g. ("i", "f", "g", "o")
    input_kind: str  # "onehot" or "embedding"
    labels: tuple[str, ...]  # (V,) how each token is shown
    x: np.ndarray  # (T,) input token ids
    y: np.ndarray  # (T,) target ids (the next token)
    inputs: np.ndarray  # (T, I) what the layer reads: onehot(x_t), or the embedding E[x_t]
    h: np.ndarray  # (T+1, H) h[0] the initial state, h[t+1] the state after step t
    c: np.ndarray | None  # (T+1, H) LSTM cell states, same layout; None for the other cells
    gates: np.ndarray | None  # (T, G, H) gate activations (LSTM, GRU); None for the RNN (its one "gate" is h)
    logits: np.ndarray  # (T, V)
    probs: np.ndarray  # (T, V) softmax of the logits
    losses: np.ndarray  # (T,) -log probs[t, y[t]]
    loss: float  # the mean of ``losses``: what training minimises
    dy: np.ndarray  # (T, V) dL/dlogits = (probs - onehot(y)) / T
    dh_above: np.ndarray  # (T, H) dy W_hy^T: the gradient reaching h from the step's own output
    dh: np.ndarray  # (T, H) the total dL/dh_t = dh_above + dh_next of step t+1
    dz: np.ndarray  # (T, G*H) dL/d(pre-activation), gate blocks side by side: the RNN's dh_raw
    dz_rec: np.ndarray | None  # (T, G*H) GRU only: its recurrent part (r * dz_n in the n block)
    dh_next: np.ndarray  # (T, H) what step t sends back: dL/dh_{t-1} through step t
    dc_next: np.ndarray | None  # (T, H) LSTM: what step t sends back to c_{t-1}
    weights: dict[str, np.ndarray]  # the weights used (engine names)
    grads: dict[str, np.ndarray]  # accumulated gradients of ``loss`` over the sequence, before clipping
    clip: ClipReport
    clipped: dict[str, np.ndarray]  # the gradients after clipping (what the update uses)
    optimizer: str  # "sgd", "adagrad", "adam"
    momentum: float  # SGD's (0: none)
    lr: float
    update: dict[str, np.ndarray]  # new weight - old weight
    new_weights: dict[str, np.ndarray]
    losses_after: np.ndarray  # (T,) the same sequence, same initial state, with the new weights
    loss_after: float

    @property
    def T(self) -> int:
        return int(self.x.shape[0])

    @property
    def H(self) -> int:
        return int(self.h.shape[1])

    @property
    def equations(self) -> dict:
        """The cell's formulas (``engine.cells.<cell>.EQUATIONS``)."""
        return get_cell(self.cell).EQUATIONS

    def token(self, i: int) -> str:
        return self.labels[int(i)] if 0 <= int(i) < len(self.labels) else str(int(i))


def _frozen(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    a = np.array(a)  # a copy: never a view of an engine buffer
    a.setflags(write=False)
    return a


def _frozen_dict(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: _frozen(v) for k, v in d.items()}


def build_walkthrough(
    params: dict[str, np.ndarray],
    cfg: ModelConfig,
    x,
    y,
    *,
    state: State | None = None,
    clip: ClipConfig = ClipConfig(),
    optimizer: Optimizer | None = None,
    labels: tuple[str, ...] | None = None,
) -> Walkthrough:
    """The walkthrough of one iteration on the sequence ``x -> y`` (``(T,)`` token ids each).

    ``state``: the initial state (one row: ``[(h0 (1, H), c0 (1, H) or None)]``; zeros if None).
    ``clip``: the clipping setting; ``optimizer``: whose ``propose`` makes the update (its state and
    step count as they are; neither is changed). Default: plain SGD at learning rate 0.1. ``labels``:
    how each token id is shown (default: the ids). Raises ``WalkthroughRefused`` for a model it cannot
    show. Weights or numbers that are not finite are shown as they are (NaN), not refused.
    """
    refusal = why_no_walkthrough(cfg.hidden_size, cfg.num_layers, cfg.head)  # (a language model reads tokens)
    if refusal:
        raise WalkthroughRefused(refusal)
    x = np.asarray(x, np.intp).reshape(1, -1)  # (1, T): a batch of one
    y = np.asarray(y, np.intp).reshape(1, -1)
    if x.shape != y.shape or x.shape[1] < 1:
        raise ValueError(f"x and y must be two sequences of one length >= 1, not {x.shape[1:]} and {y.shape[1:]}")
    optimizer = optimizer if optimizer is not None else Optimizer(OptimConfig(kind="sgd", lr=0.1))
    with nonfinite_expected():
        fp = forward(params, cfg, x, state=state)
        lr_ = loss(fp, y)
        bw = backward(params, fp, lr_.dout, record_steps=True)
        clipped = {k: v.copy() for k, v in bw.grads.items()}
        report = clip_gradients(clipped, clip)
        proposal = optimizer.propose(params, clipped)  # fresh arrays: nothing is changed
        after = loss(forward(proposal.params, cfg, x, state=state), y)
    lt, lg = fp.layers[0], bw.layers[0]
    cell = get_cell(cfg.cell)
    if cfg.input == "onehot":
        inputs = np.eye(cfg.vocab_size, dtype=cfg.np_dtype)[x[0]]  # (T, V): the rows the lookup reads
    else:
        inputs = fp.inputs[0][:, 0]  # (T, D) the embedding vectors, as the forward pass gathered them
    V = cfg.vocab_size
    return Walkthrough(
        cell=cfg.cell, gate_names=tuple(cell.GATES), input_kind=cfg.input,
        labels=tuple(labels) if labels is not None else tuple(str(i) for i in range(V)),
        x=_frozen(x[0]), y=_frozen(y[0]), inputs=_frozen(inputs),
        h=_frozen(lt.hs[:, 0]), c=None if lt.cs is None else _frozen(lt.cs[:, 0]),
        gates=None if cell.ACT_IS_H else _frozen(lt.acts[:, :, 0]),
        logits=_frozen(fp.out[:, 0]), probs=_frozen(fp.probs[:, 0]), losses=_frozen(lr_.per_step[:, 0]),
        loss=lr_.loss, dy=_frozen(lr_.dout[:, 0]), dh_above=_frozen(lg.dh_above[:, 0]), dh=_frozen(lg.dh[:, 0]),
        dz=_frozen(lg.dax[:, 0]), dz_rec=_frozen(lg.dah[:, 0]) if lg.dah is not lg.dax else None,
        dh_next=_frozen(lg.dh_prev[:, 0]), dc_next=None if lg.dc_prev is None else _frozen(lg.dc_prev[:, 0]),
        weights=_frozen_dict(params), grads=_frozen_dict(bw.grads), clip=report, clipped=_frozen_dict(clipped),
        optimizer=optimizer.config.kind, momentum=optimizer.config.momentum, lr=proposal.lr,
        update=_frozen_dict({k: proposal.params[k] - params[k] for k in params}),
        new_weights=_frozen_dict(proposal.params), losses_after=_frozen(after.per_step[:, 0]), loss_after=after.loss,
    )  # fmt: skip


# -- the stages of the slow-motion iteration ------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One stage of the iteration: ``kind`` "forward" | "loss" | "backward" | "gradients" | "clip" |
    "update", ``t`` the time step (forward and backward stages), ``title`` in words."""

    number: int  # 1-based, as shown
    kind: str
    t: int | None
    title: str


def stages(w: Walkthrough) -> tuple[Stage, ...]:
    """The stages in the order a training step makes them: forward step by step, the loss, the backward
    sweep from the last step to the first, the accumulated gradients, clipping, the update."""
    out: list[tuple[str, int | None, str]] = []
    for t in range(w.T):
        out.append(("forward", t, f"Forward, t = {t}: read {w.token(w.x[t])!r}, predict {w.token(w.y[t])!r}"))
    out.append(("loss", None, f"Loss: the mean of -log p over the {w.T} steps = {w.loss:.4f}"))
    for t in range(w.T - 1, -1, -1):
        out.append(("backward", t, f"Backward, t = {t}: dy, dh, {dz_title(w)}, dh_next"))
    names = ", ".join(gradient_name(n) for n in w.grads)
    out.append(("gradients", None, f"Gradients accumulated over the {w.T} steps: {names}"))
    out.append(("clip", None, f"Clipping ({w.clip.config}): {clip_words(w.clip)}"))
    after = f"loss on this sequence {w.loss:.4f} -> {w.loss_after:.4f}"
    out.append(("update", None, f"Update ({update_words(w)}): {after}"))
    return tuple(Stage(k + 1, kind, t, title) for k, (kind, t, title) in enumerate(out))


def dz_title(w: Walkthrough) -> str:
    """What the backward step's own derivative is called: the RNN's dh_raw, the gates' dz."""
    return "dh_raw" if w.cell == "rnn" else "the gate derivatives " + " ".join(f"dz_{g}" for g in w.gate_names)


def dz_names(w: Walkthrough) -> tuple[str, ...]:
    """One name per gate block of ``dz``: ``("dh_raw",)`` for the RNN, ``("dz_i", "dz_f", ...)`` otherwise."""
    return ("dh_raw",) if w.cell == "rnn" else tuple(f"dz_{g}" for g in w.gate_names)


def clip_words(report: ClipReport) -> str:
    if report.config.mode == "off":
        return f"off; the gradient norm is {report.norm_before:.4g}"
    if not report.clipped:
        return f"norm {report.norm_before:.4g}, nothing clipped"
    if report.config.mode == "norm":
        return f"norm {report.norm_before:.4g} scaled by {report.scale:.4g} to {report.norm_after:.4g}"
    norms = f"norm {report.norm_before:.4g} -> {report.norm_after:.4g}"
    return f"{report.fraction_clipped:.0%} of the entries clipped; {norms}"


def update_words(w: Walkthrough) -> str:
    """How the update is made, in words: plain SGD's formula, or the optimizer's name."""
    if w.optimizer == "sgd" and w.momentum == 0:
        return f"SGD: W <- W - {w.lr:g} * dW"
    kind = {"sgd": "SGD with momentum", "adam": "Adam", "adagrad": "Adagrad"}[w.optimizer]
    return f"{kind}, learning rate {w.lr:g}"
