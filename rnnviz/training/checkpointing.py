"""Saving and restoring a whole training run (weights, optimizer, carried state, random streams).

The file is an engine checkpoint (``rnnviz.engine.checkpoint``: npz + JSON, no pickle, atomic):

    arrays   param.<name>, opt.<slot>.<name>, state.h<layer>, state.c<layer>,
             log.step.<column>, log.eval.<column> (the training history, see ``log``; absent in older files)
    meta     {"train_config", "model", "vocab", "class_names", "step", "batches_used", "tokens_seen",
              "progress", "opt_step", "rng", "data_rng", "rnnviz_version", ...}

Resuming restarts the data order at the saved batch from the random state kept for it ("data_rng",
see ``training.stream``), so training continues bit for bit as if it had never stopped, at the cost of
one batch whatever the step. Files of an older rnnviz kept no such state: their data order is replayed
from its seed, up to LEGACY_REPLAY batches.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np

from rnnviz import __version__
from rnnviz.corpus import CorpusError, Task, TaskSpec, Vocab
from rnnviz.engine import checkpoint
from rnnviz.engine.cells import get_cell
from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.engine.config import ModelConfig, param_shapes
from rnnviz.engine.optim import Optimizer
from rnnviz.engine.runtime import Runtime
from rnnviz.training.config import SETTINGS, TrainConfig, model_config, optim_config
from rnnviz.training.log import TrainingLog
from rnnviz.training.settings import Setting
from rnnviz.training.stream import BatchStream
from rnnviz.training.trainer import Trainer


def save_trainer(trainer: Trainer, path: str | os.PathLike) -> None:
    """Write the run to ``path`` atomically (the previous file stays intact if anything fails)."""
    arrays = {f"param.{k}": v for k, v in trainer.params.items()}
    arrays.update({f"opt.{k}": v for k, v in trainer.opt.state.items()})
    arrays.update(trainer.log.arrays())
    if trainer.state is not None:
        for layer, (h, c) in enumerate(trainer.state):
            arrays[f"state.h{layer}"] = h
            if c is not None:
                arrays[f"state.c{layer}"] = c
    spec = trainer.task.spec
    meta = {
        "train_config": trainer.cfg.to_dict(),
        "model": trainer.model_cfg.to_dict(),
        "vocab": None if spec.vocab is None else spec.vocab.to_dict(),
        "class_names": list(spec.class_names),
        "task_title": spec.title,
        "step": trainer.step,
        "batches_used": trainer.batches_used,
        "tokens_seen": trainer.tokens_seen,
        "progress": trainer.progress,
        "opt_step": trainer.opt.step,
        "lr": trainer.opt.config.lr,
        "clip": str(trainer.clip),
        "rng": trainer.rng.bit_generator.state,
        "data_rng": trainer.stream.saved(),
        "rnnviz_version": __version__,
    }
    checkpoint.save(path, arrays, meta)


@dataclass(frozen=True)
class SavedModel:
    """What generation and evaluation need from a checkpoint, without the training data."""

    train_config: TrainConfig
    model_cfg: ModelConfig
    params: dict[str, np.ndarray]
    vocab: Vocab | None
    class_names: tuple[str, ...]
    meta: dict
    arrays: dict[str, np.ndarray]  # everything in the file (optimizer and carried state too)


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


def _whole(value, below: int) -> bool:
    return type(value) is int and 0 <= value < below


@dataclass(frozen=True)
class _Described:
    """What a file's metadata says the model is, checked to agree with itself."""

    train_config: TrainConfig
    model_cfg: ModelConfig
    vocab: Vocab | None
    class_names: tuple[str, ...]


def describe(meta: dict, name: str) -> _Described:
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
    return _Described(train_cfg, model_cfg, vocab, class_names)


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


def load_model(path: str | os.PathLike) -> SavedModel:
    """Read the weights and what they mean. Raises ``CheckpointError`` (kind in its ``kind``)."""
    arrays, meta = checkpoint.load(path)
    name = os.path.basename(os.fspath(path))
    d = describe(meta, name)
    params = {k[len("param.") :]: v for k, v in arrays.items() if k.startswith("param.")}
    checkpoint.check_compatible(params, param_shapes(d.model_cfg), "model described in the same file")
    return SavedModel(d.train_config, d.model_cfg, params, d.vocab, d.class_names, meta, arrays)


def check_same_vocabulary(saved: Vocab | None, current: Vocab | None, name: str, data: str = "this text") -> None:
    """Raise ``CheckpointError("incompatible")`` unless the model's vocabulary is the data's."""
    if saved is not None and current is not None and saved.to_dict() != current.to_dict():
        sizes = (
            f"{saved.size} tokens; {data} has {current.size}"
            if saved.size != current.size
            else f"{data} has as many tokens, {current.size}, but not the same ones or not read the same way"
        )
        raise CheckpointError(
            "incompatible",
            f"{name} was trained on data with a different vocabulary ({sizes}). Use the data it was trained on.",
        )


def _run_state(saved: SavedModel, name: str) -> tuple[dict, dict[str, np.ndarray], list | None]:
    """The optimizer state and carried hidden state of a run checkpoint, checked against its model."""
    meta, arrays, cfg = saved.meta, saved.arrays, saved.model_cfg
    meta = {**meta, **check_values(meta, RUN_COUNTS, name), "rng": check_rng_state(meta.get("rng"), name)}
    shapes = param_shapes(cfg)
    opt_state = {k[len("opt.") :]: v for k, v in arrays.items() if k.startswith("opt.")}
    for key, value in opt_state.items():
        param = key.split(".", 1)[1] if "." in key else ""
        if param not in shapes or value.shape != shapes[param]:
            raise checkpoint.damaged(name, f"optimizer state {key} does not fit the model")
    state = None
    if "state.h0" in arrays:
        state = []
        for layer in range(cfg.num_layers):
            h, c = arrays.get(f"state.h{layer}"), arrays.get(f"state.c{layer}")
            ok = h is not None and h.ndim == 2 and h.shape[1] == cfg.hidden_size
            has_c = get_cell(cfg.cell).HAS_CELL_STATE
            ok = ok and (c is None if not has_c else c is not None and c.shape == h.shape)
            if not ok:
                raise checkpoint.damaged(name, "its carried hidden state does not fit")
            state.append((h, c))
    return meta, opt_state, state


# Files without "data_rng" (older rnnviz) replay their data order from the seed, batch by batch: at
# most this many (3.5-46 us a batch across the tasks, measured: a few seconds), so no file can make a
# load run for hours.
LEGACY_REPLAY = 100_000


def _resume_stream(trainer: Trainer, position: int, saved, name: str, own_data: bool) -> BatchStream:
    """The run's data stream at batch ``position``, restarted from the random state the file kept for
    it; with other data than the run's own (``own_data`` False) the state is used as it is, since the
    batches differ anyway."""
    task = trainer.task
    if saved is None:
        if position > LEGACY_REPLAY:
            raise CheckpointError(
                "incompatible",
                f"{name} was saved by an older rnnviz that did not keep its place in the data; resuming it "
                f"would replay {position:,} batches one by one, and this version replays at most "
                f"{LEGACY_REPLAY:,}. Its model still works for rnnviz eval and generate.",
            )
        for _ in range(position):  # the fresh trainer's stream, from the seed
            trainer.next_batch()
        return trainer.stream
    at = saved.get("at") if isinstance(saved, dict) else None
    if not isinstance(saved, dict) or saved.keys() != {"at", "state"} or type(at) is not int:
        raise checkpoint.damaged(name, "its place in the data (data_rng) is not what rnnviz writes")
    if own_data and at != task.restart_point(position):
        raise checkpoint.damaged(
            name, f"its place in the data (batch {at:,}) does not fit its batch count {position:,}"
        )
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = check_rng_state(saved["state"], name, "data order's random state")
    return BatchStream(task, rng, position)


def load_trainer(
    path: str | os.PathLike, task: Task | None = None, corpus: str | None = None, runtime: Runtime | None = None
) -> Trainer:
    """Rebuild a run from a checkpoint and continue exactly where it stopped.

    The task is rebuilt from the saved settings (``corpus`` overrides the saved corpus path) unless
    given. Raises ``CheckpointError``: "incompatible" when the task's vocabulary or shapes differ from
    the saved ones, "corrupted" when the run's progress or state is missing or malformed (and the
    kinds of :func:`load_model`); ``CorpusError`` when the corpus cannot be loaded.
    """
    saved = load_model(path)
    name = os.path.basename(os.fspath(path))
    meta, opt_state, state = _run_state(saved, name)  # checked before the (slower) data loading
    try:
        log = TrainingLog.from_arrays(saved.arrays)
    except ValueError as e:
        raise checkpoint.damaged(name, str(e)) from e
    cfg = saved.train_config if corpus is None else saved.train_config.replace(corpus=corpus)
    trainer = Trainer(cfg, task, runtime=runtime)
    check_same_vocabulary(saved.vocab, trainer.task.spec.vocab, name)
    if trainer.model_cfg != saved.model_cfg:
        raise CheckpointError("incompatible", f"{name} holds a different model than these settings describe.")
    trainer.params = saved.params
    trainer.opt = Optimizer(optim_config(cfg), meta["opt_step"], opt_state)
    trainer.state = state
    trainer.rng.bit_generator.state = meta["rng"]  # (checked by _run_state)
    trainer.stream = _resume_stream(trainer, meta["batches_used"], meta.get("data_rng"), name, corpus is None)
    trainer.progress = trainer.stream.progress
    trainer.step = meta["step"]
    trainer.tokens_seen = meta["tokens_seen"]
    trainer.log = log
    return trainer
