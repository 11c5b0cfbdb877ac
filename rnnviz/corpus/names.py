"""Name classification: from the characters of a surname, guess its language (PyTorch tutorial task).

Data: a folder of ``<Class>.txt`` files, one name per line; the class names are the file stems,
sorted. Lines are stripped and blank ones skipped; other files in the folder are ignored, and an
empty ``.txt`` file is skipped with a note.

Defaults, and why:

- ``fold_ascii=True``: accents are removed (``Müller`` -> ``Muller``) as in the tutorial, which
  shrinks the alphabet to about 60 characters. The vocabulary remembers it, so a probe name is
  folded the same way.
- ``keep_duplicates=False``: a name repeated in one file is kept once (Arabic.txt has 2,000 lines
  but 108 distinct names). Duplicates would fall on both sides of the split and make validation
  accuracy measure memory. A name in two files (``Abel``: French and German) stays in both.
- ``sampling="balanced"``: every batch row first draws a class uniformly, then a name of it, as the
  tutorial does; otherwise a model learns "Russian" (about half the names) first. ``"shuffle"``
  goes through the training names once per epoch in random order instead; use it with
  :func:`rnnviz.corpus.metrics.class_weights` (also :attr:`NamesTask.class_weights`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import numpy as np

from rnnviz.corpus.batch import Batch, TaskSpec
from rnnviz.corpus.bundled import bundled_names_dir
from rnnviz.corpus.chunks import fold_to_ascii
from rnnviz.corpus.errors import CorpusError
from rnnviz.corpus.loading import DEFAULT_MAX_BYTES, load_text
from rnnviz.corpus.metrics import class_weights, majority_baseline
from rnnviz.corpus.vocab import build_vocab

NAMES_SAMPLING = ("balanced", "shuffle")


@dataclass(frozen=True)
class NamesDataset:
    """All names of a folder: ``names[i]`` belongs to class ``labels[i]`` (``(N,)`` int64)."""

    folder: Path
    names: tuple[str, ...]
    labels: np.ndarray
    class_names: tuple[str, ...]
    fold_ascii: bool
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.labels.setflags(write=False)

    def class_counts(self) -> np.ndarray:
        """``(K,)`` names per class."""
        return np.bincount(self.labels, minlength=len(self.class_names))


def load_names(
    folder: str | os.PathLike[str] | None = None,
    *,
    fold_ascii: bool = True,
    keep_duplicates: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> NamesDataset:
    """Read a folder of ``<Class>.txt`` files (default: the bundled 18 languages)."""
    folder = bundled_names_dir() if folder is None else Path(folder).expanduser()
    if not folder.exists():
        raise CorpusError("missing", f"Cannot find the folder {folder}. Check its name and location.", path=folder)
    if not folder.is_dir():
        raise CorpusError(
            "not_directory",
            f"{folder.name} is a file, but name classification needs a folder with one <Class>.txt file per class "
            "(for example Italian.txt, one name per line).",
            path=folder,
        )
    names: list[str] = []
    labels: list[int] = []
    class_names: list[str] = []
    notes: list[str] = []
    n_repeated = n_folded = 0
    for file in sorted(p for p in folder.glob("*.txt") if p.is_file()):
        try:
            loaded = load_text(file, max_bytes=max_bytes)
        except CorpusError as err:
            if err.kind != "empty":
                raise
            notes.append(f"Skipped {file.name}: it holds no names.")
            continue
        notes.extend(f"{file.name}: {note}" for note in loaded.notes)
        lines = [line.strip() for line in loaded.text.split("\n")]
        lines = [line for line in lines if line]
        if fold_ascii:
            folded = [fold_to_ascii(line) for line in lines]
            n_folded += sum(a != b for a, b in zip(lines, folded, strict=True))
            lines = folded
        if not keep_duplicates:
            unique = list(dict.fromkeys(lines))  # keeps first occurrences, in file order
            n_repeated += len(lines) - len(unique)
            lines = unique
        labels.extend([len(class_names)] * len(lines))
        names.extend(lines)
        class_names.append(file.stem)
    if not class_names:
        raise CorpusError(
            "no_classes",
            f"The folder {folder.name} holds no .txt file with names in it. Put one <Class>.txt file per class in it, "
            "one name per line (for example Italian.txt).",
            path=folder,
        )
    if len(class_names) < 2:
        raise CorpusError(
            "one_class",
            f"The folder {folder.name} holds names of one class only ({class_names[0]}); a classifier needs at least "
            "two. Add another <Class>.txt file.",
            path=folder,
        )
    if n_folded:
        notes.append(f"Removed accents from {n_folded:,} names (Müller -> Muller), as the PyTorch tutorial does.")
    if n_repeated:
        notes.append(f"Left out {n_repeated:,} repeated names (the same name twice in one file).")
    return NamesDataset(
        folder=folder,
        names=tuple(names),
        labels=np.asarray(labels, dtype=np.int64),
        class_names=tuple(class_names),
        fold_ascii=fold_ascii,
        notes=tuple(notes),
    )


def stratified_split(
    labels: np.ndarray, val_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, val_idx)``: every class keeps ``round(val_fraction * n_c)`` of its examples for
    validation, but always at least one for training. ``train_idx`` is sorted; ``val_idx`` interleaves
    the classes in proportion (each class's k-th of n_c examples sits at fraction (k + 1/2) / n_c of
    the list), so that any prefix of it is stratified too: the app validates a large set in part, and
    sorted (the file's order, language by language) its first batches held the first languages only."""
    labels = np.asarray(labels)
    train: list[np.ndarray] = []
    val: list[np.ndarray] = []
    place: list[np.ndarray] = []  # per validation example: where in the interleaved list it belongs
    for c in np.unique(labels).tolist():
        members = rng.permutation(np.flatnonzero(labels == c))
        n_val = min(int(np.floor(val_fraction * len(members) + 0.5)), len(members) - 1)
        chosen = np.sort(members[:n_val])
        val.append(chosen)
        place.append((np.arange(n_val) + 0.5) / max(n_val, 1))
        train.append(members[n_val:])
    val_idx = np.concatenate(val)
    order = np.argsort(np.concatenate(place), kind="stable")  # ties: the classes in label order
    return np.sort(np.concatenate(train)), val_idx[order]


class NamesTask:
    """Classify names by class; x ``(B, Tmax)`` right-padded character ids, ``lengths`` ``(B,)``, y ``(B,)``.

    The stratified train/validation split is drawn from ``rng`` when the task is made.
    """

    def __init__(
        self,
        dataset: NamesDataset,
        rng: np.random.Generator,
        *,
        val_fraction: float = 0.1,
        batch_size: int = 32,
        sampling: str = "balanced",
    ) -> None:
        if sampling not in NAMES_SAMPLING:
            raise ValueError(f"sampling must be one of {NAMES_SAMPLING}, not {sampling!r}")
        if batch_size < 1 or not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"need batch_size >= 1 and 0 <= val_fraction < 1, not {batch_size} and {val_fraction}")
        self.dataset, self.batch_size, self.sampling = dataset, batch_size, sampling
        self.vocab = build_vocab("".join(dataset.names), "char", fold_ascii=dataset.fold_ascii)
        self.padded, self.lengths = _pad(self.vocab.encode("".join(dataset.names)), [len(n) for n in dataset.names])
        self.train_idx, self.val_idx = stratified_split(dataset.labels, val_fraction, rng)
        labels = dataset.labels
        # Training indices grouped by class, for balanced sampling:
        # class c is _grouped[_starts[c] : _starts[c] + _sizes[c]].
        self._grouped = self.train_idx[np.argsort(labels[self.train_idx], kind="stable")]
        self._sizes = np.bincount(labels[self.train_idx], minlength=len(dataset.class_names))
        self._starts = np.cumsum(self._sizes) - self._sizes
        self._present = np.flatnonzero(self._sizes)
        split_note = (
            f"{len(self.train_idx):,} names for training and {len(self.val_idx):,} for validation "
            f"({val_fraction:.0%} of each class)."
        )
        self.notes = dataset.notes + (split_note,)
        self.spec = TaskSpec(
            name="names",
            title=f"Language of a surname ({len(dataset.class_names)} classes)",
            head="classify",
            input_kind="tokens",
            input_size=self.vocab.size,
            output_size=len(dataset.class_names),
            seq_len=None,
            vocab=self.vocab,
            class_names=dataset.class_names,
        )

    @classmethod
    def from_folder(
        cls,
        folder: str | os.PathLike[str] | None,
        rng: np.random.Generator,
        *,
        fold_ascii: bool = True,
        keep_duplicates: bool = False,
        **options,
    ) -> NamesTask:
        """:func:`load_names` then the constructor (``options``: val_fraction, batch_size, sampling)."""
        return cls(load_names(folder, fold_ascii=fold_ascii, keep_duplicates=keep_duplicates), rng, **options)

    @property
    def batches_per_epoch(self) -> int:
        return -(-len(self.train_idx) // self.batch_size)

    @property
    def train_labels(self) -> np.ndarray:
        return self.dataset.labels[self.train_idx]

    @property
    def val_labels(self) -> np.ndarray:
        return self.dataset.labels[self.val_idx]

    @property
    def class_weights(self) -> np.ndarray:
        """``(K,)`` inverse-frequency weights of the training labels (mean 1 over training names)."""
        return class_weights(self.train_labels, len(self.dataset.class_names))

    @property
    def baseline_accuracy(self) -> float:
        """Validation accuracy of always answering the largest training class."""
        return majority_baseline(self.train_labels, self.val_labels if len(self.val_idx) else None)

    def train_batches(self, rng: np.random.Generator, start: int = 0) -> Iterator[Batch]:
        """Endless training batches from batch ``start`` (see ``restart_point`` for the state of ``rng``)."""
        per_epoch = self.batches_per_epoch
        if self.sampling == "shuffle":
            first_epoch, first = divmod(start, per_epoch)
            for epoch in count(first_epoch):
                order = rng.permutation(self.train_idx)  # the epoch's order, drawn at its first batch
                for k in range(first if epoch == first_epoch else 0, per_epoch):
                    yield self._batch(
                        order[k * self.batch_size : (k + 1) * self.batch_size], epoch, (k + 1) / per_epoch
                    )
        else:
            for k in count(start):
                classes = self._present[rng.integers(0, len(self._present), size=self.batch_size)]  # (B,)
                picks = self._starts[classes] + rng.integers(0, self._sizes[classes])  # (B,) one name of each
                epoch, done = divmod(k, per_epoch)
                yield self._batch(self._grouped[picks], epoch, (done + 1) / per_epoch)

    def restart_point(self, n: int) -> int:
        """Shuffled: the first batch of ``n``'s epoch (its order is drawn there); balanced: ``n`` itself."""
        return n - n % self.batches_per_epoch if self.sampling == "shuffle" else n

    def val_batches(self) -> Iterator[Batch]:
        """Validation names in file order, ``batch_size`` at a time (the last batch may be smaller)."""
        n = -(-len(self.val_idx) // self.batch_size)
        for k in range(n):
            yield self._batch(self.val_idx[k * self.batch_size : (k + 1) * self.batch_size], 0, (k + 1) / n)

    def all_batches(self) -> Iterator[Batch]:
        """Every name of the folder (training and validation), in file order, ``batch_size`` at a time."""
        idx = np.arange(len(self.dataset.names))
        n = -(-len(idx) // self.batch_size)
        for k in range(n):
            yield self._batch(idx[k * self.batch_size : (k + 1) * self.batch_size], 0, (k + 1) / n)

    def encode_names(self, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Probe names -> ``(x (B, Tmax), lengths (B,))`` as in a batch. Characters the vocabulary
        does not know are left out; a name with no known character raises ``CorpusError``."""
        codes = [self.vocab.encode(name) for name in names]
        for name, ids in zip(names, codes, strict=True):
            if len(ids) == 0:
                raise CorpusError(
                    "unknown_token",
                    f"None of the characters of {name!r} occur in the training names; type a name in letters.",
                )
        lengths = [len(ids) for ids in codes]
        return _pad(np.concatenate(codes), lengths)

    def _batch(self, idx: np.ndarray, epoch: int, fraction: float) -> Batch:
        lengths = self.lengths[idx]  # (B,)
        x = self.padded[idx, : int(lengths.max())]  # (B, Tmax), a copy
        return Batch(x=x, y=self.dataset.labels[idx], lengths=lengths, carry=False, epoch=epoch, fraction=fraction)


def _pad(flat_ids: np.ndarray, lengths: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ids of N sequences -> ``(N, max length)`` right-padded with 0, and ``(N,)`` lengths."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if int(lengths.sum()) != len(flat_ids):
        raise AssertionError("every character of a name must be in the vocabulary built from the names")
    padded = np.zeros((len(lengths), int(lengths.max())), dtype=flat_ids.dtype)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    cols = np.arange(len(flat_ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    padded[rows, cols] = flat_ids
    return padded, lengths
