"""The app's side of training: the training process, its receiver thread and the latest-value mailbox.

    GUI thread --commands--> [pipe] --> training process (engine_loop.EngineLoop)
    GUI timer (16 ms) <-- Mailbox <-- receiver thread <-- [pipe] <-- messages

The training loop runs in a separate process (engine_loop explains why: Python's GIL). A receiver
thread here waits on the pipe and files every message into the :class:`Mailbox`: per-step scalars
and events accumulate, heavy views are latest-only. A 16 ms QTimer in the GUI thread drains it and
emits ``delivered`` once per frame, never once per training step.

Stopping is one idempotent ``stop()``: ask the process to stop, wait, and if it has not ended in time
(a step in progress on a huge model, a file still loading) terminate the *process*, which, unlike
terminating a thread, is safe. Closing the window therefore never takes more than ~2 s.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from rnnviz.gui import messages as m
from rnnviz.gui.engine_loop import blas_controllers, engine_main
from rnnviz.training import TrainConfig


@dataclass
class Delivery:
    train: m.TrainView | None
    probe: m.ProbeView | None
    scalars: list[m.StepScalars] = field(default_factory=list)
    events: list[object] = field(default_factory=list)
    gradients: m.TrainView | None = None  # the newest view with gradient norms (``train`` may have none)


class Mailbox:
    """Latest-value mailbox between a writer thread and the GUI timer (the reader)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._train: m.TrainView | None = None
        self._gradients: m.TrainView | None = None
        self._probe: m.ProbeView | None = None
        self._scalars: list[m.StepScalars] = []
        self._events: list[object] = []

    def put(self, msg: object) -> None:
        with self._lock:
            if isinstance(msg, m.ModelInfo):
                # A new model: what is still waiting belongs to the old one (a last step, a last view)
                # and must not be drawn on the new model's panels.
                self._train = self._gradients = self._probe = None
                self._scalars = []
                self._events.append(msg)
            elif isinstance(msg, m.StepScalars):
                self._scalars.append(msg)
            elif isinstance(msg, m.TrainView):
                self._train = msg  # overwrite: only the newest frame is drawn
                if msg.has_gradients:  # kept apart: a newer view without them must not hide them
                    self._gradients = msg
            elif isinstance(msg, m.ProbeView):
                self._probe = msg
            else:
                self._events.append(msg)

    def take(self) -> Delivery:
        with self._lock:
            d = Delivery(self._train, self._probe, self._scalars, self._events, self._gradients)
            self._train = self._gradients = self._probe = None
            self._scalars, self._events = [], []
        return d


def engine_blas_threads(cpus: int | None = None, steerable: bool | None = None) -> tuple[int, bool]:
    """BLAS threads for the training process, and whether its time loops run on one of them.

    The app's window needs about a third of a core. Measured on 2 cores (bench/gui.py, LSTM H=128,
    panels live): one BLAS thread throughout, 52-54k tokens/s; two throughout, 48k (between the
    small products of the time loops the idle thread spin-waits on the window's core); two for the
    large once-per-step products, one in the time loops and idle threads asleep at once
    (OPENBLAS_THREAD_TIMEOUT), 56-58k. With 3 cores or more there is room for two throughout. Where
    the thread count cannot be changed at run time (``steerable`` False), one thread on 2 cores.
    """
    if cpus is None:
        cpus = os.cpu_count() or 2
    if cpus >= 3:
        return 2, False
    if cpus == 2:
        if steerable is None:
            steerable = bool(blas_controllers())
        return (2, True) if steerable else (1, False)
    return 1, False


@contextmanager
def _engine_blas_threads(threads: int, split: bool):
    """Start the training process with ``threads`` BLAS threads (set in its environment); ``split``: its
    time loops will run on one (see ``engine_blas_threads``)."""
    names = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k: str(threads) for k in names[:3]})
    if split:
        # An idle OpenBLAS thread spins for 2**28 cycles (~0.1 s) before it sleeps; 2**4 (the least)
        # sends it to sleep at once, so it takes no time from the window between the products using it.
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = "4"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class TrainingController(QObject):
    """The GUI's handle on training: starts the process, drains the mailbox every 16 ms, stops it all.

    ``delivered`` is emitted with each non-empty :class:`Delivery`. If the training process dies
    (it should not), the app shows an error and "Reset model" starts a new one.
    """

    delivered = Signal(object)

    def __init__(
        self,
        config: TrainConfig,
        fallback: TrainConfig | None = None,
        parent: QObject | None = None,
        interval_ms: int = 16,
    ):
        super().__init__(parent)
        self.mailbox = Mailbox()
        self.config, self.fallback = config, fallback
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.drain)
        self.process: multiprocessing.Process | None = None
        self._cmd_conn = None
        self._receiver: threading.Thread | None = None
        self._stopped = False
        self._blas = engine_blas_threads()  # (threads, split), decided once: it imports threadpoolctl

    def start(self) -> None:
        self._spawn(self.config, self.fallback)
        self.timer.start()

    def _spawn(self, config: TrainConfig, fallback: TrainConfig | None) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        cmd_recv, cmd_send = ctx.Pipe(duplex=False)
        data_recv, data_send = ctx.Pipe(duplex=False)
        process = ctx.Process(
            target=engine_main,
            args=(cmd_recv, data_send, config, fallback, self._blas[1]),
            name="rnnviz-engine",
            daemon=True,
        )
        with _engine_blas_threads(*self._blas):
            process.start()
        cmd_recv.close()  # the child's ends: ours are cmd_send and data_recv
        data_send.close()
        self.process, self._cmd_conn = process, cmd_send
        self._receiver = threading.Thread(
            target=self._receive, args=(data_recv, process), name="rnnviz-receiver", daemon=True
        )
        self._receiver.start()

    def _receive(self, conn, process) -> None:
        try:
            while True:
                self.mailbox.put(conn.recv())
        except (EOFError, OSError):
            pass
        finally:
            conn.close()
        if not self._stopped and process is self.process:
            process.join(1.0)
            self.mailbox.put(m.Problem(
                "error", f"The training process stopped unexpectedly (exit code {process.exitcode}). Press Reset "
                "model to start a new one.",
            ))  # fmt: skip
            self.mailbox.put(m.StateChanged(m.ERROR, "the training process stopped"))

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def send(self, name: str, **args) -> None:
        if self._stopped:
            return
        if not self.alive():
            if name in ("reset", "load_corpus"):  # start a new training process with these settings
                self._retire_process()
                self._spawn(args["config"], self.fallback)
            else:
                self.mailbox.put(m.Problem("error", "The training process is not running: press Reset model "
                                                    "(or open a file) to start a new one."))  # fmt: skip
            return
        try:
            self._cmd_conn.send(m.Command(name, args))
        except (BrokenPipeError, OSError):
            pass  # the receiver thread reports the dead process

    def _retire_process(self) -> None:
        """Release what a dead training process leaves behind (its pipe, its receiver, its handle)."""
        self._join_receiver()
        if self._cmd_conn is not None:
            self._cmd_conn.close()
        if self.process is not None:
            self.process.join(0.1)
            self.process.close()
        self.process = self._cmd_conn = None

    @Slot()
    def drain(self) -> None:
        d = self.mailbox.take()
        if d.train is not None or d.probe is not None or d.scalars or d.events:  # (gradients come with a train)
            self.delivered.emit(d)

    def stop(self, timeout_ms: int = 2000) -> bool:
        """Stop training and its process; idempotent. True if everything ended within ``timeout_ms``.

        The process gets 3/4 of the time to stop by itself, then is terminated.
        """
        if self._stopped:
            return not self.alive()
        self._stopped = True
        self.timer.stop()
        if self.process is None:
            return True
        try:
            self._cmd_conn.send(m.Command("stop"))
        except (BrokenPipeError, OSError):
            pass
        self.process.join(0.75 * timeout_ms / 1000)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(0.2 * timeout_ms / 1000)
        stopped = not self.process.is_alive()
        self._cmd_conn.close()
        self._join_receiver()
        return stopped

    def _join_receiver(self) -> None:
        if self._receiver is not None:
            self._receiver.join(1.0)
            self._receiver = None
