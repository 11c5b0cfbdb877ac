"""A spike in the window: paused, marked on both curves, said in words, with Roll back and Continue."""

from rnnviz.lab import commands as c
from rnnviz.lab import events as m
from rnnviz.lab.presets import EXPLODING_PRESET, apply_preset
from rnnviz.training import TrainConfig

SINE = TrainConfig(task="sine", hidden=8, cell="rnn", optimizer="sgd", lr=0.01, clip="off", spike_pause=True)


def test_a_spike_pauses_marks_and_can_be_rolled_back(qtbot, make):
    w = make()
    w.controller.send(c.Reset(SINE))
    qtbot.waitUntil(lambda: w.info.config["task"] == "sine" and w.state == m.IDLE, timeout=10000)
    assert w.spike_box.isChecked()  # the run's own setting
    for _ in range(12):
        w.step_update()
        qtbot.waitUntil(lambda n=w.step: w.step == n + 1 and w.state == m.PAUSED, timeout=10000)
    w.set_lr(50.0)
    w.toggle_training()
    qtbot.waitUntil(lambda: bool(w._spikes) and w.state == m.PAUSED, timeout=10000)
    spike = w._spikes[0]
    bar = w.message_bar
    assert "Spike at step" in bar.label.text() and bar.roll_back_button.isVisible() and bar.continue_button.isVisible()
    for panel in (w.loss_panel, w.norm_panel):
        panel.refresh()
        xs, _ = panel.spikes.getData()
        assert list(xs) == [spike.step], panel
    bar.roll_back_button.click()
    qtbot.waitUntil(lambda: "are back" in w.status.currentMessage(), timeout=5000)
    assert not bar.isVisible() and w.state == m.PAUSED
    w.set_lr(0.01)
    w.toggle_training()
    qtbot.waitUntil(lambda: w.state == m.RUNNING, timeout=5000)
    w.toggle_training()


def test_the_toolbar_box_turns_spike_pause_on_and_off_and_the_exploding_lesson_has_it_on(qtbot, make):
    w = make()
    assert not w.spike_box.isChecked()  # the default preset does not pause
    w.spike_box.setChecked(True)
    assert w.settings_panel.config().spike_pause and w.settings_panel.pending.text() == ""
    w.controller.send(c.Reset(apply_preset(EXPLODING_PRESET, TrainConfig()).replace(hidden=16, batch_size=4)))
    qtbot.waitUntil(lambda: w.info.cell == "rnn" and w.state == m.IDLE, timeout=10000)
    assert w.spike_box.isChecked() and w.info.config["spike_pause"]
