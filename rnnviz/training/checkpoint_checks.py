"""What a run's checkpoint must hold, each fact checked before it is used (``training.checkpointing``).

The metadata: one table of every value with its type and range (``RUN_COUNTS``, ``NOTES``, the
settings' own declarations for ``train_config``, ``ModelConfig`` and ``Vocab`` for the rest), and the
model must be the one its settings build for its vocabulary. The arrays: each declared (its ``.npy``
header, see ``engine.checkpoint``) with the shape and dtype its model gives it, before any is read,
and finite once read. Every refusal is ``CheckpointError``: "corrupted" ("<file> is a damaged
checkpoint: ...") or "not_finite" (weights that went NaN or infinite: a diverged run).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from rnnviz.corpus import CorpusError, TaskSpec, Vocab
from rnnviz.engine import checkpoint
from rnnviz.engine.cells import get_cell
from rnnviz.engine.checkpoint import CheckpointError, Entry
from rnnviz.engine.config import ModelConfig, param_shapes
from rnnviz.training.config import SETTINGS, TrainConfig, model_config
from rnnviz.training.log import EVAL_COLUMNS, MAX_POINTS, STEP_COLUMNS, mechanism_columns
from rnnviz.training.settings import Setting

# -- the metadata, declared once: what each value is and the range it must be in ----------------------
# Every value is checked before any is used: a count from a file must not be able to make a load run
# for ever, overflow (the optimizer's beta ** step is a float power of the count), or raise anything but
# "damaged checkpoint". Counts are whole numbers of at most 2**63 - 1 (a step a nanosecond for 292 years).
MAX_COUNT = 2**63 - 1


def _count(label: str, help: str) -> Setting:
    return Setting(label, help, int, lo=0, hi=MAX_COUNT)


# What a run's checkpoint holds beyond the model (load_trainer reads these).
RUN_COUNTS = {
    "step": _count("Training step", "steps attempted so far, refused ones included"),
    "batches_used": _count("Data position", "batches of the training stream used so far"),
    "tokens_seen": _count("Tokens seen", "time steps trained on so far"),
    "opt_step": _count("Optimizer step", "updates the optimizer has applied"),
}
# Written for people and other tools and never read back into a run; of their type when present.
NOTES = {
    "progress": Setting("Epochs done", "epochs of data used so far", float, lo=0.0, optional=True),
    "lr": dataclasses.replace(SETTINGS["lr"], optional=True),
    "clip": dataclasses.replace(SETTINGS["clip"], optional=True),
    "task_title": Setting("Task title", "what the task is, in words", str, optional=True),
    "rnnviz_version": Setting("rnnviz version", "the version that wrote the file", str, optional=True),
}
# The random state of a NumPy Generator on PCG64 (``bit_generator.state``), each value's range.
_PCG64_STATE = {"state": 2**128, "inc": 2**128}
_PCG64 = {"has_uint32": 2, "uinteger": 2**32}


def check_values(meta: dict, table: dict[str, Setting], name: str) -> dict:
    """``meta``'s values of ``table``'s fields as their own type; raises "damaged checkpoint" naming the first
    that is missing, of another type or out of range."""
    try:
        return {key: s.check(key, meta.get(key)) for key, s in table.items()}
    except ValueError as e:
        raise checkpoint.damaged(name, str(e)) from e


def check_rng_state(state, name: str, what: str = "random state") -> dict:
    """``state`` if it is a PCG64 generator state as NumPy writes it (every number a whole number in its
    range: NumPy itself would truncate a float and overflow on a large int); else "damaged checkpoint"."""
    inner = state.get("state") if isinstance(state, dict) else None
    ok = (
        isinstance(state, dict)
        and state.keys() == {"bit_generator", "state", *_PCG64}
        and state["bit_generator"] == "PCG64"
        and isinstance(inner, dict)
        and inner.keys() == _PCG64_STATE.keys()
        and all(_whole(inner[k], hi) for k, hi in _PCG64_STATE.items())
        and all(_whole(state[k], hi) for k, hi in _PCG64.items())
    )
    if not ok:
        raise checkpoint.damaged(name, f"its {what} is not a random generator's state")
    return state


def check_data_place(place, name: str) -> dict | None:
    """``place`` (the file's "data_rng") if it is what ``BatchStream.saved`` writes: the batch its data
    stream restarts at and the data random state there; None for a file of an older rnnviz without it.
    Whether that batch fits the run's count needs the task (``checkpointing._resume_stream``)."""
    if place is None:
        return None
    at = place.get("at") if isinstance(place, dict) else None
    if not isinstance(place, dict) or place.keys() != {"at", "state"} or not _whole(at, MAX_COUNT + 1):
        raise checkpoint.damaged(name, "its place in the data (data_rng) is not what rnnviz writes")
    check_rng_state(place["state"], name, "data order's random state")
    return place


def _whole(value, below: int) -> bool:
    return type(value) is int and 0 <= value < below


@dataclass(frozen=True)
class Described:
    """What a file's metadata says the model is, checked to agree with itself."""

    train_config: TrainConfig
    model_cfg: ModelConfig
    vocab: Vocab | None
    class_names: tuple[str, ...]


def describe(meta: dict, name: str) -> Described:
    """The settings, model, vocabulary and class names of ``meta``, each checked for its type and range
    (by the declarations of ``TrainConfig``, ``ModelConfig`` and ``Vocab``) and for agreeing with each
    other: the model must be the one the settings build for that vocabulary (``model_config``), so a
    vocabulary of another size than the model, or a model of another size than its settings, is a
    damaged file, not a model that fails at its first step."""
    check_values(meta, NOTES, name)
    try:
        train_cfg = TrainConfig.from_dict(meta.get("train_config"))
    except (TypeError, ValueError) as e:
        raise checkpoint.damaged(name, f"its training settings cannot be used ({e})") from e
    try:
        model_cfg = ModelConfig.from_dict(meta.get("model"))
    except (TypeError, ValueError) as e:
        raise checkpoint.damaged(name, f"its model cannot be used ({e})") from e
    try:
        vocab = None if meta.get("vocab") is None else Vocab.from_dict(meta["vocab"])
    except CorpusError as e:
        raise checkpoint.damaged(name, f"its vocabulary cannot be used ({e})") from e
    class_names = meta.get("class_names", [])
    if not isinstance(class_names, list) or not all(isinstance(c, str) for c in class_names):
        raise checkpoint.damaged(name, "its class names are not a list of names")
    class_names = tuple(class_names)
    expected = _model_for(train_cfg, model_cfg, vocab, class_names, name)
    if expected != model_cfg:
        differ = [f for f, v in expected.to_dict().items() if model_cfg.to_dict()[f] != v]
        raise checkpoint.damaged(
            name, f"its model does not match its own settings and vocabulary (they differ in {', '.join(differ)})"
        )
    return Described(train_cfg, model_cfg, vocab, class_names)


def _model_for(
    train_cfg: TrainConfig, model_cfg: ModelConfig, vocab: Vocab | None, class_names: tuple[str, ...], name: str
) -> ModelConfig:
    """The model ``train_cfg`` builds for the data the file describes (its vocabulary, classes, outputs)."""
    tokens = model_cfg.input != "dense"
    if tokens != (vocab is not None):
        raise checkpoint.damaged(
            name, "its model reads tokens but it has no vocabulary" if tokens else "a model of numbers has a vocabulary"
        )
    if class_names and model_cfg.head != "classify":
        raise checkpoint.damaged(name, f"a {model_cfg.head} model has class names")
    out = {"lm": vocab.size if vocab else 0, "classify": len(class_names), "regress": model_cfg.output_size}
    try:
        spec = TaskSpec(
            name=train_cfg.task, title="", head=model_cfg.head, input_kind="tokens" if tokens else "dense",
            input_size=vocab.size if tokens else model_cfg.input_size, output_size=out[model_cfg.head],
            vocab=vocab, class_names=class_names,
        )  # fmt: skip
        return model_config(train_cfg, spec)
    except ValueError as e:
        raise checkpoint.damaged(name, f"its model does not fit its own data ({e})") from e


# -- the arrays: declared as the model says, before any is read ----------------------------------------
_LOG_COLUMNS = {"step": ("x", *STEP_COLUMNS), "eval": ("x", *EVAL_COLUMNS)}  # (see TrainingLog.arrays)
_STATE = re.compile(r"([hc])(\d{1,2})")  # state.h<layer>, state.c<layer>


def arrays_to_read(d: Described, entries: dict[str, Entry], name: str, run: bool) -> list[str]:
    """The arrays of ``entries`` a model needs (its weights and log) or, with ``run``, a run (its optimizer
    state and carried state too), each checked to be declared with the shape and dtype the model ``d``
    gives it; an array of ours that does not fit is a damaged checkpoint. Arrays of no kind rnnviz knows
    are left unread."""
    shapes = param_shapes(d.model_cfg)
    missing = [k for k in shapes if "param." + k not in entries]
    if missing:
        raise checkpoint.damaged(name, f"its weights {', '.join(missing)} are missing")
    names = []
    for key, entry in entries.items():
        kind = key.split(".", 1)[0]
        # the log too for a model alone: its history is what a reader shows of it (rnnviz serve's /stats)
        if kind in ("param", "log") or run and kind in ("opt", "state"):
            problem = _misfit(key, entry, d, shapes)
            if problem:
                raise checkpoint.damaged(name, f"{key} is {entry.shape} {entry.dtype}, {problem}")
            names.append(key)
    if run:
        _check_carried_state({k: entries[k] for k in names if k.startswith("state.")}, d.model_cfg, name)
    return names


def _misfit(key: str, entry: Entry, d: Described, shapes: dict[str, tuple[int, ...]]) -> str | None:
    """What is wrong with array ``key`` as declared (None: it fits the model)."""
    cfg = d.model_cfg
    kind, _, rest = key.partition(".")
    if kind in ("param", "opt"):
        param = rest if kind == "param" else rest.partition(".")[2]  # opt.<slot>.<param>
        if param not in shapes:
            return "not a weight of this model"
        if entry.shape != shapes[param] or entry.dtype != cfg.np_dtype:  # (int64 or complex weights too)
            return f"where this model has {shapes[param]} {cfg.np_dtype}"
        return None
    if kind == "state":
        m = _STATE.fullmatch(rest)
        if not m or int(m[2]) >= cfg.num_layers or m[1] == "c" and not get_cell(cfg.cell).HAS_CELL_STATE:
            return "not a carried state of this model"
        rows = entry.shape[0] if len(entry.shape) == 2 else 0  # one row per stream: 1 .. batch size
        if not 1 <= rows <= d.train_config.batch_size or entry.shape[1] != cfg.hidden_size:
            return f"where this model carries (1 to {d.train_config.batch_size}, {cfg.hidden_size})"
        return None if entry.dtype == cfg.np_dtype else f"where this model carries {cfg.np_dtype}"
    group, _, column = rest.partition(".")  # log.step.<column>, log.eval.<column>, log.mech.<column>
    columns = ("x", *mechanism_columns(get_cell(cfg.cell).GATES)) if group == "mech" else _LOG_COLUMNS.get(group, ())
    if column not in columns:
        return "not a column of the training history"
    if len(entry.shape) != 1 or entry.shape[0] > MAX_POINTS or entry.dtype.kind not in "fiu":
        return f"where the training history keeps at most {MAX_POINTS:,} numbers a column"
    return None


def _check_carried_state(states: dict[str, Entry], cfg: ModelConfig, name: str) -> None:
    """None at all, or an h (and for the LSTM a c) for every layer, all of one shape."""
    if not states:
        return
    letters = "hc" if get_cell(cfg.cell).HAS_CELL_STATE else "h"
    want = {f"state.{x}{layer}" for layer in range(cfg.num_layers) for x in letters}
    if set(states) != want or len({e.shape for e in states.values()}) != 1:
        raise checkpoint.damaged(name, "its carried hidden state does not fit the model")


def not_finite(arrays: dict[str, np.ndarray]) -> str:
    """The arrays of a run holding NaN or infinite numbers, named for a message ("" when none does). Its
    training history is not judged: a refused step's loss is NaN there, and says so."""
    bad = [k for k, a in arrays.items() if not k.startswith("log.") and not np.isfinite(a).all()]
    return ", ".join(bad[:4]) + (" ..." if len(bad) > 4 else "")


def check_finite(arrays: dict[str, np.ndarray], name: str) -> None:
    """Refuse weights, optimizer or carried state that are not finite: such a model can never train
    (every step is refused) and its outputs are NaN. ``CheckpointError("not_finite")``."""
    bad = not_finite(arrays)
    if bad:
        raise CheckpointError(
            "not_finite",
            f"{name} holds a model that is not finite: {bad} contain NaN or infinite numbers (the run had "
            "diverged). Use an earlier checkpoint, or train again with a lower learning rate or clipping.",
        )
