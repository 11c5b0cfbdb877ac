"""Sine regression, the long-range dependency task, and the shape every task shares."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest

from rnnviz.corpus import (
    HEADS,
    INPUT_KINDS,
    Batch,
    LMCorpus,
    LongRangeTask,
    NamesTask,
    SineTask,
    bundled_corpus,
    load_names,
    toy_task,
)


def rng(seed=0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- sine -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("noise_std", [0.0, 0.1])
def test_sine_y_is_x_shifted_by_one(noise_std):
    task = SineTask(seq_len=30, batch_size=5, noise_std=noise_std)
    batch = next(task.train_batches(rng()))
    assert batch.x.shape == batch.y.shape == (5, 30, 1) and batch.x.dtype == np.float64
    assert np.array_equal(batch.y[:, :-1], batch.x[:, 1:])
    assert batch.lengths is None and not batch.carry


def test_sine_is_a_sine_of_the_chosen_frequency():
    f = 0.05
    x = next(SineTask(seq_len=40, frequency=f).train_batches(rng())).x[:, :, 0]  # (B, T)
    # sin(a + w) + sin(a - w) = 2 cos(w) sin(a): the recurrence every sampled sine obeys
    assert np.allclose(x[:, 2:] + x[:, :-2], 2 * np.cos(2 * np.pi * f) * x[:, 1:-1])
    assert np.abs(x).max() <= 1.0


def test_sine_frequency_range_and_dtype():
    task = SineTask(frequency=(0.01, 0.1), dtype="float32")
    batch = next(task.train_batches(rng()))
    assert batch.x.dtype == batch.y.dtype == np.float32
    spec = task.spec
    assert (spec.head, spec.input_kind, spec.input_size, spec.output_size, spec.vocab) == (
        "regress",
        "dense",
        1,
        1,
        None,
    )


def test_sine_determinism_and_fixed_validation():
    task = SineTask(noise_std=0.2)
    a, b = (list(islice(task.train_batches(rng(9)), 3)) for _ in range(2))
    assert all(np.array_equal(p.x, q.x) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[0].x, next(task.train_batches(rng(10))).x)
    val1, val2 = list(task.val_batches()), list(task.val_batches())
    assert len(val1) == task.n_val_batches and all(np.array_equal(p.x, q.x) for p, q in zip(val1, val2, strict=True))


@pytest.mark.parametrize(
    "options",
    [{"frequency": 0.0}, {"frequency": 0.6}, {"frequency": (0.2, 0.1)}, {"noise_std": -1}, {"dtype": "int32"}],
)
def test_sine_bad_options(options):
    with pytest.raises(ValueError):
        SineTask(**options)


# --- long-range dependency ------------------------------------------------------------------------


@pytest.mark.parametrize("k, lead", [(10, 3), (0, 2), (25, 0)])
def test_long_range_target_is_the_signal_k_steps_before_the_end(k, lead):
    task = LongRangeTask(k=k, lead=lead)
    batch = next(task.train_batches(rng()))
    T = task.seq_len
    assert lead + 1 + k == T and batch.x.shape == (32, T) and batch.y.shape == (32,)
    assert np.array_equal(batch.x[:, T - 1 - k], task.signal_ids[batch.y])
    is_signal = np.isin(batch.x, task.signal_ids)
    assert is_signal.sum() == 32 and is_signal[:, T - 1 - k].all()  # nowhere else
    assert np.isin(np.delete(batch.x, T - 1 - k, axis=1), task.distractor_ids).all()
    assert batch.lengths.tolist() == [T] * 32


def test_long_range_vocabulary_and_classes():
    task = LongRangeTask(n_signals=3, n_distractors=5)
    assert task.vocab.tokens == ("0", "1", "2", "3", "4", "A", "B", "C") and task.vocab.unk_id is None
    assert task.chance == pytest.approx(1 / 3)
    spec = task.spec
    assert (spec.head, spec.input_size, spec.output_size, spec.class_names) == ("classify", 8, 3, ("A", "B", "C"))
    labels = np.concatenate([b.y for b in islice(task.train_batches(rng()), 30)])
    assert np.allclose(np.bincount(labels) / len(labels), 1 / 3, atol=0.05)
    decoded = task.vocab.decode(next(task.val_batches()).x[0])
    assert sum(c in "ABC" for c in decoded) == 1


@pytest.mark.parametrize(
    "options", [{"k": -1}, {"n_signals": 1}, {"n_signals": 27}, {"n_distractors": 0}, {"batch_size": 0}]
)
def test_long_range_bad_options(options):
    with pytest.raises(ValueError):
        LongRangeTask(**options)


# --- every task -----------------------------------------------------------------------------------

TASKS = {
    "lm": lambda: LMCorpus.from_file(bundled_corpus(), seq_len=32, batch_size=8),
    "lm-random": lambda: LMCorpus.from_file(bundled_corpus("alice.txt"), level="word", mode="random"),
    "names": lambda: NamesTask(load_names(), rng()),
    "sine": SineTask,
    "long_range": LongRangeTask,
    "toy": toy_task,
}


@pytest.mark.parametrize("make", TASKS.values(), ids=TASKS.keys())
def test_every_task_has_the_common_shape(make):
    task = make()
    spec = task.spec
    assert spec.head in HEADS and spec.input_kind in INPUT_KINDS
    assert isinstance(task.notes, tuple) and task.batches_per_epoch >= 1
    first, again = next(task.train_batches(rng(1))), next(task.train_batches(rng(1)))
    assert isinstance(first, Batch) and np.array_equal(first.x, again.x) and np.array_equal(first.y, again.y)
    B = first.size
    if spec.head == "lm":
        assert first.x.shape == first.y.shape == (B, spec.seq_len) and first.lengths is None
        assert first.x.max() < spec.output_size
    elif spec.head == "classify":
        assert first.y.shape == (B,) and first.lengths.shape == (B,) and first.y.max() < spec.output_size
        assert first.x.shape == (B, first.lengths.max())
    else:
        assert first.x.shape == (B, spec.seq_len, spec.input_size) and first.y.shape == (
            B,
            spec.seq_len,
            spec.output_size,
        )
    if spec.input_kind == "tokens":
        assert first.x.dtype == spec.vocab.dtype and first.x.max() < spec.input_size
    for batch in islice(task.val_batches(), 2):
        assert batch.x.shape[1:] == first.x.shape[1:] or spec.seq_len is None


def test_task_spec_checks_itself():
    from rnnviz.corpus import TaskSpec, toy_vocab

    good = {
        "name": "t",
        "title": "T",
        "head": "lm",
        "input_kind": "tokens",
        "input_size": 5,
        "output_size": 5,
        "vocab": toy_vocab(),
    }
    TaskSpec(**good)
    for change in (
        {"head": "seq2seq"},
        {"input_kind": "image"},
        {"vocab": None},
        {"head": "classify", "class_names": ("a",)},
    ):
        with pytest.raises(ValueError):
            TaskSpec(**(good | change))
