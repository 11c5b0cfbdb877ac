"""How a training setting is declared: once, beside its ``TrainConfig`` field.

    hidden: int = setting(128, "Hidden units", "hidden units per layer", flag="--hidden", lo=1, hi=4096)

One :class:`Setting` carries everything the front ends need: the label and the help text, the
allowed range or choices (checked by ``TrainConfig`` itself, so a bad value from the command line,
the app or a checkpoint is refused with the same words), the command-line flag, where the settings
panel shows it, and whether it is applied live or waits for a new model. The CLI parser
(``cli_train``), the settings panel (``gui/controls.py``) and the checkpoint metadata are all built
from these declarations; no front end lists the fields again.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# the command line's option groups, in order
GROUPS = ("task", "model", "optimisation")


class _Default:
    """``Setting.absent``'s "nothing declared": a saved configuration without the field means the default."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default()


@dataclass(frozen=True)
class Setting:
    label: str  # the settings panel's label, and how "waiting for Reset" names the field
    help: str  # the CLI's help and the panel's tooltip: one plain sentence
    kind: type  # int, float, str or bool (None is allowed when ``optional``)
    flag: str | None = None  # the CLI option, e.g. "--batch"; None: no option (or a positional)
    metavar: str | None = None  # how the CLI's help writes the value (default: N, X or the choices)
    group: str = "model"  # the CLI's option group (GROUPS)
    choices: tuple[str, ...] = ()  # allowed values of a str setting
    choice_labels: tuple[str, ...] = ()  # how the panel shows each choice (default: the value)
    lo: float | None = None  # inclusive range of a number
    hi: float | None = None
    optional: bool = False  # None is allowed (meaning: the default behaviour the help describes)
    decimals: int = 3  # float settings: digits the panel shows
    # Shown in the settings panel, for the configurations this returns True for (None: never shown):
    # a field that a task ignores is not shown for it.
    panel: Callable[[object], bool] | None = None
    live: bool = False  # applied to a running model from the next step (no new model needed)
    data: bool = False  # read by build_task: two configurations that agree on these share a loaded task
    resume: bool = False  # the CLI may change it when resuming a run (else the run's own value is kept)
    # What a saved configuration without this field meant: one written before the setting existed ran
    # that way, and a checkpoint must be rebuilt as it was trained. DEFAULT: the setting's default.
    absent: object = DEFAULT

    def check(self, name: str, value):
        """``value`` as the setting's own type (an integer-valued NumPy number becomes an ``int``, an
        ``int`` given for a float a ``float``); raises ``ValueError`` naming the setting unless allowed."""
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"{self.label.lower()} ({name}) must be given")
        kind = self.kind
        if kind is bool:
            ok = isinstance(value, (bool, np.bool_))
        elif kind is int:
            ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
        elif kind is float:
            ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        else:
            ok = isinstance(value, kind)
        if not ok:
            raise ValueError(f"{self.label.lower()} ({name}) must be {_KIND_WORDS[kind]}, not {value!r}")
        try:
            value = kind(value)
        except OverflowError:  # a whole number beyond any float (10**400, from a file) for a float setting
            raise ValueError(f"{self.label.lower()} ({name}) must be a finite number, not one that large") from None
        if kind is float and not math.isfinite(value):
            raise ValueError(f"{self.label.lower()} ({name}) must be a finite number, not {value!r}")
        if self.choices and value not in self.choices:
            raise ValueError(f"{self.label.lower()} ({name}) must be one of {', '.join(self.choices)}, not {value!r}")
        if self.lo is not None and value < self.lo or self.hi is not None and value > self.hi:
            raise ValueError(f"{self.label.lower()} ({name}) must be in {self.range_text()}, not {value!r}")
        return value

    def range_text(self) -> str:
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        return f"[{lo}, {hi}]"

    def label_of(self, value) -> str:
        """How the panel shows a choice."""
        if self.choice_labels and value in self.choices:
            return self.choice_labels[self.choices.index(value)]
        return str(value)


_KIND_WORDS = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}


def setting(default, label: str, help: str, **declared):
    """A dataclass field with its :class:`Setting` (the kind is the default's type unless given)."""
    kind = declared.pop("kind", None) or type(default)
    return dataclasses.field(default=default, metadata={"setting": Setting(label, help, kind, **declared)})


def settings_of(cls) -> dict[str, Setting]:
    """Every declared field of a config dataclass and its :class:`Setting`, in declaration order."""
    return {f.name: f.metadata["setting"] for f in dataclasses.fields(cls) if "setting" in f.metadata}


def with_absent(cls, d: dict) -> dict:
    """``d`` with every declared field it lacks that has an ``absent`` value (a configuration saved
    before that setting existed), so it is read as it was meant, not with today's default."""
    missing = {n: s.absent for n, s in settings_of(cls).items() if n not in d and s.absent is not DEFAULT}
    return {**missing, **d}


def check_known(cls, d: dict, what: str) -> None:
    """Refuse keys of ``d`` that ``cls`` has no field for, naming them (a typo or a newer file)."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"unknown {what}: {', '.join(unknown)}")
