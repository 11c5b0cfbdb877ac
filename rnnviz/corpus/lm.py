"""Language modelling: predict every next token of a text. Also the toy sentence of the lectures.

Split: validation is the *tail* of the text (``val_fraction`` of it, default 10 %), training the
rest, so no validation window overlaps a training one. When the tail would be shorter than one
sequence (``seq_len + 1`` tokens) there is no validation and ``notes`` says so.

Two batch modes:

- ``"contiguous"`` (default, as char-rnn): the training ids are cut into B equal streams, one per
  batch row, and each batch is the next T tokens of every stream. Row b of a batch continues row b
  of the previous one, so ``carry`` is True (keep the hidden state) except on the first batch of
  every epoch. The tokens at the end of each stream that do not fill a whole chunk are not used.
  No randomness: the rng is not used.
- ``"random"``: B windows at random start positions every batch; ``carry`` is always False. An
  epoch is as many batches as cover the training tokens once on average.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import count

import numpy as np

from rnnviz.corpus.batch import Batch, TaskSpec
from rnnviz.corpus.chunks import nfc_note
from rnnviz.corpus.errors import CorpusError
from rnnviz.corpus.loading import DEFAULT_MAX_BYTES, load_text
from rnnviz.corpus.vocab import Vocab, encode_with_coverage

LM_MODES = ("contiguous", "random")

#: The toy sentence of the BPTT walkthrough; its vocabulary is its five words, in sentence order.
TOY_SENTENCE = "the king sits on throne"


class LMCorpus:
    """Token ids of one text, split into training and validation, served as ``(B, T)`` batches.

    ``ids`` is ``(n,)`` integer token ids (kept as a read-only view, not copied); ``source`` is how
    messages name the text (e.g. the file name). Raises ``CorpusError("too_short")`` when the
    whole text has fewer than ``seq_len + 1`` tokens.
    """

    def __init__(
        self,
        ids: np.ndarray,
        vocab: Vocab,
        *,
        seq_len: int = 64,
        batch_size: int = 32,
        val_fraction: float = 0.1,
        mode: str = "contiguous",
        source: str = "The text",
        name: str = "lm",
        notes: tuple[str, ...] = (),
    ) -> None:
        if seq_len < 1 or batch_size < 1:
            raise ValueError(f"seq_len and batch_size must be at least 1, not {seq_len} and {batch_size}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), not {val_fraction}")
        if mode not in LM_MODES:
            raise ValueError(f"mode must be one of {LM_MODES}, not {mode!r}")
        ids = np.asarray(ids).view()
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids must be a 1-D integer array, not {ids.dtype} {ids.shape}")
        ids.setflags(write=False)
        self.vocab, self.seq_len, self.batch_size, self.mode = vocab, seq_len, batch_size, mode
        self.source = source
        unit = "characters" if vocab.level == "char" else "tokens (words, punctuation marks and line breaks)"
        need = seq_len + 1  # one input window and the token after its last one
        if len(ids) < need:
            raise CorpusError(
                "too_short",
                f"{source} has only {len(ids)} {unit}; training needs at least {need} (one sequence of "
                f"{seq_len} and the one that follows it). Choose a longer text or a shorter sequence length.",
            )
        self.ids = ids
        self.train_ids, self.val_ids, split_notes = _split_tail(ids, val_fraction, need, unit)
        self.n_streams = min(batch_size, (len(self.train_ids) - 1) // seq_len)
        stream_notes = []
        if mode == "contiguous" and self.n_streams < batch_size:
            stream_notes.append(
                f"The training text is too short for {batch_size} parallel streams of {seq_len} {unit.split()[0]}; "
                f"using {self.n_streams} (batches of {self.n_streams} rows)."
            )
        self.notes = tuple(notes) + split_notes + tuple(stream_notes)
        self.spec = TaskSpec(
            name=name,
            title=f"{'Character' if vocab.level == 'char' else 'Word'} language model on {source}",
            head="lm",
            input_kind="tokens",
            input_size=vocab.size,
            output_size=vocab.size,
            seq_len=seq_len,
            vocab=vocab,
        )

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        level: str = "char",
        lower: bool = False,
        max_vocab: int | None = None,
        min_freq: int = 1,
        max_bytes: int = DEFAULT_MAX_BYTES,
        use_start: bool = False,
        unicode_form: str = "none",
        **options,
    ) -> LMCorpus:
        """Load, tokenise and split a text file; ``options`` are those of the constructor.

        Loading notes (encoding, line endings, Unicode normalisation) come first in ``notes``, then how
        much of the text the vocabulary covers (``max_vocab``: its cap, None for the level's default).
        ``unicode_form``: see :class:`~rnnviz.corpus.vocab.Vocab` (the app and the CLI use "NFC");
        ``max_bytes`` and ``use_start``: see :func:`~rnnviz.corpus.loading.load_text`.
        """
        loaded = load_text(path, max_bytes=max_bytes, use_start=use_start)
        vocab, ids, coverage = encode_with_coverage(
            loaded.text, level, lower=lower, max_size=max_vocab, min_freq=min_freq, unicode_form=unicode_form
        )
        normalised = nfc_note(loaded.text) if unicode_form == "NFC" else None
        notes = (*loaded.notes, *([normalised] if normalised else []), coverage.describe())
        options.setdefault("source", loaded.name)
        return cls(ids, vocab, notes=notes, **options)

    @property
    def batches_per_epoch(self) -> int:
        if self.mode == "contiguous":
            return _chunks_per_stream(len(self.train_ids), self.n_streams, self.seq_len)
        return max(1, (len(self.train_ids) - 1) // (self.batch_size * self.seq_len))

    def train_batches(self, rng: np.random.Generator, start: int = 0) -> Iterator[Batch]:
        """Endless training batches from batch ``start``, x and y ``(B, T)``; ``rng`` is used in random mode only."""
        if self.mode == "contiguous":
            first_epoch, first_chunk = divmod(start, self.batches_per_epoch)
            for epoch in count(first_epoch):
                chunk = first_chunk if epoch == first_epoch else 0
                yield from _stream_batches(self.train_ids, self.n_streams, self.seq_len, epoch, chunk)
        else:
            yield from self._random_batches(rng, start)

    def restart_point(self, n: int) -> int:
        """Batch ``n`` itself: contiguous streams draw nothing, random windows draw per batch."""
        return n

    def val_batches(self) -> Iterator[Batch]:
        """The validation tail as contiguous streams (same on every call; empty without validation)."""
        if len(self.val_ids) == 0:
            return iter(())
        n_streams = min(self.batch_size, (len(self.val_ids) - 1) // self.seq_len)
        return _stream_batches(self.val_ids, n_streams, self.seq_len, epoch=0)

    def _random_batches(self, rng: np.random.Generator, start: int) -> Iterator[Batch]:
        train, T, B = self.train_ids, self.seq_len, self.batch_size
        per_epoch = self.batches_per_epoch
        offsets = np.arange(T)
        for k in count(start):
            # start s <= len - 1 - T, so the last target train[s + T] exists
            starts = rng.integers(0, len(train) - T, size=B)  # (B,)
            index = starts[:, None] + offsets  # (B, T)
            epoch, done = divmod(k, per_epoch)
            yield Batch(x=train[index], y=train[index + 1], carry=False, epoch=epoch, fraction=(done + 1) / per_epoch)


def _split_tail(
    ids: np.ndarray, val_fraction: float, need: int, unit: str
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """``(train, val, notes)``: validation is the last ``val_fraction`` of ``ids`` if it holds a sequence."""
    if val_fraction == 0.0:
        return ids, ids[:0], ("Validation is off (validation fraction 0): there is no validation loss.",)
    n_val = int(len(ids) * val_fraction)
    if n_val < need or len(ids) - n_val < need:
        note = (
            f"The text is too short to keep {val_fraction:.0%} for validation ({n_val} {unit.split()[0]}; "
            f"one validation sequence needs {need}). Training uses all of it and there is no validation loss."
        )
        return ids, ids[:0], (note,)
    return ids[: len(ids) - n_val], ids[len(ids) - n_val :], ()


def _chunks_per_stream(n_ids: int, n_streams: int, seq_len: int) -> int:
    return ((n_ids - 1) // n_streams) // seq_len


def _stream_batches(ids: np.ndarray, n_streams: int, seq_len: int, epoch: int, first: int = 0) -> Iterator[Batch]:
    """One pass over ``ids`` as ``n_streams`` contiguous streams, T tokens at a time (char-rnn layout),
    from chunk ``first`` on.

    Stream b holds inputs ``ids[b*L : (b+1)*L]`` and targets one further, L = (len - 1) // n_streams.
    """
    stream_len = (len(ids) - 1) // n_streams
    X = ids[: n_streams * stream_len].reshape(n_streams, stream_len)  # (B, L) view
    Y = ids[1 : n_streams * stream_len + 1].reshape(n_streams, stream_len)  # (B, L) view, shifted by one
    n_chunks = stream_len // seq_len
    for c in range(first, n_chunks):
        cols = slice(c * seq_len, (c + 1) * seq_len)
        yield Batch(x=X[:, cols].copy(), y=Y[:, cols].copy(), carry=c > 0, epoch=epoch, fraction=(c + 1) / n_chunks)


def toy_vocab() -> Vocab:
    """The five words of :data:`TOY_SENTENCE` in sentence order (ids 0..4), lower-cased, no ``<unk>``."""
    return Vocab(level="word", tokens=tuple(TOY_SENTENCE.split()), lower=True)


def toy_task() -> LMCorpus:
    """The toy sentence as a language-modelling task: every batch is :func:`toy_batch`."""
    vocab = toy_vocab()
    return LMCorpus(
        vocab.encode(TOY_SENTENCE),
        vocab,
        seq_len=4,
        batch_size=1,
        val_fraction=0.0,
        source="The toy sentence",
        name="toy",
    )


def toy_batch() -> Batch:
    """x = ``the king sits on`` = [[0, 1, 2, 3]], y = ``king sits on throne`` = [[1, 2, 3, 4]], (1, 4) each."""
    return next(toy_task().train_batches(np.random.default_rng(0)))
