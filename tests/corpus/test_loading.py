"""load_text: a table of every refused input (exact kind, plain message naming the file) and of
every accepted odd input (decoded text, encoding, notes)."""

from __future__ import annotations

import codecs
import os
import zlib
from pathlib import Path

import pytest

from rnnviz.corpus import (
    BUNDLED_CORPORA,
    KINDS,
    CorpusError,
    LMCorpus,
    bundled_corpus,
    bundled_names_dir,
    decode_bytes,
    load_text,
)
from rnnviz.corpus.errors import human_size

from .conftest import assert_plain_message

PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00\x00\x01\x00" * 4 + zlib.compress(b"pixels" * 50)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# (case id, how to make the input under tmp_path, expected kind, keyword arguments of load_text)
REFUSED = [
    ("missing", lambda d: d / "nowhere.txt", "missing", {}),
    ("directory", lambda d: (d / "folder.txt").mkdir() or d / "folder.txt", "directory", {}),
    ("empty", lambda d: write(d / "empty.txt", b""), "empty", {}),
    ("whitespace-only", lambda d: write(d / "blank.txt", b"  \n\t\n \r\n"), "empty", {}),
    ("bom-only", lambda d: write(d / "bom.txt", codecs.BOM_UTF8), "empty", {}),
    ("utf16-whitespace-only", lambda d: write(d / "blank16.txt", " \n".encode("utf-16")), "empty", {}),
    ("nul-bytes", lambda d: write(d / "data.bin.txt", b"hello\x00world\n"), "binary", {}),
    ("png", lambda d: write(d / "alice.png", PNG_HEAD), "binary", {}),
    ("png-renamed-txt", lambda d: write(d / "picture.txt", PNG_HEAD), "binary", {}),
    ("docx", lambda d: write(d / "essay.docx", b"PK\x03\x04" + b"word/document.xml" * 10), "binary", {}),
    ("pdf", lambda d: write(d / "paper.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), "binary", {}),
    ("control-chars", lambda d: write(d / "noise.txt", bytes(range(1, 9)) * 200), "binary", {}),
    ("utf16-with-nul-char", lambda d: write(d / "nul16.txt", "ab\x00cd".encode("utf-16")), "binary", {}),
    ("utf16-bom-odd-bytes", lambda d: write(d / "broken16.txt", codecs.BOM_UTF16_LE + b"a\x00b"), "bad_encoding", {}),
    ("too-large", lambda d: write(d / "big.txt", b"x" * 100), "too_large", {"max_bytes": 10}),
]


@pytest.mark.parametrize("make, kind, kwargs", [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_refused_input(tmp_path, make, kind, kwargs):
    path = make(tmp_path)
    with pytest.raises(CorpusError) as caught:
        load_text(path, **kwargs)
    assert caught.value.kind == kind
    assert caught.value.path == path
    assert_plain_message(str(caught.value), path.name)


def test_every_refusal_kind_is_documented():
    assert {case[2] for case in REFUSED} <= set(KINDS)
    with pytest.raises(ValueError):
        CorpusError("no_such_kind", "x")


def test_too_large_message_gives_size_and_limit(tmp_path):
    path = write(tmp_path / "big.txt", b"x" * 3 * 2**20)
    with pytest.raises(CorpusError) as caught:
        load_text(path, max_bytes=2**20)
    assert "3.0 MB" in str(caught.value) and "1.0 MB" in str(caught.value)


def test_too_large_is_refused_before_reading(tmp_path, monkeypatch):
    path = write(tmp_path / "big.txt", b"x" * 100)
    monkeypatch.setattr("builtins.open", lambda *a, **k: pytest.fail("the file was opened"))
    with pytest.raises(CorpusError, match="limit"):
        load_text(path, max_bytes=99)


def test_png_message_names_the_format(tmp_path):
    with pytest.raises(CorpusError, match="PNG image"):
        load_text(write(tmp_path / "alice.png", PNG_HEAD))


def test_nul_message_says_nul_bytes(tmp_path):
    with pytest.raises(CorpusError, match="NUL bytes"):
        load_text(write(tmp_path / "alice.png", b"GIF? no\x00"))


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_unreadable_file_by_permissions(tmp_path):
    path = write(tmp_path / "secret.txt", b"hello")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: chmod 000 does not stop reading")
        with pytest.raises(CorpusError) as caught:
            load_text(path)
        assert caught.value.kind == "unreadable"
        assert_plain_message(str(caught.value), "secret.txt")
    finally:
        path.chmod(0o644)


# (what the system refuses, how, a fragment of the message): the "unreadable" paths without relying
# on chmod, which root ignores.
SYSTEM_REFUSALS = [
    ("builtins.open", PermissionError(13, "Permission denied"), "permission to read it"),
    ("builtins.open", OSError(5, "Input/output error"), "Input/output error"),
    ("pathlib.Path.stat", PermissionError(13, "Permission denied"), "permission to look inside its folder"),
    ("pathlib.Path.stat", OSError(5, "Input/output error"), "Input/output error"),
]


@pytest.mark.parametrize(
    "target, error, fragment", SYSTEM_REFUSALS, ids=["open-permission", "open-io", "stat-permission", "stat-io"]
)
def test_unreadable_when_the_system_refuses(tmp_path, monkeypatch, target, error, fragment):
    path = write(tmp_path / "secret.txt", b"hello")

    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr(target, refuse)
    with pytest.raises(CorpusError) as caught:
        load_text(path)
    assert caught.value.kind == "unreadable" and fragment in str(caught.value)
    assert_plain_message(str(caught.value), "secret.txt")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_is_refused_without_blocking(tmp_path):
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    with pytest.raises(CorpusError) as caught:
        load_text(path)
    assert caught.value.kind == "unreadable" and "not a regular file" in str(caught.value)


def test_too_short_for_one_sequence(tmp_path):
    path = write(tmp_path / "tiny.txt", b"To be, or not to be.\n")
    with pytest.raises(CorpusError) as caught:
        LMCorpus.from_file(path, seq_len=64)
    assert caught.value.kind == "too_short"
    message = str(caught.value)
    assert "21 characters" in message and "at least 65" in message
    assert_plain_message(message, "tiny.txt")


def test_too_short_at_word_level_counts_tokens(tmp_path):
    path = write(tmp_path / "tiny.txt", b"To be, or not to be.\n")
    with pytest.raises(CorpusError, match="only 9 tokens.*at least 11"):
        LMCorpus.from_file(path, level="word", seq_len=10)


LONG_LINE = "lorem ipsum " * 250_000  # 3 MB, no line break at all

# (case id, file bytes, decoded text, encoding, a fragment expected in the notes or None for no notes)
ACCEPTED = [
    ("ascii", b"plain text\n", "plain text\n", "utf-8", None),
    ("utf8", "héllo wörld ‘quote’\n".encode(), "héllo wörld ‘quote’\n", "utf-8", None),
    ("utf8-bom", codecs.BOM_UTF8 + "héllo\n".encode(), "héllo\n", "utf-8-sig", "UTF-8 byte-order mark"),
    (
        "utf16-le-bom",
        codecs.BOM_UTF16_LE + "héllo\nwörld".encode("utf-16-le"),
        "héllo\nwörld",
        "utf-16",
        "UTF-16 (little-endian)",
    ),
    (
        "utf16-be-bom",
        codecs.BOM_UTF16_BE + "héllo\nwörld".encode("utf-16-be"),
        "héllo\nwörld",
        "utf-16",
        "UTF-16 (big-endian)",
    ),
    ("utf16-crlf", codecs.BOM_UTF16_LE + "a\r\nb\r\n".encode("utf-16-le"), "a\nb\n", "utf-16", "CRLF"),
    ("utf32-le-bom", codecs.BOM_UTF32_LE + "日本\n".encode("utf-32-le"), "日本\n", "utf-32", "UTF-32 (little-endian)"),
    ("utf32-be-bom", codecs.BOM_UTF32_BE + "日本\n".encode("utf-32-be"), "日本\n", "utf-32", "UTF-32 (big-endian)"),
    ("cp1252", "“Smart” quotes – café €5\n".encode("cp1252"), "“Smart” quotes – café €5\n", "cp1252", "Windows-1252"),
    ("cp1252-undefined-bytes", b"caf\xe9 \x81\x8d\n", "café \ufffd\ufffd\n", "cp1252", "2 bytes it does not define"),
    ("crlf", b"one\r\ntwo\r\n", "one\ntwo\n", "utf-8", "CRLF"),
    ("cr-only", b"one\rtwo\r", "one\ntwo\n", "utf-8", "CR-only"),
    ("mixed-endings", b"a\r\nb\rc\n", "a\nb\nc\n", "utf-8", "CRLF"),
    ("no-final-newline", b"last line", "last line", "utf-8", None),
    ("tabs-and-escape", b"col\tcol\x1b[0m\n", "col\tcol\x1b[0m\n", "utf-8", None),
    ("one-long-line", LONG_LINE.encode(), LONG_LINE, "utf-8", None),
]


@pytest.mark.parametrize(
    "data, text, encoding, note", [case[1:] for case in ACCEPTED], ids=[case[0] for case in ACCEPTED]
)
def test_accepted_input(tmp_path, data, text, encoding, note):
    path = write(tmp_path / "input.txt", data)
    loaded = load_text(path)
    assert loaded.text == text
    assert loaded.encoding == encoding
    assert loaded.n_bytes == len(data)
    assert loaded.path == path and loaded.name == "input.txt"
    if note is None:
        assert loaded.notes == ()
    else:
        assert any(note in n for n in loaded.notes), loaded.notes


def test_both_line_ending_notes_for_mixed_endings():
    _, _, notes = decode_bytes(b"a\r\nb\rc")
    assert len(notes) == 2 and "(1 lines)" in notes[0] + notes[1]


def test_cp1252_note_says_where_utf8_failed():
    _, encoding, notes = decode_bytes(b"abc \x93quoted\x94")
    assert encoding == "cp1252" and "byte 4" in notes[0]


def test_decode_bytes_names_pasted_text():
    with pytest.raises(CorpusError, match="^The pasted text is empty"):
        decode_bytes(b"", name="The pasted text")


def test_path_may_be_a_string_with_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path / "home.txt", b"hi\n")
    assert load_text("~/home.txt").text == "hi\n"


@pytest.mark.parametrize("name", BUNDLED_CORPORA)
def test_bundled_corpora_load_as_clean_utf8(name):
    loaded = load_text(bundled_corpus(name))
    assert loaded.encoding == "utf-8" and loaded.notes == ()
    assert "\r" not in loaded.text and len(loaded.text) > 100_000


def test_bundled_corpora_quirks_are_kept():
    shakespeare = load_text(bundled_corpus())  # the default corpus
    assert shakespeare.name == "tinyshakespeare.txt" and shakespeare.n_bytes == 1_115_394
    assert shakespeare.text.isascii() and shakespeare.text.endswith("\n")
    alice = load_text(bundled_corpus("alice.txt"))
    assert alice.n_bytes == 151_095 and len(alice.text) == 144_600
    assert "‘" in alice.text and "”" in alice.text and alice.text.endswith("THE END")


def test_unknown_bundled_corpus_lists_the_choices():
    with pytest.raises(CorpusError) as caught:
        bundled_corpus("dinos.txt")
    assert caught.value.kind == "missing" and "tinyshakespeare.txt" in str(caught.value)


def test_bundled_names_dir_has_18_files():
    assert len(list(bundled_names_dir().glob("*.txt"))) == 18


def test_unreadable_when_the_name_is_too_long(tmp_path):
    path = tmp_path / ("n" * 300 + ".txt")
    with pytest.raises(CorpusError) as caught:
        load_text(path)
    assert caught.value.kind == "unreadable" and "too long" in str(caught.value)


def test_too_large_when_the_file_grows_after_stat(tmp_path, monkeypatch):
    path = write(tmp_path / "growing.log", b"x" * 10)
    real_open = open

    def grow_then_open(file, mode="r", *args, **kwargs):
        Path(file).write_bytes(b"x" * 50)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", grow_then_open)
    with pytest.raises(CorpusError) as caught:
        load_text(path, max_bytes=20)
    assert caught.value.kind == "too_large" and "50 bytes" in str(caught.value)


def test_utf16_made_of_control_characters_is_binary():
    with pytest.raises(CorpusError, match="control characters") as caught:
        decode_bytes(codecs.BOM_UTF16_LE + "\x01\x02\x03\x04".encode("utf-16-le") * 50, name="odd.txt")
    assert caught.value.kind == "binary"


@pytest.mark.parametrize(
    "n, text",
    [(0, "0 bytes"), (1023, "1023 bytes"), (1536, "1.5 KB"), (200 * 2**20, "200.0 MB"), (3 * 2**30, "3.0 GB")],
)
def test_human_sizes(n, text):
    assert human_size(n) == text


def test_bundled_data_not_installed_as_files(monkeypatch):
    monkeypatch.setattr(
        "rnnviz.corpus.bundled.files", lambda package: Path("/nonexistent/site-packages.zip/rnnviz/data")
    )
    with pytest.raises(CorpusError) as caught:
        bundled_corpus()
    assert caught.value.kind == "missing" and "Reinstall" in str(caught.value)
