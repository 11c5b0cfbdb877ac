"""Unicode normalisation: "é" typed as one character (NFC) or as "e" + a combining accent (NFD) is one
token by default, in the corpus and in a probe, however the text is cut into pieces."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from rnnviz.corpus import LMCorpus, Vocab, build_vocab, encode_corpus

NFC_WORDS = "café naïve Zürich déjà résumé "
NFD_WORDS = unicodedata.normalize("NFD", NFC_WORDS)
MIXED = (NFC_WORDS + NFD_WORDS) * 5 + "\n"


def test_the_two_spellings_differ_as_bytes():  # what the tests below rely on
    assert NFC_WORDS != NFD_WORDS and len(NFD_WORDS) > len(NFC_WORDS)


@pytest.mark.parametrize("level", ["char", "word"])
def test_nfc_makes_both_spellings_one_token(level):
    vocab, ids = encode_corpus(MIXED, level, unicode_form="NFC")
    assert not any(unicodedata.combining(ch) for tok in vocab.tokens for ch in tok)
    assert np.array_equal(vocab.encode(NFC_WORDS), vocab.encode(NFD_WORDS))
    if level == "word":
        assert "café" in vocab.tokens and vocab.tokens.count("café") == 1


@pytest.mark.parametrize("level", ["char", "word"])
def test_none_keeps_the_text_as_it_is(level):
    vocab, ids = encode_corpus(MIXED, level, unicode_form="none")
    assert "\u0301" in "".join(vocab.tokens)
    assert not np.array_equal(vocab.encode(NFC_WORDS), vocab.encode(NFD_WORDS))
    if level == "char":
        assert vocab.decode(ids) == MIXED


def test_a_probe_typed_decomposed_is_read_like_the_corpus():
    vocab = build_vocab(NFC_WORDS * 3, unicode_form="NFC")
    assert vocab.unknown(NFD_WORDS) == []  # without normalising: the combining accent is unknown


@pytest.mark.parametrize("level", ["char", "word"])
def test_a_cut_between_a_letter_and_its_accent_does_not_split_them(small_chunks, level):
    # 7-character pieces: some cuts fall just before a combining accent (and "é" has no space near it)
    text = unicodedata.normalize("NFD", "ééééééééééé éé ééé\nééééééé") * 3
    vocab, ids = encode_corpus(text, level, unicode_form="NFC")
    assert "\u0301" not in "".join(vocab.tokens)
    if level == "char":  # (word level: a word longer than a piece is cut, the documented limit)
        assert vocab.decode(ids) == unicodedata.normalize("NFC", text)


def test_the_form_is_kept_with_the_vocabulary_and_old_vocabularies_read_text_as_it_was():
    vocab = build_vocab(MIXED, unicode_form="NFC")
    d = vocab.to_dict()
    assert d["unicode_form"] == "NFC" and Vocab.from_dict(d) == vocab
    del d["unicode_form"]  # saved before the setting existed: the text was kept as it was
    assert Vocab.from_dict(d).unicode_form == "none"


def test_loading_a_decomposed_text_says_it_was_normalised(tmp_path):
    path = tmp_path / "nfd.txt"
    path.write_text(MIXED * 4, encoding="utf-8")
    corpus = LMCorpus.from_file(path, seq_len=16, unicode_form="NFC")
    n_joined = len(MIXED * 4) - len(unicodedata.normalize("NFC", MIXED * 4))
    assert any("NFC" in note and f"{n_joined:,}" in note for note in corpus.notes), corpus.notes
    plain = LMCorpus.from_file(path, seq_len=16, unicode_form="none")
    assert not any("NFC" in note for note in plain.notes) and plain.vocab.size > corpus.vocab.size
