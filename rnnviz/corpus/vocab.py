"""Vocabularies: the table between tokens and the integer ids the network sees.

Two levels:

- ``"char"``: one token per character, in code-point order (so ``"\\n"`` and ``" "`` come first),
  capped at :data:`DEFAULT_CHAR_VOCAB_SIZE` by default (the most frequent characters; a CJK or emoji
  text has thousands, and each one is a column of the softmax). Built from a text it has no
  ``<unk>``; it gets one only when the cap or ``min_freq`` leaves characters out.
- ``"word"``: words, punctuation marks and ``"\\n"`` (see :mod:`rnnviz.corpus.words`). Always has
  ``<unk>`` at id 0, then tokens from most to least frequent (ties: code-point order of the token),
  capped at :data:`DEFAULT_WORD_VOCAB_SIZE` by default so that a 100 MB corpus cannot ask for a
  million-way softmax.

Encoding returns the smallest unsigned dtype that holds every id (``uint8`` for up to 256 tokens).
Ids are unsigned: ``ids - 1`` wraps around, so cast to ``np.intp`` before arithmetic.

Unknown tokens at encode time follow ``errors``:

- ``"unk"`` (default): they become ``<unk>`` if the vocabulary has it, otherwise they are left out
  (a character vocabulary built from Shakespeare encodes ``"naïve"`` as ``"nave"``); use
  :meth:`Vocab.unknown` to tell the user which ones;
- ``"skip"``: they are left out;
- ``"raise"``: :class:`CorpusError` of kind ``"unknown_token"`` naming them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from rnnviz.corpus.chunks import UNICODE_FORMS, TextForm, code_points, count_code_points, iter_pieces
from rnnviz.corpus.coverage import UNK, Coverage
from rnnviz.corpus.errors import CorpusError
from rnnviz.corpus.words import WordJoiner, WordTypes, join_words

LEVELS = ("char", "word")
ERROR_POLICIES = ("unk", "skip", "raise")
DEFAULT_WORD_VOCAB_SIZE = 10_000
DEFAULT_CHAR_VOCAB_SIZE = 500  # Western texts use ~100 characters; a CJK text thousands
UNICODE_SIZE = 0x110000  # code points in Unicode: a character cap this large leaves every character in
VOCAB_FORMAT = "rnnviz-vocab"
VOCAB_VERSION = 1

# How the GUI shows invisible tokens; other control and format characters become \xNN / \uNNNN.
_VISIBLE = {"\n": "⏎", " ": "␣", "\t": "⇥"}
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})

# One encoded piece: (ids with -1 where the token is unknown, a function naming the unknown tokens
# from a boolean mask over that piece).
_Mapped = tuple[np.ndarray, Callable[[np.ndarray], set[str]]]


def id_dtype(size: int) -> np.dtype:
    """The smallest unsigned integer dtype that holds ids ``0 .. size - 1``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def token_label(token: str) -> str:
    """A visible label for a token: ``"\\n" -> "⏎"``, ``" " -> "␣"``, ``"\\t" -> "⇥"``, other
    invisible characters as ``\\xNN`` / ``\\uNNNN``, everything else unchanged."""
    if token in _VISIBLE:
        return _VISIBLE[token]
    if len(token) == 1 and unicodedata.category(token) in _INVISIBLE_CATEGORIES:
        code = ord(token)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return token


@dataclass(frozen=True)
class Vocab:
    """An immutable token <-> id table. ``tokens[i]`` is the token with id ``i``.

    ``unicode_form`` (``"NFC"`` or ``"none"``, see :data:`rnnviz.corpus.chunks.UNICODE_FORMS`), ``lower``
    and ``fold_ascii`` (accents removed, see :func:`rnnviz.corpus.chunks.fold_to_ascii`) are applied to
    any text before it is encoded (``form``), so a probe sentence is treated like the corpus.
    ``unk_id`` is the id of ``<unk>``, or None when the vocabulary has none.
    """

    level: str
    tokens: tuple[str, ...]
    lower: bool = False
    unk_id: int | None = None
    fold_ascii: bool = False
    unicode_form: str = "none"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", tuple(self.tokens))
        problem = self._problem()
        if problem:
            raise CorpusError("invalid_vocab", f"This vocabulary is not valid: {problem}.")

    def _problem(self) -> str | None:
        if self.level not in LEVELS:
            return f"level must be one of {LEVELS}, not {self.level!r}"
        if not all(isinstance(t, str) and t for t in self.tokens):
            return "every token must be a non-empty string"
        if len(set(self.tokens)) != len(self.tokens):
            return "a token appears twice"
        if self.unk_id is not None and not (0 <= self.unk_id < len(self.tokens) and self.tokens[self.unk_id] == UNK):
            return f"unk_id {self.unk_id} does not point at {UNK}"
        if self.unk_id is None and UNK in self.tokens:
            return f"{UNK} is a token but unk_id is not set"
        if self.level == "char" and any(len(t) != 1 for t in self.tokens if t != UNK):
            return "a character vocabulary holds a token longer than one character"
        if self.unicode_form not in UNICODE_FORMS:
            return f"unicode_form must be one of {UNICODE_FORMS}, not {self.unicode_form!r}"
        return None

    @property
    def form(self) -> TextForm:
        """What is done to any text before it is encoded."""
        return TextForm(self.lower, self.fold_ascii, self.unicode_form)

    @property
    def size(self) -> int:
        """Number of tokens, the width of the network's input and softmax."""
        return len(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def dtype(self) -> np.dtype:
        """The dtype :meth:`encode` returns."""
        return id_dtype(self.size)

    @cached_property
    def index(self) -> dict[str, int]:
        """``token -> id``."""
        return {tok: i for i, tok in enumerate(self.tokens)}

    @cached_property
    def _char_lut(self) -> np.ndarray:
        # lut[code point] = id or -1, plus one trailing -1 that np.take(mode="clip") sends every
        # larger code point to; at least 257 long so any uint8 code point is a valid index.
        chars = [ord(t) for t in self.tokens if t != UNK]
        lut = np.full(max([255, *chars]) + 2, -1, dtype=np.int32)
        for tok, i in self.index.items():
            if tok != UNK:
                lut[ord(tok)] = i
        return lut

    # --- encode / decode -------------------------------------------------------------------------

    def encode(self, text: str, errors: str = "unk") -> np.ndarray:
        """``(n,)`` ids of ``text`` (``dtype`` of this vocabulary); ``errors`` as in the module docstring."""
        if errors not in ERROR_POLICIES:
            raise ValueError(f"errors must be one of {ERROR_POLICIES}, not {errors!r}")
        chunks = self._char_chunks(text) if self.level == "char" else self._word_chunks(text)
        return self._collect(chunks, len(text) if self.level == "char" else len(text) // 4 + 16, errors)

    def unknown(self, text: str) -> list[str]:
        """The distinct tokens of ``text`` this vocabulary does not know, sorted."""
        found: set[str] = set()
        chunks = self._char_chunks(text) if self.level == "char" else self._word_chunks(text)
        for mapped, name_unknown in chunks:
            bad = mapped < 0
            if bad.any():
                found |= name_unknown(bad)
        return sorted(found)

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """Text of a sequence of ids. Character level: concatenation. Word level: tokens joined with
        sensible spacing (:func:`rnnviz.corpus.words.join_words`). ``<unk>`` appears as ``<unk>``."""
        tokens = [self.tokens[i] for i in np.asarray(ids, dtype=np.intp).reshape(-1).tolist()]
        return "".join(tokens) if self.level == "char" else join_words(tokens)

    def decoder(self, context: Iterable[int] | np.ndarray = ()) -> Callable[[int], str]:
        """Decode one id at a time, after the ids of ``context``: each call returns the text its id
        adds, so the pieces of ``ids`` concatenate to ``decode(context + ids)`` less the text of
        ``decode(context)`` (at word level a token's leading space depends on what came before it).
        For text shown as it is generated."""
        if self.level == "char":
            return self.tokens.__getitem__
        joiner = WordJoiner()
        for i in np.asarray(context, dtype=np.intp).reshape(-1).tolist():
            joiner.add(self.tokens[i])
        return lambda token_id: joiner.add(self.tokens[token_id])

    def label(self, token_id: int) -> str:
        """Visible label of one id for the GUI (see :func:`token_label`)."""
        return token_label(self.tokens[token_id])

    def labels(self) -> tuple[str, ...]:
        """Visible labels of every id, in id order."""
        return tuple(token_label(t) for t in self.tokens)

    def _char_chunks(self, text: str) -> Iterator[_Mapped]:
        lut = self._char_lut
        for piece in iter_pieces(text, self.form):
            cps = code_points(piece)  # (n,) uint8 or uint32
            yield np.take(lut, cps, mode="clip"), lambda bad, cps=cps: {chr(c) for c in np.unique(cps[bad]).tolist()}

    def _word_chunks(self, text: str) -> Iterator[_Mapped]:
        types = WordTypes()
        to_id = np.zeros(0, dtype=np.int32)  # provisional type id -> vocabulary id or -1
        for piece in iter_pieces(text, self.form, at_whitespace=True):
            type_ids = types.type_ids(piece)
            if len(types.types) > len(to_id):
                new = [self.index.get(t, -1) for t in types.types[len(to_id) :]]
                to_id = np.concatenate([to_id, np.asarray(new, dtype=np.int32)])
            yield to_id[type_ids], lambda bad, t=type_ids: {types.types[i] for i in np.unique(t[bad]).tolist()}

    def _collect(self, chunks: Iterable[_Mapped], size_hint: int, errors: str) -> np.ndarray:
        out = np.empty(size_hint, dtype=self.dtype)
        n = 0
        for mapped, name_unknown in chunks:
            bad = mapped < 0
            if bad.any():
                if errors == "raise":
                    names = ", ".join(repr(t) for t in sorted(name_unknown(bad))[:20])
                    raise CorpusError(
                        "unknown_token",
                        f"The vocabulary does not know these {self.level == 'char' and 'characters' or 'tokens'}: "
                        f"{names}. Remove them, or retrain on a text that contains them.",
                    )
                if errors == "unk" and self.unk_id is not None:
                    mapped = np.where(bad, self.unk_id, mapped)
                else:
                    mapped = mapped[~bad]
            if n + len(mapped) > len(out):  # word level (unknown length) or lower-casing that lengthens
                grown = np.empty(max(2 * len(out), n + len(mapped)), dtype=self.dtype)
                grown[:n] = out[:n]
                out = grown
            out[n : n + len(mapped)] = mapped
            n += len(mapped)
        return out if n == len(out) else out[:n].copy()

    # --- persistence -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description; :meth:`from_dict` restores an equal vocabulary."""
        return {
            "format": VOCAB_FORMAT,
            "version": VOCAB_VERSION,
            "level": self.level,
            "tokens": list(self.tokens),
            "lower": self.lower,
            "fold_ascii": self.fold_ascii,
            "unicode_form": self.unicode_form,
            "unk_id": self.unk_id,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vocab:
        """Inverse of :meth:`to_dict`; a malformed or newer dict raises ``CorpusError("invalid_vocab")``.
        A vocabulary saved before ``unicode_form`` existed read its text as it was ("none")."""
        if not isinstance(d, dict) or d.get("format") != VOCAB_FORMAT:
            raise CorpusError("invalid_vocab", "This is not a saved rnnviz vocabulary.")
        version = d.get("version")
        if type(version) is not int or version < 1:  # (type, not isinstance: False is an int to Python)
            raise CorpusError("invalid_vocab", f"This saved vocabulary is damaged (format version {version!r}).")
        if version > VOCAB_VERSION:
            raise CorpusError(
                "invalid_vocab",
                f"This vocabulary was saved by a newer rnnviz (format version {version}); update rnnviz to read it.",
            )
        tokens, unk_id = d.get("tokens"), d.get("unk_id")
        flags = (d.get("lower", False), d.get("fold_ascii", False))
        unicode_form = d.get("unicode_form", "none")
        if (
            not isinstance(tokens, list)
            or not (unk_id is None or type(unk_id) is int)
            or not all(type(f) is bool for f in flags)
        ):
            raise CorpusError("invalid_vocab", "This saved vocabulary is damaged (a field has the wrong type).")
        return cls(
            level=d.get("level"), tokens=tuple(tokens), lower=flags[0], unk_id=unk_id, fold_ascii=flags[1],
            unicode_form=unicode_form,
        )  # fmt: skip


# --- building vocabularies --------------------------------------------------------------------------


def build_vocab(
    text: str,
    level: str = "char",
    *,
    lower: bool = False,
    max_size: int | None = None,
    min_freq: int = 1,
    fold_ascii: bool = False,
    unicode_form: str = "none",
) -> Vocab:
    """The vocabulary of ``text``.

    ``max_size`` counts ``<unk>``; None means the level's default (characters:
    :data:`DEFAULT_CHAR_VOCAB_SIZE`, words: :data:`DEFAULT_WORD_VOCAB_SIZE`). Tokens seen fewer than
    ``min_freq`` times are left out. ``unicode_form``, ``lower`` and ``fold_ascii``: see :class:`Vocab`.
    Which tokens survive a cap: most frequent first, ties by code point order.
    """
    _check_options(level, max_size, min_freq)
    form = TextForm(lower, fold_ascii, unicode_form)
    if level == "char":
        return _char_vocab(text, form, max_size, min_freq)[0]
    types, _, counts = _scan_words(text, form, keep_ids=False)
    return _vocab_from_counts(level, types, counts, form, max_size, min_freq)


def encode_corpus(
    text: str,
    level: str = "char",
    *,
    lower: bool = False,
    max_size: int | None = None,
    min_freq: int = 1,
    fold_ascii: bool = False,
    unicode_form: str = "none",
) -> tuple[Vocab, np.ndarray]:
    """Build the vocabulary of ``text`` and encode it: ``(vocab, ids)``, ids ``(n,)``.

    Tokens left out of a capped vocabulary become ``<unk>``. Word level tokenises the text once.
    """
    vocab, ids, _ = encode_with_coverage(
        text, level, lower=lower, max_size=max_size, min_freq=min_freq, fold_ascii=fold_ascii,
        unicode_form=unicode_form,
    )  # fmt: skip
    return vocab, ids


def encode_with_coverage(
    text: str,
    level: str = "char",
    *,
    lower: bool = False,
    max_size: int | None = None,
    min_freq: int = 1,
    fold_ascii: bool = False,
    unicode_form: str = "none",
) -> tuple[Vocab, np.ndarray, Coverage]:
    """:func:`encode_corpus`, and how much of ``text`` the vocabulary covers: ``(vocab, ids, coverage)``."""
    _check_options(level, max_size, min_freq)
    form = TextForm(lower, fold_ascii, unicode_form)
    if level == "char":
        vocab, n_types = _char_vocab(text, form, max_size, min_freq)
        ids = vocab.encode(text)
    else:
        types, chunks, counts = _scan_words(text, form, keep_ids=True)
        vocab, n_types = _vocab_from_counts(level, types, counts, form, max_size, min_freq), len(types)
        to_id = np.asarray([vocab.index.get(t, -1) for t in types], dtype=np.int32)
        to_id[to_id < 0] = vocab.unk_id  # a word vocabulary always has <unk>
        ids = np.empty(int(counts.sum()), dtype=vocab.dtype)
        start = 0
        for chunk in chunks:
            ids[start : start + len(chunk)] = to_id[chunk]
            start += len(chunk)
    has_unk = vocab.unk_id is not None
    n_unknown = int(np.count_nonzero(ids == vocab.unk_id)) if has_unk else 0
    return vocab, ids, Coverage(level, n_types, vocab.size - has_unk, len(ids), n_unknown)


def _char_vocab(text: str, form: TextForm, max_size: int | None, min_freq: int) -> tuple[Vocab, int]:
    """The character vocabulary of ``text`` and how many different characters the text holds."""
    counts = count_code_points(text, form)
    present = np.flatnonzero(counts)
    chars = [chr(c) for c in present.tolist()]
    return _vocab_from_counts("char", chars, counts[present], form, max_size, min_freq), len(chars)


def _check_options(level: str, max_size: int | None, min_freq: int) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    if max_size is not None and max_size < (2 if level == "word" else 1):
        raise ValueError(f"max_size must be at least {2 if level == 'word' else 1} at {level} level, not {max_size}")
    if min_freq < 1:
        raise ValueError(f"min_freq must be at least 1, not {min_freq}")


def _scan_words(text: str, form: TextForm, *, keep_ids: bool) -> tuple[list[str], list[np.ndarray], np.ndarray]:
    """Tokenise once: ``(types, per-piece arrays of type ids (if keep_ids), counts per type)``."""
    types = WordTypes()
    chunks: list[np.ndarray] = []
    counts = np.zeros(0, dtype=np.int64)
    for piece in iter_pieces(text, form, at_whitespace=True):
        type_ids = types.type_ids(piece)
        piece_counts = np.bincount(type_ids, minlength=len(types.types))
        counts = np.concatenate([counts, np.zeros(len(piece_counts) - len(counts), np.int64)])
        counts += piece_counts
        if keep_ids:
            chunks.append(type_ids)
    return types.types, chunks, counts


def _vocab_from_counts(
    level: str,
    candidates: list[str],
    counts: np.ndarray,
    form: TextForm,
    max_size: int | None,
    min_freq: int,
) -> Vocab:
    if not candidates:
        raise CorpusError("empty", "The text is empty: there is nothing to build a vocabulary from.")
    ranked = sorted(zip(counts.tolist(), candidates, strict=True), key=lambda pair: (-pair[0], pair[1]))
    kept = [tok for count, tok in ranked if count >= min_freq]
    cap = (
        max_size if max_size is not None else (DEFAULT_WORD_VOCAB_SIZE if level == "word" else DEFAULT_CHAR_VOCAB_SIZE)
    )
    needs_unk = level == "word" or len(kept) < len(ranked) or len(kept) > cap
    kept = kept[: cap - 1 if needs_unk else cap]
    if level == "char":
        kept.sort()  # code-point order: "\n" and " " first, then punctuation, digits, letters
    tokens = ([UNK] if needs_unk else []) + kept
    return Vocab(
        level=level, tokens=tuple(tokens), lower=form.lower, unk_id=0 if needs_unk else None,
        fold_ascii=form.fold_ascii, unicode_form=form.unicode_form,
    )  # fmt: skip
