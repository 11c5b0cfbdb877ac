"""What the lab reports to its front end (the app, a test, a script): small frozen records, in order.

    StepScalars   one per training step of a run, all of them (the loss and norm curves stay exact)
    Snapshot      what the sequence panels show (``snapshot``): the newest only is drawn
    ModelInfo     a run's model was built or loaded: what the panels need to label things
    RunLog        a loaded run's history of losses and norms, to draw its curves again
    MechanismPoint a mechanism view of a training step, as the run's log keeps it (all of them)
    HistoryInfo   what the step history of a run holds (for the scrub slider)
    WalkthroughReady  every number of one iteration of a small model (when the front end asks: WatchWalkthrough)
    StateChanged, Problem, EvalResult, Notice
    Generated     text a language model wrote (asked for, or sampled while training)
    GradientCheck analytic against numeric gradients of a few weights
    ClassReport   a classifier's validation: confusion matrix, per-class accuracy, example names (lab.classes)

Nothing here imports Qt; in the app these cross a pipe from the training process (pickled), and the
window only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# The lab's states; the app enables its controls from these (main_window.ENABLED_IN).
IDLE, RUNNING, PAUSED, STEPPING, LOADING, ERROR = "idle", "running", "paused", "stepping", "loading", "error"

MAIN = "A"  # the id of the run a single-run lab trains
OTHER = "B"  # the second run of a comparison


@dataclass(frozen=True)
class StepScalars:
    run: str
    step: int
    progress: float  # epochs, e.g. 1.25
    loss: float
    grad_norm: float  # global norm before clipping
    clipped_norm: float  # after clipping (equal when nothing was clipped; NaN when no gradient was formed)
    clipped: bool
    lr: float
    tokens: int


@dataclass(frozen=True)
class MechanismPoint:
    """A mechanism view of a run's training step, as its log keeps it (``training.log.mechanism_row``).
    Sent whole, as step scalars are: the snapshot that carried the view may never be drawn (only the
    newest is), and the curves over training must not miss it."""

    run: str
    step: int
    values: dict  # training.log.mechanism_columns -> float


@dataclass(frozen=True)
class ModelInfo:
    """Sent whenever a run's model is built or loaded. Cell facts come from the cell registry."""

    run: str
    title: str  # the task, in words
    head: str  # "lm", "classify" or "regress"
    cell: str
    cell_name: str  # e.g. "vanilla RNN"
    layers: int
    hidden: int
    gate_names: tuple[str, ...]  # e.g. ("i", "f", "g", "o")
    gate_labels: tuple[str, ...]  # e.g. ("input gate i", ...)
    gate_ranges: tuple[tuple[float, float], ...]
    has_cell_state: bool
    gates_are_h: bool  # the vanilla RNN: its one "gate" is h itself (nothing more to show)
    labels: tuple[str, ...]  # output labels: vocabulary (lm) or class names (classify); () for regress
    notes: tuple[str, ...]
    batches_per_epoch: int
    batch_rows: int  # sequences in a training batch (the Row box's range; the toy task has 1)
    config: dict  # TrainConfig.to_dict()
    probe_text: str  # the probe sentence the lab chose or kept
    step: int = 0  # 0 for a new model; the saved step for a loaded checkpoint
    label: str = ""  # in a comparison, what tells the run apart: "clip=off" (A), "clip=norm:1" (B)
    param_shapes: tuple[tuple[str, tuple[int, ...]], ...] = ()  # the weights: (name, shape), as the engine names them


@dataclass(frozen=True)
class RunLog:
    """A run's whole history so far (sent after a checkpoint is loaded): ``training.log`` columns."""

    run: str
    step: np.ndarray  # (n,) step numbers
    loss: np.ndarray  # (n,)
    grad_norm: np.ndarray  # (n,) before clipping
    clipped_norm: np.ndarray  # (n,)
    clipped: np.ndarray  # (n,) 1.0 where the step was clipped
    eval_step: np.ndarray  # (m,)
    eval_loss: np.ndarray  # (m,)
    eval_accuracy: np.ndarray  # (m,) NaN where the task has none
    mechanism: dict = field(default_factory=dict)  # "x" (steps) and training.log.mechanism_columns, (k,) each


@dataclass(frozen=True)
class HistoryInfo:
    """What a run's step history holds: ``count`` snapshots from ``first_step`` to ``last_step``."""

    run: str
    count: int
    first_step: int
    last_step: int
    nbytes: int
    budget: int


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
    roll_back: tuple[str, int] | None = None  # (run, step): the lab offers ``RollBack(step, run)``


@dataclass(frozen=True)
class EvalResult:
    run: str
    step: int
    loss: float
    accuracy: float | None
    perplexity: float | None = None  # language models: exp(loss), the engine's (training.evaluation)


@dataclass(frozen=True)
class ClassReport:
    """A classifier's validation pass at ``step`` (sent after its EvalResult), made by ``lab.classes``.

    K classes; rows are the true class, columns the predicted one. Small on purpose: at most
    ``lab.classes.MAX_EXAMPLES`` names per cell.
    """

    run: str
    step: int
    confusion: np.ndarray  # (K, K) int64 counts: confusion[i, j] names of class i predicted as j
    fractions: np.ndarray  # (K, K) float64 each row over its sum (zeros for a class with no names)
    class_accuracy: np.ndarray  # (K,) the diagonal over the row sums; NaN for a class with no names
    accuracy: float  # all classes together (the EvalResult's)
    examples: tuple  # [i][j]: tuple of up to MAX_EXAMPLES names of class i predicted as j (() if unnamed)
    train_counts: np.ndarray  # (K,) training examples per class (-1 where the task does not count them)
    evaluated: int  # validation examples in this pass
    total: int  # validation examples in the set (more than ``evaluated``: a partial pass)


@dataclass(frozen=True)
class Notice:
    """A passing message for the status bar (saved a checkpoint, loaded a corpus...)."""

    message: str


@dataclass(frozen=True)
class CompareInfo:
    """The runs now trained: one (``runs == ("A",)``, compare ended) or A and B in lockstep.
    ``labels[k]`` names run ``runs[k]`` in legends ("clip=off", "clip=norm:1"); ``fork_step`` is
    the step B forked from A (0: both from scratch)."""

    runs: tuple[str, ...]
    labels: tuple[str, ...]
    fork_step: int = 0

    @property
    def comparing(self) -> bool:
        return len(self.runs) > 1


@dataclass(frozen=True)
class RunStopped:
    """In a comparison, run ``run``'s step at ``step`` was refused (not finite): it stays at its last
    good weights while the other run goes on."""

    run: str
    step: int
    message: str


@dataclass(frozen=True)
class SpikeFound:
    """Run ``run``'s step ``step`` was a spike (``lab.spikes``): marked on the curves; where the run
    pauses on spikes (``paused``), training paused and ``RollBack`` undoes it."""

    run: str
    step: int
    what: str  # "gradient norm" or "loss"
    value: float
    median: float
    message: str  # plain words, with what the user can do
    paused: bool = True


@dataclass(frozen=True)
class WalkthroughReady:
    """Every number of the next training iteration of run ``run`` on one sequence (``lab.walkthrough``),
    with the weights after step ``step`` (0: a new model); not applied. ``walkthrough`` is None when the
    model cannot be walked through, and ``reason`` says why."""

    run: str
    step: int
    walkthrough: object | None  # a lab.walkthrough.Walkthrough
    sequence: str  # which sequence, in words: "row 0 of step 12's batch"
    reason: str = ""


@dataclass(frozen=True)
class Generated:
    """Text run ``run`` wrote at step ``step`` (``lab.generation``); ``error`` says why not, in plain words."""

    run: str
    step: int
    prime: str  # the prime as the model read it
    text: str  # the prime, then the generated text ("" on error)
    temperature: float
    top_k: int
    seed: int
    unknown: tuple[str, ...] = ()  # what the model never saw in the typed prime (left out)
    while_training: bool = False  # a "sample every N steps" sample
    error: str = ""


@dataclass(frozen=True)
class GradientCheck:
    """Analytic against central-difference gradients of ``checked`` weights of run ``run`` at step
    ``step`` on batch row ``row`` (``lab.gradient_check``); ``error`` says why none were checked."""

    run: str
    step: int
    row: int
    what: str  # the parameter checked, or "random weights"
    names: tuple[str, ...]  # (n,) the parameter of each entry
    index: np.ndarray  # (n,) flat index in the parameter
    analytic: np.ndarray  # (n,)
    numeric: np.ndarray  # (n,)
    errors: np.ndarray  # (n,) engine.gradcheck.entry_errors
    total: int  # weights there are to check (in ``what``)
    verdict: str  # plain words: the largest error and what it means, and how much was checked
    error: str = ""

    @property
    def checked(self) -> int:
        return len(self.names)
