"""Walk a long string in pieces of about a million characters, so that no step copies all of it.

Tokenising 100 MB at once would make a 100-million-entry Python list (gigabytes) or an int64 copy of
every code point (800 MB). Instead each piece is lower-cased / accent-folded on its own, turned into
a small NumPy array, and consumed before the next piece is made. Peak extra memory is a few times
the piece size, whatever the text size.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import numpy as np

#: Characters per piece: big enough that per-piece Python overhead vanishes, small enough that the
#: temporary arrays of one piece (up to 8 bytes per character) stay around 10 MB.
CHUNK_CHARS = 1 << 20


def fold_to_ascii(text: str) -> str:
    """Remove accents the way the PyTorch names tutorial does: ``"Müller" -> "Muller"``.

    Decomposes (NFD) and drops combining marks. Letters with no decomposition (ß, Ł, ø, æ) are
    kept as they are, so the result is not always pure ASCII. Meant for names and probe text: on
    long non-ASCII text it costs about a microsecond per character (a Python loop).
    """
    if text.isascii():  # O(1) in CPython: a flag of the string object
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise(text: str, *, lower: bool = False, fold_ascii: bool = False) -> str:
    """Apply a vocabulary's text options (lower-casing, accent folding) to a piece of text."""
    if lower:
        text = text.lower()
    if fold_ascii:
        text = fold_to_ascii(text)
    return text


def iter_pieces(
    text: str,
    *,
    lower: bool = False,
    fold_ascii: bool = False,
    at_whitespace: bool = False,
    chunk_chars: int | None = None,
) -> Iterator[str]:
    """Yield consecutive pieces of ``text`` (normalised) that concatenate to the whole.

    With ``at_whitespace`` a piece ends just after a newline or a space where there is one in its
    last window, so no word is cut in two (a run of over ``chunk_chars`` characters without a
    space or newline is cut where it must be). ``chunk_chars`` defaults to :data:`CHUNK_CHARS`,
    read at call time so tests can shrink it. Limit: a Greek capital sigma lower-cased exactly at
    a cut may get the non-final form.
    """
    chunk_chars = chunk_chars or CHUNK_CHARS
    n = len(text)
    start = 0
    while start < n:
        end = min(start + chunk_chars, n)
        if at_whitespace and end < n:
            cut = text.rfind("\n", start, end)
            if cut < start:
                cut = text.rfind(" ", start, end)
            if cut >= start:
                end = cut + 1
        yield normalise(text[start:end], lower=lower, fold_ascii=fold_ascii)
        start = end


def code_points(piece: str) -> np.ndarray:
    """Code points of a string: ``uint8`` when every character is Latin-1 (the fast path), else ``uint32``."""
    try:
        return np.frombuffer(piece.encode("latin-1"), dtype=np.uint8)
    except UnicodeEncodeError:
        # surrogatepass: a lone surrogate (never produced by our decoder) still gets a code point.
        return np.frombuffer(piece.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def count_code_points(text: str, *, lower: bool = False, fold_ascii: bool = False) -> np.ndarray:
    """How often each code point occurs: ``counts[cp]``, int64, length ``max(256, max cp + 1)``."""
    counts = np.zeros(256, dtype=np.int64)
    for piece in iter_pieces(text, lower=lower, fold_ascii=fold_ascii):
        piece_counts = np.bincount(code_points(piece), minlength=256)
        if len(piece_counts) > len(counts):
            counts = np.concatenate([counts, np.zeros(len(piece_counts) - len(counts), np.int64)])
        counts[: len(piece_counts)] += piece_counts
    return counts
