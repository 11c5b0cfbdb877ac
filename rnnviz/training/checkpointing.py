"""Saving and restoring a whole training run (weights, optimizer, carried state, random streams).

The file is an engine checkpoint (``rnnviz.engine.checkpoint``: npz + JSON, no pickle, atomic):

    arrays   param.<name>, opt.<slot>.<name>, state.h<layer>, state.c<layer>,
             log.step.<column>, log.eval.<column> (the training history, see ``log``; absent in older files)
    meta     {"train_config", "model", "vocab", "class_names", "step", "batches_used", "tokens_seen",
              "progress", "opt_step", "rng", "rnnviz_version"}

Resuming replays the data order from its seed up to the saved batch (cheap: making a batch is a copy),
so training continues bit for bit as if it had never stopped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from rnnviz import __version__
from rnnviz.corpus import Task, Vocab
from rnnviz.engine import checkpoint
from rnnviz.engine.cells import get_cell
from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.engine.config import ModelConfig, param_shapes
from rnnviz.engine.optim import Optimizer
from rnnviz.engine.runtime import Runtime
from rnnviz.training.config import TrainConfig, optim_config
from rnnviz.training.log import TrainingLog
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
    name: str = ""  # the file's name, for messages

    def training_log(self) -> TrainingLog:
        """The loss and validation history saved with the run (empty for files older than the log).
        Raises ``CheckpointError("corrupted")`` when it is there but malformed."""
        try:
            return TrainingLog.from_arrays(self.arrays)
        except ValueError as e:
            raise CheckpointError("corrupted", f"{self.name} is damaged: {e}.") from e


# What a run's checkpoint must hold beyond the model (load_trainer), and the JSON type of each.
RUN_META = {"step": int, "batches_used": int, "tokens_seen": int, "opt_step": int, "rng": dict}


def load_model(path: str | os.PathLike) -> SavedModel:
    """Read the weights and what they mean. Raises ``CheckpointError`` (kind in its ``kind``)."""
    arrays, meta = checkpoint.load(path)
    name = os.path.basename(os.fspath(path))
    try:
        train_cfg = TrainConfig.from_dict(meta["train_config"])
        model_cfg = ModelConfig.from_dict(meta["model"])
        vocab = None if meta.get("vocab") is None else Vocab.from_dict(meta["vocab"])
        class_names = tuple(meta.get("class_names", ()))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError("corrupted", f"{name} is damaged: its settings cannot be read ({e}).") from e
    params = {k[len("param.") :]: v for k, v in arrays.items() if k.startswith("param.")}
    checkpoint.check_compatible(params, param_shapes(model_cfg), "model described in the same file")
    return SavedModel(train_cfg, model_cfg, params, vocab, class_names, meta, arrays, name)


def check_same_vocabulary(saved: Vocab | None, current: Vocab | None, name: str, data: str = "this text") -> None:
    """Raise ``CheckpointError("incompatible")`` unless the model's vocabulary is the data's."""
    if saved is not None and current is not None and saved.to_dict() != current.to_dict():
        raise CheckpointError(
            "incompatible",
            f"{name} was trained on data with a different vocabulary ({saved.size} tokens; {data} has "
            f"{current.size}). Use the data it was trained on.",
        )


def _run_state(saved: SavedModel, name: str) -> tuple[dict, dict[str, np.ndarray], list | None]:
    """The optimizer state and carried hidden state of a run checkpoint, checked against its model."""
    meta, arrays, cfg = saved.meta, saved.arrays, saved.model_cfg
    for key, kind in RUN_META.items():
        if not isinstance(meta.get(key), kind):
            raise CheckpointError("corrupted", f"{name} is damaged: its training progress ({key}) is missing.")
    shapes = param_shapes(cfg)
    opt_state = {k[len("opt.") :]: v for k, v in arrays.items() if k.startswith("opt.")}
    for key, value in opt_state.items():
        param = key.split(".", 1)[1] if "." in key else ""
        if param not in shapes or value.shape != shapes[param]:
            raise CheckpointError("corrupted", f"{name} is damaged: optimizer state {key} does not fit the model.")
    state = None
    if "state.h0" in arrays:
        state = []
        for layer in range(cfg.num_layers):
            h, c = arrays.get(f"state.h{layer}"), arrays.get(f"state.c{layer}")
            ok = h is not None and h.ndim == 2 and h.shape[1] == cfg.hidden_size
            has_c = get_cell(cfg.cell).HAS_CELL_STATE
            ok = ok and (c is None if not has_c else c is not None and c.shape == h.shape)
            if not ok:
                raise CheckpointError("corrupted", f"{name} is damaged: its carried hidden state does not fit.")
            state.append((h, c))
    return meta, opt_state, state


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
    log = saved.training_log()
    cfg = saved.train_config if corpus is None else saved.train_config.replace(corpus=corpus)
    trainer = Trainer(cfg, task, runtime=runtime)
    check_same_vocabulary(saved.vocab, trainer.task.spec.vocab, name)
    if trainer.model_cfg != saved.model_cfg:
        raise CheckpointError("incompatible", f"{name} holds a different model than these settings describe.")
    trainer.params = saved.params
    trainer.opt = Optimizer(optim_config(cfg), meta["opt_step"], opt_state)
    trainer.state = state
    try:
        trainer.rng.bit_generator.state = meta["rng"]
    except (TypeError, ValueError, KeyError) as e:
        raise CheckpointError("corrupted", f"{name} is damaged: its random state cannot be restored.") from e
    trainer._skip_batches(meta["batches_used"])
    trainer.step = meta["step"]
    trainer.tokens_seen = meta["tokens_seen"]
    trainer.log = log
    return trainer
