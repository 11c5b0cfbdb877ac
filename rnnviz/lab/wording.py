"""What the sequence panels call what they show, per task: the one table to extend for a new task (no Qt).

A language model's bars are "the next word" (or character), a classifier's "the predicted language", the
sine task's curve "the next value of the wave", the echo task's "the input from d steps ago". The panels
read their titles, axis labels, captions, tooltips and the text strip's token separator from
:func:`wording_for`, never from a head alone: the sine and echo tasks share the regression head but not
what their target means, and the toy's tokens are words although its ``level`` is not "word".

    wording_for(info.config)       # a ModelInfo's TrainConfig.to_dict(): its task, level, delay
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rnnviz.training.config import TrainConfig


@dataclass(frozen=True)
class Wording:
    title: str  # the output panel's dock title: "Next word", "Predicted language"
    axis: str  # the bars' (or the curve's) horizontal axis: "next word", "language", "time step t"
    target: str  # what the orange bar or curve is, before its label: "true next word" -> "true next word: 'e'"
    hint: str  # what the empty panel says it will show
    help: str = ""  # the panel's tooltip
    steps: str = "tokens"  # what one time step reads, plural: "after 3 characters (last 's')"
    # a classifier's answer at each step is the one it would give if the sequence ended there ("" else)
    per_step: str = ""
    prediction: str = ""  # regression: what the blue curve is
    sep: str = ""  # between tokens in the text strip: a space for words, nothing for characters


def _next_token(unit: str, plural: str, sep: str) -> Wording:
    return Wording(
        f"Next {unit}", f"next {unit}", f"true next {unit}", "what the network expects next",
        f"The probability the network gives each possible next {unit} after reading up to the chosen step (the "
        "bars add up to 1 over the whole vocabulary; only the most likely are shown). Orange is the "
        f"{unit} that really came next: -log p is the loss the network pays for it.",
        plural, sep=sep,
    )  # fmt: skip


_CLASSIFY = {
    "classify": Wording(
        "Predicted language", "language", "true language", "the language the network guesses for the name",
        "The probability the network gives each language after reading the name up to the chosen step: the "
        "classifier's head applied to that step's hidden state, as if the name ended there (in training only "
        "the last step's answer counts). Orange is the name's true language: -log p is the loss it pays at the "
        "end of the name.",
        "characters", per_step="if the name ended here",
    ),
    "longrange": Wording(
        "Predicted symbol", "symbol", "true symbol", "the symbol the network says it saw first",
        "The probability the network gives each symbol after reading up to the chosen step, as if the sequence "
        "ended there (only the answer at the end is trained). Orange is the symbol that was really first.",
        "tokens", per_step="if the sequence ended here",
    ),
}  # fmt: skip

_SINE = Wording(
    "Next value of the wave", "time step t", "true next value", "the value the network predicts next",
    "The value the network predicts for the next step (blue) against the true next value of the wave "
    "(orange, dashed); the loss is their squared difference.",
    "values", prediction="predicted next value", sep=" · ",
)  # fmt: skip


def wording_for(config: dict | None) -> Wording:
    """The wording of the task a ``TrainConfig.to_dict()`` describes (a character model's when None)."""
    cfg = config or {}
    task = cfg.get("task", "lm")
    if task == "echo":
        delay = int(cfg.get("delay", TrainConfig.delay))  # (a config saved without it had the default)
        ago = f"input from {delay} step{'' if delay == 1 else 's'} ago"
        return replace(
            _SINE, title=ago[0].upper() + ago[1:], target=ago, hint=f"the {ago}, as recalled",
            help=f"The value the network recalls (blue) against the {ago} (orange, dashed); the loss is their "
            "squared difference.", prediction="recalled value",
        )  # fmt: skip
    if task == "sine":
        return _SINE
    if task in _CLASSIFY:
        return _CLASSIFY[task]
    if task == "toy" or cfg.get("level") == "word":  # (the toy sentence is read word by word)
        return _next_token("word", "words", " ")
    if task == "lm":
        return _next_token("character", "characters", "")
    return _next_token("token", "tokens", "")
