"""Two runs in lockstep: A and B on the same batches, differing in one setting the user picks.

    a, b = comparison(TrainConfig(cell="rnn"), {"cell": "lstm"})     # from scratch
    b = a.fork(a.cfg.replace(clip="norm:1"))                         # or from A's current step
    pair = Lockstep(a, b)
    ra, rb = pair.step()                                              # one update each, one batch

Why lockstep on one batch: a comparison must differ only in the setting compared. With identical
batches (and, where the architectures agree, identical initial weights: the same seed draws the same
numbers for the same shapes) the two curves differ because of the setting, not because of the data
order. A run whose step was refused (a NaN or an infinity: the lesson's diverged run) is left where
it stopped and the other goes on: ``Lockstep.step`` then returns None for it.

The same code serves the app (``rnnviz.lab``, runs "A" and "B") and ``rnnviz compare``.
"""

from __future__ import annotations

from rnnviz.training.config import DATA_FIELDS, LIVE_FIELDS, SETTINGS, TrainConfig
from rnnviz.training.trainer import StepReport, Trainer


def parse_change(text: str) -> tuple[str, object]:
    """``"clip=norm:1"`` -> ``("clip", "norm:1")``; the name is a TrainConfig setting (its field name,
    or its flag without dashes), the value of that setting's type. Raises ``ValueError`` in plain words."""
    name, sep, value = text.partition("=")
    name = name.strip().lstrip("-").replace("-", "_")
    if not sep or not name:
        raise ValueError(f"a change is written name=value (e.g. clip=norm:1), not {text!r}")
    by_flag = {s.flag.lstrip("-").replace("-", "_"): n for n, s in SETTINGS.items() if s.flag}
    name = by_flag.get(name, name)
    if name not in SETTINGS:
        raise ValueError(f"no setting is called {name!r}; settings: {', '.join(sorted(changeable()))}")
    kind = SETTINGS[name].kind
    value = value.strip()
    try:
        if kind is bool:
            if value.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError
            parsed: object = value.lower() in ("true", "1", "yes", "on")
        elif kind is str:
            parsed = value
        else:
            parsed = kind(value)
    except ValueError:
        raise ValueError(f"{name} must be {kind.__name__}, not {value!r}") from None
    return name, parsed


def changeable() -> tuple[str, ...]:
    """The settings B may differ in: everything but the data (both runs must see the same batches)."""
    return tuple(n for n in SETTINGS if n not in DATA_FIELDS and n != "seed")


def check_changes(changes: dict) -> None:
    """Refuse a comparison that could not compare: data settings, the seed, unknown names, nothing."""
    if not changes:
        raise ValueError("B must differ from A in at least one setting")
    for name in changes:
        if name not in SETTINGS:
            raise ValueError(f"no setting is called {name!r}")
        if name not in changeable():
            raise ValueError(
                f"{SETTINGS[name].label.lower()} ({name}) cannot differ between A and B: both runs train on the "
                "same batches from the same seed"
            )


def comparison(cfg: TrainConfig, changes: dict, task=None, runtime=None) -> tuple[Trainer, Trainer]:
    """A new run A with ``cfg`` and B with ``changes`` applied, from scratch, sharing one task.

    Raises ``ValueError`` for a change that is not allowed (``check_changes``) or not valid."""
    check_changes(changes)
    cfg_b = cfg.replace(**changes)
    if cfg_b == cfg:
        raise ValueError("B's settings are the same as A's: nothing would be compared")
    a = Trainer(cfg, task, runtime=runtime)
    b = Trainer(cfg_b, a.task, runtime=runtime)
    b.stream = a.stream  # one stream; the first live run draws from it (see Lockstep)
    return a, b


def fork(a: Trainer, changes: dict) -> Trainer:
    """B: ``a`` at its current step with live ``changes`` (clipping, learning rate) from now on."""
    check_changes(changes)
    not_live = sorted(set(changes) - set(LIVE_FIELDS))
    if not_live:
        live = " or ".join(SETTINGS[n].label.lower() for n in LIVE_FIELDS)
        raise ValueError(
            f"a running model can only fork with another {live}; start a comparison from scratch to change "
            + ", ".join(not_live)
        )
    return a.fork(a.cfg.replace(**changes))


def toggled_clip(clip: str, threshold: float) -> str:
    """The clipping that "Compare" gives B: off <-> by norm at the shown threshold."""
    return f"norm:{threshold:g}" if clip == "off" else "off"


class Lockstep:
    """Runs that take their steps together on one batch each step (drawn by the first live run)."""

    def __init__(self, *trainers: Trainer):
        self.trainers = trainers
        self.stopped = [False] * len(trainers)  # a refused step stops that run; the others go on

    @property
    def any_live(self) -> bool:
        return not all(self.stopped)

    def step(self, **trace_options) -> list[StepReport | None]:
        """One update of every live run on the same batch; None for a run stopped before this step."""
        batch = None
        reports: list[StepReport | None] = []
        for k, t in enumerate(self.trainers):
            if self.stopped[k]:
                reports.append(None)
                continue
            if batch is None:
                batch = t.next_batch()
            r = t.train_step(batch=batch, **trace_options)
            if not r.applied:
                self.stopped[k] = True
            reports.append(r)
        return reports
