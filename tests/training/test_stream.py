"""The data stream restarts at any batch from the state it saved: the same batches, bit for bit, as the
stream that never stopped, at the cost of one batch whatever the position."""

import json
from itertools import islice

import numpy as np
import pytest

from rnnviz.corpus import LMCorpus, LongRangeTask, NamesTask, SineTask, toy_task
from rnnviz.training.stream import BatchStream


def tasks(alice_small):
    names = NamesTask.from_folder(None, np.random.default_rng(0), batch_size=512)  # 36 batches an epoch
    return {
        "lm contiguous": alice_small,
        "lm random": LMCorpus(alice_small.ids, alice_small.vocab, seq_len=32, batch_size=16, mode="random"),
        "names shuffled": names,
        "names balanced": NamesTask.from_folder(None, np.random.default_rng(0), batch_size=512, sampling="balanced"),
        "sine": SineTask(seq_len=8, batch_size=4),
        "longrange": LongRangeTask(k=3, batch_size=4),
        "toy": toy_task(),
    }


def same(a, b) -> bool:
    return (
        a.x.tobytes() == b.x.tobytes() and a.y.tobytes() == b.y.tobytes() and a.carry == b.carry
        and a.epoch == b.epoch and a.fraction == b.fraction
        and (a.lengths is None) == (b.lengths is None) and (a.lengths is None or np.array_equal(a.lengths, b.lengths))
    )  # fmt: skip


def test_a_restarted_stream_gives_the_batches_of_the_stream_that_never_stopped(alice_small):
    for what, task in tasks(alice_small).items():
        per = task.batches_per_epoch
        straight = BatchStream(task, np.random.default_rng(7))
        batches = [straight.next() for _ in range(2 * per + 4)]
        assert not all(same(batches[0], b) for b in batches[1:3]) or what == "toy"  # (the toy has one batch)
        stream = BatchStream(task, np.random.default_rng(7))
        for position in sorted({0, 1, per - 1, per, per + 1, 2 * per + 1}):
            while stream.position < position:
                stream.next()
            saved = json.loads(json.dumps(stream.saved()))  # as a checkpoint holds it
            rng = np.random.Generator(np.random.PCG64())
            rng.bit_generator.state = saved["state"]
            resumed = BatchStream(task, rng, start=position)
            assert saved["at"] == task.restart_point(position) <= position
            assert resumed.progress == pytest.approx(batches[position - 1].progress if position else 0.0)
            for k in range(position, position + 3):
                assert same(resumed.next(), batches[k]), (what, position, k)
            again = resumed.saved()  # a restarted stream saves the same place again
            assert again["at"] == task.restart_point(position + 3)


def test_a_task_stream_from_a_start_is_the_tail_of_the_stream_from_zero(alice_small):
    for what, task in tasks(alice_small).items():
        if task.restart_point(5) != 5:
            continue  # (the names' shuffle restarts at an epoch's first batch: covered above)
        rng = np.random.default_rng(3)
        head = list(islice(task.train_batches(rng), 5))
        tail = next(task.train_batches(rng, start=5))
        full = list(islice(task.train_batches(np.random.default_rng(3)), 6))
        assert all(same(a, b) for a, b in zip(head, full, strict=False)) and same(tail, full[5]), what
