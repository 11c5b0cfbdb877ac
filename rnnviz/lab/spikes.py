"""Spikes: a step whose gradient norm or loss jumps far above its recent median (no Qt here).

NaN and infinity are refused by the engine (the step is not applied); a spike is finite, so it is
applied, and a run can be thrown far off by it (a loss of 100,000 nats at learning rate 100). The
lab checks every step against the run's own log and, where the run asks for it
(``TrainConfig.spike_pause``), pauses with the step marked and an offer to roll the weights back
to those before the spike (:class:`WeightsRing`).

Why the norm *after* clipping: a clipped run's update is bounded by its threshold whatever the raw
gradient was, so its pre-clip spikes do no harm (in the exploding lesson, run B clips at norm 1 and
its raw norms jump by 50x all the time; pausing on those would stop the comparison for nothing).
Without clipping the two norms are the same number.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass

import numpy as np

from rnnviz.training import StepReport, Trainer

WINDOW = 50  # steps of the recent median
WARMUP = 5  # steps before a gradient-norm spike can be called (no median of one or two numbers)
# A loss starts near its highest (guessing: ln V nats for a language model) and falls, so one earlier
# loss is already a fair yardstick, and a run thrown off by its very first update is caught at once
# (the sine wave at learning rate 100: 0.53, then 2,000,000); a gradient norm can grow or fall by a
# lot in the first few steps of a healthy run.
LOSS_WARMUP = 1
KEEP = 4  # weights kept for Roll back: those before each of the newest KEEP steps
# After a spike, this many steps are not judged: the 50-step median takes that long to catch up, and
# meanwhile every step after a jump looked like another spike (Continue re-paused 14 times in a row).
SPIKE_QUIET = WINDOW // 2


@dataclass(frozen=True)
class Spike:
    step: int
    what: str  # "gradient norm" or "loss"
    value: float
    median: float

    def describe(self, run_name: str = "", paused: bool = True) -> str:
        who = f"{run_name}: " if run_name else ""
        times = self.value / self.median
        what = (
            f"{who}Spike at step {self.step:,}: the {self.what} jumped to {self.value:,.4g}, {times:,.0f} times its "
            f"median over the last steps ({self.median:,.3g}). A step that large throws the weights far from where "
            "they were."
        )
        if not paused:
            return what + " Training goes on; tick Pause on spikes to stop at the next one and roll it back."
        return what + (
            " Roll back undoes it (and the step before, whose weights it was computed with); Continue trains on "
            "from here."
        )


def find_spike(trainer: Trainer, report: StepReport) -> Spike | None:
    """The spike ``report`` is, judged against ``trainer``'s log before it, or None."""
    steps = trainer.log.steps
    n = steps.n - 1  # the log already holds this step
    if n < LOSS_WARMUP or not report.applied:
        return None
    lo = max(0, n - WINDOW)
    cfg = trainer.cfg
    norm_now = report.clipped_norm if report.clipped else report.grad_norm
    norms = np.where(steps["clipped"][lo:n] > 0.5, steps["clipped_norm"][lo:n], steps["grad_norm"][lo:n])
    rules = [("loss", report.loss, steps["loss"][lo:n], cfg.spike_loss)]
    if n >= WARMUP:
        rules.insert(0, ("gradient norm", norm_now, norms, cfg.spike_norm))
    for what, now, recent, factor in rules:
        # on every step: statistics.median of a list of 50 is ~4x faster than np.median (the same number)
        finite = [v for v in recent.tolist() if math.isfinite(v)]
        median = float(statistics.median(finite)) if finite else float("nan")
        if np.isfinite(now) and median > 0 and now > factor * median:
            if what == "loss" and not _undoes_half(now, median, float(steps["loss"][0])):
                continue
            return Spike(report.step, what, float(now), median)
    return None


def _undoes_half(loss: float, median: float, first: float) -> bool:
    """Whether ``loss`` gives back at least half of what the run had learned (``first`` - ``median``).
    Near a loss of 0, x3 is no event: an LSTM that solved its task went 0.044 -> 0.165 nats (seen in the
    vanishing lesson), while the loss it started from was 1.39."""
    return not np.isfinite(first) or loss - median >= (first - median) / 2


class GoodWeights:
    """The weights before the newest *calm* step: a rollback point that is actually good.

    A step is calm when its loss is finite and at most ``spike_loss`` times the median of the calm
    losses before it (the spike detector's loss rule, judged against calm steps only). Judged against
    every step, as ``find_spike`` is, the median catches up with a run that blew up and stays up (the
    sine wave at learning rate 100: 0.5, then 10^4-10^6 for hundreds of steps before a NaN), and the
    weights kept before the NaN would be as diverged as the NaN's (|w| ~ 10^18). A step's loss is
    computed with the weights from before its update, so those are the weights kept.
    """

    def __init__(self):
        self._losses: deque[float] = deque(maxlen=WINDOW)
        self._pending: tuple[int, tuple] | None = None
        self.step: int | None = None  # the weights kept are those before this step
        self.loss = float("nan")  # ... whose loss was this
        self._saved: tuple | None = None

    def before_step(self, trainer: Trainer) -> None:
        self._pending = (trainer.step + 1, trainer.weights_state())

    def after_step(self, report: StepReport, factor: float) -> None:
        if self._pending is None or not report.applied or not np.isfinite(report.loss):
            return  # (a refused step may have a finite loss: its gradient overflowed)
        if self._losses and report.loss > factor * statistics.median(self._losses):  # (10x np.median's speed)
            return
        self._losses.append(float(report.loss))
        (self.step, self._saved), self.loss = self._pending, float(report.loss)
        self._pending = None

    def restore(self, trainer: Trainer) -> bool:
        if self._saved is None:
            return False
        trainer.restore_weights(self._saved)
        return True


class WeightsRing:
    """The weights (and optimizer and carried state) before each of the newest ``KEEP`` steps.

    References, not copies: an update replaces the arrays of ``params`` and of the optimizer state and
    never writes into them (``engine.optim``), so keeping the old dictionaries costs only the arrays
    they keep alive (KEEP models' worth at most)."""

    def __init__(self, keep: int = KEEP):
        self._ring: deque[tuple[int, tuple]] = deque(maxlen=keep)

    def before_step(self, trainer: Trainer) -> None:
        """Remember ``trainer`` as it is before its next step."""
        self._ring.append((trainer.step + 1, trainer.weights_state()))

    def clear(self) -> None:
        self._ring.clear()

    def restore(self, trainer: Trainer, step: int) -> bool:
        """Put back the weights ``trainer`` had before ``step``; False if they are no longer kept."""
        for s, saved in self._ring:
            if s == step:
                trainer.restore_weights(saved)
                return True
        return False
