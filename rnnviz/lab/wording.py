"""What the sequence panels call things, per task: the one table of wording (no Qt here).

A language model predicts the next token, the names classifier a language, the sine task the next
value: the panel that shows the network's output (its dock title, axis, captions) and the text strip
say which, from this table only. A new task (or a new level, "Next word") adds one entry here.

    wording_for(info.config)       # the ModelInfo's TrainConfig.to_dict(): its task (and level)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskWording:
    title: str  # the output panel's dock title: "Next token", "Predicted language"
    axis: str  # the bars' (or curve's) x axis: "next token", "language"
    truth: str  # what the orange bar is, before its label: "true next" -> "true next: 'e'"
    hint: str  # the empty panel's hint: what it will show
    steps: str  # what one time step reads, plural: "tokens", "characters", "values"
    help: str  # the panel's tooltip
    # the caption's words after "after 3 characters (last 's')" for a classifier, whose answer at each
    # step is the one it would give if the sequence ended there ("" for the others)
    per_step: str = ""


NEXT_TOKEN = TaskWording(
    "Next token", "next token", "true next", "what the network expects next", "tokens",
    "The probability the network gives each possible next token after reading up to the chosen step (the bars "
    "add up to 1 over the whole vocabulary; only the most likely are shown). Orange is the token that really "
    "came next: -log p is the loss the network pays for it.",
)  # fmt: skip

WORDING: dict[str, TaskWording] = {
    "lm": NEXT_TOKEN,
    "toy": NEXT_TOKEN,
    "classify": TaskWording(
        "Predicted language",
        "language",
        "true language",
        "the language the network guesses for the name",
        "characters",
        "The probability the network gives each language after reading the name up to the chosen step: the "
        "classifier's head applied to that step's hidden state, as if the name ended there (in training only "
        "the last step's answer counts). Orange is the name's true language: -log p is the loss it pays at the "
        "end of the name.",
        per_step="if the name ended here",
    ),
    "longrange": TaskWording(
        "Predicted symbol",
        "symbol",
        "true symbol",
        "the symbol the network says it saw first",
        "tokens",
        "The probability the network gives each symbol after reading up to the chosen step, as if the sequence "
        "ended there (only the answer at the end is trained). Orange is the symbol that was really first.",
        per_step="if the sequence ended here",
    ),
    "sine": TaskWording(
        "Next value",
        "time step t",
        "true next value",
        "the value the network predicts next",
        "values",
        "The value the network predicts for the next step (blue) against the true next value of the wave "
        "(orange, dashed); the loss is their squared difference.",
    ),
}


def wording_for(config: dict | None) -> TaskWording:
    """The wording of the task a ``TrainConfig.to_dict()`` describes (a language model's when unknown)."""
    task = (config or {}).get("task", "lm")
    return WORDING.get(task, NEXT_TOKEN)
