"""A file above the size limit: refused with how to go on, or, when asked, its start is used (cut at
a line break, so no line and no character is cut in two, whatever the encoding)."""

from __future__ import annotations

import codecs

import pytest

from rnnviz.corpus import CorpusError, load_text

LINE = "Ça, c’est l’été — déjà vu 🙂\n"


@pytest.mark.parametrize(
    "encoding, bom",
    [("utf-8", b""), ("cp1252", b""), ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
     ("utf-32-le", codecs.BOM_UTF32_LE)],
)  # fmt: skip
@pytest.mark.parametrize("limit", [200, 333, 1001])
def test_the_start_of_a_large_file_ends_at_a_line_break(tmp_path, encoding, bom, limit):
    line = LINE if encoding != "cp1252" else LINE.replace("🙂", ":)")
    path = tmp_path / "big.txt"
    path.write_bytes(bom + (line * 100).encode(encoding))
    loaded = load_text(path, max_bytes=limit, use_start=True)
    n_lines = loaded.text.count("\n")
    assert loaded.text == line * n_lines and n_lines >= 1
    assert len(bom + (line * (n_lines + 1)).encode(encoding)) > limit  # as many whole lines as fit
    assert any("only the start" in note for note in loaded.notes)


def test_a_file_within_the_limit_is_read_whole_and_says_nothing_about_it(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text(LINE * 3, encoding="utf-8")
    loaded = load_text(path, max_bytes=10_000, use_start=True)
    assert loaded.text == LINE * 3 and not any("start" in note for note in loaded.notes)


def test_a_file_above_the_limit_is_refused_saying_the_ways_on(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text(LINE * 100, encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        load_text(path, max_bytes=200)
    assert caught.value.kind == "too_large"
    assert "Raise the size limit" in str(caught.value) and "use only the start" in str(caught.value)
