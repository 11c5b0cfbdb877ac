"""Vocabulary caps at both levels, and how much of the text the vocabulary covers, said when loading.

A text of thousands of different characters (CJK, emoji) must not become a 20,000-way softmax: the
character vocabulary is capped too (the most frequent kept, the rest ``<unk>``), and loading says how
much of the text became ``<unk>``, at character and at word level.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.corpus import DEFAULT_CHAR_VOCAB_SIZE, UNK, LMCorpus, bundled_corpus, encode_corpus
from rnnviz.corpus.vocab import encode_with_coverage


def many_characters(n_distinct: int, seed: int = 0) -> str:
    """A text of ``n_distinct`` different CJK characters and emoji, Zipf-distributed like real text."""
    rng = np.random.default_rng(seed)
    alphabet = [chr(0x4E00 + i) for i in range(n_distinct - 20)] + [chr(0x1F600 + i) for i in range(20)]
    weights = 1.0 / np.arange(1, n_distinct + 1)
    picks = rng.choice(n_distinct, size=40 * n_distinct, p=weights / weights.sum())
    picks[:n_distinct] = np.arange(n_distinct)  # every character at least once
    text = "".join(alphabet[i] for i in picks)
    return "\n".join(text[i : i + 60] for i in range(0, len(text), 60)) + "\n"


def note_with(notes, *fragments: str) -> str:
    for note in notes:
        if all(f in note for f in fragments):
            return note
    raise AssertionError(f"no note with {fragments} in {notes}")


def test_a_text_of_thousands_of_characters_gets_a_capped_vocabulary_of_the_most_frequent():
    text = many_characters(3000)
    vocab, ids = encode_corpus(text)
    assert vocab.size == DEFAULT_CHAR_VOCAB_SIZE and vocab.tokens[vocab.unk_id] == UNK
    counts = {ch: text.count(ch) for ch in set(text)}
    kept = [ch for ch in vocab.tokens if ch != UNK]
    dropped = set(counts) - set(kept)
    assert min(counts[ch] for ch in kept) >= max(counts[ch] for ch in dropped)
    assert np.count_nonzero(ids == vocab.unk_id) == sum(counts[ch] for ch in dropped)


def test_a_cap_above_the_texts_characters_changes_nothing():
    text = many_characters(300)
    vocab, ids = encode_corpus(text)
    assert vocab.unk_id is None and vocab.size == len(set(text)) and vocab.decode(ids) == text


@pytest.mark.parametrize("level", ["char", "word"])
def test_coverage_counts_what_the_vocabulary_leaves_out(level):
    text = many_characters(1000) if level == "char" else " ".join(f"w{i % 50}" for i in range(3000)) + " rare once"
    vocab, ids, coverage = encode_with_coverage(text, level, max_size=40)
    unknown = int(np.count_nonzero(ids == vocab.unk_id))
    assert coverage.n_tokens == len(ids) and coverage.n_unknown == unknown
    assert coverage.n_kept == vocab.size - 1  # every token but <unk>
    assert coverage.n_types == len(set(text)) if level == "char" else coverage.n_types == 52
    assert coverage.unknown_rate == pytest.approx(unknown / len(ids))


def test_loading_a_text_says_how_much_of_it_the_vocabulary_covers(tmp_path):
    path = tmp_path / "cjk.txt"
    path.write_text(many_characters(3000), encoding="utf-8")
    corpus = LMCorpus.from_file(path, seq_len=16)
    unknown = np.count_nonzero(corpus.ids == corpus.vocab.unk_id) / len(corpus.ids)
    kept, distinct = DEFAULT_CHAR_VOCAB_SIZE - 1, len(set(path.read_text(encoding="utf-8")))
    note = note_with(corpus.notes, f"{kept} most frequent of {distinct:,} different characters", "<unk>")
    assert f"{1 - unknown:.1%}" in note and f"{unknown:.1%}" in note


def test_a_word_vocabulary_that_leaves_most_of_the_text_unknown_is_flagged(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text(" ".join(f"word{i}" for i in range(5000)) + "\n", encoding="utf-8")
    corpus = LMCorpus.from_file(path, level="word", max_vocab=50, seq_len=16)
    unknown = np.count_nonzero(corpus.ids == corpus.vocab.unk_id) / len(corpus.ids)
    assert unknown > 0.9
    note = note_with(corpus.notes, f"{unknown:.1%}", "<unk>")
    assert "a lot" in note


def test_a_text_the_vocabulary_covers_whole_says_so():
    corpus = LMCorpus.from_file(bundled_corpus(), seq_len=16)
    assert corpus.vocab.unk_id is None
    note_with(corpus.notes, "all 65 different characters")
