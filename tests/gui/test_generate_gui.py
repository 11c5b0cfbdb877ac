"""The Generate and Check gradients panels through the real widgets and keys, with a real training process."""

import numpy as np
from PySide6.QtCore import Qt

from rnnviz.lab import commands as c
from rnnviz.lab import events as m
from rnnviz.lab.gradient_check import RIGHT
from rnnviz.training import TrainConfig, Trainer
from rnnviz.training.generation import sample_text

from .conftest import wait_state


def test_type_a_prime_generate_step_through_it_and_sample_while_training(qtbot, make):
    w = make()
    p = w.generate_panel
    w.actions_["generate"].trigger()  # Model > Generate (Ctrl+G) shows the panel
    assert w.docks["generate"].isVisible()
    qtbot.waitUntil(lambda: bool(p.samples), timeout=10000)  # ... and writes with its settings
    p.prime.clear()
    qtbot.keyClicks(p.prime, "ROMEO:")
    p.length.setValue(40)
    p.seed.setValue(3)
    qtbot.mouseClick(p.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(p.samples) == 2, timeout=10000)
    first = p.shown_text()
    assert first.startswith("ROMEO:") and len(first) == len("ROMEO:") + 40
    assert "step 0" in p.samples_list.item(0).text() and "Written at step 0" in p.message.text()
    t = Trainer(w.settings_panel.config())  # the same seed: the same weights, in this process
    assert first == sample_text(t.params, t.model_cfg, t.task.spec.vocab, "ROMEO:", 40, 0.8, 0, 3).text
    qtbot.keyClick(p.prime, Qt.Key.Key_Return)  # Enter generates too: same seed, same weights, same text
    qtbot.waitUntil(lambda: len(p.samples) == 3, timeout=10000)
    assert p.shown_text() == first

    # the fields keep their bounds; a prime the model cannot read says so and keeps the texts
    p.temperature.setValue(-1.0)
    assert p.temperature.value() == 0.0
    p.temperature.setValue(99.0)
    assert p.temperature.value() == p.temperature.maximum() == 5.0
    p.prime.setText("☃☃")
    p.generate_now()
    qtbot.waitUntil(lambda: "no token the model knows" in p.message.text(), timeout=10000)
    assert len(p.samples) == 3 and p.shown_text() == first
    p.prime.setText("ROMEO ☃")
    p.temperature.setValue(0.0)
    p.generate_now()
    qtbot.waitUntil(lambda: len(p.samples) == 4, timeout=10000)
    assert "Left out of the prime" in p.message.text() and "'☃'" in p.message.text()
    assert "greedy" in p.message.text()

    # Step through this: the text becomes the probe, and the arrow keys step through it
    qtbot.mouseClick(p.samples_list.viewport(), Qt.MouseButton.LeftButton,
                     pos=p.samples_list.visualItemRect(p.samples_list.item(2)).center())  # fmt: skip
    assert p.shown_text() == first
    qtbot.mouseClick(p.step_button, Qt.MouseButton.LeftButton)
    assert w.text_strip.probe_edit.text() == first
    wait_state(qtbot, w, m.STEPPING)
    qtbot.keyClick(w, Qt.Key.Key_Right)
    qtbot.keyClick(w, Qt.Key.Key_Right)
    qtbot.waitUntil(
        lambda: w.snapshot is not None and w.snapshot.source == "probe" and w.snapshot.length == 2, timeout=5000
    )
    assert w.snapshot.input_labels[:2] == ("R", "O")

    # samples while training, each with its step; the last five are kept
    p.every.setValue(3)
    p.every_box.setChecked(True)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: sum(s.while_training for s in p.samples) >= 2, timeout=30000)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    wait_state(qtbot, w, m.PAUSED)
    steps = [s.step for s in p.samples if s.while_training]
    assert all(s % 3 == 0 and s > 0 for s in steps) and len(p.samples) == 5 == p.samples_list.count()
    assert "(while training)" in p.samples_list.item(0).text()


def test_generate_on_a_model_that_is_not_a_language_model_says_why(qtbot, make):
    w = make()
    w.controller.send(c.Reset(TrainConfig(task="sine", hidden=6, cell="rnn")))
    qtbot.waitUntil(lambda: w.info.config["task"] == "sine" and w.state == m.IDLE, timeout=10000)
    p = w.generate_panel
    assert not p.generate_button.isEnabled() and "Only a language model writes text" in p.message.text()
    w.generate_now()  # Ctrl+G: the panel shows why, nothing is asked
    qtbot.wait(200)
    assert not p.samples and "#555" in p.message.styleSheet()  # the panel's own word, no answer in red

    # Check gradients on the sine task: a regression head checks out too
    g = w.gradcheck_panel
    w.check_gradients()
    qtbot.waitUntil(lambda: g.check is not None, timeout=10000)
    assert "training step first" in g.verdict.text()
    qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)  # Step update
    qtbot.waitUntil(lambda: w.step == 1, timeout=10000)
    qtbot.mouseClick(g.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: g.check is not None and not g.check.error, timeout=10000)
    assert "the gradients are right" in g.verdict.text()


def test_check_gradients_small_error_on_the_toy_and_a_sample_note_on_the_default_model(qtbot, make):
    w = make()
    g = w.gradcheck_panel
    qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)  # one training step
    qtbot.waitUntil(lambda: w.step == 1 and w.state == m.PAUSED, timeout=20000)
    qtbot.keyClick(w, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert w.docks["gradcheck"].isVisible()
    qtbot.waitUntil(lambda: g.check is not None, timeout=20000)
    total = sum(int(np.prod(s)) for _, s in w.info.param_shapes)
    assert f"Checked 20 of {total:,} weights" in g.verdict.text() and "random sample" in g.verdict.text()
    assert g.table.rowCount() == 20 and g.check.errors.max() < RIGHT
    assert g.table.item(0, 3).text() == f"{g.check.errors[0]:.1e}"  # the engine's numbers, as they came

    w.controller.send(c.Reset(TrainConfig(task="toy")))
    qtbot.waitUntil(lambda: w.info.config["task"] == "toy" and w.state == m.IDLE, timeout=10000)
    assert g.check is None and g.table.rowCount() == 0
    w.step_update()
    qtbot.waitUntil(lambda: w.step == 1 and w.state == m.PAUSED, timeout=10000)
    g.param.setCurrentIndex(g.param.findData("layer0.W_hh"))
    g.request()
    qtbot.waitUntil(lambda: g.check is not None, timeout=10000)
    shape = dict(w.info.param_shapes)["layer0.W_hh"]
    n = int(np.prod(shape))
    assert (
        g.check.what == "layer0.W_hh" and g.check.errors.max() < RIGHT and "the gradients are right" in g.verdict.text()
    )
    assert (f"all {n:,} entries" if n <= 50 else f"50 of {n:,} entries") in g.verdict.text()
    assert g.table.item(0, 0).text().startswith("layer0.W_hh[")
