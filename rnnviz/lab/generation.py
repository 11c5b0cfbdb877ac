"""Generation in the lab: the Generate command's answer, and samples every N steps while training.

The text comes from ``training.generation.sample_text`` with the run's current weights; its random
draws come from a Generator of the command's seed alone, so the training run's random streams, its
weights and its batches are untouched (a run sampled every N steps trains to the same bits as one that
is not: tests/lab/test_generation.py).
"""

from __future__ import annotations

from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.run import Run
from rnnviz.training.generation import sample_text

MAX_LENGTH = 2000  # tokens: each one is a forward step of the model (~0.3 ms for the default LSTM)


def unavailable_reason(head: str, title: str) -> str:
    """Why a model with this head and task title cannot generate text ("" if it can; the panel says it too)."""
    if head != "lm":
        return f"Only a language model writes text; this model is {title!r} (choose a text task to generate)."
    return ""


def unavailable(run: Run) -> str:
    spec = run.trainer.task.spec
    return unavailable_reason(spec.head if spec.vocab is not None else "none", spec.title)


def generated(run: Run, cmd: c.Generate, while_training: bool = False) -> e.Generated:
    """What ``run`` writes for ``cmd`` now (an ``error`` in plain words if it cannot)."""
    t = run.trainer
    answer = dict(run=run.id, step=t.step, temperature=cmd.temperature, top_k=cmd.top_k, seed=cmd.seed,
                  while_training=while_training)  # fmt: skip
    why = unavailable(run)
    if not why and not 0 <= cmd.length <= MAX_LENGTH:
        why = f"The length must be between 0 and {MAX_LENGTH:,} tokens, not {cmd.length}."
    if why:
        return e.Generated(prime=cmd.prime, text="", error=why, **answer)
    try:
        sample = sample_text(
            t.params, t.model_cfg, t.task.spec.vocab, cmd.prime, cmd.length, cmd.temperature, cmd.top_k, cmd.seed
        )
    except ValueError as err:  # a prime with no known token, a temperature that is not a number >= 0
        return e.Generated(prime=cmd.prime, text="", error=f"Cannot generate: {err}.", **answer)
    return e.Generated(prime=sample.prime, text=sample.text, unknown=sample.unknown, **answer)


class Sampling:
    """The "sample every N steps while training" setting (``SampleEvery``)."""

    def __init__(self) -> None:
        self.every = 0
        self.sample: c.Generate | None = None

    def set(self, cmd: c.SampleEvery) -> None:
        self.every = max(int(cmd.every), 0)
        self.sample = cmd.sample

    def after_step(self, run: Run, emit) -> None:
        """Emit a sample of ``run`` if its step is a multiple of ``every``."""
        if self.every and self.sample is not None and run.trainer.step % self.every == 0:
            emit(generated(run, self.sample, while_training=True))
