"""The lab's command loop: what the app's training process runs (no Qt here).

Why a process and not a thread: the app's drawing (pyqtgraph is Python) and the training step (NumPy
called from Python) both need Python's global interpreter lock. In one process they took turns, and
training ran at half its headless speed with all panels live (measured: 18 against 33 steps a second,
LSTM H=128). In two processes each has its own interpreter, one core each, and nothing to share but
small messages.

The loop: take a command if there is one (blocking when not training: no busy loop), otherwise let
the lab train one step. Loading a text or a checkpoint takes seconds, so it runs on a separate daemon
thread and comes back through the same queue: the loop stays responsive (pause, close) meanwhile, and
a file that cannot be used never replaces the corpus and model already loaded.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import traceback
from collections import deque
from dataclasses import dataclass

from rnnviz.engine.buffers import BufferPool
from rnnviz.engine.runtime import Runtime
from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.blas import narrow_blas
from rnnviz.lab.lab import LOAD_ERRORS, Lab
from rnnviz.lab.snapshot import Snapshot
from rnnviz.training import TrainConfig, Trainer
from rnnviz.training.config import same_data


@dataclass(frozen=True)
class _Loaded(c.Command):
    """From the loader thread: a trainer is ready. ``load``: which load it answers (only the newest counts)."""

    trainer: Trainer
    notice: str
    load: int


@dataclass(frozen=True)
class _LoadFailed(c.Command):
    message: str
    initial: bool
    load: int


class Outbox:
    """Events on their way to the pipe, sent by a thread of their own, so training never waits for it.

    A snapshot is ~0.2 MB and a pipe holds 64 kB: sent from the training loop, each one waited for the
    window's receiver thread, which waits for the window's interpreter lock while panels paint (the
    training process ran at ~0.7 of headless for it, with a core to spare). Here the loop only queues;
    a snapshot replaces any of the same run still waiting (the window draws only the newest anyway),
    everything else is sent whole and in order.
    """

    def __init__(self, send):
        self._send = send
        self._items: deque = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="rnnviz-sender", daemon=True)
        self._thread.start()

    def put(self, msg) -> None:
        with self._cond:
            if isinstance(msg, Snapshot):
                for i, old in enumerate(self._items):
                    if isinstance(old, Snapshot) and old.run == msg.run:
                        del self._items[i]
                        break
            self._items.append(msg)
            self._cond.notify()

    def close(self, timeout: float = 2.0) -> None:
        """Send what is waiting, then stop (within ``timeout``)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if not self._items:
                    return
                msg = self._items.popleft()
            try:
                self._send(msg)
            except (BrokenPipeError, EOFError, OSError):
                return  # the app closed its end: nothing left to tell


class LabLoop:
    """A Lab driven by a queue of commands. ``emit`` receives the lab's events, in order."""

    def __init__(
        self,
        emit,
        config: TrainConfig,
        fallback: TrainConfig | None = None,
        runtime: Runtime | None = None,
    ):
        self.lab = Lab(emit, runtime=runtime)
        self.emit = emit
        self.commands: queue.Queue[c.Command] = queue.Queue()
        self._config = config
        self._fallback = fallback  # used if ``config`` cannot be loaded (e.g. a bad file on the command line)
        self._resume_state = e.IDLE  # where a failed load returns to ...
        self._resume_running = False  # ... and whether it was training (then it trains on)
        self._loads = 0  # loads started: an answer to an older one than the newest is dropped

    def send(self, cmd: c.Command) -> None:
        """Queue a command (any thread)."""
        self.commands.put(cmd)

    def run(self) -> None:
        lab = self.lab
        self._start_loading("loading the corpus")
        self._load_async(lambda: (lab.build_trainer(self._config), ""), initial=True)
        while True:
            try:
                cmd = self.commands.get(block=not lab.running)
            except queue.Empty:
                cmd = None
            if isinstance(cmd, c.Stop):
                break
            try:
                if cmd is not None:
                    self._handle(cmd)
                else:
                    lab.tick()
            except Exception as err:  # never let the loop die: report, keep the app running
                self.emit(e.Problem("error", f"{type(err).__name__}: {err}", traceback.format_exc()))
                lab.fail(str(err))

    def _handle(self, cmd: c.Command) -> None:
        lab = self.lab
        if (
            isinstance(cmd, c.Reset) and lab.runs and lab.state != e.LOADING
            and same_data(lab.main.trainer.cfg, cmd.config)
        ):  # fmt: skip
            lab.reset(cmd.config)  # only model settings changed: instant, the data stays loaded
        elif isinstance(cmd, (c.Reset, c.LoadCorpus)):
            config = cmd.config
            self._start_loading(f"loading {config.corpus}" if isinstance(cmd, c.LoadCorpus) else "loading the corpus")
            self._load_async(lambda: (lab.build_trainer(config), ""))
        elif isinstance(cmd, c.LoadCheckpoint):
            self._start_loading(f"loading {cmd.path}")
            self._load_async(lambda: lab.read_checkpoint(cmd.path))
        elif isinstance(cmd, (_Loaded, _LoadFailed)) and cmd.load != self._loads:
            return  # a newer load was asked for meanwhile: this answer is out of date
        elif isinstance(cmd, _Loaded):
            lab.install(cmd.trainer, cmd.notice)
        elif isinstance(cmd, _LoadFailed):
            self.emit(e.Problem("load_failed", cmd.message))
            if cmd.initial and self._fallback is not None:
                fallback, self._fallback = self._fallback, None
                self._load_async(lambda: (lab.build_trainer(fallback), ""), initial=True)
            elif self._resume_running and lab.runs:
                lab.resume_running()
            else:
                lab.set_state(self._resume_state if lab.runs else e.ERROR)
        else:  # (while loading, the lab itself ignores what needs a model: the app disables it meanwhile)
            lab.handle(cmd)

    def _start_loading(self, message: str) -> None:
        """Stop training while a file loads (a load takes seconds), remembering how to go back if it fails
        (a second load while one is in progress keeps what the first remembered)."""
        lab = self.lab
        if lab.state != e.LOADING:  # (a second load while loading returns to where the first began)
            self._resume_state = lab.state if lab.state not in (e.RUNNING, e.ERROR) else e.PAUSED
            self._resume_running = lab.running
        lab.stop_running()
        lab.set_state(e.LOADING, message)

    def _load_async(self, make, initial: bool = False) -> None:
        """Run ``make() -> (trainer, notice)`` on a daemon thread; the result comes back as a command.
        Only the newest load's answer is used: a file still loading is superseded by the next request."""
        self._loads += 1
        n = self._loads

        def load() -> None:
            try:
                trainer, notice = make()
                self.send(_Loaded(trainer, notice, n))
            except LOAD_ERRORS as err:
                self.send(_LoadFailed(str(err), initial, n))
            except Exception as err:  # a bug in a loader must not vanish silently either
                self.send(_LoadFailed(f"{type(err).__name__}: {err}", initial, n))

        threading.Thread(target=load, name="rnnviz-loader", daemon=True).start()


def lab_main(cmd_conn, data_conn, config: TrainConfig, fallback: TrainConfig | None, split_blas: bool) -> None:
    """Entry point of the training process: commands arrive on ``cmd_conn``, events leave on
    ``data_conn`` (two one-way pipes, so no connection is used by two threads at once). ``split_blas``:
    run on one BLAS thread but for the large products (``rnnviz.lab.blas``)."""
    # Ctrl-C in the terminal that started the app reaches this process too: the app decides what to do
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wide = narrow_blas() if split_blas else None
    runtime = Runtime(pool=BufferPool(), **({"wide_context": wide} if wide else {}))
    outbox = Outbox(data_conn.send)
    loop = LabLoop(outbox.put, config, fallback, runtime=runtime)

    def read_commands() -> None:
        try:
            while True:
                cmd = cmd_conn.recv()
                loop.send(cmd)
                if isinstance(cmd, c.Stop):
                    return
        except (EOFError, OSError):  # the app went away: stop too
            loop.send(c.Stop())

    threading.Thread(target=read_commands, name="rnnviz-commands", daemon=True).start()
    try:
        loop.run()
    finally:
        outbox.close()
        data_conn.close()
        os._exit(0)  # do not wait for daemon threads (a loader may be busy with a large file)
