"""What a front end asks the lab to do: one frozen dataclass per command, handled by ``Lab.handle``.

Commands that concern one run carry its id (``run``, default the main run); the rest act on the lab:
training and pausing move every run together, the probe and the displayed batch row are shared.
In the app they are pickled through a pipe to the training process (``rnnviz.lab.loop``).
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnviz.engine.clipping import ClipConfig
from rnnviz.lab.events import MAIN
from rnnviz.training import TrainConfig


class Command:
    """Base of every command (``isinstance`` tells a command from anything else on the pipe)."""


@dataclass(frozen=True)
class Train(Command):
    """Train until paused."""


@dataclass(frozen=True)
class Pause(Command):
    """Stop after the current step; the newest step is then shown whole."""


@dataclass(frozen=True)
class StepUpdate(Command):
    """Exactly one training step, then pause."""


@dataclass(frozen=True)
class ProbeForward(Command):
    """Read the next token of the probe sentence with the current weights."""


@dataclass(frozen=True)
class ProbeBack(Command):
    """Un-read the last token of the probe."""


@dataclass(frozen=True)
class ProbeRestart(Command):
    """Start the probe over (no token read)."""


@dataclass(frozen=True)
class SetProbe(Command):
    text: str


@dataclass(frozen=True)
class SetClip(Command):
    clip: ClipConfig
    run: str = MAIN


@dataclass(frozen=True)
class SetLR(Command):
    lr: float
    run: str = MAIN


@dataclass(frozen=True)
class SetRow(Command):
    """Which sequence of the training batch the panels follow."""

    row: int


@dataclass(frozen=True)
class ShowHistory(Command):
    """Show the ``index``-th snapshot of the step history (0: the oldest kept); paused only."""

    index: int
    run: str = MAIN


@dataclass(frozen=True)
class Reset(Command):
    """A new model with these settings (the data is reloaded only if a data setting changed)."""

    config: TrainConfig


@dataclass(frozen=True)
class LoadCorpus(Command):
    config: TrainConfig


@dataclass(frozen=True)
class SaveCheckpoint(Command):
    path: str
    run: str = MAIN


@dataclass(frozen=True)
class LoadCheckpoint(Command):
    path: str


@dataclass(frozen=True)
class Compare(Command):
    """Start comparing: run B is A with ``changes`` (TrainConfig field -> value). ``from_scratch``
    False forks A at its current step (only live settings may change: clipping, learning rate);
    True starts A (with ``config``, or A's settings) and B anew, on the same batches."""

    changes: dict
    from_scratch: bool = False
    config: TrainConfig | None = None


@dataclass(frozen=True)
class EndCompare(Command):
    """Stop comparing and keep run ``keep`` (it becomes the main run, "A")."""

    keep: str = MAIN


@dataclass(frozen=True)
class SetSpikePause(Command):
    """Pause on spikes (every run), or not."""

    on: bool


@dataclass(frozen=True)
class RollBack(Command):
    """Undo the trouble at run ``run``'s step ``step`` (a spike, or a refused NaN step): put back the
    weights from before it, or from before the newest calm step if that is older (``Lab.roll_back``)."""

    step: int
    run: str = MAIN


@dataclass(frozen=True)
class WatchWalkthrough(Command):
    """The walkthrough is on screen (``on``) or not: while it is, every pause, step update, new model or
    change of weights, row or setting brings a :class:`~rnnviz.lab.events.WalkthroughReady` (never
    while training runs)."""

    on: bool


@dataclass(frozen=True)
class FreeRun(Command):
    """The sine task: feed run ``run``'s predictions back as its inputs after a prime of the wave
    (``lab.freerun``); answered with a ``FreeRunSeries``."""

    run: str = MAIN


@dataclass(frozen=True)
class Stop(Command):
    """End the lab's loop (the training process exits)."""


@dataclass(frozen=True)
class Generate(Command):
    """Write ``length`` tokens after ``prime`` with run ``run``'s current weights (language models;
    answered by a ``Generated`` event). Temperature 0 is greedy; ``top_k`` 0 keeps every token."""

    prime: str
    length: int = 200
    temperature: float = 1.0
    top_k: int = 0
    seed: int = 0
    run: str = MAIN


@dataclass(frozen=True)
class SampleEvery(Command):
    """While training, generate as ``sample`` asks every ``every`` steps (0: never), with each step's
    weights and the same seed, so the samples differ only by what the model has learned."""

    every: int
    sample: Generate | None = None


@dataclass(frozen=True)
class CheckGradients(Command):
    """Compare run ``run``'s analytic gradient with central differences on the shown batch row:
    the entries of parameter ``param``, or ("") random weights of the whole model (``seed`` picks
    them). Answered by a ``GradientCheck`` event; the weights are not changed."""

    param: str = ""
    seed: int = 0
    run: str = MAIN
