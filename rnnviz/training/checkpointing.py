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

import os
from dataclasses import dataclass

import numpy as np

from rnnviz import __version__
from rnnviz.corpus import Task, Vocab
from rnnviz.engine import checkpoint
from rnnviz.engine.cells import get_cell
from rnnviz.engine.checkpoint import CheckpointError
from rnnviz.engine.config import ModelConfig
from rnnviz.engine.optim import Optimizer
from rnnviz.engine.runtime import Runtime
from rnnviz.training.checkpoint_checks import (
    RUN_COUNTS,
    arrays_to_read,
    check_data_place,
    check_finite,
    check_rng_state,
    check_values,
    describe,
    not_finite,
)
from rnnviz.training.config import TrainConfig, optim_config
from rnnviz.training.log import TrainingLog
from rnnviz.training.stream import BatchStream
from rnnviz.training.trainer import Trainer


def save_trainer(trainer: Trainer, path: str | os.PathLike) -> None:
    """Write the run to ``path`` atomically (the previous file stays intact if anything fails).

    A run whose weights, optimizer or carried state are not finite is not saved (it could never train
    again, and loading refuses it): ``CheckpointError("not_finite")``, and ``path`` is left as it was."""
    arrays = {f"param.{k}": v for k, v in trainer.params.items()}
    arrays.update({f"opt.{k}": v for k, v in trainer.opt.state.items()})
    arrays.update(trainer.log.arrays())
    if trainer.state is not None:
        for layer, (h, c) in enumerate(trainer.state):
            arrays[f"state.h{layer}"] = h
            if c is not None:
                arrays[f"state.c{layer}"] = c
    bad = not_finite(arrays)
    if bad:
        raise CheckpointError(
            "not_finite",
            f"Not saved: {bad} of this run contain NaN or infinite numbers, and such a model can never train "
            f"again; {os.path.basename(os.fspath(path))} is left as it was.",
        )
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
    arrays: dict[str, np.ndarray]  # every array read (for a run: optimizer and carried state, log too)
    name: str = ""  # the file's name, for messages

    def training_log(self) -> TrainingLog:
        """The loss and validation history saved with the run (empty for files older than the log).
        Raises ``CheckpointError("corrupted")`` when it is there but malformed."""
        try:
            return TrainingLog.from_arrays(self.arrays, get_cell(self.model_cfg.cell).GATES)
        except ValueError as e:
            raise checkpoint.damaged(self.name, str(e)) from e


def load_model(path: str | os.PathLike) -> SavedModel:
    """Read the weights and what they mean. Raises ``CheckpointError`` (kind in its ``kind``: a model that
    is not finite is "not_finite")."""
    return _read(path, run=False)


def _read(path: str | os.PathLike, run: bool) -> SavedModel:
    """A model's (``run``: a whole run's) metadata and arrays, every fact checked before the next is used:
    the metadata, then each array's declaration against the model, then the arrays read, then finite
    (``checkpoint_checks``). Nothing is returned that a step would fail on."""
    name = os.path.basename(os.fspath(path))
    with checkpoint.open_checkpoint(path) as ck:
        meta = ck.meta
        d = describe(meta, name)
        if run:
            meta = {
                **meta, **check_values(meta, RUN_COUNTS, name), "rng": check_rng_state(meta.get("rng"), name),
                "data_rng": check_data_place(meta.get("data_rng"), name),
            }  # fmt: skip
        arrays = ck.read(arrays_to_read(d, ck.entries, name, run))
    check_finite(arrays, name)
    params = {k[len("param.") :]: v for k, v in arrays.items() if k.startswith("param.")}
    return SavedModel(d.train_config, d.model_cfg, params, d.vocab, d.class_names, meta, arrays, name)


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


def _run_state(saved: SavedModel) -> tuple[dict[str, np.ndarray], list | None]:
    """The optimizer state and carried hidden state of a run (checked by ``_read``)."""
    arrays, cfg = saved.arrays, saved.model_cfg
    opt_state = {k[len("opt.") :]: v for k, v in arrays.items() if k.startswith("opt.")}
    if "state.h0" not in arrays:
        return opt_state, None
    return opt_state, [(arrays[f"state.h{layer}"], arrays.get(f"state.c{layer}")) for layer in range(cfg.num_layers)]


# Files without "data_rng" (older rnnviz) replay their data order from the seed, batch by batch: at
# most this many (3.5-46 us a batch across the tasks, measured: a few seconds), so no file can make a
# load run for hours.
LEGACY_REPLAY = 100_000


def _resume_stream(trainer: Trainer, position: int, saved: dict | None, name: str, own_data: bool) -> BatchStream:
    """The run's data stream at batch ``position``, restarted from the place the file kept for it
    (``saved``, checked by ``check_data_place``); with other data than the run's own (``own_data``
    False) its random state is used as it is, since the batches differ anyway."""
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
    if own_data and saved["at"] != task.restart_point(position):
        raise checkpoint.damaged(
            name, f"its place in the data (batch {saved['at']:,}) does not fit its batch count {position:,}"
        )
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = saved["state"]
    return BatchStream(task, rng, position)


def load_trainer(
    path: str | os.PathLike, task: Task | None = None, corpus: str | None = None, runtime: Runtime | None = None
) -> Trainer:
    """Rebuild a run from a checkpoint and continue exactly where it stopped.

    The task is rebuilt from the saved settings (``corpus`` overrides the saved corpus path) unless
    given. Raises ``CheckpointError``: "incompatible" when the task's vocabulary or shapes differ from
    the saved ones, "corrupted" when the run's progress or state is missing or malformed, "not_finite"
    when its weights or state are (and the kinds of :func:`load_model`); ``CorpusError`` when the
    corpus cannot be loaded. Nothing else is changed: a refused load leaves the caller's run as it was.
    """
    saved = _read(path, run=True)  # everything checked before the (slower) data loading
    name, meta = os.path.basename(os.fspath(path)), saved.meta
    opt_state, state = _run_state(saved)
    log = saved.training_log()
    cfg = saved.train_config if corpus is None else saved.train_config.replace(corpus=corpus)
    trainer = Trainer(cfg, task, runtime=runtime)
    check_same_vocabulary(saved.vocab, trainer.task.spec.vocab, name)
    if trainer.model_cfg != saved.model_cfg:
        raise CheckpointError("incompatible", f"{name} holds a different model than these settings describe.")
    trainer.params = saved.params
    trainer.opt = Optimizer(optim_config(cfg), meta["opt_step"], opt_state)
    trainer.state = state
    trainer.rng.bit_generator.state = meta["rng"]  # (checked by _read)
    trainer.stream = _resume_stream(trainer, meta["batches_used"], meta["data_rng"], name, corpus is None)
    trainer.progress = trainer.stream.progress
    trainer.step = meta["step"]
    trainer.tokens_seen = meta["tokens_seen"]
    trainer.log = log
    return trainer
