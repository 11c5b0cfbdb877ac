"""Vocabularies and tokenisers: order, dtypes, round trips, unknown-token policies, caps, labels."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from rnnviz.corpus import (
    DEFAULT_WORD_VOCAB_SIZE,
    UNK,
    CorpusError,
    Vocab,
    build_vocab,
    bundled_corpus,
    encode_corpus,
    id_dtype,
    load_text,
    split_words,
    token_label,
)
from rnnviz.corpus.words import WORD_PATTERN, WordTypes

ALICE = load_text(bundled_corpus("alice.txt")).text
UNICODE = "日本語のテキスト 🙂 and ASCII\n"
TEXT = "The king sits on the throne.\nThe queen sits, too!\n"

# --- character level ------------------------------------------------------------------------------


def test_char_vocab_is_sorted_by_code_point_without_unk():
    vocab = build_vocab("hello, world\n")
    assert vocab.tokens == ("\n", " ", ",", "d", "e", "h", "l", "o", "r", "w")
    assert vocab.unk_id is None and UNK not in vocab.tokens
    assert vocab.level == "char" and vocab.size == len(vocab) == 10


@pytest.mark.parametrize(
    "text", [TEXT, ALICE, UNICODE, "x", "é" * 3 + "a"], ids=["ascii", "alice", "unicode", "one", "latin1"]
)
def test_char_round_trip(text):
    vocab, ids = encode_corpus(text)
    assert ids.dtype == np.uint8 and ids.ndim == 1 and len(ids) == len(text)
    assert vocab.decode(ids) == text
    assert np.array_equal(vocab.encode(text), ids)


def test_chunk_boundaries_do_not_change_anything(small_chunks):
    """Pieces of 7 characters, some Latin-1 (uint8 path) and some not (uint32 path). Word pieces end
    at a space, so every word here is shorter than a piece (the documented limit)."""
    text = "plain ascii\nthen 日本語 then café again " * 5 + "🙂 ok\n"
    vocab, ids = encode_corpus(text)
    assert vocab.decode(ids) == text
    words_vocab, word_ids = encode_corpus(text, "word")
    assert words_vocab.decode(word_ids) == words_vocab.decode(words_vocab.encode(text))
    assert [words_vocab.tokens[i] for i in word_ids] == split_words(text)


def test_dtype_is_the_smallest_that_holds_every_id():
    assert id_dtype(1) == np.uint8 and id_dtype(256) == np.uint8
    assert id_dtype(257) == np.uint16 and id_dtype(65536) == np.uint16
    assert id_dtype(65537) == np.uint32 and id_dtype(2**32 + 1) == np.uint64
    many = "".join(chr(0x4E00 + i) for i in range(300))
    vocab, ids = encode_corpus(many)
    assert vocab.size == 300 and ids.dtype == np.uint16 and vocab.decode(ids) == many


def test_char_lower_option_and_a_lengthening_lower_case():
    vocab, ids = encode_corpus("AbC İ", lower=True)  # "İ".lower() is two characters
    assert vocab.lower and vocab.decode(ids) == "abc i̇"
    assert vocab.decode(vocab.encode("ABC")) == "abc"


def test_fold_ascii_option_removes_accents_in_probes_too():
    vocab = build_vocab("Muller Schroder", fold_ascii=True)
    assert vocab.decode(vocab.encode("Müller Schröder", errors="raise")) == "Muller Schroder"


def test_char_cap_and_min_freq_add_unk():
    vocab = build_vocab("aaaabbbcc d", max_size=3)
    assert vocab.tokens == (UNK, "a", "b") and vocab.unk_id == 0
    assert vocab.decode(vocab.encode("abcd")) == "ab<unk><unk>"
    rare = build_vocab("aaaabbbcc d", min_freq=2)
    assert rare.tokens == (UNK, "a", "b", "c")


# --- unknown tokens -------------------------------------------------------------------------------


def test_unknown_characters_without_unk_are_left_out_by_default():
    vocab = build_vocab("the king")
    assert vocab.decode(vocab.encode("the quick king")) == "the ik king"
    assert vocab.unknown("the quick king") == ["c", "q", "u"]
    assert vocab.decode(vocab.encode("the quick king", errors="skip")) == "the ik king"


def test_unknown_tokens_become_unk_when_there_is_one():
    vocab = build_vocab(TEXT, "word", lower=True)
    ids = vocab.encode("The dragon sits.")
    assert [vocab.tokens[i] for i in ids] == ["the", UNK, "sits", "."]
    assert vocab.decode(vocab.encode("The dragon sits.", errors="skip")) == "the sits."


def test_unknown_tokens_raise_when_asked():
    vocab = build_vocab("the king")
    with pytest.raises(CorpusError) as caught:
        vocab.encode("the queen", errors="raise")
    assert caught.value.kind == "unknown_token" and "'q'" in str(caught.value)
    with pytest.raises(ValueError):
        vocab.encode("the", errors="ignore")


# --- word level -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("Hello, world!\n", ["Hello", ",", "world", "!", "\n"]),
        ("don't stop—Alice’s cat", ["don't", "stop", "—", "Alice’s", "cat"]),
        ("‘Off with her head!’", ["‘", "Off", "with", "her", "head", "!", "’"]),
        ("pi is 3.14, 1,000 at 10:30.", ["pi", "is", "3.14", ",", "1,000", "at", "10:30", "."]),
        ("a\n\nb\tc  d", ["a", "\n", "\n", "b", "c", "d"]),
        ("_very_ well-known", ["_", "very", "_", "well", "-", "known"]),
    ],
)
def test_word_tokens(text, tokens):
    assert split_words(text) == tokens
    vocab, ids = encode_corpus(text, "word")
    assert [vocab.tokens[i] for i in ids] == tokens


@pytest.mark.parametrize(
    "text",
    ["a\x00b c\n", "x\x1cy\u2028z\x85w", "non\u00a0breaking\tspace\r\n", "\n\n  lead", "nul \x00\x00 twice\n", ""],
)
def test_fast_word_path_agrees_with_the_regular_expression(text):
    """str.split() plus per-piece regex must give exactly the regex's tokens (NUL takes the slow path)."""
    types = WordTypes()
    assert [types.types[i] for i in types.type_ids(text)] == WORD_PATTERN.findall(text)


def test_word_vocab_has_unk_first_then_frequency_order_with_code_point_ties():
    vocab = build_vocab("b a b c a b\n", "word")
    assert vocab.tokens == (UNK, "b", "a", "\n", "c") and vocab.unk_id == 0
    assert vocab.dtype == np.uint8


def test_word_cap_reached_makes_unk_appear():
    text = "common " * 10 + " ".join(f"rare{i}" for i in range(20))
    vocab, ids = encode_corpus(text, "word", max_size=5)
    assert vocab.size == 5 and vocab.tokens[:2] == (UNK, "common")
    assert (ids == vocab.unk_id).sum() == 20 - 3
    assert vocab.tokens[2:] == ("rare0", "rare1", "rare10")  # ties: code-point order


def test_word_vocab_default_cap():
    text = " ".join(f"w{i}" for i in range(DEFAULT_WORD_VOCAB_SIZE + 50))
    vocab, ids = encode_corpus(text, "word")
    assert vocab.size == DEFAULT_WORD_VOCAB_SIZE and ids.dtype == np.uint16
    assert (ids == 0).sum() == 51


def test_word_min_freq_and_lower():
    vocab = build_vocab("The the THE cat", "word", lower=True, min_freq=2)
    assert vocab.tokens == (UNK, "the") and vocab.lower
    assert vocab.decode(vocab.encode("THE CAT")) == "the <unk>"


def test_word_encode_corpus_matches_vocab_encode_on_alice():
    vocab, ids = encode_corpus(ALICE, "word", lower=True)
    assert np.array_equal(vocab.encode(ALICE), ids)
    assert vocab == build_vocab(ALICE, "word", lower=True)


def test_word_decode_spacing():
    text = 'Hello, world! (yes) “Quote” here — and "straight" ones: well-known.\nNext line?'
    vocab, ids = encode_corpus(text, "word")
    assert vocab.decode(ids) == 'Hello, world! (yes) “Quote” here—and "straight" ones: well-known.\nNext line?'


@pytest.mark.parametrize("level", ["char", "word"])
def test_decoding_one_id_at_a_time_continues_the_context_text(level):
    text = 'He said: "Off with her head!" (loudly) — twice.\nAnd then, well-known words.'
    vocab, ids = encode_corpus(text, level)
    for cut in (1, 3, 8, len(ids) - 1):
        context, rest = ids[:cut], ids[cut:]
        decode_next = vocab.decoder(context)
        pieces = [decode_next(i) for i in rest]
        assert "".join(pieces) == vocab.decode(ids)[len(vocab.decode(context)) :]
    assert "".join(map(vocab.decoder(), ids)) == vocab.decode(ids)


def test_bad_options_are_refused():
    with pytest.raises(ValueError):
        build_vocab("abc", "sentence")
    with pytest.raises(ValueError):
        build_vocab("abc", "word", max_size=1)
    with pytest.raises(ValueError):
        build_vocab("abc", min_freq=0)
    with pytest.raises(CorpusError) as caught:
        build_vocab("")
    assert caught.value.kind == "empty"


# --- labels ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token, label",
    [("\n", "⏎"), (" ", "␣"), ("\t", "⇥"), ("\x07", "\\x07"), ("\r", "\\x0d"), ("\u00a0", "\\xa0"),
     ("\u200b", "\\u200b"), ("a", "a"), ("é", "é"), (UNK, UNK), ("king", "king")],
)  # fmt: skip
def test_token_labels(token, label):
    assert token_label(token) == label


def test_vocab_labels_in_id_order():
    vocab = build_vocab("a b\n")
    assert vocab.labels() == ("⏎", "␣", "a", "b") and vocab.label(1) == "␣"


# --- persistence and determinism ------------------------------------------------------------------


@pytest.mark.parametrize(
    "vocab",
    [build_vocab(ALICE), build_vocab(ALICE, "word", lower=True, max_size=500), build_vocab("Müller", fold_ascii=True),
     build_vocab("ab", max_size=1)],
    ids=["char", "word", "folded", "char-unk"],
)  # fmt: skip
def test_to_dict_from_dict_round_trip_through_json(vocab):
    restored = Vocab.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert restored == vocab and hash(restored) == hash(vocab)
    assert np.array_equal(restored.encode(ALICE[:2000]), vocab.encode(ALICE[:2000]))


@pytest.mark.parametrize(
    "change",
    [{"format": "other"}, {"version": 99}, {"version": 0}, {"version": False}, {"version": "1"},
     {"tokens": "abc"}, {"tokens": ["a", "a"]}, {"unk_id": 1},
     {"unk_id": "0"}, {"lower": "yes"}, {"level": "byte"}, {"tokens": ["ab", "c"]}, {"tokens": ["a", UNK]},
     {"tokens": [1, ""]}, [("format", "rnnviz-vocab")]],
)  # fmt: skip
def test_from_dict_refuses_damaged_or_newer_vocabularies(change):
    d = build_vocab("abc").to_dict() | change if isinstance(change, dict) else change
    with pytest.raises(CorpusError) as caught:
        Vocab.from_dict(d)
    assert caught.value.kind == "invalid_vocab"


def test_vocab_is_immutable():
    vocab = build_vocab("abc")
    with pytest.raises(AttributeError):
        vocab.tokens = ("x",)


def test_same_vocab_under_different_string_hash_seeds():
    code = (
        "import json; from rnnviz.corpus import *; t = load_text(bundled_corpus('alice.txt')).text; "
        "print(json.dumps([build_vocab(t, 'word', max_size=300).to_dict(), build_vocab(t).to_dict()]))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": seed}
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
