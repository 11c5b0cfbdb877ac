"""What every task hands the trainer: batches, and a description of the model it needs.

Shapes (B = batch rows, T = time steps, I = input features, O = output features):

============  ===================  ===================  ====================
head          x                    y                    lengths
============  ===================  ===================  ====================
``lm``        ``(B, T)`` ids       ``(B, T)`` ids       None
``classify``  ``(B, T)`` ids       ``(B,)`` class ids   ``(B,)`` always set
``regress``   ``(B, T, I)`` float  ``(B, T, O)`` float  None
============  ===================  ===================  ====================

Classification batches are right-padded: row b is real for steps ``0 .. lengths[b]-1`` and the
prediction is read at step ``lengths[b] - 1``. Padding holds id 0 (a real token: do not rely on
it, use ``lengths``); with right padding the padded steps come after the read step, so they change
neither the prediction nor its gradient. Token ids use the vocabulary's small unsigned dtype
(``uint8`` for characters): cast to ``np.intp`` before doing arithmetic on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rnnviz.corpus.vocab import Vocab

HEADS = ("lm", "classify", "regress")
INPUT_KINDS = ("tokens", "dense")


@dataclass(frozen=True)
class Batch:
    """One batch. Its arrays are made read-only here: they may cross to the GUI thread.

    ``carry`` is True when row b continues the text of row b of the previous batch (truncated
    BPTT): the trainer should start from the previous final hidden state instead of zeros.
    ``epoch`` is the 0-based epoch the batch belongs to and ``fraction`` how much of that epoch is
    done once this batch is used, in (0, 1]; ``epoch + fraction`` is the "epoch 0.4" of a status bar.
    """

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray | None = None
    carry: bool = False
    epoch: int = 0
    fraction: float = 1.0

    def __post_init__(self) -> None:
        for array in (self.x, self.y, self.lengths):
            if array is not None:
                array.setflags(write=False)

    @property
    def size(self) -> int:
        """Rows in the batch (B)."""
        return int(self.x.shape[0])

    @property
    def seq_len(self) -> int:
        """Time steps (T), the padded length for classification."""
        return int(self.x.shape[1])

    @property
    def progress(self) -> float:
        """Epochs done after this batch, e.g. 2.25."""
        return self.epoch + self.fraction


@dataclass(frozen=True)
class TaskSpec:
    """What the trainer needs to build a model for a task, without knowing the task.

    ``input_size`` is the vocabulary size for token inputs (the model embeds or one-hots ids) or
    the features per step ``I`` for dense inputs; ``output_size`` is the vocabulary size (lm), the
    number of classes (classify) or ``O`` (regress). ``seq_len`` is T when fixed, None when
    classification rows have different lengths.
    """

    name: str
    title: str
    head: str
    input_kind: str
    input_size: int
    output_size: int
    seq_len: int | None = None
    vocab: Vocab | None = None
    class_names: tuple[str, ...] = ()
    # lm and regress: the target at step t is the input at step t + target_offset: 1 is "the next one";
    # the echo task's -d is "the input from d steps ago" (0 before the sequence starts)
    target_offset: int = 1

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, not {self.head!r}")
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(f"input_kind must be one of {INPUT_KINDS}, not {self.input_kind!r}")
        if (self.input_kind == "tokens") != (self.vocab is not None):
            raise ValueError("token inputs need a vocabulary, dense inputs have none")
        if self.head == "classify" and len(self.class_names) != self.output_size:
            raise ValueError("a classification task names each of its classes")


class Task(Protocol):
    """The shape every task has (LMCorpus, NamesTask, SineTask, LongRangeTask).

    ``train_batches(rng)`` is endless: the caller stops by not asking for more. Every random
    choice comes from ``rng``, so the same seed gives the same batches, bit for bit.
    ``val_batches()`` is finite and the same on every call (it may be empty: see ``notes``).

    Resuming at any batch without replaying the stream (``training.stream``): ``train_batches(rng,
    start)`` is the stream from its batch ``start`` on (0-based), given ``rng`` in the state the stream
    from 0 had just before drawing batch ``restart_point(start)``. A task that draws per batch restarts
    at the batch itself; one that draws once per epoch (the names' shuffled order) at its epoch's first.
    """

    @property
    def spec(self) -> TaskSpec: ...

    @property
    def notes(self) -> tuple[str, ...]: ...

    @property
    def batches_per_epoch(self) -> int: ...

    def train_batches(self, rng: np.random.Generator, start: int = 0) -> Iterator[Batch]: ...

    def restart_point(self, n: int) -> int: ...

    def val_batches(self) -> Iterator[Batch]: ...
