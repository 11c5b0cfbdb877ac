"""The three journeys, through the real widgets and keys, with a real training process."""

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from rnnviz.engine.clipping import ClipConfig
from rnnviz.lab import commands as c
from rnnviz.lab import events as m
from rnnviz.lab.presets import EXPLODING_PRESET, apply_preset
from rnnviz.training import TrainConfig

from .conftest import small, wait_state

# -- journey 1: load a text file and press Train ---------------------------------------------------


def test_opens_on_tiny_shakespeare_and_space_trains_then_pauses(qtbot, make):
    w = make()
    assert "tinyshakespeare" in w.info.title and w.info.cell == "lstm" and w.info.hidden == 128
    assert w.actions_["train"].isEnabled() and w.actions_["train"].text() == "Train"
    qtbot.keyClick(w, Qt.Key.Key_Space)
    wait_state(qtbot, w, m.RUNNING)
    assert w.actions_["train"].text() == "Pause"
    qtbot.waitUntil(lambda: w.step >= 5 and w.heatmap.source.text().startswith("Training batch"), timeout=20000)
    assert "step" in w.status.step_label.text() and "loss" in w.status.loss_label.text()
    qtbot.waitUntil(lambda: "tok/s" in w.status.speed_label.text(), timeout=10000)
    assert w.loss_panel.history.n >= 5 and w.norm_panel.history.n >= 5  # one point per step
    assert w.status.epoch_bar.value() > 0 and w.status.epoch_bar.format().startswith("epoch")
    qtbot.keyClick(w, Qt.Key.Key_Space)
    wait_state(qtbot, w, m.PAUSED)
    assert w.actions_["train"].text() == "Train"


def test_pause_stops_panel_updates(qtbot, make):
    w = make()
    w.controller.send(c.Reset(small(w.settings_panel.config())))
    qtbot.waitUntil(lambda: w.info.hidden == 32, timeout=10000)
    w.toggle_training()
    qtbot.waitUntil(lambda: w.step >= 10, timeout=20000)
    w.toggle_training()
    wait_state(qtbot, w, m.PAUSED)
    qtbot.wait(200)  # let the last messages arrive
    step, deliveries, source = w.step, w.deliveries, w.heatmap.source.text()
    qtbot.wait(600)
    assert (w.step, w.deliveries, w.heatmap.source.text()) == (step, deliveries, source)


def test_command_line_file_opens_it(qtbot, make, tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("the wind in the willows is a book about a mole and a rat.\n" * 40, encoding="utf-8")
    w = make(str(path))
    assert "poem.txt" in w.info.title
    assert len(w.info.labels) < 30  # the poem's own characters, not Shakespeare's


def test_file_open_dialog_and_drag_and_drop_load_a_text(qtbot, make, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    a = tmp_path / "a.txt"
    a.write_text("abcabcabc abc\n" * 200, encoding="utf-8")
    b = tmp_path / "b.txt"
    b.write_text("xyzzy plugh\n" * 200, encoding="utf-8")
    w = make()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kw: (str(a), ""))
    w.actions_["open"].trigger()  # File > Open (Ctrl+O)
    qtbot.waitUntil(lambda: "a.txt" in w.info.title and w.state == m.IDLE, timeout=20000)

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(b))])
    event = QDropEvent(
        QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    w.dropEvent(event)
    qtbot.waitUntil(lambda: "b.txt" in w.info.title and w.state == m.IDLE, timeout=20000)


# -- journey 2: step through a sentence token by token ---------------------------------------------


def test_stepping_adds_one_column_per_token_and_shows_the_true_next_token(qtbot, make):
    w = make()
    edit = w.text_strip.probe_edit
    w.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    edit.setText("Hello")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert not edit.hasFocus()  # Enter lets go of the keyboard: the Right arrow now steps, not the cursor
    qtbot.keyClick(w, Qt.Key.Key_Right)  # while idle
    wait_state(qtbot, w, m.STEPPING)
    qtbot.waitUntil(lambda: w.heatmap._matrix.shape == (128, 1), timeout=5000)
    assert "1 of 5 tokens read" in w.heatmap.source.text()
    qtbot.keyClick(w, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: w.heatmap._matrix.shape == (128, 2), timeout=5000)
    # after "He" the true next token is "l": its bar is orange, with p and -log p
    assert "true next character: 'l'" in w.softmax.summary.text() and "-log p" in w.softmax.summary.text()
    marker = w.softmax.true_marker  # a marker over the true token's bar, however thin it is
    assert marker.isVisible() and (marker.pos().x(), "l") in w.softmax._ticks and marker.pos().y() > 0
    assert w.text_strip.strip.shown_text() == "H[e]llo"  # the token just read is highlighted
    qtbot.keyClick(w, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: w.heatmap._matrix.shape == (128, 1), timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: w.heatmap._matrix.shape[1] == 0, timeout=5000)


def test_stepping_while_paused_uses_the_current_weights_and_train_switches_back(qtbot, make):
    w = make()
    w.toggle_training()
    qtbot.waitUntil(lambda: w.step >= 3, timeout=20000)
    w.toggle_training()
    wait_state(qtbot, w, m.PAUSED)
    w.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_Right)
    wait_state(qtbot, w, m.STEPPING)
    qtbot.waitUntil(lambda: w.snapshot is not None and w.snapshot.source == "probe", timeout=5000)
    qtbot.waitUntil(lambda: w.heatmap.source.text().startswith("Probe"), timeout=5000)
    w.toggle_training()  # Train goes back to the training view
    wait_state(qtbot, w, m.RUNNING)
    qtbot.waitUntil(lambda: w.heatmap.source.text().startswith("Training batch"), timeout=10000)
    w.toggle_training()
    wait_state(qtbot, w, m.PAUSED)


def test_step_one_update_trains_exactly_once_then_pauses(qtbot, make):
    w = make()
    qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    wait_state(qtbot, w, m.PAUSED)
    qtbot.waitUntil(lambda: w.step == 1 and w.heatmap.source.text().endswith("step 1"), timeout=10000)
    w.step_update()
    qtbot.waitUntil(lambda: w.step == 2, timeout=10000)
    qtbot.wait(300)
    assert w.step == 2 and w.state == m.PAUSED


# -- journey 3: toggle clipping and compare the gradient plots -------------------------------------


def test_clipping_toggle_changes_the_norms_and_pins_the_old_curves(qtbot, make):
    w = make()
    exploding = apply_preset(EXPLODING_PRESET, TrainConfig())
    w.controller.send(c.Reset(exploding.replace(hidden=64, batch_size=8)))
    qtbot.waitUntil(lambda: w.info.cell == "rnn" and w.state == m.IDLE, timeout=10000)
    assert w.clip_control.value() == ClipConfig("off")
    for _ in range(3):
        w.step_update()
        qtbot.waitUntil(lambda n=w.step: w.step == n + 1 and w.state == m.PAUSED, timeout=10000)
    assert w.gradients.current_clip == "off" and not w.gradients.pinned

    w.clip_control.mode.setCurrentIndex(w.clip_control.mode.findData("norm"))
    w.clip_control.threshold.setValue(0.01)
    w.clip_control.threshold.editingFinished.emit()
    for _ in range(3):
        w.step_update()
        qtbot.waitUntil(lambda n=w.step: w.step == n + 1 and w.state == m.PAUSED, timeout=10000)
    qtbot.waitUntil(lambda: w.gradients.current_clip == "norm:0.01", timeout=5000)
    w.norm_panel.refresh()
    pre, post = w.norm_panel.history["pre"], w.norm_panel.history["post"]
    assert np.all(post[-3:] <= 0.01 + 1e-9) and np.all(pre[-3:] > 0.01)  # clipped: after <= threshold < before
    assert np.allclose(pre[:3], post[:3])  # before: nothing clipped
    assert "off" in w.gradients.pinned  # the curves drawn without clipping stay, dimmed and labelled
    names = [item.text for _, item in w.gradients.legend.items]
    assert "clipping off (pinned)" in names
    assert w.norm_panel.threshold.isVisible()
    assert w.norm_panel.threshold.label.toPlainText() == "norm threshold 0.01"  # the line says what it is


def test_a_preset_brings_its_own_clipping_and_reset_leaves_nothing_of_the_old_run(qtbot, make):
    w = make()
    panel = w.settings_panel
    exploding = EXPLODING_PRESET
    assert w.clip_control.value() == ClipConfig("norm", 5.0)  # the default preset clips
    panel.preset.setCurrentText(exploding)
    assert "clipping" in panel.pending.text()  # its "off" waits for Reset, like its other settings
    panel.reset_button.click()
    qtbot.waitUntil(lambda: w.info.cell == "rnn" and w.state == m.IDLE, timeout=10000)
    assert w.info.config["clip"] == "off" and w.clip_control.value().mode == "off"
    assert panel.preset.currentText() == exploding and panel.pending.text() == ""
    # clipping turned on from the toolbar: still the same lesson, and the next model keeps it
    w.clip_control.mode.setCurrentIndex(w.clip_control.mode.findData("norm"))
    assert panel.pending.text() == "" and panel.config().clip == "norm:5"
    for _ in range(2):
        w.step_update()
        qtbot.waitUntil(lambda n=w.step: w.step == n + 1 and w.state == m.PAUSED, timeout=10000)
    w.text_strip.probe_edit.setText("To be")
    qtbot.keyClick(w.text_strip.probe_edit, Qt.Key.Key_Return)
    w._probe_command("step_token")
    qtbot.waitUntil(lambda: w.heatmap._matrix.shape[1] == 1, timeout=5000)
    assert "of 2 steps clipped" in w.norm_panel.summary.text()

    panel.preset.setCurrentText("Tiny Shakespeare: character LSTM")
    panel.reset_button.click()
    qtbot.waitUntil(lambda: w.info.cell == "lstm" and w.state == m.IDLE, timeout=10000)
    assert w.info.config["clip"] == "norm:5" and panel.preset.currentText() == "Tiny Shakespeare: character LSTM"
    # every panel starts over: no old source line, tick labels, counts or epoch position
    for p in (w.heatmap, w.softmax, w.gradients):
        assert "Probe" not in p.source.text() and "step 2" not in p.source.text(), p.source.text()
    assert w.heatmap.plot.getPlotItem().getAxis("bottom")._tickLevels is None  # automatic step numbers again
    assert w.norm_panel.summary.text().strip() == ""
    assert w.status.epoch_bar.format() == "epoch 0.00" and w.status.epoch_bar.value() == 0
