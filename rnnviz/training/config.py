"""What a training run is: one flat, JSON-able dataclass, and how it becomes a task and a model.

Every field is one command-line flag of ``rnnviz train`` and one control of the app, with defaults a
newcomer can run: a character-level LSTM on the bundled Tiny Shakespeare.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnviz.corpus import LMCorpus, LongRangeTask, NamesTask, SineTask, Task, TaskSpec, bundled_corpus, toy_task
from rnnviz.engine.clipping import ClipConfig
from rnnviz.engine.config import ModelConfig
from rnnviz.engine.optim import OptimConfig

TASKS = ("lm", "classify", "sine", "longrange", "toy")
TASK_TITLES = {
    "lm": "Language model (predict the next character or word)",
    "classify": "Classify names by language",
    "sine": "Predict the next value of a sine wave",
    "longrange": "Remember a symbol for k steps (vanishing gradients)",
    "toy": "The toy sentence 'the king sits on throne'",
}


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``corpus`` is a text file (task "lm") or a folder of ``<Class>.txt`` files
    (task "classify"); None means the bundled one (Tiny Shakespeare, the surnames). Other tasks make
    their data and ignore it."""

    # the task and its data
    task: str = "lm"
    corpus: str | None = None
    level: str = "char"  # lm: "char" or "word"
    lower: bool = False  # lm, word level: lower-case the text first
    max_vocab: int | None = None  # lm: cap the vocabulary (word level defaults to 10,000)
    lm_mode: str = "contiguous"  # lm: "contiguous" streams (truncated BPTT) or "random" windows
    val_fraction: float = 0.1
    seq_len: int = 64  # T; ignored by classify (the names set the length) and longrange (lead + 1 + k)
    batch_size: int = 32
    k: int = 10  # longrange: distance between the signal and the answer
    class_weighting: bool = False  # classify: weight the loss by inverse class frequency
    sampling: str = "shuffle"  # classify: "shuffle" (every name once per epoch) or "balanced" classes
    # the model
    cell: str = "lstm"
    hidden: int = 128
    layers: int = 1
    dropout: float = 0.0
    embed_size: int = 64  # word-level input is embedded; characters are one-hot
    forget_bias: float = 1.0
    recurrent_init: str = "uniform"  # PyTorch's default, uniform in +-1/sqrt(H); or "orthogonal"
    recurrent_gain: float = 1.0
    dtype: str = "float32"
    # the optimisation
    optimizer: str = "adam"
    lr: float = 2e-3
    momentum: float = 0.0
    lr_decay: float = 1.0
    decay_every: int = 1000
    clip: str = "norm:5"
    seed: int = 0
    # instrumentation: the W_hh spectrum costs milliseconds, so it is refreshed every so many steps
    spectral_every: int = 100

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"the task must be one of {', '.join(TASKS)}, not {self.task!r}")
        if self.level not in ("char", "word"):
            raise ValueError(f"the level must be char or word, not {self.level!r}")
        for name in ("seq_len", "batch_size", "hidden", "spectral_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be at least 1, not {getattr(self, name)}")
        if self.k < 0:
            raise ValueError(f"k must be at least 0, not {self.k}")
        ClipConfig.parse(self.clip)  # raises with a plain message
        optim_config(self)
        # the model settings are checked by ModelConfig when the task is known

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# The fields build_task reads: two configurations that agree on these can share one task (no reload).
DATA_FIELDS = ("task", "corpus", "level", "lower", "max_vocab", "lm_mode", "val_fraction", "seq_len", "batch_size",
               "k", "sampling", "dtype", "seed")  # fmt: skip


def same_data(a: TrainConfig, b: TrainConfig) -> bool:
    """True when ``b`` can reuse the task (the loaded data) of ``a``: only model or optimiser settings differ."""
    return all(getattr(a, f) == getattr(b, f) for f in DATA_FIELDS)


def optim_config(cfg: TrainConfig) -> OptimConfig:
    return OptimConfig(
        kind=cfg.optimizer, lr=cfg.lr, momentum=cfg.momentum, lr_decay=cfg.lr_decay, decay_every=cfg.decay_every
    )


def build_task(cfg: TrainConfig, rng: np.random.Generator) -> Task:
    """Load or make the task's data. Raises ``CorpusError`` (with a plain message) for bad input.

    ``rng`` is used once, for the names' train/validation split.
    """
    if cfg.task == "lm":
        path = Path(cfg.corpus) if cfg.corpus else bundled_corpus()
        return LMCorpus.from_file(
            path, level=cfg.level, lower=cfg.lower, max_vocab=cfg.max_vocab,
            seq_len=cfg.seq_len, batch_size=cfg.batch_size, val_fraction=cfg.val_fraction, mode=cfg.lm_mode,
        )  # fmt: skip
    if cfg.task == "classify":
        return NamesTask.from_folder(
            cfg.corpus, rng, val_fraction=cfg.val_fraction, batch_size=cfg.batch_size, sampling=cfg.sampling
        )
    if cfg.task == "sine":
        return SineTask(seq_len=cfg.seq_len, batch_size=cfg.batch_size, dtype=cfg.dtype)
    if cfg.task == "longrange":
        return LongRangeTask(k=cfg.k, batch_size=cfg.batch_size)
    return toy_task()


def model_config(cfg: TrainConfig, spec: TaskSpec) -> ModelConfig:
    """The network the task needs: inputs and outputs from the task, the rest from ``cfg``."""
    if spec.input_kind == "dense":
        inp = "dense"
    elif spec.vocab is not None and spec.vocab.level == "word" and spec.name != "toy":
        inp = "embedding"  # a word vocabulary is too large for one-hot input
    else:
        inp = "onehot"
    return ModelConfig(
        cell=cfg.cell,
        input=inp,
        vocab_size=spec.input_size if spec.input_kind == "tokens" else 1,
        input_size=spec.input_size if spec.input_kind == "dense" else 0,
        embed_size=cfg.embed_size,
        hidden_size=cfg.hidden,
        num_layers=cfg.layers,
        head={"lm": "lm", "classify": "classify", "regress": "regress"}[spec.head],
        output_size=0 if spec.head == "lm" else spec.output_size,
        dropout=cfg.dropout,
        forget_bias=cfg.forget_bias,
        recurrent_init=cfg.recurrent_init,
        recurrent_gain=cfg.recurrent_gain,
        dtype=cfg.dtype,
    )
