"""The training loop of the app, without Qt: it runs in its own process (see ``worker``).

Why a process and not a thread: the app's drawing (pyqtgraph is Python) and the training step (NumPy
called from Python) both need Python's global interpreter lock. In one process they took turns, and
training ran at half its headless speed with all panels live (measured: 18 against 33 steps a second,
LSTM H=128). In two processes each has its own interpreter, one core each, and nothing to share but
small messages.

The loop: take a command if there is one (blocking when paused: no busy loop), otherwise train one
step. What the panels need goes out through ``emit``: per-step scalars always (the curves stay
exact), an instrumented view at most ~40 times a second (building one costs about 10% of a step).
Loading a large text takes seconds, so it runs on a separate daemon thread and comes back as a
command: the loop stays responsive (pause, close) while a file loads, and a file that cannot be
used never replaces the corpus and model already loaded.

Nothing here imports Qt: the training process never loads it (tests/test_boundaries.py checks).
"""

from __future__ import annotations

import os
import queue
import threading
import time
import traceback

import numpy as np

from rnnviz.corpus import CorpusError
from rnnviz.engine.cells import get_cell
from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.engine.infer import step_token
from rnnviz.gui import messages as m
from rnnviz.gui.probe import default_probe_text, encode_probe
from rnnviz.training import StepReport, TrainConfig, Trainer, build_task, load_trainer, optim_config, save_trainer

TRACE_INTERVAL = 1 / 32  # seconds: at most ~32 instrumented steps a second (the screen shows ~30)
EVAL_EVERY = 200  # training steps between validation passes
EVAL_BATCHES = 8  # validation batches per pass (a pass must not stall the loop)


TASK_FIELDS = (
    "task",
    "corpus",
    "level",
    "lower",
    "max_vocab",
    "lm_mode",
    "val_fraction",
    "seq_len",
    "batch_size",
    "k",
    "sampling",
    "dtype",
    "seed",
)


def same_data(a: TrainConfig, b: TrainConfig) -> bool:
    """True when ``b`` can reuse the task (data) of ``a``: only model or optimiser settings differ."""
    return all(getattr(a, f) == getattr(b, f) for f in TASK_FIELDS)


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
        self._stopped_by_problem = False  # the last step was refused (NaN/infinite)
        self._row = 0
        self._last_trace = 0.0
        self._probe_text = ""
        self._probe_task = ""  # the task the probe text was chosen for
        self._probe_ids = np.zeros(0, np.intp)
        self._probe_skipped: tuple[str, ...] = ()
        self._probe_steps: list = []  # TokenStep per fed token
        self._probe_version = -1  # trainer.opt.step the cached probe states were computed with

    # -- the public, thread-safe side ---------------------------------------------------------
    def send(self, name: str, **args) -> None:
        """Queue a command (any thread)."""
        self.commands.put(m.Command(name, args))

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        self._set_state(m.LOADING, "loading the corpus")
        self._load_async(self._config, initial=True)
        while True:
            try:
                cmd = self.commands.get(block=not self._running)
            except queue.Empty:
                cmd = None
            if cmd is not None and cmd.name == "stop":
                break
            try:
                if cmd is not None:
                    self._handle(cmd)
                elif self._running:
                    self._train_one()
            except Exception as e:  # never let the worker die: report, keep the app running
                self._running = False
                self.emit(m.Problem("error", f"{type(e).__name__}: {e}", traceback.format_exc()))
                self._set_state(m.ERROR, str(e))

    def _handle(self, cmd: m.Command) -> None:
        a = cmd.args
        name = cmd.name
        if name == "train":
            if self.trainer is not None and self.state != m.LOADING:
                self._running = True
                self._set_state(m.RUNNING)
        elif name == "pause":
            if self._running:
                self._running = False
                self._set_state(m.PAUSED)
        elif name == "step_update":
            if self.trainer is not None and self.state != m.LOADING:
                self._running = False
                self._train_one(force_trace=True)
                if not self._stopped_by_problem:
                    self._set_state(m.PAUSED)
        elif name in ("step_token", "step_back", "probe_restart"):
            if self.trainer is not None and self.state != m.LOADING:
                self._running = False
                self._step_probe(name)
        elif name == "set_probe":
            self._set_probe(a["text"])
            if self.state == m.STEPPING:
                self._publish_probe()
        elif name == "set_clip":
            if self.trainer is not None:
                self.trainer.clip = a["clip"]
                self.trainer.cfg = self.trainer.cfg.replace(clip=str(a["clip"]))
        elif name == "set_lr":
            if self.trainer is not None:
                self.trainer.cfg = self.trainer.cfg.replace(lr=float(a["lr"]))
                self.trainer.opt.config = optim_config(self.trainer.cfg)
        elif name == "set_row":
            self._row = int(a["row"])
        elif name == "reset":
            self._reset(a["config"])
        elif name == "load_corpus":
            self._running = False
            self._resume_state = self.state if self.state != m.RUNNING else m.PAUSED
            self._set_state(m.LOADING, f"loading {a['config'].corpus}")
            self._load_async(a["config"])
        elif name == "corpus_ready":
            self._install(Trainer(a["config"], a["task"]), a.get("notes", ()))
        elif name == "corpus_failed":
            self.emit(m.Problem("load_failed", a["message"]))
            if a.get("initial") and self._fallback is not None:
                fallback, self._fallback = self._fallback, None
                self._load_async(fallback, initial=True)
            else:
                self._set_state(self._resume_state if self.trainer is not None else m.ERROR)
        elif name == "save":
            self._save(a["path"])
        elif name == "load_checkpoint":
            self._load_checkpoint(a["path"])
        else:
            raise ValueError(f"unknown command {name!r}")

    # -- training ---------------------------------------------------------------------------------
    def _train_one(self, force_trace: bool = False) -> None:
        trainer = self.trainer
        now = time.perf_counter()
        want_trace = force_trace or now - self._last_trace >= TRACE_INTERVAL
        # no W_hh spectrum: no panel shows it yet, and it costs ~1% of every step (see Trainer)
        report = trainer.train_step(trace=want_trace, row=self._row, spectrum=False)
        self._stopped_by_problem = False
        self.emit(self._scalars(report))
        if report.trace is not None:
            self._last_trace = now
            self.emit(self._train_view(report))
        if not report.applied:
            self._running = False
            self._stopped_by_problem = True
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
            clipped=bool(clip is not None and clip.clipped), lr=r.lr, tokens=r.tokens, seconds=r.seconds,
            applied=r.applied,
        )  # fmt: skip

    def _train_view(self, r: StepReport) -> m.TrainView:
        tr = r.trace
        spec = self.trainer.task.spec
        inputs = targets = None
        if spec.vocab is not None:
            labels = spec.vocab.labels()
            inputs = tuple(labels[i] for i in np.asarray(tr.x, np.intp)[: tr.length])
            if spec.head == "lm":
                targets = tuple(labels[i] for i in np.asarray(tr.y, np.intp))
            else:
                targets = (spec.class_names[int(tr.y)],)
        return m.TrainView.from_trace(tr, r.step, str(self.trainer.clip), inputs, targets)

    # -- models and corpora ------------------------------------------------------------------------
    def _load_async(self, config: TrainConfig, initial: bool = False) -> None:
        """Build the task on a daemon thread; the result comes back as a command."""

        def load() -> None:
            try:
                _, _, split_seq = np.random.SeedSequence(config.seed).spawn(3)
                task = build_task(config, np.random.default_rng(split_seq))
                self.send("corpus_ready", config=config, task=task)
            except (CorpusError, ValueError, OSError) as e:
                self.send("corpus_failed", message=str(e), initial=initial)
            except Exception as e:  # a bug in a loader must not vanish silently either
                self.send("corpus_failed", message=f"{type(e).__name__}: {e}", initial=initial)

        threading.Thread(target=load, name="rnnviz-loader", daemon=True).start()

    def _reset(self, config: TrainConfig) -> None:
        self._running = False
        if self.trainer is not None and same_data(self.trainer.cfg, config):
            self._install(Trainer(config, self.trainer.task))
        else:
            self._resume_state = self.state if self.state != m.RUNNING else m.PAUSED
            self._set_state(m.LOADING, "loading the corpus")
            self._load_async(config)

    def _install(self, trainer: Trainer, notes=(), step: int = 0) -> None:
        """Make ``trainer`` current and tell the GUI what it is."""
        self.trainer = trainer
        self._running = False
        self._probe_steps = []
        self._probe_version = -1
        spec = trainer.task.spec
        if spec.name != self._probe_task or spec.vocab is None or not self._probe_fits(trainer):
            self._probe_text = default_probe_text(trainer.task)
            self._probe_task = spec.name
        self._set_probe(self._probe_text)
        cell = get_cell(trainer.model_cfg.cell)
        labels: tuple[str, ...] = ()
        if spec.head == "lm":
            labels = spec.vocab.labels()
        elif spec.head == "classify":
            labels = tuple(spec.class_names)
        self.emit(m.ModelInfo(
            title=spec.title, head=spec.head, cell=trainer.model_cfg.cell, layers=trainer.model_cfg.num_layers,
            hidden=trainer.model_cfg.hidden_size, gate_names=cell.GATES, gate_ranges=cell.GATE_RANGES,
            labels=labels, notes=tuple(trainer.task.notes) + tuple(notes),
            batches_per_epoch=trainer.task.batches_per_epoch, config=trainer.cfg.to_dict(),
            probe_text=self._probe_text, step=step,
        ))  # fmt: skip
        self._set_state(m.IDLE if step == 0 else m.PAUSED)

    def _probe_fits(self, trainer: Trainer) -> bool:
        vocab = trainer.task.spec.vocab
        return len(vocab.encode(self._probe_text, errors="skip")) > 0

    def _save(self, path: str) -> None:
        if self.trainer is None:
            return
        try:
            save_trainer(self.trainer, path)
            self.emit(m.Notice(f"Saved {path}"))
        except OSError as e:
            self.emit(m.Problem("save_failed", f"Could not save {path}: {e.strerror or e}."))

    def _load_checkpoint(self, path: str) -> None:
        self._running = False
        try:
            trainer = load_trainer(path)
        except (CheckpointError, CorpusError, ValueError, OSError) as e:
            self.emit(m.Problem("load_failed", str(e)))
            if self.state == m.RUNNING:
                self._set_state(m.PAUSED)
            return
        self._install(trainer, step=trainer.step)
        self.emit(m.Notice(f"Loaded {path} (step {trainer.step:,})"))

    # -- the probe sentence -----------------------------------------------------------------------
    def _set_probe(self, text: str) -> None:
        self._probe_text = text
        self._probe_steps = []
        if self.trainer is None:
            return
        self._probe_ids, self._probe_skipped = encode_probe(self.trainer.task, text)

    def _step_probe(self, name: str) -> None:
        trainer = self.trainer
        if trainer.opt.step != self._probe_version:  # the weights changed: recompute the prefix with them
            fed = len(self._probe_steps)
            self._probe_steps = []
            for _ in range(fed):
                self._feed_next()
            self._probe_version = trainer.opt.step
        if name == "step_token":
            if len(self._probe_steps) < len(self._probe_ids):
                self._feed_next()
        elif name == "step_back":
            if self._probe_steps:
                self._probe_steps.pop()
        else:
            self._probe_steps = []
        self._set_state(m.STEPPING)
        self._publish_probe()

    def _feed_next(self) -> None:
        state = self._probe_steps[-1].state if self._probe_steps else None
        token = self._probe_ids[len(self._probe_steps)]
        self._probe_steps.append(step_token(self.trainer.params, self.trainer.model_cfg, token, state))

    def _publish_probe(self) -> None:
        trainer = self.trainer
        if trainer is None:
            return
        spec = trainer.task.spec
        steps = self._probe_steps
        n_layers = trainer.model_cfg.num_layers
        H = trainer.model_cfg.hidden_size
        G = len(get_cell(trainer.model_cfg.cell).GATES)

        def stack(get, shape):
            return m.freeze(np.array([get(s) for s in steps]) if steps else np.zeros((0, *shape)))

        hs = tuple(stack(lambda s, layer=layer: s.hs[layer], (H,)) for layer in range(n_layers))
        cs = tuple(
            stack(lambda s, layer=layer: s.cs[layer], (H,)) if trainer.model_cfg.cell == "lstm" else None
            for layer in range(n_layers)
        )
        acts = tuple(stack(lambda s, layer=layer: s.acts[layer], (G, H)) for layer in range(n_layers))
        pos = len(steps)
        last = steps[-1] if steps else None
        probs = m.freeze(last.probs.copy()) if last is not None and last.probs is not None else None
        predictions = stack(lambda s: s.logits, (trainer.model_cfg.n_out,)) if spec.head == "regress" else None
        true_next = None
        if pos < len(self._probe_ids) and spec.head in ("lm", "regress"):
            nxt = self._probe_ids[pos]
            true_next = int(nxt) if spec.head == "lm" else float(np.asarray(nxt).reshape(-1)[0])
        if spec.vocab is not None:
            labels = tuple(spec.vocab.label(int(i)) for i in self._probe_ids)
        else:
            labels = tuple(f"{float(v[0]):+.2f}" for v in self._probe_ids)
        self.emit(m.ProbeView(
            labels=labels, ids=m.freeze(np.array(self._probe_ids)), position=pos, hs=hs, cs=cs, acts=acts,
            probs=probs, predictions=predictions, true_next=true_next, skipped=self._probe_skipped,
        ))  # fmt: skip

    # -- state -------------------------------------------------------------------------------------
    def _set_state(self, state: str, message: str = "") -> None:
        self.state = state
        self.emit(m.StateChanged(state, message))


def engine_main(cmd_conn, data_conn, config: TrainConfig, fallback: TrainConfig | None) -> None:
    """Entry point of the training process: commands arrive on ``cmd_conn``, messages leave on
    ``data_conn`` (two one-way pipes, so no connection is used by two threads at once)."""
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
