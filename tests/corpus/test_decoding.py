"""Decoding text that is not clean UTF-8: a stray byte damages one character, never the whole file.

Three kinds of damage, each decoded the way that keeps the rest of the text right, and said in a note
(which decoding, how many characters were replaced, the line and column of the first):

- a Windows-1252 file with a byte Windows-1252 does not define (0x81, 0x8D, 0x8F, 0x90, 0x9D);
- a UTF-8 file with a few bytes that are not UTF-8 (a pasted Windows-1252 quote, a damaged sector);
- a UTF-8 file cut off in the middle of a character (a download stopped, "the first N MB").
"""

from __future__ import annotations

import pytest

from rnnviz.corpus import decode_bytes

WESTERN = "“Smart” quotes – café, naïve, €5 and œuvre\n"  # every character Windows-1252 has
ACCENTED = "Ça, c’est l’été à Zürich — déjà vu.\n"  # non-ASCII characters UTF-8 encodes in 2-3 bytes


def note_with(notes: tuple[str, ...], *fragments: str) -> str:
    """The note holding every fragment (fails naming the notes otherwise)."""
    for note in notes:
        if all(f in note for f in fragments):
            return note
    raise AssertionError(f"no note with {fragments} in {notes}")


def test_one_byte_cp1252_does_not_define_damages_one_character_not_the_whole_file():
    data = (WESTERN * 3).encode("cp1252") + b"line four has \x9d here\n"
    text, encoding, notes = decode_bytes(data)
    assert encoding == "cp1252"
    assert text.startswith(WESTERN * 3)  # the accented letters and smart quotes are right
    assert "\x93" not in text and "\x80" not in text  # no C1 control characters (what Latin-1 gave)
    assert text.endswith("line four has \ufffd here\n")
    note = note_with(notes, "Windows-1252", "line 4, column 15")
    assert "1 byte" in note


def test_bytes_cp1252_does_not_define_are_counted():
    data = b"caf\xe9 \x81 and \x8d\n\x90 \x8f \x9d\n"
    text, encoding, notes = decode_bytes(data)
    assert encoding == "cp1252" and text == "café \ufffd and \ufffd\n\ufffd \ufffd \ufffd\n"
    assert "5 bytes" in note_with(notes, "line 1, column 6")


def test_clean_cp1252_is_decoded_without_replacing_anything():
    text, encoding, notes = decode_bytes(WESTERN.encode("cp1252"))
    assert (text, encoding) == (WESTERN, "cp1252")
    assert "\ufffd" not in text and len(notes) == 1 and "Windows-1252" in notes[0]


def test_mostly_utf8_with_a_stray_byte_stays_utf8():
    # a Windows-1252 quote pasted into a UTF-8 file: as Windows-1252 every accented letter above
    # would become two characters ("Ã©"); as UTF-8 only the stray byte is lost
    data = (ACCENTED * 4).encode() + b"he said \x93hello\n"
    text, encoding, notes = decode_bytes(data)
    assert encoding == "utf-8"
    assert text == ACCENTED * 4 + "he said \ufffdhello\n"
    note = note_with(notes, "UTF-8", "line 5, column 9")
    assert "1 invalid byte sequence became" in note


def test_a_stray_byte_in_a_utf8_file_with_a_bom_keeps_its_utf8_sig_encoding():
    data = b"\xef\xbb\xbf" + ACCENTED.encode() * 3 + b"\xff\n"
    text, encoding, notes = decode_bytes(data)
    assert encoding == "utf-8-sig" and text == ACCENTED * 3 + "\ufffd\n"
    note_with(notes, "UTF-8", "line 4, column 1")


def test_a_real_replacement_character_in_the_file_is_not_counted_as_damage():
    data = ("\ufffd already here. " + ACCENTED * 3).encode() + b"\x81\n"
    _, encoding, notes = decode_bytes(data)
    assert encoding == "utf-8"
    assert "1 invalid byte sequence" in note_with(notes, "UTF-8", "line 4, column 1")


@pytest.mark.parametrize("cut", range(3, 40))  # (the first character is 2 bytes: a cut inside it leaves nothing)
def test_a_utf8_file_cut_anywhere_decodes_the_rest_as_utf8(cut):
    whole = ACCENTED.encode()
    data = whole[:cut]
    text, encoding, notes = decode_bytes(data)
    assert encoding == "utf-8"
    assert text == data.decode("utf-8", errors="ignore")  # every complete character, nothing else
    cut_inside_a_character = len(text.encode()) < len(data)
    assert any("cut off" in n for n in notes) == cut_inside_a_character


def test_a_cut_at_the_end_and_a_stray_byte_are_told_apart():
    data = (ACCENTED * 4).encode() + b"\x93 and then the end is cut: \xe2\x80"
    text, encoding, notes = decode_bytes(data)
    assert encoding == "utf-8"
    assert text == ACCENTED * 4 + "\ufffd and then the end is cut: "
    note_with(notes, "UTF-8", "1 invalid byte sequence")
    note_with(notes, "cut off")


def test_windows_1252_with_accents_is_not_mistaken_for_damaged_utf8():
    # Windows-1252 text almost never holds a valid UTF-8 multi-byte sequence: its accented letters
    # stand alone, so as UTF-8 each one is an error
    text, encoding, _ = decode_bytes((ACCENTED.replace("’", "'") * 5).encode("cp1252"))
    assert encoding == "cp1252" and text == ACCENTED.replace("’", "'") * 5
