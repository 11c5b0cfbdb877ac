"""What the sequence panels call what they show, per task: the one table to extend for a new task.

A language model's bars are "the next word" (or character), a classifier's "the predicted class", the
sine task's curve "the next value of the wave", the echo task's "the input from d steps ago". The
panels read their titles, axis labels and captions from :func:`wording`, never from a head alone:
the sine and echo tasks share the regression head but not what their target means.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wording:
    title: str  # the panel's title: "Next word"
    axis: str  # the bars' (or the curve's) horizontal axis: "next word", "time step t"
    target: str  # what the orange bar or curve is: "true next word"
    hint: str  # what the empty panel says it will show
    prediction: str = ""  # regression: what the blue curve is


def wording(task: str, head: str, level: str = "char", delay: int = 0) -> Wording:
    """The wording of the task ``task`` (a TrainConfig task name) with head ``head``; ``level`` is a
    language model's token level and ``delay`` the echo task's d."""
    if task == "echo":
        ago = f"input from {delay} step{'' if delay == 1 else 's'} ago"
        return Wording(ago[0].upper() + ago[1:], "time step t", ago, f"the {ago}, as recalled", "recalled value")
    if head == "regress":
        wave = "the value the network predicts next"
        return Wording("Next value of the wave", "time step t", "true next value", wave, "predicted next value")
    if head == "classify":
        return Wording("Predicted class", "class", "true class", "the class the network predicts")
    unit = {"word": "word", "char": "character"}.get(level, "token") if task == "lm" else "token"
    return Wording(f"Next {unit}", f"next {unit}", f"true next {unit}", "what the network expects next")


def wording_of(info) -> Wording:
    """The wording for a model described by a ``ModelInfo``."""
    cfg = info.config
    return wording(cfg.get("task", ""), info.head, cfg.get("level", "char"), cfg.get("delay", 0))
