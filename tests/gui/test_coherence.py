"""One snapshot on every panel: the numbers drawn are the engine's, frames are coherent, a selected step
is marked everywhere, and a paused user scrubs back through the history."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from rnnviz.engine.infer import step_token
from rnnviz.lab import commands as c
from rnnviz.lab import events as m
from rnnviz.training import TrainConfig, Trainer

from .conftest import small, wait_state

SEQUENCE_PANELS = ("heatmap", "text_strip", "softmax", "gradients")
F32 = 2e-7  # the heatmap draws float32 images


def exact(config):
    """A small float64 model: the test recomputes its numbers to ~1e-12."""
    return config.replace(dtype="float64", hidden=16, batch_size=4, seq_len=12)


def ready_with(qtbot, make, config):
    w = make()
    w.controller.send(c.Reset(config))
    qtbot.waitUntil(lambda: w.info.hidden == config.hidden and w.state == m.IDLE, timeout=20000)
    return w


def step_updates(qtbot, w, n):
    for _ in range(n):
        target = w.step + 1
        w.step_update()
        qtbot.waitUntil(
            lambda t=target: w.step == t and w.state == m.PAUSED and w.snapshot is not None and w.snapshot.step == t,
            timeout=10000,
        )


def shown(w):
    return {name: getattr(w, name).snapshot for name in SEQUENCE_PANELS}


def test_after_pause_every_panel_shows_the_same_complete_snapshot_of_the_newest_step(qtbot, make):
    w = ready_with(qtbot, make, small(TrainConfig()))
    w.toggle_training()
    qtbot.waitUntil(lambda: w.step >= 15, timeout=30000)
    w.toggle_training()
    wait_state(qtbot, w, m.PAUSED)
    qtbot.waitUntil(lambda: w.snapshot is not None and w.snapshot.step == w.step and not w.snapshot.live, timeout=10000)
    assert all(s.step == w.step and s.source == "train" for s in shown(w).values()) and w.snapshot.has_gradients
    for name in SEQUENCE_PANELS:
        assert f"step {w.step:,}" in getattr(w, name).source.text(), name
    assert w.gradients.last_curve.getData()[0] is not None and len(w.gradients.last_curve.getData()[0]) > 0


def test_the_numbers_drawn_for_a_training_step_are_the_engines(qtbot, make):
    cfg = exact(TrainConfig())
    w = ready_with(qtbot, make, cfg)
    step_updates(qtbot, w, 3)
    t = Trainer(cfg)  # the same seed replays the same steps
    for _ in range(2):
        t.train_step()
    tr = t.train_step(trace=True, row=0).trace
    snap = w.snapshot
    T = tr.length
    # heatmap: units x time, h_1..h_T of the row (drawn as float32: the engine's value, rounded once)
    np.testing.assert_allclose(w.heatmap._matrix, tr.layers[0].hs[1:, 0].T, rtol=F32, atol=1e-12)
    w.heatmap.what_box.setCurrentIndex(w.heatmap.what_box.findData(1))  # the forget gate
    np.testing.assert_allclose(w.heatmap._matrix, tr.layers[0].acts[:, 1, 0].T, rtol=F32, atol=1e-12)
    # bars at the last step: the engine's ten most likely tokens, and the true one's p and -log p
    probs = tr.probs[-1]
    heights = np.asarray(w.softmax.bars.opts["height"], float)
    np.testing.assert_allclose(heights[:10], -np.sort(-probs)[:10], rtol=1e-9)
    nll = float(tr.per_step_loss[-1, 0])
    assert f"-log p = {nll:.2f} nats" in w.softmax.summary.text()
    assert f"p = {probs[int(tr.y[-1])]:.3f}" in w.softmax.summary.text()
    # gradients through time: both curves (a log axis: the curves hold log10 of the norms)
    x, y = w.gradients.last_curve.getData()
    y = 10**y
    np.testing.assert_array_equal(x, np.arange(1, T + 1))
    np.testing.assert_allclose(y, tr.layers[0].dlast_norm, rtol=1e-9)
    _, y_full = w.gradients.full_curve.getData()
    np.testing.assert_allclose(10**y_full, tr.layers[0].dh_norm[:, 0], rtol=1e-9)
    assert snap.step == 3 and w.text_strip.strip.labels == snap.input_labels


def test_the_numbers_drawn_for_the_probe_are_the_engines(qtbot, make):
    cfg = exact(TrainConfig())
    w = ready_with(qtbot, make, cfg)
    step_updates(qtbot, w, 2)
    edit = w.text_strip.probe_edit
    edit.setText("To be or")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    for _ in range(3):
        w._probe_command("step_token")
    qtbot.waitUntil(lambda: w.snapshot.source == "probe" and w.snapshot.length == 3, timeout=10000)
    t = Trainer(cfg)
    for _ in range(2):
        t.train_step()
    vocab = t.task.spec.vocab
    ids = vocab.encode("To be or")
    state, hs = None, []
    for i in range(3):
        s = step_token(t.params, t.model_cfg, ids[i], state)
        state = s.state
        hs.append(s.hs[0])
    np.testing.assert_allclose(w.heatmap._matrix[:, :3], np.array(hs).T, rtol=F32, atol=1e-12)
    heights = np.asarray(w.softmax.bars.opts["height"], float)
    np.testing.assert_allclose(heights[:10], -np.sort(-s.probs)[:10], rtol=1e-9)
    logits = s.logits
    nll = np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[int(ids[3])]
    assert f"-log p = {nll:.2f} nats" in w.softmax.summary.text()
    assert shown(w)["gradients"] is w.snapshot and w.snapshot.has_gradients


def test_a_selected_step_is_marked_in_every_panel(qtbot, make):
    w = ready_with(qtbot, make, exact(TrainConfig()))
    step_updates(qtbot, w, 1)
    snap = w.snapshot
    w.heatmap.time_selected.emit(4)  # what a click on the fifth column sends
    assert w.text_strip.strip.current == 4  # the highlighted token
    assert w.softmax.shown_t == 4 and "after 5 characters" in w.softmax.summary.text()
    assert int(w.softmax.true_marker.isVisible()) == int(snap.target_ids[4] >= 0)
    np.testing.assert_allclose(np.asarray(w.softmax.bars.opts["height"])[:10], snap.top_probs[4])
    assert w.gradients.selected_line.isVisible() and w.gradients.selected_line.value() == 5
    xs, _ = w.heatmap.marker.getData()
    assert set(xs) == {4, 5}  # a box around column 5
    w.heatmap.time_selected.emit(4)  # clicking it again: follow the newest step again
    assert w.text_strip.strip.current == snap.length - 1 and not w.gradients.selected_line.isVisible()


def test_paused_the_user_scrubs_back_through_the_history_and_train_goes_on_from_the_newest(qtbot, make):
    w = ready_with(qtbot, make, exact(TrainConfig()))
    seen = {}
    for _ in range(4):
        step_updates(qtbot, w, 1)
        seen[w.step] = w.heatmap._matrix.copy()
    qtbot.waitUntil(lambda: w.history_bar.info is not None and w.history_bar.info.count == 4, timeout=5000)
    w.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_BracketLeft)
    qtbot.waitUntil(lambda: w.snapshot.step == 3 and w.snapshot.history is not None, timeout=5000)
    for name in SEQUENCE_PANELS:
        assert getattr(w, name).snapshot is w.snapshot
        assert "step 3 of 4 (history)" in getattr(w, name).source.text(), name
    np.testing.assert_array_equal(w.heatmap._matrix, seen[3])
    assert "step 3 of 4 (history)" in w.history_bar.label.text()
    for curves in (w.loss_panel, w.norm_panel):  # the curves mark the step the panels show
        assert curves.shown_step.line.isVisible() and curves.shown_step.line.value() == 3
    qtbot.keyClick(w, Qt.Key.Key_BracketLeft)
    qtbot.waitUntil(lambda: w.snapshot.step == 2, timeout=5000)
    np.testing.assert_array_equal(w.heatmap._matrix, seen[2])
    qtbot.keyClick(w, Qt.Key.Key_BracketRight)
    qtbot.waitUntil(lambda: w.snapshot.step == 3, timeout=5000)
    w.step_update()  # training goes on from the newest state, not from the step shown
    qtbot.waitUntil(lambda: w.step == 5 and w.snapshot.step == 5 and w.snapshot.history is None, timeout=10000)
    assert not w.loss_panel.shown_step.line.isVisible()


def test_typed_commands_only(qtbot, make):
    w = make()
    with pytest.raises(TypeError, match="not a lab command"):
        w.controller.send("train")
