"""What crosses between the training worker and the GUI thread: immutable snapshots and commands.

Nothing here imports Qt. Every array in a snapshot is read-only (the engine's trace already is; the
probe's arrays are frozen here), so the GUI can draw from a snapshot while the worker trains on.

Worker -> GUI, through the mailbox (``worker.Mailbox``):
    StepScalars   one per training step, all of them (the loss and norm curves stay exact)
    TrainView     the latest instrumented training step (heavy; only the newest is kept)
    ProbeView     the probe sentence as stepped so far (heavy; only the newest is kept)
    events        ModelInfo, StateChanged, Problem, EvalResult, Notice, in order

GUI -> worker: :class:`Command` objects through the worker's queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnviz.engine.clipping import ClipConfig
from rnnviz.engine.trace import Trace

# The worker's states; the GUI enables its controls from these (see main_window.CONTROL_STATES).
IDLE, RUNNING, PAUSED, STEPPING, LOADING, ERROR = "idle", "running", "paused", "stepping", "loading", "error"
STATES = (IDLE, RUNNING, PAUSED, STEPPING, LOADING, ERROR)


def freeze(a: np.ndarray | None) -> np.ndarray | None:
    if a is not None:
        a.setflags(write=False)
    return a


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
    seconds: float
    applied: bool


@dataclass(frozen=True)
class LayerRow:
    """One layer of one batch row of an instrumented training step (the engine's Trace, one row)."""

    hs: np.ndarray  # (T+1, H) h_0 first
    cs: np.ndarray | None  # (T+1, H) LSTM cell states
    acts: np.ndarray  # (T, G, H) gate activations
    dh_norm: np.ndarray  # (T,) ||dL/dh_t||, the whole BPTT gradient
    dlast_norm: np.ndarray  # (T,) ||dL_T/dh_t||, the last step's loss alone


@dataclass(frozen=True)
class TrainView:
    """One instrumented training step as the panels draw it: the displayed batch row only.

    Small on purpose (a few hundred kilobytes): it crosses from the training process to the app
    ~30 times a second. The engine's full Trace holds every row.
    """

    step: int
    clip: str  # the clipping setting in force ("off", "norm:5"...)
    row: int
    length: int  # steps used by the row (classification: its real length)
    layers: tuple[LayerRow, ...]
    x: np.ndarray  # (T,) ids or (T, I) values
    y: np.ndarray  # (T,) ids, () class id or (T, O) values
    probs: np.ndarray | None  # (T, V) next-token probabilities (lm) or (K,) class probabilities
    outputs: np.ndarray | None  # (T, O) regression predictions
    input_labels: tuple[str, ...] | None  # labels of the row's inputs (None for dense input)
    target_labels: tuple[str, ...] | None  # labels of the row's targets (lm), or (class name,) (classify)

    @classmethod
    def from_trace(cls, tr: Trace, step: int, clip: str, input_labels, target_labels) -> TrainView:
        r = tr.row
        layers = tuple(
            LayerRow(
                hs=np.array(lv.hs[:, r]),
                cs=None if lv.cs is None else np.array(lv.cs[:, r]),
                acts=np.array(lv.acts[:, :, r]),
                dh_norm=np.array(lv.dh_norm[:, r]),
                dlast_norm=np.array(lv.dlast_norm),
            )  # fmt: skip
            for lv in tr.layers
        )
        return cls(
            step=step,
            clip=clip,
            row=r,
            length=tr.length,
            layers=layers,
            x=tr.x,
            y=tr.y,
            probs=tr.probs,
            outputs=tr.outputs,
            input_labels=input_labels,
            target_labels=target_labels,
        )


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
    probe_text: str  # the probe sentence the worker chose or kept
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


# -- commands (GUI -> worker) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    name: str  # one of COMMANDS
    args: dict[str, Any] = field(default_factory=dict)


COMMANDS = (
    "train",  # start or resume training
    "pause",
    "step_update",  # one training step, then pause
    "step_token",  # feed the next probe token (pauses training)
    "step_back",  # undo the last probe token
    "probe_restart",  # back to the start of the probe
    "set_probe",  # args: text
    "set_clip",  # args: clip (ClipConfig)
    "set_lr",  # args: lr
    "set_row",  # args: row (the displayed batch row)
    "reset",  # args: config (TrainConfig), task (optional prebuilt Task)
    "load_corpus",  # args: path, config
    "save",  # args: path
    "load_checkpoint",  # args: path
    "stop",
)


def clip_command(clip: ClipConfig) -> Command:
    return Command("set_clip", {"clip": clip})
