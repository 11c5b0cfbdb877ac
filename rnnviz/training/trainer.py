"""The training loop as an object that takes one step at a time, and the generator around it.

    trainer = Trainer(TrainConfig(task="lm", cell="gru"))
    for report in iter_training(trainer, trace=True):     # endless: stop by not asking for more
        print(report.step, report.loss)

The loop never prints, sleeps or draws: the command line and the app decide what to do with each
:class:`StepReport`. Randomness: ``TrainConfig.seed`` seeds three independent streams (weights and
dropout; the order of the data; the names' validation split), so the same seed gives the same bits
and a checkpoint can restore each stream exactly.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np

from rnnviz.corpus import Task
from rnnviz.corpus.batch import Batch
from rnnviz.engine.buffers import BufferPool
from rnnviz.engine.cells import get_cell
from rnnviz.engine.clipping import ClipConfig, ClipReport, global_norm
from rnnviz.engine.config import init_params
from rnnviz.engine.model import State
from rnnviz.engine.optim import Optimizer
from rnnviz.engine.runtime import Runtime
from rnnviz.engine.spectral import BlockSpectrum, spectral_stats
from rnnviz.engine.step import train_step
from rnnviz.engine.trace import Trace, build_trace
from rnnviz.training.config import LIVE_FIELDS, TrainConfig, build_task, model_config, optim_config
from rnnviz.training.evaluation import EvalReport, evaluate_batches
from rnnviz.training.log import TrainingLog
from rnnviz.training.stream import BatchStream


@dataclass(frozen=True)
class StepReport:
    """What one training step did; immutable, safe to hand to another thread."""

    step: int  # steps attempted so far, this one included (refused steps count)
    progress: float  # epochs done, e.g. 2.25
    loss: float
    lr: float
    tokens: int  # tokens (time steps) in this batch
    applied: bool  # False: the update was refused (see ``problem``); the weights are unchanged
    problem: str | None  # plain words: where the step went non-finite
    grad_norm: float  # global gradient norm before clipping (NaN when no gradient was formed)
    clip: ClipReport | None
    seconds: float  # compute time of the step
    trace: Trace | None  # the instrumented view, when asked for

    @property
    def clipped_norm(self) -> float:
        """The global norm after clipping (NaN when no gradient was formed)."""
        return self.clip.norm_after if self.clip is not None else float("nan")

    @property
    def clipped(self) -> bool:
        return bool(self.clip is not None and self.clip.clipped)


def _seed_streams(seed: int) -> tuple[np.random.SeedSequence, ...]:
    """Three independent streams from one seed: model (init, dropout), data order, task split."""
    return tuple(np.random.SeedSequence(seed).spawn(3))


class Trainer:
    """Owns a run: task, weights, optimizer, clipping, the carried state and the random streams.

    Change ``clip`` or ``opt.config`` between steps to change clipping or the learning rate; both take
    effect from the next step. Only one thread may use a Trainer at a time (in the app: the training process's loop).

    ``runtime``: how the engine runs (see ``rnnviz.engine.runtime``); by default a buffer pool of the
    trainer's own and every product on the process's BLAS threads.
    """

    def __init__(self, cfg: TrainConfig, task: Task | None = None, runtime: Runtime | None = None):
        model_seq, data_seq, split_seq = _seed_streams(cfg.seed)
        self.cfg = cfg
        self.task: Task = task if task is not None else build_task(cfg, np.random.default_rng(split_seq))
        self.model_cfg = model_config(cfg, self.task.spec)
        self.rng = np.random.default_rng(model_seq)  # weights, then dropout masks
        self.params = init_params(self.model_cfg, self.rng)
        self.opt = Optimizer(optim_config(cfg))
        self.clip = ClipConfig.parse(cfg.clip)
        self.class_weights = None
        if cfg.class_weighting and self.task.spec.head == "classify" and hasattr(self.task, "class_weights"):
            self.class_weights = self.task.class_weights
        # the data order; a fork and a comparison's two runs share it (one batch a lockstep step)
        self.stream = BatchStream(self.task, np.random.default_rng(data_seq))
        self.step = 0  # steps attempted (refused ones included)
        self.tokens_seen = 0
        self.progress = 0.0
        self.state: State | None = None  # carried hidden state (truncated BPTT)
        self.spectrum: tuple[BlockSpectrum, ...] | None = None
        self._spectrum_step = -1
        self.runtime = runtime if runtime is not None else Runtime(pool=BufferPool())
        # What the newest step computed, kept so that its trace can be built afterwards (``last_trace``):
        # the weights it used, its StepResult and its targets. Holding it keeps one step's buffers out of
        # the pool, which then rotates two sets instead of one (no new allocations).
        self._last: tuple | None = None
        self._last_batch: Batch | None = None  # the newest step's batch (``restore_weights`` shows it again)
        # every step's loss and norms, every validation and mechanism view (saved with checkpoints)
        self.log = TrainingLog(get_cell(self.model_cfg.cell).GATES)

    # -- training -------------------------------------------------------------------------------
    @property
    def batches_used(self) -> int:
        """Batches drawn from this run's data stream (by whichever run shares it): where it resumes."""
        return self.stream.position

    def next_batch(self) -> Batch:
        """The next batch of this run's data stream (``train_step`` takes it unless given one)."""
        return self.stream.next()

    def train_step(
        self,
        trace: bool = False,
        row: int = 0,
        spectrum: bool = True,
        gradients: bool = True,
        batch: Batch | None = None,
    ) -> StepReport:
        """Take the next batch and make one update (refused, and reported, if anything is not finite).

        ``trace``: also build the instrumented view of the step, for batch row ``row``; ``spectrum``:
        include the W_hh spectrum in it (refreshed every ``cfg.spectral_every`` steps); ``gradients``:
        include the gradient-through-time views (see ``build_trace``). ``batch``: train on this batch
        instead of drawing one (two runs in lockstep train on the one batch: ``training.compare``): a
        batch the other run drew from the stream both share, which counts it once.
        """
        t0 = time.perf_counter()
        if batch is None:
            batch = self.next_batch()
        state = self._carried(batch)
        old_params = dict(self.params)  # the arrays the forward pass uses (updates replace, never mutate)
        r = self._step(batch, state)
        self._last_batch = batch
        self.step += 1
        self.progress = batch.progress
        tokens = int(batch.lengths.sum()) if batch.lengths is not None else batch.size * batch.seq_len
        self.tokens_seen += tokens
        # carry the final state to the next chunk only if it is trustworthy
        self.state = r.fp.final_state() if r.applied and self.task.spec.head == "lm" else None
        self._last = (old_params, r, batch.y)
        tr = self.last_trace(row, spectrum=spectrum, gradients=gradients) if trace else None
        grad_norm = global_norm(r.grad_norms) if r.grad_norms else float("nan")
        report = StepReport(
            step=self.step, progress=self.progress, loss=r.loss, lr=r.lr, tokens=tokens, applied=r.applied,
            problem=None if r.nonfinite is None else r.nonfinite.describe(self.step),
            grad_norm=grad_norm, clip=r.clip, seconds=time.perf_counter() - t0, trace=tr,
        )  # fmt: skip
        self.log.add_step(self.step, r.loss, grad_norm, report.clipped_norm, report.clipped)
        return report

    def _carried(self, batch: Batch) -> State | None:
        """The state carried into ``batch`` (truncated BPTT), when it continues the previous one."""
        if batch.carry and self.state is not None and self.state[0][0].shape[0] == batch.size:
            return self.state
        return None

    def _step(self, batch: Batch, state: State | None, commit: bool = True):
        """The engine's step on ``batch``; ``commit=False`` updates nothing (no dropout either: a look)."""
        dropout_rng = self.rng if self.model_cfg.dropout > 0 and commit else None
        return train_step(
            self.params, self.model_cfg, self.opt, batch.x, batch.y, clip=self.clip, state=state,
            lengths=batch.lengths, class_weights=self.class_weights, dropout_rng=dropout_rng, runtime=self.runtime,
            commit=commit,
        )  # fmt: skip

    def last_trace(
        self, row: int = 0, spectrum: bool = False, gradients: bool = True, mechanism: bool = False
    ) -> Trace | None:
        """The instrumented view of the newest step, for batch row ``row`` (clamped to the batch); None
        before the first step, or when the step had no backward pass (its loss was not finite).

        The same numbers whenever it is asked for: it is built from what that step computed, so a caller
        can trace a step only after deciding it wants to (a pause, another row).
        """
        if self._last is None:
            return None
        old_params, r, y = self._last
        if r.bw is None:
            return None
        row = self.clamp_row(row)
        trace = build_trace(
            old_params, r.fp, y, r.per_step, [lg.dh for lg in r.bw.layers], r.grad_norms, r.clip,
            row=row, spectrum=self._spectrum(old_params) if spectrum else None,
            gradients=gradients or not r.applied,  # a refused step's gradients explain why: always shown
            mechanism=mechanism,
        )  # fmt: skip
        if trace.mechanism:  # kept over training (the app's "Over training" tab, and checkpoints)
            self.log.add_mechanism(self.step, trace.mechanism[0])
        return trace

    def newest_batch(self) -> tuple[Batch, State] | None:
        """The newest step's batch and the state each of its rows started from (copies: per layer
        ``(h (B, H), c (B, H) or None)``, zeros unless carried); None before the first step."""
        if self._last is None or self._last_batch is None:
            return None
        fp = self._last[1].fp
        return self._last_batch, [(lt.hs[0].copy(), None if lt.cs is None else lt.cs[0].copy()) for lt in fp.layers]

    def fork(self, cfg: TrainConfig | None = None) -> Trainer:
        """A second run that is this one at this step: the same weights, optimizer state, carried state,
        random streams, log and newest step (so ``last_trace`` works for it), with ``cfg``'s live
        settings (clipping, learning rate) from its next step. Nothing is copied that is never
        written in place: updates replace the weight and optimizer arrays (``engine.optim``).

        The fork shares this run's task and batch stream (``stream``): in lockstep one run draws each
        batch and both train on it (``training.compare.Lockstep``); whichever run is kept afterwards goes
        on drawing from the stream at the right place.
        """
        twin = copy.copy(self)
        twin.params = dict(self.params)
        twin.opt = type(self.opt)(self.opt.config, self.opt.step, self.opt.state)
        twin.rng = copy.deepcopy(self.rng)
        twin.log = copy.deepcopy(self.log)
        if self.state is not None:
            twin.state = [(h.copy(), None if c is None else c.copy()) for h, c in self.state]
        if cfg is not None:
            if cfg.replace(**{f: getattr(self.cfg, f) for f in LIVE_FIELDS}) != self.cfg:
                raise ValueError("a fork can change only the live settings (learning rate, clipping)")
            twin.cfg = cfg
            twin.set_clip(ClipConfig.parse(cfg.clip))
            twin.set_lr(cfg.lr)
        return twin

    def weights_state(self) -> tuple:
        """What an update changes: weights, optimizer state and count, carried state (for Roll back;
        see ``lab.spikes``). Shallow copies: updates replace these arrays, they never write into them."""
        state = None if self.state is None else list(self.state)
        return dict(self.params), dict(self.opt.state), self.opt.step, state

    def restore_weights(self, saved: tuple) -> None:
        """Undo the updates made since ``weights_state`` returned ``saved`` (the data stream goes on)."""
        params, opt_state, opt_step, state = saved
        self.params = dict(params)
        self.opt.state = dict(opt_state)
        self.opt.step = opt_step
        self.state = None if state is None else list(state)
        self._last = None  # the newest step's trace was made with other weights: look again, updating nothing
        batch = self._last_batch
        if batch is not None:
            r = self._step(batch, self._carried(batch), commit=False)
            self._last = (dict(self.params), r, batch.y)
            if self.task.spec.head == "lm" and r.bw is not None:  # the next chunk goes on from this one
                self.state = r.fp.final_state()

    def first_sequence(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x (T,), y)``: the first row of the data's first batch, as a fresh run's data order starts
        (the walkthrough's sequence before any step): drawn from the run's own data-order stream."""
        batch = next(self.task.train_batches(np.random.default_rng(_seed_streams(self.cfg.seed)[1])))
        return np.array(batch.x[0]), np.array(batch.y[0])

    def newest_sequence(self, row: int = 0) -> tuple[np.ndarray, np.ndarray, State | None, int | None]:
        """One sequence to look at closely (the walkthrough): ``(x (T,), y, state, step)``: row ``row``
        (clamped) of the newest step's batch with the state that step started it from (one row) and
        that step's number; before any step (or after a load), :meth:`first_sequence` from zeros
        (``state`` and ``step`` None)."""
        if self._last is None or self._last_batch is None:
            return *self.first_sequence(), None, None
        row = self.clamp_row(row)
        state = [
            (lt.hs[0, row : row + 1].copy(), None if lt.cs is None else lt.cs[0, row : row + 1].copy())
            for lt in self._last[1].fp.layers
        ]
        return np.array(self._last_batch.x[row]), np.array(self._last_batch.y[row]), state, self.step

    def clamp_row(self, row: int) -> int:
        """``row`` as a row of the newest step's batch (the last batch of an epoch may be smaller)."""
        return row if self._last is None else min(max(row, 0), self._last[1].fp.B - 1)

    def set_lr(self, lr: float) -> None:
        """A new learning rate, from the next step (the optimizer keeps its state)."""
        self.cfg = self.cfg.replace(lr=float(lr))
        self.opt.config = optim_config(self.cfg)

    def set_clip(self, clip: ClipConfig) -> None:
        """A new clipping setting, from the next step."""
        self.clip = clip
        self.cfg = self.cfg.replace(clip=str(clip))

    def _spectrum(self, params) -> tuple[BlockSpectrum, ...]:
        """The W_hh spectrum, recomputed every ``spectral_every`` steps (it costs milliseconds)."""
        if self.spectrum is None or self.step - self._spectrum_step >= self.cfg.spectral_every:
            self.spectrum = spectral_stats(params, self.model_cfg)
            self._spectrum_step = self.step
        return self.spectrum

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self, max_batches: int | None = None) -> EvalReport | None:
        """Loss (and accuracy) on the task's validation batches, also written to ``log``; None when the
        task has none."""
        batches = self.task.val_batches()
        if max_batches is not None:
            batches = islice(batches, max_batches)
        report = evaluate_batches(self.params, self.model_cfg, batches, self.runtime)
        if report is not None:
            self.log.add_eval(self.step, report.loss, report.accuracy)
        return report


def iter_training(trainer: Trainer, trace: bool = False, row: int = 0) -> Iterator[StepReport]:
    """Endless training steps; the caller stops by not asking for the next one."""
    while True:
        yield trainer.train_step(trace=trace, row=row)
