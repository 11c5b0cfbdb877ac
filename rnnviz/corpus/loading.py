"""Read a text file the careful way: bytes first, every check before use, a plain message on refusal.

Order of checks (each failure is a :class:`CorpusError` with the kind in brackets):

1. the path exists [missing], is not a folder [directory], is a regular file [unreadable];
2. its size (from ``stat``, before reading a byte) is within ``max_bytes`` [too_large], unless
   ``use_start``: then only its first ``max_bytes`` are read, up to the last line break in them;
3. it can be read [unreadable] and is not zero bytes [empty];
4. a known binary format (PNG, JPEG, GIF, PDF, ZIP/.docx, gzip, old .doc) [binary];
5. a byte-order mark: UTF-32 or UTF-16 (decoded strictly [bad_encoding]) or UTF-8 (stripped);
6. without a UTF-16/32 mark, NUL bytes or mostly control characters [binary];
7. strict UTF-8; else the decoding that damages the fewest characters, with a note saying which
   (see :func:`decode_bytes`): a character cut off at the very end is left out, then UTF-8 with
   replacement characters when most non-ASCII characters are valid UTF-8, else Windows-1252 with
   the five bytes it does not define replaced;
8. empty or whitespace-only after decoding [empty];
9. CRLF and lone CR become LF (with a note).

Limits: UTF-16/32 are recognised only with a byte-order mark (Windows always writes one); without
one, their NUL bytes make the file look binary and the message says how to fix it. Memory peaks at
about twice the file size for ASCII/UTF-8 text (the bytes and the decoded string), three times
while converting CRLF line endings or decoding a file that is not valid UTF-8. A replaced character
is U+FFFD (shown as �): the network sees it as one more token.
"""

from __future__ import annotations

import codecs
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from rnnviz.corpus.errors import CorpusError, human_size

#: Files above this size are refused unless the caller raises the limit.
DEFAULT_MAX_BYTES = 200 * 2**20

# Magic numbers of binary formats a student may pick by mistake, for a message naming the format
# and saying how to get text out of it.
_EXPORT = "Save or export it as plain text (.txt) and open that file."
_PICK = "Choose a plain-text file (.txt)."
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image", _PICK),
    (b"\xff\xd8\xff", "a JPEG image", _PICK),
    (b"GIF87a", "a GIF image", _PICK),
    (b"GIF89a", "a GIF image", _PICK),
    (
        b"%PDF-",
        "a PDF document",
        "Copy its text into a plain-text file (.txt), or export it as text, and open that file.",
    ),
    (
        b"PK\x03\x04",
        "a ZIP archive (a Word .docx or OpenDocument .odt file is one)",
        "In your word processor use Save As with the format Plain Text (.txt), and open that file.",
    ),
    (b"\x1f\x8b", "a gzip-compressed file", "Decompress it first and open the text file inside."),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document (.doc, .xls)", _EXPORT),
)

# Byte-order marks, longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 (little-endian)"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 (big-endian)"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 (little-endian)"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 (big-endian)"),
)

# Control characters that never occur in text (tab, LF, VT, FF, CR and ESC do).
_CONTROL = frozenset(range(32)) - {9, 10, 11, 12, 13, 27}
# How much of the start of a file the control-character test looks at, and the fraction that
# makes it "mostly control characters" (real text has none; a binary format has many).
_SNIFF_CHARS = 65536
_CONTROL_FRACTION = 0.3


@dataclass(frozen=True)
class LoadedText:
    """A decoded text file.

    ``text`` has LF line endings only and no byte-order mark; ``encoding`` is the codec that
    decoded it ("utf-8", "utf-8-sig", "utf-16", "utf-32" or "cp1252"); ``n_bytes`` is
    the file size; ``notes`` are sentences for the user about anything converted or guessed.
    """

    path: Path
    text: str
    encoding: str
    n_bytes: int
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The file name, as messages and window titles show it."""
        return self.path.name


def load_text(
    path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES, use_start: bool = False
) -> LoadedText:
    """Read and decode a text file; raise :class:`CorpusError` with a plain message if it is refused.

    ``max_bytes`` is checked against the size on disk before anything is read. With ``use_start`` a
    larger file is not refused: its first ``max_bytes`` are read and cut after their last line break
    (so no line and no character is cut in two), and a note says how much was used.
    """
    path = Path(path).expanduser()
    n_bytes = _check_file(path, None if use_start else max_bytes)
    data = _read_bytes(path, max_bytes, use_start)
    start_only = use_start and n_bytes > max_bytes
    if start_only:
        data = _cut_after_last_line_break(data)
    text, encoding, notes = decode_bytes(data, name=path.name, path=path)
    if start_only:
        notes = (
            f"used only the start of the file, {human_size(len(data))} of {human_size(n_bytes)} (up to the last "
            f"line break within the size limit of {human_size(max_bytes)})",
            *notes,
        )
    return LoadedText(path=path, text=text, encoding=encoding, n_bytes=max(n_bytes, len(data)), notes=notes)


def decode_bytes(data: bytes, *, name: str = "The text", path: Path | None = None) -> tuple[str, str, tuple[str, ...]]:
    """Decode file contents: returns ``(text, encoding, notes)``; steps 3-9 of the module docstring.

    ``name`` is how messages refer to the data (a file name, or e.g. "The pasted text").

    Data that is not valid UTF-8 (step 7) is decoded so that one bad byte damages one character, never
    the whole text: an incomplete character at the very end (a file cut off) is left out; then, if most
    of its non-ASCII characters are valid UTF-8, it is UTF-8 with a few damaged places, each replaced
    by U+FFFD; otherwise Windows-1252, whose five undefined bytes (0x81, 0x8D, 0x8F, 0x90, 0x9D)
    become U+FFFD. A note says which decoding, how many characters were replaced and where the first is.
    """
    if not data:
        raise CorpusError("empty", f"{name} is empty (0 bytes): there is no text to learn from. {_PICK}", path=path)
    for magic, what, advice in _MAGIC:
        if data.startswith(magic):
            raise CorpusError("binary", f"{name} is {what}, not plain text. {advice}", path=path)
    notes: list[str] = []
    for bom, encoding, described in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)  # strict; the codec consumes the mark
            except UnicodeDecodeError as err:
                raise CorpusError(
                    "bad_encoding",
                    f"{name} starts with a {described} byte-order mark, but its bytes are not valid {described} "
                    f"(from byte {err.start}). The file may be damaged: open it in a text editor and save it as UTF-8.",
                    path=path,
                ) from None
            notes.append(f"decoded as {described}, as its byte-order mark says")
            _refuse_binary_text(text, name, path)
            text = _normalise_line_endings_text(text, notes)
            return _refuse_empty(text, name, path), encoding, tuple(notes)

    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        notes.append("removed the UTF-8 byte-order mark (BOM) at the start")
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    _refuse_binary_bytes(data, name, path)
    # In UTF-8, Windows-1252 and Latin-1 a CR byte is always the character CR, so line endings
    # can be converted on the bytes, before the (larger) string exists.
    data = _normalise_line_endings_bytes(data, notes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        text, encoding = _decode_not_utf8(data, err.start, encoding, notes)
    del data
    return _refuse_empty(text, name, path), encoding, tuple(notes)


# The five bytes Windows-1252 leaves undefined (Python's cp1252 codec refuses them; every other byte
# is a character). Before, one of them made the whole file Latin-1, whose 0x80-0x9F are invisible
# control characters: every smart quote and dash of the file was lost for one stray byte.
_CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"
_ASCII = bytes(range(128))
_REPLACEMENT = "\ufffd"  # what a character that cannot be decoded becomes (shown as �)


def _decode_not_utf8(data: bytes, first_error: int, encoding: str, notes: list[str]) -> tuple[str, str]:
    """Step 7 for data that strict UTF-8 refused at byte ``first_error``: ``(text, encoding)``.

    Windows-1252 text almost never holds a valid UTF-8 multi-byte sequence (its accented letters are
    single bytes that UTF-8 refuses), so when most non-ASCII characters decode as UTF-8 the file is
    UTF-8 with a few damaged places, and decoding it as Windows-1252 would turn every one of its
    accented letters into two characters.
    """
    data, n_cut = _without_cut_character(data)
    if n_cut:
        notes.append(
            f"the text ends in the middle of a character (the file was probably cut off): left out its last "
            f"{_count(n_cut, 'byte')}"
        )
    text = data.decode("utf-8", errors="replace")
    n_bad = text.count(_REPLACEMENT) - data.count(_REPLACEMENT.encode())  # (a U+FFFD in the file is not damage)
    if n_bad == 0:  # only the cut-off character
        return text, encoding
    n_non_ascii = len(text) - (len(data) - len(data.translate(None, _ASCII)))
    if n_non_ascii - n_bad > n_bad:
        where = _line_column(data, first_error, "utf-8")
        notes.append(
            f"mostly valid UTF-8: decoded as UTF-8, and {_count(n_bad, 'invalid byte sequence')} became "
            f"{_REPLACEMENT} (the first at {where})"
        )
        return text, encoding
    del text
    return _decode_cp1252(data, first_error, notes), "cp1252"


def _decode_cp1252(data: bytes, first_error: int, notes: list[str]) -> str:
    """Windows-1252, replacing only the bytes it does not define; the note says so."""
    said = f"not valid UTF-8 (first error at byte {first_error}); decoded as Windows-1252 (Western European)"
    n_undefined = sum(data.count(b) for b in _CP1252_UNDEFINED)
    if not n_undefined:
        notes.append(said)
        return data.decode("cp1252")
    first = min(i for i in (data.find(b) for b in _CP1252_UNDEFINED) if i >= 0)
    notes.append(
        f"{said}, where {_count(n_undefined, 'byte')} it does not define became {_REPLACEMENT} "
        f"(the first at {_line_column(data, first, 'cp1252')})"
    )
    return data.decode("cp1252", errors="replace")


def _without_cut_character(data: bytes) -> tuple[bytes, int]:
    """``(data, n)``: ``data`` without an incomplete UTF-8 character at its very end (its first ``n``
    bytes, a valid start of a character the file stops in); ``n`` is 0 when the last character is whole."""
    for start in range(len(data) - 1, max(len(data) - 4, -1), -1):  # a character is at most 4 bytes
        if data[start] < 0x80:  # ASCII: the last character is complete
            return data, 0
        if data[start] >= 0xC0:  # the lead byte of the last character
            try:
                incomplete = codecs.getincrementaldecoder("utf-8")().decode(data[start:], final=False) == ""
            except UnicodeDecodeError:  # not UTF-8 at all: damage, not a cut
                return data, 0
            return (data[:start], len(data) - start) if incomplete else (data, 0)
    return data, 0


def _line_column(data: bytes, offset: int, encoding: str) -> str:
    """Where byte ``offset`` of ``data`` is, as "line L, column C" (both from 1, the column in characters)."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode(encoding, errors="replace")) + 1
    return f"line {line:,}, column {column:,}"


def _count(n: int, what: str) -> str:
    """``"1 byte"``, ``"3 bytes"``."""
    return f"{n:,} {what}" if n == 1 else f"{n:,} {what}s"


def _check_file(path: Path, max_bytes: int | None) -> int:
    """Existence, type and size (None: any size), from ``stat`` alone. Returns the size in bytes."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CorpusError(
            "missing",
            f"Cannot find {path.name or path}: there is no file at {path}. Check the name and the folder.",
            path=path,
        ) from None
    except PermissionError:
        raise CorpusError(
            "unreadable",
            f"Cannot open {path.name}: you do not have permission to look inside its folder ({path.parent}).",
            path=path,
        ) from None
    except OSError as err:
        raise CorpusError("unreadable", f"Cannot open {path.name}: {err.strerror or err}.", path=path) from None
    if stat.S_ISDIR(info.st_mode):
        raise CorpusError(
            "directory",
            f"{path.name} is a folder ({path}), not a text file. Choose a .txt file inside it.",
            path=path,
        )
    if not stat.S_ISREG(info.st_mode):
        raise CorpusError(
            "unreadable",
            f"{path.name} is not a regular file (it is a device, a pipe or a socket). {_PICK}",
            path=path,
        )
    if max_bytes is not None and info.st_size > max_bytes:
        raise CorpusError("too_large", _too_large_message(path.name, info.st_size, max_bytes), path=path)
    return info.st_size


def _read_bytes(path: Path, max_bytes: int, use_start: bool = False) -> bytes:
    """The file's bytes; with ``use_start`` only its first ``max_bytes``."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes if use_start else -1)
    except PermissionError:
        raise CorpusError(
            "unreadable",
            f"Cannot read {path.name}: you do not have permission to read it. "
            "Copy it somewhere you own, or change its permissions.",
            path=path,
        ) from None
    except OSError as err:
        raise CorpusError("unreadable", f"Cannot read {path.name}: {err.strerror or err}.", path=path) from None
    if len(data) > max_bytes:  # the file grew between stat and read (with use_start it cannot be longer)
        raise CorpusError("too_large", _too_large_message(path.name, len(data), max_bytes), path=path)
    return data


def _too_large_message(name: str, size: int, max_bytes: int) -> str:
    return (
        f"{name} is {human_size(size)}, more than the limit of {human_size(max_bytes)}. "
        "Raise the size limit, use only the start of this file, or choose a smaller file."
    )


def _cut_after_last_line_break(data: bytes) -> bytes:
    """The start of a file's first bytes, up to and including their last line break (all of them if
    there is none): a line, and a character of any encoding, is never cut in two. UTF-16/32 (with
    their byte-order mark) write a line break as a 2- or 4-byte code unit, looked for on its boundary."""
    for bom, encoding, _ in _BOMS:
        if data.startswith(bom):
            newline = "\n".encode(f"{encoding}-{'le' if bom[0] == 0xFF else 'be'}")  # (FF FE...: little-endian)
            unit = len(newline)
            end = len(data) - len(data) % unit
            while (found := data.rfind(newline, len(bom), end)) >= 0:
                if found % unit == 0:
                    return data[: found + unit]
                end = found + unit - 1  # a match across two code units: look further back
            return data[:end]
    found = data.rfind(b"\n")  # in UTF-8 and Windows-1252 the byte 0x0A is always a line break
    return data[: found + 1] if found >= 0 else data


def _refuse_binary_bytes(data: bytes, name: str, path: Path | None) -> None:
    if b"\x00" in data:  # memchr: fast even on 100 MB
        raise CorpusError(
            "binary",
            f"{name} looks like a binary file (it contains NUL bytes), not text. {_PICK} "
            "If it is text saved as UTF-16 without a byte-order mark, save it again as UTF-8.",
            path=path,
        )
    head = data[:_SNIFF_CHARS]
    n_control = sum(head.count(bytes([c])) for c in _CONTROL)
    if n_control > _CONTROL_FRACTION * len(head):
        raise CorpusError("binary", _mostly_control_message(name), path=path)


def _refuse_binary_text(text: str, name: str, path: Path | None) -> None:
    if "\x00" in text:
        raise CorpusError(
            "binary", f"{name} looks like a binary file (it contains NUL characters), not text. {_PICK}", path=path
        )
    head = text[:_SNIFF_CHARS]
    n_control = sum(head.count(chr(c)) for c in _CONTROL)
    if n_control > _CONTROL_FRACTION * len(head):
        raise CorpusError("binary", _mostly_control_message(name), path=path)


def _mostly_control_message(name: str) -> str:
    return f"{name} looks like a binary file (most of its first characters are control characters), not text. {_PICK}"


def _refuse_empty(text: str, name: str, path: Path | None) -> str:
    # isspace() stops at the first non-space character, so this is instant on real text.
    if not text or text.isspace():
        what = "is empty" if not text else "holds only spaces and line breaks"
        raise CorpusError("empty", f"{name} {what}: there is no text to learn from. {_PICK}", path=path)
    return text


def _normalise_line_endings_bytes(data: bytes, notes: list[str]) -> bytes:
    if b"\r" not in data:
        return data
    n_crlf = data.count(b"\r\n")
    n_cr = data.count(b"\r") - n_crlf
    _note_line_endings(n_crlf, n_cr, notes)
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _normalise_line_endings_text(text: str, notes: list[str]) -> str:
    if "\r" not in text:
        return text
    n_crlf = text.count("\r\n")
    n_cr = text.count("\r") - n_crlf
    _note_line_endings(n_crlf, n_cr, notes)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _note_line_endings(n_crlf: int, n_cr: int, notes: list[str]) -> None:
    if n_crlf:
        notes.append(f"converted Windows (CRLF) line endings to LF ({n_crlf:,} lines)")
    if n_cr:
        notes.append(f"converted old Mac (CR-only) line endings to LF ({n_cr:,} lines)")
