"""The window's mailbox: exact scalars, only the newest snapshot per run, nothing of a replaced model."""

import numpy as np

from rnnviz.gui.controller import Mailbox
from rnnviz.lab import Lab
from rnnviz.lab import events as m
from rnnviz.lab.snapshot import Snapshot
from rnnviz.training import TrainConfig


def scalars(step):
    return m.StepScalars("A", step, 0.1, 1.0, 1.0, 1.0, False, 0.1, 10)


def some_snapshots(n):
    events = []
    lab = Lab(events.append, clock=iter(np.arange(0.0, 1e4, 1.0)).__next__)
    lab.reset(TrainConfig(task="sine", hidden=4, seq_len=6, batch_size=2))
    lab.train_steps(n)
    return [ev for ev in events if isinstance(ev, Snapshot)]


def test_the_mailbox_keeps_every_scalar_and_the_newest_snapshot_only():
    box = Mailbox()
    s1, s2, *_ = some_snapshots(3)
    for msg in (scalars(1), s1, scalars(2), s2):
        box.put(msg)
    d = box.take()
    assert [s.step for s in d.scalars] == [1, 2] and d.snapshots == {"A": s2}
    assert not box.take()  # taken once


def test_the_mailbox_drops_what_belongs_to_the_previous_model():
    box = Mailbox()
    (snap,) = some_snapshots(1)[:1]
    box.put(scalars(7))
    box.put(snap)
    info = m.ModelInfo("A", "t", "lm", "rnn", "vanilla RNN", 1, 4, ("h",), ("h",), ((-1, 1),), False, True, (), (),
                       1, 4, {}, "", 0)  # fmt: skip
    box.put(info)
    box.put(scalars(1))
    d = box.take()
    assert [s.step for s in d.scalars] == [1] and d.snapshots == {} and d.events == [info]
