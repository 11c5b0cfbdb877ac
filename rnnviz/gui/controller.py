"""The app's side of training: the training process, its receiver thread and the latest-value mailbox.

    GUI thread --commands--> [pipe] --> training process (rnnviz.lab.loop: a Lab and its loop)
    GUI timer (16 ms) <-- Mailbox <-- receiver thread <-- [pipe] <-- events and snapshots

The lab runs in a separate process (rnnviz.lab.loop explains why: Python's GIL); this is the thin
adapter the window talks to: typed commands out (``rnnviz.lab.commands``), the lab's events in. A
receiver thread here waits on the pipe and files every message into the :class:`Mailbox`: per-step
scalars and events accumulate, snapshots are latest-only. A 16 ms QTimer in the GUI thread drains it
and emits ``delivered`` once per frame, never once per training step.

Stopping is one idempotent ``stop()``: ask the process to stop, wait, and if it has not ended in time
(a step in progress on a huge model, a file still loading) terminate the *process*, which, unlike
terminating a thread, is safe. Closing the window therefore never takes more than ~2 s.
"""

from __future__ import annotations

import multiprocessing
import threading
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.blas import blas_environment, engine_blas_threads
from rnnviz.lab.loop import lab_main
from rnnviz.lab.snapshot import Snapshot
from rnnviz.training import TrainConfig


@dataclass
class Delivery:
    snapshots: dict[str, Snapshot]  # per run, the newest snapshot (only the newest is drawn)
    scalars: list[e.StepScalars] = field(default_factory=list)
    events: list[object] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.snapshots or self.scalars or self.events)


class Mailbox:
    """Latest-value mailbox between a writer thread and the GUI timer (the reader).

    Per-step scalars and events accumulate (the curves stay exact, nothing is lost); snapshots are
    latest-only per run: a fast training process overwrites frames the window had no time to draw.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, Snapshot] = {}
        self._scalars: list[e.StepScalars] = []
        self._events: list[object] = []

    def put(self, msg: object) -> None:
        with self._lock:
            if isinstance(msg, e.ModelInfo):
                # A new model: what is still waiting belongs to the old one (a last step, a last view)
                # and must not be drawn on the new model's panels (only that run's: B's new model
                # leaves A's numbers alone).
                self._snapshots.pop(msg.run, None)
                if msg.run == e.MAIN:
                    self._snapshots = {}
                self._scalars = [s for s in self._scalars if s.run != msg.run]
                self._events.append(msg)
            elif isinstance(msg, e.StepScalars):
                self._scalars.append(msg)
            elif isinstance(msg, Snapshot):
                self._snapshots[msg.run] = msg  # overwrite: only the newest frame is drawn
            else:
                self._events.append(msg)

    def take(self) -> Delivery:
        with self._lock:
            d = Delivery(self._snapshots, self._scalars, self._events)
            self._snapshots, self._scalars, self._events = {}, [], []
        return d


# Commands after which the lab is not training (it answers each with a state that is not RUNNING).
STOPS_TRAINING = (c.Pause, c.StepUpdate, c.ProbeForward, c.ProbeBack, c.ProbeRestart, c.Reset, c.LoadCorpus,
                  c.LoadCheckpoint)  # fmt: skip


class RunIntent:
    """Whether training runs as the app last asked for it: what the Train/Pause toggle decides from.

    The lab's state arrives a frame or more after a command (through the process, the pipe and the
    16 ms timer), so a toggle that read it sent Train twice for two quick presses of Space and left
    training running. Here a command sets ``running`` at once; a state the lab reports is taken only
    when no request is waiting for its answer or it is that answer (a late RUNNING after a Pause was
    asked is the answer to the Train before it), and LOADING and ERROR always. A state the lab
    reaches by itself, with nothing asked (a NaN step, a spike), is taken as it comes.
    """

    def __init__(self) -> None:
        self.running = False
        self._waiting: bool | None = None  # the running-ness asked for and not yet answered

    def asked(self, cmd: c.Command) -> None:
        if isinstance(cmd, c.Train):
            self.running = self._waiting = True
        elif isinstance(cmd, STOPS_TRAINING):
            self.running = self._waiting = False

    def heard(self, state: str) -> None:
        running = state == e.RUNNING
        if self._waiting is None or self._waiting == running or state in (e.LOADING, e.ERROR):
            self.running, self._waiting = running, None


class TrainingController(QObject):
    """The GUI's handle on training: starts the process, drains the mailbox every 16 ms, stops it all.

    ``delivered`` is emitted with a :class:`Delivery` every 16 ms (empty ones too: see ``drain``).
    If the training process dies
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
        self.intent = RunIntent()  # (read and written in the GUI thread only: send and drain)

    def start(self) -> None:
        self._spawn(self.config, self.fallback)
        self.timer.start()

    def _spawn(self, config: TrainConfig, fallback: TrainConfig | None) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        cmd_recv, cmd_send = ctx.Pipe(duplex=False)
        data_recv, data_send = ctx.Pipe(duplex=False)
        process = ctx.Process(
            target=lab_main,
            args=(cmd_recv, data_send, config, fallback, self._blas[1]),
            name="rnnviz-engine",
            daemon=True,
        )
        with blas_environment(*self._blas):
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
            self.mailbox.put(e.Problem(
                "error", f"The training process stopped unexpectedly (exit code {process.exitcode}). Press Reset "
                "model to start a new one.",
            ))  # fmt: skip
            self.mailbox.put(e.StateChanged(e.ERROR, "the training process stopped"))

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def send(self, cmd: c.Command) -> None:
        if not isinstance(cmd, c.Command):
            raise TypeError(f"not a lab command: {cmd!r}")
        if self._stopped:
            return
        if not self.alive():
            if isinstance(cmd, (c.Reset, c.LoadCorpus)):  # start a new training process with these settings
                self.intent.asked(cmd)
                self._retire_process()
                self._spawn(cmd.config, self.fallback)
            else:
                self.mailbox.put(e.Problem("error", "The training process is not running: press Reset model "
                                                    "(or open a file) to start a new one."))  # fmt: skip
            return
        self.intent.asked(cmd)  # (a command dropped above changes nothing)
        try:
            self._cmd_conn.send(cmd)
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
        # every frame, even an empty one: the window draws its curves in frames that bring no snapshot
        delivery = self.mailbox.take()
        for ev in delivery.events:
            if isinstance(ev, e.StateChanged):
                self.intent.heard(ev.state)
        self.delivered.emit(delivery)

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
            self._cmd_conn.send(c.Stop())
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
