"""Walk a long string in pieces of about a million characters, so that no step copies all of it.

Tokenising 100 MB at once would make a 100-million-entry Python list (gigabytes) or an int64 copy of
every code point (800 MB). Instead each piece is lower-cased / accent-folded on its own, turned into
a small NumPy array, and consumed before the next piece is made. Peak extra memory is a few times
the piece size, whatever the text size.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

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


#: How a vocabulary may normalise Unicode: "NFC" composes a letter and the combining accents that
#: follow it into one character where Unicode has one (``"e\u0301"`` -> ``"é"``), so the same word
#: typed on two systems is the same tokens; "none" keeps the text's characters as they are.
UNICODE_FORMS = ("NFC", "none")


@dataclass(frozen=True)
class TextForm:
    """What a vocabulary does to any text before reading it: Unicode normalisation first (see
    :data:`UNICODE_FORMS`), then lower-casing, then accent folding (:func:`fold_to_ascii`)."""

    lower: bool = False
    fold_ascii: bool = False
    unicode_form: str = "none"

    def __post_init__(self) -> None:
        if self.unicode_form not in UNICODE_FORMS:
            raise ValueError(f"unicode_form must be one of {UNICODE_FORMS}, not {self.unicode_form!r}")

    def apply(self, text: str) -> str:
        if self.unicode_form == "NFC":
            text = unicodedata.normalize("NFC", text)  # returns the text itself when it already is NFC
        if self.lower:
            text = text.lower()
        if self.fold_ascii:
            text = fold_to_ascii(text)
        return text


def nfc_note(text: str) -> str | None:
    """What normalising ``text`` to NFC changes, for the user; None when it is NFC already."""
    if unicodedata.is_normalized("NFC", text):  # a quick check in C: no copy of an NFC text
        return None
    n_joined = len(text) - len(unicodedata.normalize("NFC", text))
    if not n_joined:
        return "normalised the text to Unicode NFC (combining accents put in their standard order)"
    return (
        f"normalised the text to Unicode NFC: {n_joined:,} combining accents were joined with their letters, so "
        "a letter like é is one character however it was typed"
    )


def iter_pieces(
    text: str,
    form: TextForm = TextForm(),
    *,
    at_whitespace: bool = False,
    chunk_chars: int | None = None,
) -> Iterator[str]:
    """Yield consecutive pieces of ``text`` (normalised by ``form``) that concatenate to the whole.

    With ``at_whitespace`` a piece ends just after a newline or a space where there is one in its
    last window, so no word is cut in two (a run of over ``chunk_chars`` characters without a
    space or newline is cut where it must be). NFC cuts the same way (nothing composes across a
    space) and never just before a combining mark, so a letter and its accent are normalised
    together. ``chunk_chars`` defaults to :data:`CHUNK_CHARS`, read at call time so tests can shrink
    it. Limits: a Greek capital sigma lower-cased exactly at a cut may get the non-final form; Korean
    jamo cut apart in a run of a million characters without a space are not composed there.
    """
    chunk_chars = chunk_chars or CHUNK_CHARS
    nfc = form.unicode_form == "NFC"
    n = len(text)
    start = 0
    while start < n:
        end = min(start + chunk_chars, n)
        if (at_whitespace or nfc) and end < n:
            cut = text.rfind("\n", start, end)
            if cut < start:
                cut = text.rfind(" ", start, end)
            if cut >= start:
                end = cut + 1
        if nfc:
            while start + 1 < end < n and unicodedata.combining(text[end]):
                end -= 1  # keep a mark with the letter before it
        yield form.apply(text[start:end])
        start = end


def code_points(piece: str) -> np.ndarray:
    """Code points of a string: ``uint8`` when every character is Latin-1 (the fast path), else ``uint32``."""
    try:
        return np.frombuffer(piece.encode("latin-1"), dtype=np.uint8)
    except UnicodeEncodeError:
        # surrogatepass: a lone surrogate (never produced by our decoder) still gets a code point.
        return np.frombuffer(piece.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def count_code_points(text: str, form: TextForm = TextForm()) -> np.ndarray:
    """How often each code point occurs: ``counts[cp]``, int64, length ``max(256, max cp + 1)``."""
    counts = np.zeros(256, dtype=np.int64)
    for piece in iter_pieces(text, form):
        piece_counts = np.bincount(code_points(piece), minlength=256)
        if len(piece_counts) > len(counts):
            counts = np.concatenate([counts, np.zeros(len(piece_counts) - len(counts), np.int64)])
        counts[: len(piece_counts)] += piece_counts
    return counts
