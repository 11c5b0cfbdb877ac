"""What crosses between the training process and the app: snapshots, events and commands.

Nothing here imports Qt: the training process (engine_loop) builds these and the app draws them.
Snapshots are frozen dataclasses of NumPy arrays that nobody writes into after they are made; they
are pickled through a pipe (arrays arrive writable, but the app only reads them).

Training process -> app, through the controller's mailbox (``controller.Mailbox``):
    StepScalars   one per training step, all of them (the loss and norm curves stay exact)
    TrainView     the latest instrumented training step (only the newest is drawn)
    ProbeView     the probe sentence as stepped so far (only the newest is drawn)
    events        ModelInfo, StateChanged, Problem, EvalResult, Notice, in order

App -> training process: :class:`Command` (the list is in ``engine_loop.EngineLoop``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnviz.engine.trace import Trace

# The training process's states; the app enables its controls from these (main_window.ENABLED_IN).
IDLE, RUNNING, PAUSED, STEPPING, LOADING, ERROR = "idle", "running", "paused", "stepping", "loading", "error"
TOP_K = 10  # next-token bars: the k most likely tokens (and the true one) travel, not the whole softmax


@dataclass(frozen=True)
class StepScalars:
    step: int
    progress: float  # epochs, e.g. 1.25
    loss: float
    grad_norm: float  # global norm before clipping
    clipped_norm: float  # after clipping (equal when nothing was clipped)
    clipped: bool
    lr: float
    tokens: int


@dataclass(frozen=True)
class LayerRow:
    """One layer of one batch row of an instrumented training step (the engine's Trace, one row)."""

    hs: np.ndarray  # (T+1, H) h_0 first
    cs: np.ndarray | None  # (T+1, H) LSTM cell states
    acts: np.ndarray  # (T, G, H) gate activations
    dh_norm: np.ndarray | None  # (T,) ||dL/dh_t||, the whole BPTT gradient (None: not in this view)
    dlast_norm: np.ndarray | None  # (T,) ||dL_T/dh_t||, the last step's loss alone (likewise)


@dataclass(frozen=True)
class TrainView:
    """One instrumented training step as the panels draw it: the displayed batch row only.

    Small on purpose (~200 kB for the default LSTM, mostly its gates): it crosses from the training
    process to the app up to ~40 times a second. The engine's full Trace holds every row; of a language
    model's softmax only the TOP_K most likely tokens and the true one travel (a 10,000-word vocabulary
    would otherwise be 2.5 MB a view).
    """

    step: int
    clip: str  # the clipping setting in force ("off", "norm:5"...)
    row: int
    length: int  # steps used by the row (classification: its real length)
    layers: tuple[LayerRow, ...]
    x: np.ndarray  # (T,) ids or (T, I) values
    y: np.ndarray  # (T,) ids, () class id or (T, O) values
    losses: np.ndarray  # (T,) the engine's per-token loss of the row (lm, regress), or () (classify)
    top_ids: np.ndarray | None  # lm: (T, k) the k most likely next tokens at each step, most likely first
    top_probs: np.ndarray | None  # lm: (T, k) their probabilities
    target_probs: np.ndarray | None  # lm: (T,) the probability of the true next token
    probs: np.ndarray | None  # classify: (K,) class probabilities
    outputs: np.ndarray | None  # regress: (T, O) predictions
    input_labels: tuple[str, ...] | None  # labels of the row's inputs (None for dense input)
    target_labels: tuple[str, ...] | None  # labels of the row's targets (lm), or (class name,) (classify)

    @property
    def has_gradients(self) -> bool:
        """Whether this view carries the gradient-through-time norms (the engine sends them ~10/s)."""
        return self.layers[0].dlast_norm is not None

    @classmethod
    def from_trace(cls, tr: Trace, step: int, clip: str, input_labels, target_labels) -> TrainView:
        r = tr.row
        layers = tuple(
            LayerRow(
                hs=np.array(lv.hs[:, r]),
                cs=None if lv.cs is None else np.array(lv.cs[:, r]),
                acts=np.array(lv.acts[:, :, r]),
                dh_norm=None if lv.dh_norm is None else np.array(lv.dh_norm[:, r]),
                dlast_norm=None if lv.dlast_norm is None else np.array(lv.dlast_norm),
            )  # fmt: skip
            for lv in tr.layers
        )
        top_ids = top_probs = target_probs = probs = None
        if tr.probs is not None and tr.probs.ndim == 2:  # language model: (T, V)
            k = min(TOP_K, tr.probs.shape[1])
            top_ids = np.argsort(tr.probs, axis=1)[:, ::-1][:, :k]  # (T, k)
            top_probs = np.take_along_axis(tr.probs, top_ids, axis=1)
            target_probs = np.take_along_axis(tr.probs, np.asarray(tr.y, np.intp)[:, None], axis=1)[:, 0]
        elif tr.probs is not None:
            probs = tr.probs
        losses = np.array(tr.per_step_loss[:, r] if tr.per_step_loss.ndim == 2 else tr.per_step_loss[r])
        return cls(step=step, clip=clip, row=r, length=tr.length, layers=layers, x=tr.x, y=tr.y, losses=losses,
                   top_ids=top_ids, top_probs=top_probs, target_probs=target_probs, probs=probs,
                   outputs=tr.outputs, input_labels=input_labels, target_labels=target_labels)  # fmt: skip


@dataclass(frozen=True)
class ProbeView:
    """The probe sentence, fed token by token with the current weights."""

    labels: tuple[str, ...]  # visible labels of every probe token
    ids: np.ndarray  # (n,) token ids
    position: int  # tokens fed so far (0: none yet)
    hs: tuple[np.ndarray, ...]  # per layer (position, H): the state after each fed token
    cs: tuple[np.ndarray | None, ...]  # per layer (position, H) LSTM cell states, else None
    acts: tuple[np.ndarray, ...]  # per layer (position, G, H) gate activations
    probs: np.ndarray | None  # (K,) what the model expects next (None before the first token; regression)
    true_nll: float | None  # lm: -log p of the probe's next token, from the logits (log-sum-exp)
    predictions: np.ndarray | None  # regression: (position, O) the predicted next value after each token
    true_next: int | float | None  # lm: id of the probe's next token; regression: the next value
    skipped: tuple[str, ...] = ()  # characters/words of the typed text the model does not know


@dataclass(frozen=True)
class ModelInfo:
    """Sent whenever a model is built or loaded: what the panels need to label things."""

    title: str  # the task, in words
    head: str  # "lm", "classify" or "regress"
    cell: str
    layers: int
    hidden: int
    gate_names: tuple[str, ...]
    gate_ranges: tuple[tuple[float, float], ...]
    labels: tuple[str, ...]  # output labels: vocabulary (lm) or class names (classify); () for regress
    notes: tuple[str, ...]
    batches_per_epoch: int
    config: dict  # TrainConfig.to_dict()
    probe_text: str  # the probe sentence the training process chose or kept
    step: int = 0  # 0 for a new model; the saved step for a loaded checkpoint


@dataclass(frozen=True)
class StateChanged:
    state: str
    message: str = ""


@dataclass(frozen=True)
class Problem:
    """Something the user must hear about. ``kind``: nonfinite, error, load_failed, save_failed."""

    kind: str
    message: str  # plain words
    details: str = ""  # e.g. the traceback


@dataclass(frozen=True)
class EvalResult:
    step: int
    loss: float
    accuracy: float | None


@dataclass(frozen=True)
class Notice:
    """A passing message for the status bar (saved a checkpoint, loaded a corpus...)."""

    message: str


# -- commands (app -> training process) ----------------------------------------------------------


@dataclass(frozen=True)
class Command:
    name: str  # one of engine_loop.EngineLoop's handlers
    args: dict[str, Any] = field(default_factory=dict)
