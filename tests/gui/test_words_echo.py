"""Issue 11, sections 3 and 4 through the real widgets: next words, the echo, the sine's free run."""

import numpy as np
from PySide6.QtCore import Qt

from rnnviz.lab import events as m
from rnnviz.lab.presets import BY_KEY
from rnnviz.lab.snapshot import Snapshot

from .conftest import wait_state


def choose_preset(qtbot, w, key):
    panel = w.settings_panel
    panel.preset.setCurrentText(BY_KEY[key].title)
    panel.reset_button.click()
    wanted = BY_KEY[key].settings.items()
    qtbot.waitUntil(lambda: all(w.info.config[k] == v for k, v in wanted) and w.state == m.IDLE, timeout=30000)
    return panel


def step_updates(qtbot, w, n):
    for _ in range(n):
        w.step_update()
        qtbot.waitUntil(lambda k=w.step: w.step == k + 1 and w.state == m.PAUSED, timeout=20000)


def type_probe(qtbot, w, text):
    edit = w.text_strip.probe_edit
    edit.setText(text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def shown_snapshot(w) -> Snapshot:
    return w.softmax.snapshot


def test_type_a_phrase_and_see_the_most_likely_next_words(qtbot, make):
    w = make()
    panel = choose_preset(qtbot, w, "next-word")
    visible = lambda name: panel.form.isRowVisible(panel.fields[name].widget)  # noqa: E731
    assert visible("level") and visible("embed_size") and panel.fields["level"].widget.currentText() == "words"
    assert w.info.config["level"] == "word" and len(w.info.labels) == 2000
    # the vocabulary cap and the <unk> rate are said once, when the text is loaded
    assert any("1,999 most frequent" in n and "<unk>" in n for n in w.info.notes)
    step_updates(qtbot, w, 2)
    type_probe(qtbot, w, "the queen said xyzzy")
    for _ in range(3):
        qtbot.keyClick(w, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: w.softmax.snapshot is not None and w.softmax.snapshot.length == 3, timeout=10000)
    wait_state(qtbot, w, m.STEPPING)
    assert w.text_strip.strip.shown_text() == "the queen [said] <unk>"  # words, spaced; the unknown one as <unk>
    assert "xyzzy" in w.text_strip.skipped.text() and w.text_strip.skipped.isVisible()
    assert w.docks["softmax"].windowTitle() == "Next word"
    snap = shown_snapshot(w)
    # the bars are the engine's most likely next words after "said", with its probabilities
    data = w.softmax.data()
    np.testing.assert_array_equal(data["token_ids"][:10], snap.top_ids[2])
    np.testing.assert_array_equal(data["probability"][:10], snap.top_probs[2])
    assert list(data["labels"][:10]) == [w.info.labels[i] for i in snap.top_ids[2]]
    summary = w.softmax.summary.text()
    assert "true next word: '<unk>'" in summary and "after 3 words (last 'said')" in summary and "p = " in summary


def test_the_echo_preset_loads_and_its_panels_say_what_they_show(qtbot, make):
    w = make()
    panel = choose_preset(qtbot, w, "echo")
    visible = lambda name: panel.form.isRowVisible(panel.fields[name].widget)  # noqa: E731
    assert visible("delay") and panel.fields["delay"].value() == 10 and not visible("level")
    assert w.docks["softmax"].windowTitle() == "Input from 10 steps ago"
    assert not w.softmax.free_run.button.isVisible()  # its inputs are random: nothing to feed back
    step_updates(qtbot, w, 1)
    for _ in range(12):
        qtbot.keyClick(w, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: w.softmax.snapshot is not None and w.softmax.snapshot.length == 12, timeout=10000)
    summary = w.softmax.summary.text()
    assert "blue: recalled value, orange: input from 10 steps ago" in summary
    assert "next" not in summary
    snap = shown_snapshot(w)
    np.testing.assert_array_equal(w.softmax.data()["true"][10:], snap.inputs[:2, 0])  # the inputs, 10 steps on
    panel.fields["delay"].widget.setValue(4)
    assert "delay d" in panel.pending.text()


def test_the_sine_free_run_button_draws_the_closed_loop_against_the_wave(qtbot, make):
    w = make()
    choose_preset(qtbot, w, "sine")
    button = w.softmax.free_run.button
    assert button.isVisible() and w.docks["softmax"].windowTitle() == "Next value of the wave"
    w.toggle_training()
    wait_state(qtbot, w, m.RUNNING)
    assert not button.isEnabled()  # while the weights change at every step, there is nothing to hold still
    w.toggle_training()
    wait_state(qtbot, w, m.PAUSED)
    assert button.isEnabled()
    step_updates(qtbot, w, 3)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.softmax.free_run.series is not None, timeout=10000)
    series = w.softmax.free_run.series
    assert series.step == w.step and series.prime == 20
    x, y = w.softmax.free_run.curve.getData()
    np.testing.assert_array_equal(y, series.predicted)  # drawn as the lab computed it
    np.testing.assert_array_equal(x, np.arange(21, 21 + len(series.predicted)))
    assert "free run" in w.softmax.summary.text() and f"{series.mse:.4f}" in w.softmax.summary.text()
    assert "free_run" in w.softmax.data()
    step_updates(qtbot, w, 1)  # the next snapshot shown replaces the overlay
    qtbot.waitUntil(lambda: w.softmax.free_run.series is None, timeout=10000)
    assert len(w.softmax.free_run.curve.getData()[0] or []) == 0
