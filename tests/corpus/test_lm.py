"""Language-modelling batches: split, stream contiguity, carry flags, epoch position, random windows."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest

from rnnviz.corpus import (
    TOY_SENTENCE,
    CorpusError,
    LMCorpus,
    bundled_corpus,
    encode_corpus,
    toy_batch,
    toy_task,
    toy_vocab,
)

IDS = (np.arange(1000) % 50).astype(np.uint8)  # ids[i] determines i mod 50: positions are checkable
VOCAB, _ = encode_corpus("".join(chr(65 + i) for i in range(50)))


def lm(ids=IDS, **options) -> LMCorpus:
    return LMCorpus(ids, VOCAB, **options)


def rng(seed=0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_validation_is_the_tail():
    corpus = lm(seq_len=10, batch_size=4, val_fraction=0.1)
    assert len(corpus.val_ids) == 100 and len(corpus.train_ids) == 900
    assert np.array_equal(np.concatenate([corpus.train_ids, corpus.val_ids]), IDS)
    assert corpus.notes == ()


def test_contiguous_streams_continue_across_chunks():
    corpus = lm(seq_len=10, batch_size=4)
    n_chunks = corpus.batches_per_epoch
    stream_len = (900 - 1) // 4
    assert n_chunks == stream_len // 10 == 22
    batches = list(islice(corpus.train_batches(rng()), n_chunks))
    x = np.concatenate([b.x for b in batches], axis=1)  # (B, n_chunks * T): each row is one stream
    y = np.concatenate([b.y for b in batches], axis=1)
    for row in range(4):
        start = row * stream_len
        assert np.array_equal(x[row], corpus.train_ids[start : start + n_chunks * 10])
        assert np.array_equal(y[row], corpus.train_ids[start + 1 : start + 1 + n_chunks * 10])
    assert all(b.x.shape == b.y.shape == (4, 10) and b.x.dtype == np.uint8 for b in batches)
    assert (batches[0].size, batches[0].seq_len) == (4, 10)
    assert all(b.lengths is None for b in batches)


def test_carry_flags_and_epoch_position():
    corpus = lm(seq_len=10, batch_size=4)
    n = corpus.batches_per_epoch
    batches = list(islice(corpus.train_batches(rng()), 2 * n + 1))
    assert [b.carry for b in batches] == ([False] + [True] * (n - 1)) * 2 + [False]
    assert [b.epoch for b in batches] == [0] * n + [1] * n + [2]
    assert [b.fraction for b in batches[:n]] == pytest.approx([(k + 1) / n for k in range(n)])
    assert batches[n - 1].progress == pytest.approx(1.0) and batches[n].progress == pytest.approx(1 + 1 / n)
    assert np.array_equal(batches[0].x, batches[n].x)  # the next epoch starts over


def test_batches_are_read_only():
    batch = next(lm(seq_len=10, batch_size=4).train_batches(rng()))
    with pytest.raises(ValueError):
        batch.x[0, 0] = 1


def test_too_short_names_the_minimum_and_the_source():
    with pytest.raises(CorpusError) as caught:
        lm(IDS[:64], seq_len=64, source="short.txt")
    assert caught.value.kind == "too_short"
    assert "short.txt has only 64 characters" in str(caught.value) and "at least 65" in str(caught.value)


def test_exactly_one_sequence_is_enough():
    corpus = lm(IDS[:65], seq_len=64, batch_size=8)
    batch = next(corpus.train_batches(rng()))
    assert batch.x.shape == (1, 64) and np.array_equal(batch.y[0], IDS[1:65])
    assert corpus.batches_per_epoch == 1 and list(corpus.val_batches()) == []
    assert any("no validation" in note for note in corpus.notes)
    assert any("using 1" in note for note in corpus.notes)


def test_fewer_streams_when_the_text_is_short():
    corpus = lm(seq_len=50, batch_size=32)  # 899 usable training tokens: 17 streams of 50
    assert corpus.n_streams == 17
    assert next(corpus.train_batches(rng())).x.shape == (17, 50)
    assert any("too short for 32 parallel streams" in note and "using 17" in note for note in corpus.notes)


def test_no_validation_when_the_tail_is_shorter_than_a_sequence():
    corpus = lm(IDS[:300], seq_len=40, val_fraction=0.1)  # the tail would be 30 < 41 tokens
    assert len(corpus.val_ids) == 0 and len(corpus.train_ids) == 300
    assert list(corpus.val_batches()) == []
    assert any("too short to keep 10% for validation" in note for note in corpus.notes)


def test_validation_off():
    corpus = lm(val_fraction=0.0, seq_len=10)
    assert len(corpus.train_ids) == 1000 and any("Validation is off" in n for n in corpus.notes)


def test_validation_batches_are_contiguous_and_the_same_each_time():
    corpus = lm(seq_len=10, batch_size=4)
    first, second = list(corpus.val_batches()), list(corpus.val_batches())
    assert len(first) == ((100 - 1) // 4) // 10 == 2
    assert all(np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) for a, b in zip(first, second, strict=True))
    assert [b.carry for b in first] == [False, True]
    assert np.array_equal(first[0].x[0], corpus.val_ids[:10])


def test_random_windows():
    corpus = lm(seq_len=10, batch_size=8, mode="random")
    batches = list(islice(corpus.train_batches(rng(3)), 50))
    again = list(islice(corpus.train_batches(rng(3)), 50))
    other = next(corpus.train_batches(rng(4)))
    assert all(np.array_equal(a.x, b.x) for a, b in zip(batches, again, strict=True))
    assert not np.array_equal(batches[0].x, other.x)
    train = corpus.train_ids.astype(np.intp)
    for batch in batches:
        assert not batch.carry and batch.x.shape == (8, 10)
        # a window of IDS = i mod 50 is consecutive mod 50, and y is x shifted by one
        x, y = batch.x.astype(np.intp), batch.y.astype(np.intp)
        assert np.all((x[:, 1:] - x[:, :-1]) % 50 == 1) and np.all((y - x) % 50 == 1)
    starts = np.concatenate([b.x[:, 0] for b in batches])
    assert set(starts.tolist()) <= set(train[: len(train) - 10].tolist())
    per_epoch = corpus.batches_per_epoch
    assert per_epoch == 899 // 80 and batches[per_epoch].epoch == 1 and not batches[per_epoch - 1].epoch


def test_bad_options():
    for options in ({"seq_len": 0}, {"batch_size": 0}, {"val_fraction": 1.0}, {"mode": "shuffled"}):
        with pytest.raises(ValueError):
            lm(**options)
    with pytest.raises(ValueError):
        LMCorpus(np.zeros((2, 50), np.uint8), VOCAB)


def test_from_file_carries_loading_notes_and_spec(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes(b"line of text\r\n" * 100)
    corpus = LMCorpus.from_file(path, seq_len=16, batch_size=4)
    assert any("CRLF" in note for note in corpus.notes)
    spec = corpus.spec
    assert (spec.name, spec.head, spec.input_kind, spec.seq_len) == ("lm", "lm", "tokens", 16)
    assert spec.input_size == spec.output_size == corpus.vocab.size == len(set("line of text\n"))
    assert "windows.txt" in spec.title


def test_from_file_word_level_bundled():
    corpus = LMCorpus.from_file(bundled_corpus("alice.txt"), level="word", lower=True, max_vocab=1000, seq_len=20)
    assert corpus.vocab.level == "word" and corpus.vocab.size == 1000
    assert corpus.spec.title.startswith("Word language model")


def test_toy_sentence():
    batch = toy_batch()
    vocab = toy_vocab()
    assert vocab.tokens == ("the", "king", "sits", "on", "throne") and vocab.unk_id is None
    assert batch.x.tolist() == [[0, 1, 2, 3]] and batch.y.tolist() == [[1, 2, 3, 4]]
    assert vocab.decode(batch.x[0]) == "the king sits on" and vocab.decode(batch.y[0]) == "king sits on throne"
    assert vocab.decode(vocab.encode(TOY_SENTENCE.upper())) == TOY_SENTENCE
    task = toy_task()
    assert task.spec.name == "toy" and task.spec.input_size == 5 and task.batches_per_epoch == 1
    assert all(not b.carry and np.array_equal(b.x, batch.x) for b in islice(task.train_batches(rng()), 3))
