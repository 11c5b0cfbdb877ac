"""The lab: owns the runs, takes typed commands, reports events and snapshots. No Qt, no threads.

    lab = Lab(events.append)                    # emit: called with every event, in order
    lab.reset(TrainConfig(task="sine", hidden=8))
    lab.train_steps(20)                         # or lab.handle(Train()) and lab.tick() from a loop
    lab.handle(Pause())                         # the newest step arrives as one complete Snapshot
    lab.handle(ShowHistory(index=0))            # ... and any kept step can be shown again

One lab, one or more runs, each a Trainer with an id (``runs``; a single-run lab has ``MAIN``), its
step history and its newest snapshot. Training moves every run one step at a time, so runs stay in
lockstep. What the panels show is one :class:`~rnnviz.lab.snapshot.Snapshot` per run, from the
training batch (one row, ``row``) or from the probe sentence (``viewing``): every event that changes
what is shown emits the complete snapshot, so a front end never mixes steps or sources.

The app drives a Lab through ``rnnviz.lab.loop`` in its own process; the tests and scripts drive it
directly. Loading data or a checkpoint is synchronous here (``reset``, ``load_checkpoint``); the loop
runs them on a thread and hands the result to ``install``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time

import numpy as np

from rnnviz.corpus import CorpusError
from rnnviz.engine.buffers import BufferPool
from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.engine.runtime import Runtime
from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.classes import class_report
from rnnviz.lab.freerun import free_run_series
from rnnviz.lab.generation import Sampling, generated
from rnnviz.lab.gradient_check import check_gradients
from rnnviz.lab.history import DEFAULT_BUDGET
from rnnviz.lab.probe import Probe, probe_trace
from rnnviz.lab.run import Run, model_info, step_scalars
from rnnviz.lab.snapshot import HistoryPlace, Snapshot, make_snapshot
from rnnviz.lab.spikes import SPIKE_QUIET, find_spike
from rnnviz.lab.walkthrough import build_walkthrough, why_no_walkthrough
from rnnviz.training import TrainConfig, Trainer, load_trainer, save_trainer
from rnnviz.training.compare import comparison, fork
from rnnviz.training.config import same_data

# While running, at most ~30 training snapshots a second, spread evenly over the steps (a rate, not a
# minimum interval: with an interval, steps a little faster than it got a snapshot every other step).
# Each carries its gradient views, so every panel shows the same step; making one costs ~2 ms of a
# ~28 ms step of the default model (mostly the one-row backward pass behind ||dL_T/dh_t||), so small
# fast models are capped, and the default model gets one for every step up to 30 steps a second.
SNAPSHOT_RATE = 30.0  # per second
# The mechanism view (the Jacobian through time and the W_hh spectrum, engine.trace.mechanism_views)
# costs 40-50 ms for the default model (an LSTM: the spectra of 4 blocks of 128 x 128, ~5 ms each, and
# both Jacobian curves, ~25 ms), and twice that on a busy machine: made once a second it took 5-10%
# of the training loop. While running, a run's snapshot carries it at most once a second and at most
# MECHANISM_SHARE of the time: after a view that took d seconds the next is due d / MECHANISM_SHARE
# later (the default model: every ~5 s; a small one: every second). At 2% it was the largest cost of
# the Lab's loop beyond the steps themselves (0.905 of a plain loop's speed; at 1%, 0.927). The
# mechanism panel says which step it shows; paused, stepping or probing, every snapshot carries it.
MECHANISM_INTERVAL = 1.0  # seconds, at least
MECHANISM_SHARE = 0.01  # of the running time, at most
EVAL_EVERY = 200  # training steps between validation passes
EVAL_BATCHES = 8  # validation batches of the default model per pass (a pass must not stall the loop) ...
# ... and for other models as many as cost the same (batch x length x gates x H^2 multiply-adds per
# batch), so that a small model (the vanishing lesson) is validated on its whole, larger set.
EVAL_COST = EVAL_BATCHES * 32 * 64 * 4 * 128**2


def eval_batches(t: Trainer) -> int:
    """Validation batches per pass for ``t``'s model (at least EVAL_BATCHES)."""
    per_batch = t.cfg.batch_size * (t.task.spec.seq_len or 32) * t.model_cfg.gates * t.model_cfg.hidden_size**2
    return max(EVAL_BATCHES, EVAL_COST // max(per_batch, 1))


HISTORY_INFO_INTERVAL = 1.0  # seconds: while running, how often the front end hears what the history holds
LOAD_ERRORS = (CorpusError, CheckpointError, ValueError, OSError)  # a file that cannot be used, in plain words


class Lab:
    def __init__(
        self,
        emit,
        *,
        runtime: Runtime | None = None,
        history_budget: int = DEFAULT_BUDGET,
        clock=None,
    ):
        self.emit = emit
        self.runtime = runtime if runtime is not None else Runtime(pool=BufferPool())
        self.history_budget = history_budget
        self.clock = clock or time.perf_counter
        self.runs: dict[str, Run] = {}
        self.state = e.LOADING
        self.running = False
        self.row = 0  # the batch row the training snapshots show
        self.viewing = "train"  # what the panels follow: "train" (the batch) or "probe"
        self.probe = Probe()
        self.stopped: set[str] = set()  # in a comparison: runs whose step was refused (the others go on)
        self.labels: dict[str, str] = {}  # in a comparison: what tells each run apart ("clip=off")
        self.fork_step = 0
        self._snapshot_credit = 1.0  # earned at SNAPSHOT_RATE per second, one spent per snapshot
        self._credit_time = None
        self._last_history_info = -float("inf")
        self._mechanism_due: dict[str, float] = {}  # per run: when its next mechanism view is due (running)
        self.walkthrough_on = False  # the front end shows the walkthrough (WatchWalkthrough)
        self._walkthrough_key: tuple | None = None  # what the last walkthrough sent was made of
        self.sampling = Sampling()  # "sample every N steps while training" (lab.generation)
        self._handlers = {
            c.Train: lambda cmd: self.train(), c.Pause: lambda cmd: self.pause(),
            c.StepUpdate: lambda cmd: self.step_update(), c.ProbeForward: lambda cmd: self.probe_forward(),
            c.ProbeBack: lambda cmd: self.probe_back(), c.ProbeRestart: lambda cmd: self.probe_restart(),
            c.SetProbe: lambda cmd: self.set_probe(cmd.text), c.SetClip: lambda cmd: self.set_clip(cmd.clip, cmd.run),
            c.SetLR: lambda cmd: self.set_lr(cmd.lr, cmd.run), c.SetRow: lambda cmd: self.set_row(cmd.row),
            c.ShowHistory: lambda cmd: self.show_history(cmd.index, cmd.run),
            c.Reset: lambda cmd: self.reset(cmd.config), c.LoadCorpus: lambda cmd: self.reset(cmd.config),
            c.SaveCheckpoint: lambda cmd: self.save(cmd.path, cmd.run),
            c.LoadCheckpoint: lambda cmd: self.load_checkpoint(cmd.path),
            c.Compare: lambda cmd: self.compare(cmd.changes, cmd.from_scratch, cmd.config),
            c.EndCompare: lambda cmd: self.end_compare(cmd.keep),
            c.SetSpikePause: lambda cmd: self.set_spike_pause(cmd.on),
            c.RollBack: lambda cmd: self.roll_back(cmd.step, cmd.run),
            c.WatchWalkthrough: lambda cmd: self.watch_walkthrough(cmd.on),
            c.FreeRun: lambda cmd: self.free_run(cmd.run),
            c.Generate: lambda cmd: self._for_run(cmd.run, lambda run: self.emit(generated(run, cmd))),
            c.SampleEvery: self.sampling.set,
            c.CheckGradients: lambda cmd: self._for_run(
                cmd.run, lambda run: self.emit(check_gradients(run, self.row, cmd.param, cmd.seed))),
        }  # fmt: skip

    # -- commands ----------------------------------------------------------------------------------
    def handle(self, cmd: c.Command) -> None:
        """Do what ``cmd`` asks (every command but Stop, which ends the loop around the lab)."""
        handler = self._handlers.get(type(cmd))
        if handler is None:
            raise ValueError(f"the lab cannot handle {cmd!r}")
        handler(cmd)
        self._offer_walkthrough()  # (a command that changed nothing it is made of sends nothing)

    def _for_run(self, run_id: str, action) -> None:
        """``action(run)`` if run ``run_id`` exists and the lab is not loading (else there is nothing to ask)."""
        if self.ready and run_id in self.runs:
            action(self.runs[run_id])

    @property
    def ready(self) -> bool:
        return bool(self.runs) and self.state != e.LOADING

    @property
    def main(self) -> Run:
        return self.runs[e.MAIN]

    @property
    def comparing(self) -> bool:
        return len(self.runs) > 1

    def train(self) -> None:
        if self.ready:
            self.stopped.clear()  # a run stopped by a refused step tries again (its settings may have changed)
            self.running = True
            self.viewing = "train"
            self.set_state(e.RUNNING)

    def pause(self) -> None:
        if self.running:
            self.running = False
            self.set_state(e.PAUSED)
            self._show_newest_steps()

    def stop_running(self) -> None:
        """Stop training (whatever stops it: Pause, the probe, a load): the newest step is kept and, if
        the panels follow training, shown whole; the front end hears what the history now holds."""
        if self.running:
            self.running = False
            self._show_newest_steps()

    def resume_running(self) -> None:
        """Train on after an interruption that changed nothing (a refused load), exactly as before it:
        unlike Train, a run a refused step had stopped stays stopped. (Called while still LOADING.)"""
        if self.runs:
            self.running = True
            self.set_state(e.RUNNING)

    def tick(self) -> None:
        """One training step of every run, if running (the loop calls this between commands)."""
        if self.running:
            self._train_one()

    def train_steps(self, n: int) -> None:
        """``n`` training steps, as if Train had been pressed and paused after them (scripts, tests)."""
        if not self.ready:
            raise RuntimeError("the lab has no model yet")
        self.train()
        for _ in range(n):
            if not self.running:  # a refused (non-finite) step paused it
                return
            self._train_one()
        self.pause()

    def step_update(self) -> None:
        if not self.ready:
            return
        self.running = False
        self.viewing = "train"
        self.stopped.clear()  # a run stopped by a refused step tries again, as with Train
        if self._train_one(force_snapshot=True):
            self.set_state(e.PAUSED)
            self._emit_history_info()

    def probe_forward(self) -> None:
        self._probe_action(self.probe.forward)

    def probe_back(self) -> None:
        self._probe_action(self.probe.back)

    def probe_restart(self) -> None:
        self._probe_action(self.probe.restart)

    def set_probe(self, text: str) -> None:
        if not self.runs:
            self.probe.text = text
            return
        self.probe.set_text(self.main.trainer.task, text)
        if self.viewing == "probe":
            self._show_probe()

    def set_clip(self, clip, run: str = e.MAIN) -> None:
        if run in self.runs:
            self.runs[run].trainer.set_clip(clip)

    def set_lr(self, lr: float, run: str = e.MAIN) -> None:
        if run in self.runs:
            self.runs[run].trainer.set_lr(lr)

    def set_spike_pause(self, on: bool) -> None:
        for run in self.runs.values():
            t = run.trainer
            t.cfg = t.cfg.replace(spike_pause=bool(on))
            if not on:
                run.weights.clear()  # what it kept for a paused spike's Roll back is memory for nothing now

    def roll_back(self, step: int, run: str = e.MAIN) -> None:
        """Undo the trouble at step ``step`` of run ``run`` (paused only), and show the step again.

        A spike shows in step s's numbers, which are computed with the weights update s - 1 made (a
        learning rate that was too large shows only then), so the weights from before step s - 1 come
        back; or, if the loss was already climbing before that (or the step was a NaN after a long
        climb), the weights from before the newest calm step (``GoodWeights``), which are older."""
        if self.running or run not in self.runs:
            return
        r = self.runs[run]
        target = max(int(step) - 1, 1)
        good = r.good.step
        if good is not None and good < target:  # the loss was climbing before: the calm weights are older
            target = good
        # the ring keeps the newest steps only with spike pause on; the calm weights, if they are the ones
        restored = r.weights.restore(r.trainer, target) or (good == target and r.good.restore(r.trainer))
        if not restored:
            self.emit(e.Problem("spike", f"The weights from before step {target:,} are no longer kept."))
            return
        self.stopped.discard(run)  # a stopped run of a comparison can go on from there
        self.emit(e.Notice(f"Run {run}: the weights from before step {target:,} are back; press Train to go on."))
        self.viewing = "train"
        if self.state == e.STEPPING:  # the panels show the training batch again, so the controls do
            self.set_state(e.PAUSED)
        self._keep_snapshot(r, self._trace(r))  # the same batch, seen with the weights put back

    def free_run(self, run: str = e.MAIN) -> None:
        """The sine task's free run of ``run`` with its current weights (paused or stepping: read only)."""

        def answer(r: Run) -> None:
            try:
                self.emit(free_run_series(r.id, r.trainer))
            except ValueError as err:
                self.emit(e.Problem("error", f"No free run: {err}."))

        self._for_run(run, answer)

    def set_row(self, row: int) -> None:
        """Follow batch row ``row`` (clamped to the batch). Paused, the newest step is shown for it at once."""
        if not isinstance(row, (int, np.integer)) or isinstance(row, bool):
            raise ValueError(f"the row must be a whole number, not {row!r}")
        self.row = int(row)
        if not self.running and self.viewing == "train" and self.ready:
            self._show_newest_steps(again=True)

    def show_history(self, index: int, run: str = e.MAIN) -> None:
        """Show the ``index``-th kept step of ``run`` (paused only; Train goes on from the newest)."""
        if self.running or not self.ready or run not in self.runs:
            return
        history = self.runs[run].history
        if not len(history):
            return
        index = min(max(int(index), 0), len(history) - 1)
        place = HistoryPlace(index, len(history), self.runs[run].trainer.step)
        self.viewing = "train"
        if self.state == e.STEPPING:
            self.set_state(e.PAUSED)
        self.emit(history[index].at_history(place, run, self.labels.get(run, "")))

    # -- models ------------------------------------------------------------------------------------
    def build_trainer(self, config: TrainConfig) -> Trainer:
        """A new trainer for ``config``, reusing the loaded data when only model settings changed
        (safe to call from another thread: it touches nothing of the lab's)."""
        current = self.runs.get(e.MAIN)
        if current is not None and same_data(current.trainer.cfg, config):
            return Trainer(config, current.trainer.task, runtime=self.runtime)
        return Trainer(config, runtime=self.runtime)

    def read_checkpoint(self, path: str) -> tuple[Trainer, str]:
        """A trainer restored from ``path`` and the notice saying so (any thread)."""
        trainer = load_trainer(path, runtime=self.runtime)
        return trainer, f"Loaded {os.path.basename(path)} (step {trainer.step:,})"

    def reset(self, config: TrainConfig) -> None:
        self.running = False
        self.install(self.build_trainer(config))

    def load_checkpoint(self, path: str) -> None:
        """Replace the run by the one saved at ``path``; a file that cannot be used is a Problem and
        changes nothing (every check is made before anything is swapped in: ``load_trainer``)."""
        try:
            loaded = self.read_checkpoint(path)
        except LOAD_ERRORS as err:
            self.emit(e.Problem("load_failed", str(err)))
            return
        self.install(*loaded)

    def install(self, trainer: Trainer, notice: str = "") -> None:
        """Make ``trainer`` the main run (the old runs go) and tell the front end what it is."""
        self.running = False
        was_comparing = self.comparing
        self.runs = {e.MAIN: Run(e.MAIN, trainer, self.history_budget)}
        self.stopped.clear()
        self.labels, self.fork_step = {}, 0
        self.viewing = "train"
        self.probe.use_task(trainer.task)
        if was_comparing:
            self._emit_compare_info()
        self._describe(self.main)
        if notice:
            self.emit(e.Notice(notice))
        self.set_state(e.IDLE if trainer.step == 0 else e.PAUSED)

    def _describe(self, run: Run) -> None:
        """Tell the front end what ``run`` is (its ModelInfo) and what it has done so far (its log)."""
        self.emit(model_info(run, self.probe.text, self.labels.get(run.id, "")))
        log = run.trainer.log
        if log.steps.n or log.evals.n or log.mechanism.n:
            s, v, m = log.steps, log.evals, log.mechanism
            self.emit(e.RunLog(
                run.id, s["x"].copy(), s["loss"].copy(), s["grad_norm"].copy(), s["clipped_norm"].copy(),
                s["clipped"].copy(), v["x"].copy(), v["loss"].copy(), v["accuracy"].copy(),
                {k: m[k].copy() for k in ("x", *m.names)},
            ))  # fmt: skip

    def _emit_compare_info(self) -> None:
        ids = tuple(self.runs)
        self.emit(e.CompareInfo(ids, tuple(self.labels.get(i, "") for i in ids), self.fork_step))

    # -- comparing two runs ------------------------------------------------------------------------
    def compare(self, changes: dict, from_scratch: bool = False, config: TrainConfig | None = None) -> None:
        """Start a comparison: B = A with ``changes``, forked at A's step or both from scratch
        (``training.compare``). A change that cannot be compared is refused with a Problem and
        nothing changes."""
        if not self.ready:
            return
        a = self.main.trainer
        try:
            if from_scratch:
                cfg = config if config is not None else a.cfg
                task = a.task if same_data(a.cfg, cfg) else None
                ta, tb = comparison(cfg, dict(changes), task=task, runtime=self.runtime)
            else:
                ta, tb = a, fork(a, dict(changes))
        except ValueError as err:
            self.emit(e.Problem("compare", f"Cannot compare: {err}."))
            return
        if self.comparing:  # only now: a refused comparison changes nothing
            self.end_compare(e.MAIN)
        was_running = self.running and not from_scratch
        self.running = False
        self.labels = {
            e.MAIN: ", ".join(f"{k}={getattr(ta.cfg, k)}" for k in changes),
            e.OTHER: ", ".join(f"{k}={getattr(tb.cfg, k)}" for k in changes),
        }
        self.fork_step = 0 if from_scratch else ta.step
        if from_scratch:
            self.runs = {e.MAIN: Run(e.MAIN, ta, self.history_budget)}
            self.probe.use_task(ta.task)
        b = Run(e.OTHER, tb, self.history_budget)
        self.runs[e.OTHER] = b
        self.stopped.clear()
        self.viewing = "train"
        self._emit_compare_info()
        for run in self.runs.values():
            self._describe(run)
        if was_running:
            self.running = True
            self.set_state(e.RUNNING)
        elif ta.step == 0:
            self.set_state(e.IDLE)
        else:
            self.set_state(e.PAUSED)
            self._show_newest_steps(again=True)

    def end_compare(self, keep: str = e.MAIN) -> None:
        """Keep run ``keep`` alone, as the main run (its history and log go with it)."""
        if not self.comparing or keep not in self.runs:
            return
        run = self.runs[keep]
        # (the runs share one batch stream: the kept run goes on, and is saved, at the stream's position,
        # even if a refused step stopped it while the other drew on; Trainer.batches_used is that position)
        run.id = e.MAIN
        self.runs = {e.MAIN: run}
        self.stopped.clear()
        self.labels, self.fork_step = {}, 0
        self._emit_compare_info()
        self._describe(run)
        if not self.running:
            self._show_newest_steps(again=True)

    def save(self, path: str, run: str = e.MAIN) -> None:
        if not self.ready or run not in self.runs:  # (while loading: nothing settled to save)
            return
        try:
            save_trainer(self.runs[run].trainer, path)
            self.emit(e.Notice(f"Saved {path}"))
        except OSError as err:
            self.emit(e.Problem("save_failed", f"Could not save {path}: {err.strerror or err}."))
        except CheckpointError as err:  # a model that is not finite is never saved (save_trainer says why)
            self.emit(e.Problem("save_failed", str(err)))

    # -- training ----------------------------------------------------------------------------------
    def _train_one(self, force_snapshot: bool = False) -> bool:
        """One step of every run; True if every run's step was applied (else training pauses)."""
        now = self.clock()
        if self._credit_time is not None:  # at most two in hand: no bursts after a pause, no credit lost
            self._snapshot_credit = min(2.0, self._snapshot_credit + (now - self._credit_time) * SNAPSHOT_RATE)
        self._credit_time = now
        want = force_snapshot or self._snapshot_credit >= 1.0
        if want:
            self._snapshot_credit = max(self._snapshot_credit - 1.0, 0.0)
        refused, spikes = [], []
        batch = None  # one batch for every run: lockstep (drawn by the first run still training)
        lead = max(r.trainer.step for r in self.runs.values())
        for run in self.runs.values():
            if run.id in self.stopped:
                continue
            t = run.trainer
            if t.step < lead:  # it was stopped in a comparison while the other trained on: its step k is
                t.step = lead  # the k-th batch of the shared stream again, as the other run's is
            if batch is None:
                batch = t.next_batch()
            if t.cfg.spike_pause:  # only a paused spike is rolled back this way: the few steps kept
                run.weights.before_step(t)  # hold up to KEEP models and optimizer states
            run.good.before_step(t)  # (one more, at most: the NaN's way back)
            # no W_hh spectrum here: the mechanism view makes its own when it is due (see _trace)
            report = t.train_step(trace=False, spectrum=False, batch=batch)
            self.emit(step_scalars(run.id, report))
            run.good.after_step(report, t.cfg.spike_loss)
            quiet = t.step <= run.spike_quiet_until  # just after a spike: the median catches up
            spike = find_spike(t, report) if not quiet else None
            if spike is not None:
                spikes.append((run, spike))
            if not report.applied:
                refused.append((run, report))
            elif want and (spike is None or not t.cfg.spike_pause):  # (a paused spike is shown whole below)
                self._keep_snapshot(run, self._trace(run))
        for run, _ in refused:
            self._keep_snapshot(run, self._trace(run))  # shows why: gradients always
            self.stopped.add(run.id)
        live = [r for r in self.runs.values() if r.id not in self.stopped]
        if refused and live:  # a comparison: the refused run stays at its last good weights, the other goes on
            for run, report in refused:
                message = (
                    f"Run {run.id} ({self.labels.get(run.id, '')}) stopped at step {report.step:,}: {report.problem} "
                    f"Its weights are those of its last applied step; run {live[0].id} goes on."
                )
                self.emit(e.RunStopped(run.id, report.step, message))
                self.emit(e.Problem("nonfinite", message))
        elif refused:
            self.running = False
            for run, report in refused:  # (in a comparison both may fail at one step: each is said)
                good = run.good
                who = f"Run {run.id} ({self.labels.get(run.id, '')}): " if self.comparing else ""
                offer = (
                    f" Roll back puts back the weights from before step {good.step:,}, the last calm one (loss "
                    f"{good.loss:.4g}); then lower the learning rate or turn on gradient clipping and press Train."
                    if good.step is not None
                    else " Lower the learning rate or turn on gradient clipping, then press Train to continue."
                )
                self.emit(e.Problem(
                    "nonfinite", f"{who}Training paused: {report.problem} The weights are those of the last "
                    "applied step." + offer, roll_back=(run.id, report.step) if good.step is not None else None,
                ))  # fmt: skip
            self.set_state(e.PAUSED, "a step went NaN or infinite")
            self._emit_history_info()
            return False
        for run, spike in spikes:
            run.spike_quiet_until = spike.step + SPIKE_QUIET
            name = f"Run {run.id} ({self.labels[run.id]})" if run.id in self.labels else ""
            watched = run.trainer.cfg.spike_pause
            message = spike.describe(name, paused=watched)
            self.emit(e.SpikeFound(run.id, spike.step, spike.what, spike.value, spike.median, message, watched))
            if watched:
                self.emit(e.Problem("spike", message, roll_back=(run.id, spike.step)))
            else:  # training goes on: a passing word in the status bar (the cross on the curves stays)
                self.emit(e.Notice(message))
        if any(run.trainer.cfg.spike_pause for run, _ in spikes):
            self.running = False
            self.set_state(e.PAUSED, "a spike")
            self._show_newest_steps()
            return False
        if self.running and now - self._last_history_info >= HISTORY_INFO_INTERVAL:
            self._emit_history_info()
        for run in live:
            t = run.trainer
            if t.step % EVAL_EVERY == 0:
                ev = t.evaluate(max_batches=eval_batches(t))
                if ev is not None:
                    self.emit(e.EvalResult(run.id, t.step, ev.loss, ev.accuracy, ev.perplexity))
                if ev is not None and ev.confusion is not None:  # a classifier: the Classes panel's numbers
                    self.emit(class_report(run.id, t.step, t.task, ev))
            if run.id == e.MAIN:
                self.sampling.after_step(run, self.emit)
        return True

    def _trace(self, run: Run):
        """The newest step's trace of ``run`` for the shown row, with the mechanism view when it is due."""
        now = self.clock()
        due = not self.running or now >= self._mechanism_due.get(run.id, -math.inf)
        trace = run.trainer.last_trace(self.row, mechanism=due)
        if due:
            took = self.clock() - now
            self._mechanism_due[run.id] = now + max(MECHANISM_INTERVAL, took / MECHANISM_SHARE)
            if trace is not None and trace.mechanism:  # the trainer logged it: tell the curves over training
                m = run.trainer.log.mechanism
                self.emit(e.MechanismPoint(run.id, int(m["x"][-1]), {k: float(m[k][-1]) for k in m.names}))
        return trace

    def _keep_snapshot(self, run: Run, trace) -> None:
        """Make the training snapshot of ``trace``, keep it in the history and show it."""
        if trace is None:  # the step's loss was not finite: there is no backward pass to show
            return
        self._keep(run, self._train_snapshot(run, trace))

    def _keep(self, run: Run, snap: Snapshot) -> None:
        run.snapshot = snap
        run.history.append(snap)
        if self.viewing == "train":
            self.emit(snap)

    def _show_newest_steps(self, again: bool = False) -> None:
        """Show each run's newest step whole (after a pause, or for another row when ``again``)."""
        for run in self.runs.values():
            t = run.trainer
            if t.step == 0:
                continue
            shown = run.snapshot
            # stale: another step or row, or a live snapshot made without the mechanism view (made
            # only every few seconds while running; a paused step shows it whole)
            stale = (
                shown is None or (shown.step, shown.row) != (t.step, t.clamp_row(self.row)) or shown.mechanism is None
            )
            if again or stale:
                self._keep_snapshot(run, self._trace(run))
            elif self.viewing == "train":
                self.emit(run.snapshot.not_live())
        self._emit_history_info()

    def _emit_history_info(self) -> None:
        self._last_history_info = self.clock()
        for run in self.runs.values():
            h = run.history
            first, last = h.steps
            self.emit(e.HistoryInfo(run.id, len(h), first, last, h.nbytes, h.budget))

    def _train_snapshot(self, run: Run, trace) -> Snapshot:
        spec = run.trainer.task.spec
        x = trace.x[: trace.length]
        clip = str(trace.clip.config) if trace.clip is not None else str(run.trainer.clip)
        return self._labelled(make_snapshot(
            trace, run=run.id, step=run.trainer.step, source="train", head=spec.head, clip=clip, inputs=x,
            input_labels=run.input_labels(x), known_targets=trace.length, layer_shapes=run.layer_shapes(),
            n_out=run.trainer.model_cfg.n_out, live=self.running,
        ))  # fmt: skip

    def _labelled(self, snap: Snapshot) -> Snapshot:
        """``snap`` with its run's comparison label (unchanged outside a comparison)."""
        label = self.labels.get(snap.run, "")
        return dataclasses.replace(snap, run_label=label) if label else snap

    # -- the probe ---------------------------------------------------------------------------------
    def _probe_action(self, action) -> None:
        if not self.ready:
            return
        self.stop_running()
        action()
        self.viewing = "probe"
        self.set_state(e.STEPPING)
        self._show_probe()

    def _show_probe(self) -> None:
        probe = self.probe
        for run in self.runs.values():
            t = run.trainer
            spec = t.task.spec
            offset = spec.target_offset  # the next token, or the echo's input from d steps ago
            trace = probe_trace(t.params, t.model_cfg, probe.ids, probe.position, t.runtime, offset)
            self.emit(self._labelled(make_snapshot(
                trace, run=run.id, step=t.step, source="probe", head=spec.head, clip=str(t.clip), inputs=probe.ids,
                input_labels=run.input_labels(probe.ids), known_targets=probe.known_targets(spec.head, offset),
                layer_shapes=run.layer_shapes(), n_out=t.model_cfg.n_out, skipped=probe.skipped,
            )))  # fmt: skip

    # -- the walkthrough ---------------------------------------------------------------------------
    def watch_walkthrough(self, on: bool) -> None:
        self.walkthrough_on = bool(on)
        self._walkthrough_key = None  # shown again: send the current one even if it was sent before

    def _offer_walkthrough(self) -> None:
        """Send the main run's walkthrough (``lab.walkthrough``) if the front end shows it, training is
        not running and something it is made of changed: the weights, the optimizer or its settings,
        the clipping, the row or the newest batch. For the small models it shows it costs well under a
        millisecond; it is never made while training runs."""
        if not self.walkthrough_on or self.running or not self.ready:
            return
        run = self.main
        t = run.trainer
        row = t.clamp_row(self.row)
        key = (id(t), t.step, tuple(map(id, t.params.values())), row, str(t.clip), t.opt.config, t.opt.step)
        if key == self._walkthrough_key:
            return
        self._walkthrough_key = key
        cfg = t.model_cfg
        reason = why_no_walkthrough(cfg.hidden_size, cfg.num_layers, cfg.head)  # (before any data is read)
        if reason:
            self.emit(e.WalkthroughReady(run.id, t.step, None, "", reason))
            return
        x, y, state, step = t.newest_sequence(row)
        w = build_walkthrough(t.params, cfg, x, y, state=state, clip=t.clip, optimizer=t.opt, labels=run.token_labels)
        sequence = f"row {row} of step {step:,}'s batch" if step else "the first sequence of the data"
        self.emit(e.WalkthroughReady(run.id, t.step, w, sequence))

    # -- state and descriptions --------------------------------------------------------------------
    def set_state(self, state: str, message: str = "") -> None:
        self.state = state
        self.emit(e.StateChanged(state, message))
        self._offer_walkthrough()  # paused, a step made, a new model: the walkthrough follows

    def fail(self, message: str) -> None:
        """Something went wrong outside a command's own handling: stop training, say so (ERROR)."""
        self.running = False
        self.set_state(e.ERROR, message)
        try:  # what the history holds stays reachable (it may be what the user wants to look at now)
            self._emit_history_info()
        except Exception:  # noqa: BLE001 - already failing: say no more than the failure itself
            pass
