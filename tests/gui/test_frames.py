"""The frame scheduler and the panels' own state, with snapshots made by a lab in this process."""

import dataclasses

import numpy as np

from rnnviz.gui.frames import CURVE_OVERDUE_S, CURVE_REFRESH_S, FrameScheduler
from rnnviz.lab import Lab
from rnnviz.lab import commands as c
from rnnviz.lab import events as m
from rnnviz.lab.snapshot import Snapshot
from rnnviz.training import TrainConfig


class Recorder:
    def __init__(self):
        self.shown, self.selected_t, self.refreshed = [], None, 0

    def show(self, snap):
        self.shown.append(snap)

    def set_selected(self, t):
        self.selected_t = t

    def refresh(self):
        self.refreshed += 1


def lab_events(cfg, steps=3, probe=0):
    events = []
    lab = Lab(events.append)
    lab.reset(cfg)
    for _ in range(steps):
        lab.handle(c.StepUpdate())
    for _ in range(probe):
        lab.handle(c.ProbeForward())
    return lab, events


def test_curves_redraw_in_turns_and_not_with_a_snapshot_unless_overdue():
    now = [0.0]
    seq = {k: Recorder() for k in ("a", "b")}
    loss, norm = Recorder(), Recorder()
    frames = FrameScheduler(seq, (loss, norm), clock=lambda: now[0])
    _, events = lab_events(TrainConfig(task="sine", hidden=4, seq_len=6, batch_size=2), steps=1)
    snap = [ev for ev in events if isinstance(ev, Snapshot)][-1]
    now[0] = CURVE_REFRESH_S
    frames.frame(snap, running=True)  # due, but this frame draws a snapshot: the curves wait
    assert (loss.refreshed, norm.refreshed) == (0, 0) and all(p.shown == [snap] for p in seq.values())
    frames.frame(None, running=True)  # a frame without one: one curve
    assert (loss.refreshed, norm.refreshed) == (1, 0)
    now[0] += CURVE_OVERDUE_S
    frames.frame(snap, running=True)  # overdue: even beside a snapshot, but still one curve
    assert (loss.refreshed, norm.refreshed) == (1, 1)
    frames.frame(None, running=False)  # paused: everything, at once
    assert (loss.refreshed, norm.refreshed) == (2, 2)


def test_a_selection_is_let_go_when_the_panels_switch_to_the_probe_or_it_steps_on():
    lab, events = lab_events(TrainConfig(hidden=6, seq_len=8, batch_size=2), steps=1)
    seq = {"a": Recorder()}
    frames = FrameScheduler(seq, (Recorder(),))
    train = [ev for ev in events if isinstance(ev, Snapshot)][-1]
    frames.frame(train, running=False)
    frames.select(1)
    assert seq["a"].selected_t == 1
    for _ in range(3):
        lab.handle(c.ProbeForward())
    probe = [ev for ev in events if isinstance(ev, Snapshot)][-1]
    frames.frame(probe, running=False)  # another sequence: follow its newest token
    assert frames.selected_t is None
    frames.select(0)
    lab.handle(c.ProbeForward())
    frames.frame([ev for ev in events if isinstance(ev, Snapshot)][-1], running=False)
    assert frames.selected_t is None  # the probe stepped on: show the token just read


def test_only_live_training_curves_are_pinned_when_clipping_changes(qtbot):
    from rnnviz.gui.panels.gradients import GradientFlowPanel

    lab, events = lab_events(TrainConfig(hidden=6, seq_len=8, batch_size=2, clip="off"), steps=1, probe=3)
    info = [ev for ev in events if isinstance(ev, m.ModelInfo)][-1]
    train, probe = [s for s in (ev for ev in events if isinstance(ev, Snapshot)) if s.source in ("train", "probe")][
        -4::3
    ]
    assert (train.source, probe.source) == ("train", "probe")
    panel = GradientFlowPanel()
    qtbot.addWidget(panel)
    panel.set_model(info)
    live = dataclasses.replace(train, live=True)
    panel.show(live)
    panel.show(probe)  # the probe's curves are drawn, but they are not "clipping off"
    panel.show(dataclasses.replace(live, clip="norm:1"))
    np.testing.assert_array_equal(panel.pinned["off"][1], train.layers[0].dlast_norm)


def test_restarting_the_sine_probe_clears_its_curves(qtbot):
    from rnnviz.gui.panels.softmax import SoftmaxPanel

    lab, events = lab_events(TrainConfig(task="sine", cell="gru", hidden=6, seq_len=8, batch_size=2), probe=4)
    panel = SoftmaxPanel()
    qtbot.addWidget(panel)
    panel.set_model([ev for ev in events if isinstance(ev, m.ModelInfo)][-1])
    panel.show([ev for ev in events if isinstance(ev, Snapshot)][-1])
    assert len(panel.pred_curve.getData()[0]) == 4 and panel.data()
    lab.handle(c.ProbeRestart())
    panel.show([ev for ev in events if isinstance(ev, Snapshot)][-1])
    assert panel.pred_curve.getData()[0] is None or len(panel.pred_curve.getData()[0]) == 0
    assert panel.data() == {}


def test_the_row_box_offers_the_rows_a_batch_really_has():
    lab, events = lab_events(TrainConfig(task="toy", cell="rnn", hidden=5), steps=0)
    assert [ev for ev in events if isinstance(ev, m.ModelInfo)][-1].batch_rows == 1
