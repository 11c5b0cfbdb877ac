"""Generated tasks: sine-wave regression, the echo (delayed copy) and the long-range dependency lesson.

Fresh examples are drawn from ``rng`` for every training batch, so there is nothing to overfit and
an "epoch" is a nominal ``batches_per_epoch`` batches (for progress bars and "validate every
epoch"). Validation batches come from a private generator seeded with ``val_seed``: the same every
call, and never the training stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, partial
from itertools import count

import numpy as np

from rnnviz.corpus.batch import Batch, TaskSpec
from rnnviz.corpus.vocab import Vocab


class _DrawnEachBatch:
    """The stream of a task that draws every batch fresh (``make_batch``): endless training batches,
    restarting at any batch, and ``n_val_batches`` fixed validation batches from ``val_seed``."""

    def train_batches(self, rng: np.random.Generator, start: int = 0) -> Iterator[Batch]:
        return _endless(self.make_batch, rng, self.batches_per_epoch, start)

    def restart_point(self, n: int) -> int:
        return n  # every batch is drawn on its own

    def val_batches(self) -> Iterator[Batch]:
        return _validation(self.make_batch, self.val_seed, self.n_val_batches)


@dataclass(frozen=True)
class SineTask(_DrawnEachBatch):
    """Predict the next value of a sine wave: x ``(B, T, 1)``, y ``(B, T, 1)``, ``y[:, t] == x[:, t + 1]``.

    Each row is ``sin(2 pi f t + phase)`` for t = 0..T with its own phase (uniform in [0, 2 pi)) and
    frequency ``f`` in cycles per step: ``frequency`` fixed, or drawn uniformly from a ``(low, high)``
    range. Gaussian noise of ``noise_std`` is added to the series itself, so targets are the noisy
    next values (the best possible mean squared error is then about ``noise_std**2``).
    Default range 0.02..0.08 cycles per step: periods of 12.5 to 50 steps, at least one period in
    the default 50 steps.
    """

    seq_len: int = 50
    batch_size: int = 32
    frequency: float | tuple[float, float] = (0.02, 0.08)
    noise_std: float = 0.0
    dtype: str = "float64"
    batches_per_epoch: int = 100
    n_val_batches: int = 4
    val_seed: int = 20240601

    def __post_init__(self) -> None:
        if not np.isscalar(self.frequency):  # a list from a command line: keep the task hashable
            object.__setattr__(self, "frequency", tuple(self.frequency))
        low, high = self._frequency_range
        if not 0.0 < low <= high <= 0.5:
            raise ValueError(f"frequency must be in (0, 0.5] cycles per step (Nyquist), not {self.frequency}")
        if self.seq_len < 1 or self.batch_size < 1 or self.noise_std < 0 or self.batches_per_epoch < 1:
            raise ValueError("seq_len, batch_size and batches_per_epoch must be at least 1 and noise_std at least 0")
        if not np.issubdtype(np.dtype(self.dtype), np.floating):
            raise ValueError(f"dtype must be a float type, not {self.dtype}")

    @property
    def _frequency_range(self) -> tuple[float, float]:
        f = self.frequency
        return (float(f), float(f)) if np.isscalar(f) else (float(f[0]), float(f[1]))

    @property
    def spec(self) -> TaskSpec:
        return TaskSpec(
            name="sine", title="Next value of a sine wave", head="regress", input_kind="dense",
            input_size=1, output_size=1, seq_len=self.seq_len,
        )  # fmt: skip

    @property
    def notes(self) -> tuple[str, ...]:
        return ()

    def make_batch(self, rng: np.random.Generator, epoch: int = 0, fraction: float = 1.0) -> Batch:
        """One batch of ``batch_size`` fresh waves."""
        B, T = self.batch_size, self.seq_len
        low, high = self._frequency_range
        f = rng.uniform(low, high, size=B) if high > low else np.full(B, low)  # (B,) cycles per step
        phase = rng.uniform(0.0, 2 * np.pi, size=B)  # (B,)
        t = np.arange(T + 1)  # (T+1,)
        series = np.sin(2 * np.pi * f[:, None] * t + phase[:, None])  # (B, T+1)
        if self.noise_std > 0:
            series += rng.normal(0.0, self.noise_std, size=series.shape)
        series = series.astype(self.dtype)[:, :, None]  # (B, T+1, 1)
        return Batch(x=series[:, :T].copy(), y=series[:, 1:].copy(), carry=False, epoch=epoch, fraction=fraction)


@dataclass(frozen=True)
class EchoTask(_DrawnEachBatch):
    """Say again the input of ``delay`` steps ago: x ``(B, T, 1)``, y ``(B, T, 1)``,
    ``y[:, t] == x[:, t - delay]`` for ``t >= delay``, and 0 before that.

    The inputs are drawn independently and uniformly from [-1, 1] at every step, so nothing but memory
    predicts the target: the network must hold the last ``delay`` values in its state. The first
    ``delay`` targets are 0, as if the sequence were preceded by zeros (the engine's regression loss
    has no mask; a zero target there is honest: the network starts from a zero state and knows it is
    at the start). The loss of always answering 0 is the variance of the input, 1/3, on the steps
    from ``delay`` on: ``zero_loss``. ``delay`` 0 is copying the current input; a delay of the whole
    sequence or more is refused (no step would have an echo).
    """

    delay: int = 3
    seq_len: int = 30
    batch_size: int = 32
    dtype: str = "float64"
    batches_per_epoch: int = 100
    n_val_batches: int = 4
    val_seed: int = 20240603

    def __post_init__(self) -> None:
        if not 0 <= self.delay < self.seq_len:
            raise ValueError(
                f"the delay must be at least 0 and shorter than the sequence ({self.seq_len} steps), not {self.delay} "
                "(no step would have an echo to learn)"
            )
        if self.seq_len < 1 or self.batch_size < 1 or self.batches_per_epoch < 1:
            raise ValueError("seq_len, batch_size and batches_per_epoch must be at least 1")
        if not np.issubdtype(np.dtype(self.dtype), np.floating):
            raise ValueError(f"dtype must be a float type, not {self.dtype}")

    @property
    def spec(self) -> TaskSpec:
        return TaskSpec(
            name="echo", title=f"Echo: the input from {self.delay} steps ago", head="regress", input_kind="dense",
            input_size=1, output_size=1, seq_len=self.seq_len, target_offset=-self.delay,
        )  # fmt: skip

    @property
    def zero_loss(self) -> float:
        """The mean squared error of always answering 0: the input's variance (1/3) on the steps with an echo."""
        return (self.seq_len - self.delay) / self.seq_len / 3.0

    @property
    def notes(self) -> tuple[str, ...]:
        echoed = self.seq_len - self.delay
        return (
            f"Always answering 0 scores a loss of {self.zero_loss:.3f} (the input's variance, 1/3, on the {echoed} "
            f"of {self.seq_len} steps that have an echo).",
        )

    def make_batch(self, rng: np.random.Generator, epoch: int = 0, fraction: float = 1.0) -> Batch:
        """One batch of ``batch_size`` fresh random sequences and their echoes."""
        B, T = self.batch_size, self.seq_len
        x = rng.uniform(-1.0, 1.0, size=(B, T, 1)).astype(self.dtype)  # (B, T, 1)
        return Batch(x=x, y=echo_targets(x, self.delay), carry=False, epoch=epoch, fraction=fraction)


def echo_targets(x: np.ndarray, delay: int) -> np.ndarray:
    """``x (B, T, I)`` delayed by ``delay`` steps along T, zeros first: the echo task's targets."""
    y = np.zeros_like(x)
    T = x.shape[1]
    if delay < T:
        y[:, delay:] = x[:, : T - delay]
    return y


#: Symbols of the long-range task: signals are capital letters, distractors digits then lower case.
SIGNAL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DISTRACTOR_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class LongRangeTask:
    """Remember one symbol for ``k`` steps: the vanishing-gradient lesson.

    A row is ``lead + 1 + k`` tokens (``seq_len``): ``lead`` distractors, one signal token at
    step ``lead``, then ``k`` distractors; so the signal sits exactly ``k`` steps before the last
    step, where the class is read. The class is which signal it was (``y`` = index into
    ``SIGNAL_ALPHABET[:n_signals]``), so chance accuracy is ``1 / n_signals``. Distractors are
    drawn uniformly from a separate alphabet and carry no information.

    Vocabulary: ``n_signals`` capital letters and ``n_distractors`` digits/lower-case letters,
    sorted by code point (distractor digits first), character level, no ``<unk>``. Limits:
    ``n_signals`` <= 26, ``n_distractors`` <= 36. ``lengths`` is always ``seq_len``.
    """

    k: int = 10
    lead: int = 3
    n_signals: int = 4
    n_distractors: int = 8
    batch_size: int = 32
    batches_per_epoch: int = 100
    # 32 x 32 = 1,024 validation rows with every class equally often (``val_batches``): a model that
    # predicts one class scores chance exactly, and one whose guesses ignore the signal scores chance
    # within 1.4 points (one standard error): so "within 5 points of chance" at every validation of a
    # long run is about learning, not the luck of a small set (at 256 rows the noise alone broke it).
    n_val_batches: int = 32
    val_seed: int = 20240602

    def __post_init__(self) -> None:
        if self.k < 0 or self.lead < 0:
            raise ValueError(f"k and lead must be at least 0, not {self.k} and {self.lead}")
        if not (2 <= self.n_signals <= len(SIGNAL_ALPHABET) and 1 <= self.n_distractors <= len(DISTRACTOR_ALPHABET)):
            raise ValueError(f"need 2..{len(SIGNAL_ALPHABET)} signals and 1..{len(DISTRACTOR_ALPHABET)} distractors")
        if self.batch_size < 1 or self.batches_per_epoch < 1:
            raise ValueError("batch_size and batches_per_epoch must be at least 1")

    @property
    def seq_len(self) -> int:
        return self.lead + 1 + self.k

    @property
    def signal_position(self) -> int:
        """Step of the signal: ``seq_len - 1 - k``."""
        return self.lead

    @property
    def chance(self) -> float:
        return 1.0 / self.n_signals

    @cached_property
    def vocab(self) -> Vocab:
        symbols = SIGNAL_ALPHABET[: self.n_signals] + DISTRACTOR_ALPHABET[: self.n_distractors]
        return Vocab(level="char", tokens=tuple(sorted(symbols)))

    @cached_property
    def signal_ids(self) -> np.ndarray:
        """``(n_signals,)`` token id of each class's signal."""
        return self.vocab.encode(SIGNAL_ALPHABET[: self.n_signals])

    @cached_property
    def distractor_ids(self) -> np.ndarray:
        """``(n_distractors,)`` token ids of the distractors."""
        return self.vocab.encode(DISTRACTOR_ALPHABET[: self.n_distractors])

    @property
    def spec(self) -> TaskSpec:
        return TaskSpec(
            name="long_range", title=f"Remember a symbol for {self.k} steps", head="classify", input_kind="tokens",
            input_size=self.vocab.size, output_size=self.n_signals, seq_len=self.seq_len, vocab=self.vocab,
            class_names=tuple(SIGNAL_ALPHABET[: self.n_signals]),
        )  # fmt: skip

    @property
    def notes(self) -> tuple[str, ...]:
        return (f"Chance accuracy is {self.chance:.0%} ({self.n_signals} signals).",)

    def make_batch(
        self, rng: np.random.Generator, epoch: int = 0, fraction: float = 1.0, balanced: bool = False
    ) -> Batch:
        """One batch: x ``(B, seq_len)`` ids, y ``(B,)`` class ids, lengths ``(B,)`` all ``seq_len``.
        ``balanced``: the classes in turn (as equal as B allows), shuffled; else drawn independently."""
        B, T = self.batch_size, self.seq_len
        x = self.distractor_ids[rng.integers(0, self.n_distractors, size=(B, T))]  # (B, T)
        if balanced:
            y = rng.permutation(np.arange(B) % self.n_signals)  # (B,)
        else:
            y = rng.integers(0, self.n_signals, size=B)  # (B,)
        x[:, self.signal_position] = self.signal_ids[y]
        return Batch(x=x, y=y, lengths=np.full(B, T, dtype=np.int64), carry=False, epoch=epoch, fraction=fraction)

    def train_batches(self, rng: np.random.Generator, start: int = 0) -> Iterator[Batch]:
        return _endless(self.make_batch, rng, self.batches_per_epoch, start)

    def restart_point(self, n: int) -> int:
        return n  # every batch is drawn on its own

    def val_batches(self) -> Iterator[Batch]:
        return _validation(partial(self.make_batch, balanced=True), self.val_seed, self.n_val_batches)


def _endless(make_batch, rng: np.random.Generator, per_epoch: int, start: int) -> Iterator[Batch]:
    for k in count(start):
        epoch, done = divmod(k, per_epoch)
        yield make_batch(rng, epoch, (done + 1) / per_epoch)


def _validation(make_batch, seed: int, n_batches: int) -> Iterator[Batch]:
    rng = np.random.default_rng(seed)  # private, fixed: the same validation set on every call
    for k in range(n_batches):
        yield make_batch(rng, 0, (k + 1) / n_batches)
