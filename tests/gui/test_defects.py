"""Defects found in a trial of the app, each fixed and pinned here."""

import csv
import json

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage

from rnnviz.engine.clipping import ClipConfig
from rnnviz.gui.controls import SettingsPanel
from rnnviz.gui.panels.history import clip_markers
from rnnviz.lab import commands as c
from rnnviz.lab import events as m
from rnnviz.lab.presets import EXPLODING_PRESET, PRESETS, VANISHING_K, VANISHING_PRESET, YOUR_TEXT_PRESET, apply_preset
from rnnviz.training import TrainConfig

from .conftest import small, wait_state

EXPLODING = EXPLODING_PRESET


def train_steps(qtbot, w, n):
    for _ in range(n):
        w.step_update()
        qtbot.waitUntil(lambda k=w.step: w.step == k + 1 and w.state == m.PAUSED, timeout=10000)


@pytest.mark.parametrize("how", ["text", "checkpoint"])
def test_opening_a_file_over_a_run_that_has_progressed_asks_first(qtbot, make, tmp_path, how):
    text = tmp_path / "poem.txt"
    text.write_text("the owl and the pussy-cat went to sea in a beautiful pea-green boat\n" * 60, encoding="utf-8")
    w = make()
    train_steps(qtbot, w, 2)
    ckpt = tmp_path / "run.npz"
    w.save_checkpoint(str(ckpt))
    qtbot.waitUntil(ckpt.exists, timeout=5000)
    asked = []
    w.confirm = lambda question: asked.append(question) or False  # "no, keep my run"
    info = w.info
    (w.load_corpus if how == "text" else w.load_checkpoint)(str(text if how == "text" else ckpt))
    qtbot.wait(300)
    assert asked and "2 steps" in asked[0] and w.info is info and w.step == 2


def test_a_newly_opened_text_gets_the_your_text_settings_not_the_last_presets(qtbot, make, tmp_path):
    text = tmp_path / "poem.txt"
    text.write_text("the owl and the pussy-cat went to sea in a beautiful pea-green boat\n" * 60, encoding="utf-8")
    w = make()
    w.controller.send(c.Reset(apply_preset(EXPLODING, TrainConfig()).replace(hidden=32)))
    qtbot.waitUntil(lambda: w.info.cell == "rnn" and w.state == m.IDLE, timeout=20000)
    w.load_corpus(str(text))
    qtbot.waitUntil(lambda: "poem.txt" in w.info.title and w.state == m.IDLE, timeout=20000)
    cfg = w.info.config
    for k, v in PRESETS[YOUR_TEXT_PRESET].items():
        assert cfg[k] == v, k
    assert w.settings_panel.preset.currentText() == YOUR_TEXT_PRESET


def test_number_fields_give_the_keyboard_back_on_enter(qtbot, make):
    w = make()
    w.activateWindow()
    fields = [w.clip_control.threshold, w.row_box, w.settings_panel.fields["hidden"].widget,
              w.settings_panel.fields["lr"].widget]  # fmt: skip
    for field in fields:
        field.setFocus()
        qtbot.waitUntil(field.hasFocus, timeout=2000)
        qtbot.keyClick(field, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda f=field: not f.hasFocus(), timeout=2000)
    qtbot.keyClick(w, Qt.Key.Key_Space)  # and Space trains again
    wait_state(qtbot, w, m.RUNNING)
    w.toggle_training()
    wait_state(qtbot, w, m.PAUSED)


def test_a_typed_number_outside_its_range_is_refused_in_the_settings_own_words(qtbot):
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    panel.show_config(TrainConfig())
    lr = panel.fields["lr"].widget
    lr.setText("-3")
    lr.editingFinished.emit()
    assert panel.fields["lr"].value() == TrainConfig().lr and "learning rate (lr) must be in" in lr.toolTip().lower()
    lr.setText("fast")
    lr.editingFinished.emit()
    assert "must be a number" in lr.toolTip()


def test_the_clipped_norm_is_drawn_above_the_threshold_line_and_every_clipped_step_is_marked(qtbot):
    from rnnviz.gui.panels.history import NormHistoryPanel

    panel = NormHistoryPanel()
    qtbot.addWidget(panel)
    assert panel.post.zValue() > panel.threshold.zValue()
    assert panel.post.opts["pen"].widthF() >= 2  # visible where it lies on the dashed line
    rng = np.random.default_rng(0)
    x = np.arange(1, 50_001, dtype=float)
    pre = rng.uniform(1, 100, x.size)
    clipped = rng.random(x.size) < 0.3
    xs, ys = clip_markers(x, pre, clipped, limit=1000)
    assert len(xs) <= 1000 and x[clipped][0] <= xs.min() and xs.max() <= x[clipped][-1]
    # every clipped step lies in a stretch that has a dot, at the largest norm of that stretch
    edges = np.linspace(x[clipped][0], x[clipped][-1], 1001)
    bins = np.minimum(np.searchsorted(edges, x[clipped], side="right") - 1, 999)
    dot_bins = np.minimum(np.searchsorted(edges, xs, side="right") - 1, 999)
    assert set(bins) == set(dot_bins)
    few = clip_markers(x[:100], pre[:100], clipped[:100])
    np.testing.assert_array_equal(few[0], x[:100][clipped[:100]])


def test_exported_pictures_show_the_figure_without_the_panels_controls(qtbot, make, tmp_path):
    w = make()
    train_steps(qtbot, w, 1)
    for panel in w.figure_panels():
        path = tmp_path / f"{panel.title}.png"
        panel.export(path)
        image = QImage(str(path))
        size = panel.figure().size() * panel.figure().devicePixelRatioF()  # the plot (Classes: plot and matrix)
        assert (image.width(), image.height()) == (size.width(), size.height()), panel.title
        assert image.height() < panel.height() * panel.devicePixelRatioF()


def test_the_heatmap_csv_has_a_header_row_of_tokens_and_one_row_per_unit(qtbot, make, tmp_path):
    w = make()
    train_steps(qtbot, w, 1)
    path = tmp_path / "heatmap.csv"
    w.heatmap.export(path)
    with open(path, encoding="utf-8") as f:
        rows = list(csv.reader(f))
    H, T = w.heatmap._matrix.shape
    assert rows[0][0] == "unit \\ step" and len(rows[0]) == T + 1
    assert rows[0][1] == f"1: {w.snapshot.input_labels[0]}"
    assert len(rows) == H + 1 and all(len(r) == T + 1 for r in rows)
    np.testing.assert_allclose(np.array(rows[1:], float)[:, 1:], w.heatmap._matrix)


def test_loading_a_checkpoint_brings_back_its_loss_norm_and_mechanism_curves(qtbot, make, tmp_path):
    w = make()
    w.controller.send(c.Reset(small(w.settings_panel.config())))
    qtbot.waitUntil(lambda: w.info.hidden == 32 and w.state == m.IDLE, timeout=20000)
    train_steps(qtbot, w, 3)
    w.loss_panel.refresh()
    losses = w.loss_panel.history["loss"].copy()
    norms = w.norm_panel.history["pre"].copy()
    over = w.mechanism.over_training["A"]  # the mechanism views over training (every paused step has one)
    qtbot.waitUntil(lambda: over.n and over["x"][-1] == 3, timeout=5000)
    views = {k: over[k].copy() for k in ("x", *over.names)}
    path = tmp_path / "run.npz"
    w.save_checkpoint(str(path))
    qtbot.waitUntil(path.exists, timeout=5000)
    w.reset_model(w.settings_panel.config())
    qtbot.waitUntil(lambda: w.step == 0 and w.state == m.IDLE and w.loss_panel.history.n == 0, timeout=20000)
    w.load_checkpoint(str(path))
    qtbot.waitUntil(lambda: w.step == 3 and w.loss_panel.history.n == 3, timeout=20000)
    np.testing.assert_array_equal(w.loss_panel.history["loss"], losses)
    np.testing.assert_array_equal(w.norm_panel.history["pre"], norms)
    assert "of 3 steps clipped" in w.norm_panel.summary.text()
    for k, v in views.items():
        np.testing.assert_array_equal(w.mechanism.over_training["A"][k], v)


def test_a_remembered_live_setting_that_differs_from_the_preset_is_flagged(qtbot, make, tmp_path):
    settings = QSettings(str(tmp_path / "again.ini"), QSettings.Format.IniFormat)
    remembered = apply_preset(YOUR_TEXT_PRESET, TrainConfig()).replace(lr=100.0)
    settings.setValue("config", json.dumps(remembered.to_dict()))
    w = make(settings_=settings)
    panel = w.settings_panel
    assert panel.preset.currentText() == "Tiny Shakespeare: character LSTM"  # same settings, bundled corpus
    assert panel.modified.isVisible() and "learning rate 100 (preset: 0.002)" in panel.modified.text()
    panel.preset.activated.emit(panel.preset.currentIndex())  # choosing the preset again restores it
    assert panel.fields["lr"].value() == 0.002 and not panel.modified.isVisible()


def test_the_classifier_and_the_sine_task_say_what_their_panels_show(qtbot, make):
    w = make()
    w.controller.send(c.Reset(apply_preset("Names to languages: GRU classifier", TrainConfig())))
    qtbot.waitUntil(lambda: w.info.head == "classify" and w.state == m.IDLE, timeout=20000)
    train_steps(qtbot, w, 1)
    assert w.docks["softmax"].windowTitle() == "Predicted language"
    assert "true language:" in w.softmax.summary.text() and "true next" not in w.softmax.summary.text()
    assert "if the name ended here" in w.softmax.summary.text()
    assert "(language " in w.text_strip.source.text()
    w.controller.send(c.Reset(apply_preset("Sine wave: predict the next value (GRU)", TrainConfig())))
    qtbot.waitUntil(lambda: w.info.head == "regress" and w.state == m.IDLE, timeout=20000)
    train_steps(qtbot, w, 1)
    assert w.docks["softmax"].windowTitle() == "Next value of the wave"
    assert "true next value" in w.softmax.summary.text()
    assert " · " in w.text_strip.strip.shown_text()  # numbers never run together
    import re

    values = w.text_strip.strip.shown_text().split(" · ")  # issue 11: one decimal place each
    assert all(re.fullmatch(r"[+-]\d+\.\d", v.strip()) for v in values[1:-1]), values[:5]


def test_each_task_shows_the_settings_it_uses_and_no_others(qtbot):
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    panel.show()
    vanishing = VANISHING_PRESET
    panel.show_config(apply_preset("Tiny Shakespeare: character LSTM", TrainConfig()))
    visible = lambda name: panel.form.isRowVisible(panel.fields[name].widget)  # noqa: E731
    assert visible("seq_len") and not visible("k") and visible("forget_bias") and not visible("momentum")
    panel.preset.setCurrentText(vanishing)
    assert visible("k") and not visible("seq_len") and panel.fields["k"].value() == VANISHING_K
    assert "gap k" in panel.pending.text()  # a pending change has a field to see it in
    cell = panel.fields["cell"].widget
    cell.setCurrentIndex(cell.findData("rnn"))
    assert not visible("forget_bias")  # a vanilla RNN has no forget gate
    # the cell registry's names
    assert [cell.itemText(i) for i in range(cell.count())] == ["vanilla RNN", "LSTM", "GRU"]


def test_clipping_from_the_toolbar_is_live_and_not_a_pending_change(qtbot, make):
    w = make()
    w.set_clip(ClipConfig("norm", 1.0))
    assert w.settings_panel.pending.text() == "" and w.settings_panel.current.clip == "norm:1"
