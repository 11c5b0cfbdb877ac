"""The sine task's free run: the model's own predictions fed back as its inputs, against the true wave.

While training and stepping, the network always reads the true wave and predicts one step ahead
("teacher forcing"). A free run reads a prime of the true wave, then only its own predictions
(``engine.infer.free_run``): if it has learned the wave, it goes on drawing it; if it has only learned
to nudge the last value, its errors compound and it drifts away. The wave is the probe's (a fixed
frequency, ``probe.sine_wave``), so what the panels stepped through is what the free run continues.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine.infer import free_run
from rnnviz.lab.probe import sine_wave
from rnnviz.training import Trainer

FREE_RUN_PRIME, FREE_RUN_STEPS = 20, 80  # one period of the probe's wave read, four predicted


@dataclass(frozen=True)
class FreeRunSeries:
    """A free run of run ``run`` with its weights after step ``step``: ``true (P + N,)`` the wave, the
    first P of it read (``prime``), and ``predicted (N,)`` the closed loop's values for steps P+1..P+N
    (``predicted[0]`` is the prediction after the prime, where the true value is ``true[P]``)."""

    run: str
    step: int
    prime: int
    true: np.ndarray
    predicted: np.ndarray

    @property
    def mse(self) -> float:
        """Mean squared error of the predicted values against the true wave."""
        return float(np.mean((self.predicted - self.true[self.prime :]) ** 2))


def free_run_series(run: str, trainer: Trainer, prime: int = FREE_RUN_PRIME, steps: int = FREE_RUN_STEPS):
    """The free run of ``trainer``'s model on the probe's wave; ``ValueError`` for a task other than sine
    (the echo's inputs are random: its predictions are no input to feed back) or a bad length."""
    if trainer.task.spec.name != "sine":
        raise ValueError("a free run continues a sine wave: it is for the sine task only")
    if prime < 1 or steps < 1:
        raise ValueError(f"a free run needs a prime and a number of steps of at least 1, not {prime} and {steps}")
    true = sine_wave(prime + steps)  # (P + N,)
    predicted = free_run(trainer.params, trainer.model_cfg, true[:prime, None], steps)[:, 0]  # (N,)
    for a in (true, predicted):
        a.setflags(write=False)
    return FreeRunSeries(run, trainer.step, prime, true, predicted)
