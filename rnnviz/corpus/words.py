"""Word-level tokenisation: words, punctuation marks and line breaks, fast enough for 100 MB.

A token is one of:

- a word: letters and digits, with inner apostrophes kept (``don't``, ``Alice’s``, ``o'er``);
- a number with inner separators (``3.0``, ``1,000``, ``10:30``);
- a line break ``"\\n"`` (kept, so generated text keeps its lines; blank lines give two);
- any other single non-space character: punctuation, quotes, dashes, underscores, symbols.

Spaces, tabs and other whitespace only separate tokens. ``"‘Off with her head!’"`` becomes
``‘ Off with her head ! ’``.

Speed: running the regular expression over 100 MB takes over 10 s. Instead the text is split at
whitespace with ``str.split`` (C speed), line breaks surviving as a sentinel, and the regular
expression runs once per *distinct* whitespace-free piece ("head!’" is split once, however often it
occurs). Every token then gets an id through a dict lookup; NumPy expands pieces into tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

#: The word tokeniser. Alternatives in order: a number with inner separators (3.0, 1,000, 10:30), a
#: word with inner apostrophes, a newline, any other non-space character. ``[^\W_]`` is "a letter or
#: digit" (``\w`` minus the underscore).
WORD_PATTERN = re.compile(r"\d+(?:[.,:]\d+)+|[^\W_]+(?:['’][^\W_]+)*|\n|\S")

# str.split() drops "\n" like any whitespace, so line breaks are first replaced by " \0 ".
# The loader refuses text with NUL characters; text that has some takes the slower regex path,
# where a real NUL token is registered under a two-NUL key that no split can produce.
_NEWLINE_PIECE = "\x00"
_NUL_PIECE = "\x00\x00"


def split_words(text: str) -> list[str]:
    """The tokens of a (short) text, as a list: ``"Hi, you.\\n" -> ["Hi", ",", "you", ".", "\\n"]``."""
    return WORD_PATTERN.findall(text)


class WordTypes:
    """The distinct tokens met so far (``types``, in order of first meeting) and a cache of how each
    whitespace-free piece of text splits into them. Feed it consecutive pieces of one text."""

    def __init__(self) -> None:
        self.types: list[str] = []
        self.type_index: dict[str, int] = {}
        self._piece_index: dict[str, int] = {}
        self._piece_start = np.zeros(0, dtype=np.int64)  # (P,) where piece p's type ids start in _flat
        self._piece_len = np.zeros(0, dtype=np.int64)  # (P,) how many tokens piece p holds
        self._flat = np.zeros(0, dtype=np.int32)  # type ids of all pieces, concatenated

    def type_ids(self, text: str) -> np.ndarray:
        """``(n,)`` int32 ids (indices into ``types``) of the tokens of ``text``, in order."""
        if "\x00" in text:
            pieces = [_NUL_PIECE if tok == "\x00" else tok for tok in WORD_PATTERN.findall(text)]
        else:
            pieces = text.replace("\n", " \x00 ").split()
        new = set(pieces).difference(self._piece_index)
        if new:
            self._register(sorted(new))  # sorted: provisional ids do not depend on string hashing
        piece_ids = np.fromiter(map(self._piece_index.__getitem__, pieces), dtype=np.int64, count=len(pieces))
        starts = self._piece_start[piece_ids]  # (n_pieces,)
        lengths = self._piece_len[piece_ids]  # (n_pieces,)
        # Output position j inside piece r's run is first[r] + o and reads _flat[starts[r] + o].
        first = np.cumsum(lengths) - lengths
        positions = np.repeat(starts - first, lengths) + np.arange(int(lengths.sum()))
        return self._flat[positions]

    def _register(self, pieces: Iterable[str]) -> None:
        lengths: list[int] = []
        flat: list[int] = []
        for piece in pieces:
            if piece == _NEWLINE_PIECE:
                tokens = ["\n"]
            elif piece == _NUL_PIECE:
                tokens = ["\x00"]
            else:
                tokens = WORD_PATTERN.findall(piece)
            self._piece_index[piece] = len(self._piece_index)
            lengths.append(len(tokens))
            flat.extend(self._type_id(tok) for tok in tokens)
        new_len = np.asarray(lengths, dtype=np.int64)
        new_start = len(self._flat) + np.cumsum(new_len) - new_len
        self._piece_start = np.concatenate([self._piece_start, new_start])
        self._piece_len = np.concatenate([self._piece_len, new_len])
        self._flat = np.concatenate([self._flat, np.asarray(flat, dtype=np.int32)])

    def _type_id(self, token: str) -> int:
        index = self.type_index.get(token)
        if index is None:
            index = self.type_index[token] = len(self.types)
            self.types.append(token)
        return index


# Spacing used to join tokens back into text. An approximation: straight quotes (and the _ and * of
# emphasis) alternate between opening and closing, right for dialogue, wrong for Shakespeare's "'tis".
_NO_SPACE_BEFORE = frozenset(".,;:!?)]}%…’”")
_NO_SPACE_AFTER = frozenset("([{‘“¿¡")
_JOINERS = frozenset("-—–/")  # no space on either side: "well-known", "yes—no"
_TOGGLES = frozenset("\"'_*")


def join_words(tokens: Iterable[str]) -> str:
    """Join word-level tokens into readable text: no space before punctuation or after an opening
    bracket or quote, none around dashes, and line-break tokens as line breaks."""
    joiner = WordJoiner()
    return "".join(map(joiner.add, tokens))


class WordJoiner:
    """:func:`join_words` one token at a time, for text that is shown as it is made (a server
    streaming generated words): ``add(token)`` returns what the token adds to the text, its leading
    space included, so the pieces of a sequence concatenate to ``join_words`` of it."""

    def __init__(self) -> None:
        self.glue_next = True  # at the start of the text (and of every line) no space goes first
        self.open_quotes: set[str] = set()

    def add(self, tok: str) -> str:
        if tok == "\n":
            self.glue_next = True
            return "\n"
        opening = closing = False
        if tok in _TOGGLES:
            closing = tok in self.open_quotes
            opening = not closing
            self.open_quotes ^= {tok}
        space = not (self.glue_next or closing or tok in _NO_SPACE_BEFORE or tok in _JOINERS)
        self.glue_next = opening or tok in _NO_SPACE_AFTER or tok in _JOINERS
        return " " + tok if space else tok
