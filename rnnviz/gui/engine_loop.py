"""The training loop of the app, without Qt: it runs in its own process (see ``controller``).

Why a process and not a thread: the app's drawing (pyqtgraph is Python) and the training step (NumPy
called from Python) both need Python's global interpreter lock. In one process they took turns, and
training ran at half its headless speed with all panels live (measured: 18 against 33 steps a second,
LSTM H=128). In two processes each has its own interpreter, one core each, and nothing to share but
small messages.

The loop: take a command if there is one (blocking when paused: no busy loop), otherwise train one
step. What the panels need goes out through ``emit``: per-step scalars always (the curves stay
exact), an instrumented view at most ~40 times a second, with its gradient norms (most of a view's
cost) at most ~10 times a second. Loading
a text or a checkpoint takes seconds, so it runs on a separate daemon thread and comes back as a
command: the loop stays responsive (pause, close) meanwhile, and a file that cannot be used never
replaces the corpus and model already loaded.

Commands (``Command.name``, arguments in ``args``): train, pause, step_update, step_token, step_back,
probe_restart, set_probe(text), set_clip(clip), set_lr(lr), set_row(row), reset(config),
load_corpus(config), save(path), load_checkpoint(path), stop; and from the loader thread:
loaded(trainer, notice), load_failed(message, initial).

Nothing here imports Qt: the training process never loads it (tests/test_boundaries.py checks).
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
import traceback
from contextlib import contextmanager

import numpy as np

from rnnviz.corpus import CorpusError
from rnnviz.engine import layer
from rnnviz.engine.cells import get_cell
from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.gui import messages as m
from rnnviz.gui.probe import ProbeSession
from rnnviz.training import StepReport, TrainConfig, Trainer, build_task, load_trainer, save_trainer
from rnnviz.training.config import same_data

# At most ~40 instrumented steps a second: above the default model's ~26 steps/s, so the heatmap shows every
# step it makes (at 1/32 s, step-time jitter left ~8% of steps untraced: 24.5 heatmap refreshes/s for 26.5
# steps/s in bench/gui.py, 25.8 for 25.8 at 1/40), while small fast models stay capped.
TRACE_INTERVAL = 1 / 40  # seconds
# The gradients-through-time panel redraws at most ~10 times a second (main_window.REFRESH_INTERVAL),
# and its norms are most of a trace's cost (a second, one-row backward pass): they come at that rate.
GRADIENTS_INTERVAL = 0.1  # seconds
EVAL_EVERY = 200  # training steps between validation passes
EVAL_BATCHES = 8  # validation batches per pass (a pass must not stall the loop)
LOAD_ERRORS = (CorpusError, CheckpointError, ValueError, OSError)  # a bad file, said in plain words


class EngineLoop:
    """Owns the Trainer; driven only by commands, reporting through ``emit``. See the module docstring.

    ``emit(message)`` receives StepScalars, TrainView, ProbeView and events (ModelInfo, StateChanged,
    Problem, EvalResult, Notice), in order.
    """

    def __init__(self, emit, config: TrainConfig, fallback: TrainConfig | None = None):
        self.emit = emit
        self.commands: queue.Queue[m.Command] = queue.Queue()
        self._config = config
        self._fallback = fallback  # used if ``config`` cannot be loaded (e.g. a bad file on the command line)
        self.trainer: Trainer | None = None
        self.state = m.IDLE
        self._resume_state = m.IDLE  # where a failed load returns to
        self._running = False
        self._refused = False  # the last step was refused (NaN/infinite)
        self._row = 0
        self._last_trace = 0.0
        self._last_gradients = 0.0
        self._labels: tuple[str, ...] | None = None  # the vocabulary's visible labels (None: dense input)
        self.probe = ProbeSession()

    def send(self, name: str, **args) -> None:
        """Queue a command (any thread)."""
        self.commands.put(m.Command(name, args))

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        self._set_state(m.LOADING, "loading the corpus")
        self._load_async(lambda: self._trainer_for(self._config), initial=True)
        handlers = {
            "train": self._cmd_train, "pause": self._cmd_pause, "step_update": self._cmd_step_update,
            "step_token": self._cmd_probe, "step_back": self._cmd_probe, "probe_restart": self._cmd_probe,
            "set_probe": self._cmd_set_probe, "set_clip": self._cmd_set_clip, "set_lr": self._cmd_set_lr,
            "set_row": self._cmd_set_row, "reset": self._cmd_reset, "load_corpus": self._cmd_load_corpus,
            "save": self._cmd_save, "load_checkpoint": self._cmd_load_checkpoint, "loaded": self._cmd_loaded,
            "load_failed": self._cmd_load_failed,
        }  # fmt: skip
        while True:
            try:
                cmd = self.commands.get(block=not self._running)
            except queue.Empty:
                cmd = None
            if cmd is not None and cmd.name == "stop":
                break
            try:
                if cmd is not None:
                    if cmd.name not in handlers:
                        raise ValueError(f"unknown command {cmd.name!r}")
                    handlers[cmd.name](cmd)
                elif self._running:
                    self._train_one()
            except Exception as e:  # never let the loop die: report, keep the app running
                self._running = False
                self.emit(m.Problem("error", f"{type(e).__name__}: {e}", traceback.format_exc()))
                self._set_state(m.ERROR, str(e))

    def _ready(self) -> bool:
        return self.trainer is not None and self.state != m.LOADING

    # -- commands --------------------------------------------------------------------------------
    def _cmd_train(self, cmd) -> None:
        if self._ready():
            self._running = True
            self._set_state(m.RUNNING)

    def _cmd_pause(self, cmd) -> None:
        if self._running:
            self._running = False
            self._set_state(m.PAUSED)

    def _cmd_step_update(self, cmd) -> None:
        if self._ready():
            self._running = False
            self._train_one(force_trace=True)
            if not self._refused:
                self._set_state(m.PAUSED)

    def _cmd_probe(self, cmd) -> None:
        if self._ready():
            self._running = False
            self.probe.act(self.trainer, cmd.name)
            self._set_state(m.STEPPING)
            self.emit(self.probe.view(self.trainer, self._labels))

    def _cmd_set_probe(self, cmd) -> None:
        if self.trainer is None:
            self.probe.text = cmd.args["text"]
            return
        self.probe.set_text(self.trainer.task, cmd.args["text"])
        if self.state == m.STEPPING:
            self.emit(self.probe.view(self.trainer, self._labels))

    def _cmd_set_clip(self, cmd) -> None:
        if self.trainer is not None:
            self.trainer.set_clip(cmd.args["clip"])

    def _cmd_set_lr(self, cmd) -> None:
        if self.trainer is not None:
            self.trainer.set_lr(cmd.args["lr"])

    def _cmd_set_row(self, cmd) -> None:
        self._row = int(cmd.args["row"])

    def _cmd_reset(self, cmd) -> None:
        config = cmd.args["config"]
        self._running = False
        if self.trainer is not None and same_data(self.trainer.cfg, config):
            self._install(Trainer(config, self.trainer.task))
        else:
            self._start_loading("loading the corpus")
            self._load_async(lambda: self._trainer_for(config))

    def _cmd_load_corpus(self, cmd) -> None:
        config = cmd.args["config"]
        self._start_loading(f"loading {config.corpus}")
        self._load_async(lambda: self._trainer_for(config))

    def _cmd_load_checkpoint(self, cmd) -> None:
        path = cmd.args["path"]
        self._start_loading(f"loading {path}")

        def load():
            trainer = load_trainer(path)
            return trainer, f"Loaded {os.path.basename(path)} (step {trainer.step:,})"

        self._load_async(load)

    def _cmd_loaded(self, cmd) -> None:
        self._install(cmd.args["trainer"])
        if cmd.args.get("notice"):
            self.emit(m.Notice(cmd.args["notice"]))

    def _cmd_load_failed(self, cmd) -> None:
        self.emit(m.Problem("load_failed", cmd.args["message"]))
        if cmd.args.get("initial") and self._fallback is not None:
            fallback, self._fallback = self._fallback, None
            self._load_async(lambda: self._trainer_for(fallback), initial=True)
        else:
            self._set_state(self._resume_state if self.trainer is not None else m.ERROR)

    def _cmd_save(self, cmd) -> None:
        path = cmd.args["path"]
        if self.trainer is None:
            return
        try:
            save_trainer(self.trainer, path)
            self.emit(m.Notice(f"Saved {path}"))
        except OSError as e:
            self.emit(m.Problem("save_failed", f"Could not save {path}: {e.strerror or e}."))

    # -- training ---------------------------------------------------------------------------------
    def _train_one(self, force_trace: bool = False) -> None:
        trainer = self.trainer
        now = time.perf_counter()
        want_trace = force_trace or now - self._last_trace >= TRACE_INTERVAL
        want_gradients = force_trace or now - self._last_gradients >= GRADIENTS_INTERVAL
        # no W_hh spectrum: no panel shows it yet, and it costs ~1% of every step (see Trainer)
        report = trainer.train_step(trace=want_trace, row=self._row, spectrum=False, gradients=want_gradients)
        self._refused = not report.applied
        self.emit(self._scalars(report))
        if report.trace is not None:
            self._last_trace = now
            if want_gradients:
                self._last_gradients = now
            self.emit(self._train_view(report))
        if self._refused:
            self._running = False
            self.emit(m.Problem(
                "nonfinite",
                f"Training paused: {report.problem} The weights are those of the last good step. Lower the "
                "learning rate or turn on gradient clipping, then press Train to continue.",
            ))  # fmt: skip
            self._set_state(m.PAUSED, "a step went NaN or infinite")
            return
        if trainer.step % EVAL_EVERY == 0:
            ev = trainer.evaluate(max_batches=EVAL_BATCHES)
            if ev is not None:
                self.emit(m.EvalResult(trainer.step, ev.loss, ev.accuracy))

    @staticmethod
    def _scalars(r: StepReport) -> m.StepScalars:
        clip = r.clip
        return m.StepScalars(
            step=r.step, progress=r.progress, loss=r.loss, grad_norm=r.grad_norm,
            clipped_norm=clip.norm_after if clip is not None else float("nan"),
            clipped=bool(clip is not None and clip.clipped), lr=r.lr, tokens=r.tokens,
        )  # fmt: skip

    def _train_view(self, r: StepReport) -> m.TrainView:
        tr = r.trace
        spec = self.trainer.task.spec
        inputs = targets = None
        if self._labels is not None:
            labels = self._labels
            inputs = tuple(labels[i] for i in np.asarray(tr.x, np.intp)[: tr.length])
            if spec.head == "lm":
                targets = tuple(labels[i] for i in np.asarray(tr.y, np.intp))
            else:
                targets = (spec.class_names[int(tr.y)],)
        return m.TrainView.from_trace(tr, r.step, str(self.trainer.clip), inputs, targets)

    # -- models and corpora ------------------------------------------------------------------------
    @staticmethod
    def _trainer_for(config: TrainConfig) -> tuple[Trainer, str]:
        _, _, split_seq = np.random.SeedSequence(config.seed).spawn(3)  # as Trainer does: same split
        return Trainer(config, build_task(config, np.random.default_rng(split_seq))), ""

    def _start_loading(self, message: str) -> None:
        self._running = False
        if self.state != m.LOADING:
            self._resume_state = self.state if self.state not in (m.RUNNING, m.ERROR) else m.PAUSED
        self._set_state(m.LOADING, message)

    def _load_async(self, make, initial: bool = False) -> None:
        """Run ``make() -> (trainer, notice)`` on a daemon thread; the result comes back as a command."""

        def load() -> None:
            try:
                trainer, notice = make()
                self.send("loaded", trainer=trainer, notice=notice)
            except LOAD_ERRORS as e:
                self.send("load_failed", message=str(e), initial=initial)
            except Exception as e:  # a bug in a loader must not vanish silently either
                self.send("load_failed", message=f"{type(e).__name__}: {e}", initial=initial)

        threading.Thread(target=load, name="rnnviz-loader", daemon=True).start()

    def _install(self, trainer: Trainer) -> None:
        """Make ``trainer`` current and tell the app what it is."""
        self.trainer = trainer
        self._running = False
        spec = trainer.task.spec
        self._labels = spec.vocab.labels() if spec.vocab is not None else None
        self.probe.use_task(trainer.task)
        cell = get_cell(trainer.model_cfg.cell)
        labels: tuple[str, ...] = ()
        if spec.head == "lm":
            labels = self._labels
        elif spec.head == "classify":
            labels = tuple(spec.class_names)
        self.emit(m.ModelInfo(
            title=spec.title, head=spec.head, cell=trainer.model_cfg.cell, layers=trainer.model_cfg.num_layers,
            hidden=trainer.model_cfg.hidden_size, gate_names=cell.GATES, gate_ranges=cell.GATE_RANGES,
            labels=labels, notes=tuple(trainer.task.notes), batches_per_epoch=trainer.task.batches_per_epoch,
            config=trainer.cfg.to_dict(), probe_text=self.probe.text, step=trainer.step,
        ))  # fmt: skip
        self._set_state(m.IDLE if trainer.step == 0 else m.PAUSED)

    # -- state -------------------------------------------------------------------------------------
    def _set_state(self, state: str, message: str = "") -> None:
        self.state = state
        self.emit(m.StateChanged(state, message))


def blas_controllers() -> list:
    """threadpoolctl's handles on the BLAS libraries NumPy loaded; empty where it has none it can steer
    (threadpoolctl missing, or older than 3.5, which cannot see NumPy 2's bundled OpenBLAS)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return []
    return [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]


def one_blas_thread_in_time_loops() -> bool:
    """Run the engine's time loops on one BLAS thread, the rest of a step on as many as the process
    has (see ``rnnviz.engine.layer.loop_context`` and ``controller.engine_blas_threads``).

    Returns False, changing nothing, where no BLAS library can be steered (``blas_controllers``).
    """
    blas = blas_controllers()
    if not blas:
        return False
    threads = [c.num_threads for c in blas]

    @contextmanager
    def one_thread():
        for c in blas:
            c.set_num_threads(1)
        try:
            yield
        finally:
            for c, n in zip(blas, threads, strict=True):
                c.set_num_threads(n)

    layer.loop_context = one_thread
    return True


def engine_main(
    cmd_conn, data_conn, config: TrainConfig, fallback: TrainConfig | None, one_thread_loops: bool = False
) -> None:
    """Entry point of the training process: commands arrive on ``cmd_conn``, messages leave on
    ``data_conn`` (two one-way pipes, so no connection is used by two threads at once)."""
    # Ctrl-C in the terminal that started the app reaches this process too: the app decides what to do
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if one_thread_loops:
        one_blas_thread_in_time_loops()
    loop = EngineLoop(data_conn.send, config, fallback)

    def read_commands() -> None:
        try:
            while True:
                cmd = cmd_conn.recv()
                loop.commands.put(cmd)
                if cmd.name == "stop":
                    return
        except (EOFError, OSError):  # the app went away: stop too
            loop.commands.put(m.Command("stop"))

    threading.Thread(target=read_commands, name="rnnviz-commands", daemon=True).start()
    try:
        loop.run()
    except (BrokenPipeError, EOFError, OSError):
        pass  # the app closed its end while we were sending: nothing left to tell
    finally:
        data_conn.close()
        os._exit(0)  # do not wait for daemon threads (a loader may be busy with a large file)
