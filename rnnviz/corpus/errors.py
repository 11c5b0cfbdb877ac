"""The one error type of the corpus package: a refused input, with a kind and a message for a student.

The GUI shows ``str(err)`` as it is, so every message is written in plain words, names the file
(or folder) and says what to do. Code that needs to react differently reads ``err.kind``.
"""

from __future__ import annotations

from pathlib import Path

#: Every kind a CorpusError can have, with what it means.
KINDS: dict[str, str] = {
    "missing": "the file or folder does not exist",
    "directory": "a folder was given where a text file is needed",
    "not_directory": "a file was given where a folder of class files is needed",
    "unreadable": "the file exists but cannot be read (permissions, a device, an I/O error)",
    "empty": "the file is empty or holds only whitespace",
    "binary": "the file is not text (NUL bytes, control characters or a known binary format)",
    "bad_encoding": "the file announces an encoding (a byte-order mark) but its bytes do not follow it",
    "too_large": "the file is larger than the configured limit",
    "too_short": "the text has fewer tokens than one training sequence",
    "no_classes": "a names folder holds no <Class>.txt file with any name in it",
    "one_class": "a names folder holds only one class; classification needs at least two",
    "unknown_token": "text to encode holds tokens the vocabulary does not know (errors='raise')",
    "invalid_vocab": "a saved vocabulary (e.g. from a checkpoint) is malformed or from a newer version",
}


class CorpusError(ValueError):
    """A refused input. ``kind`` is one of :data:`KINDS`; ``str(err)`` is the message for the user.

    ``path`` is the file or folder concerned, when there is one.
    """

    def __init__(self, kind: str, message: str, *, path: Path | str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown CorpusError kind {kind!r}; known: {sorted(KINDS)}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.path = None if path is None else Path(path)

    def __repr__(self) -> str:
        return f"CorpusError({self.kind!r}, {self.message!r})"


def human_size(n_bytes: int) -> str:
    """``1536`` -> ``'1.5 KB'``; binary multiples, written the way file managers write them."""
    if n_bytes < 1024:
        return f"{n_bytes} bytes"
    size = n_bytes / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
