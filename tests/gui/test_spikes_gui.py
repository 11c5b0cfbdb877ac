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
    qtbot.waitUntil(lambda: bool(w._roll_backs) and w.state == m.PAUSED, timeout=10000)
    step = w._roll_backs[m.MAIN]
    bar = w.message_bar
    assert "Spike at step" in bar.label.text() and bar.roll_back_button.isVisible() and bar.continue_button.isVisible()
    for panel in (w.loss_panel, w.norm_panel):
        panel.refresh()
        xs, _ = panel.spikes.getData()
        assert list(xs) == [step], panel
    shown = w._latest[m.MAIN]
    bar.roll_back_button.click()
    qtbot.waitUntil(lambda: "are back" in w.status.currentMessage(), timeout=5000)
    assert not bar.isVisible() and w.state == m.PAUSED
    # the panels show the spiking batch again, seen with the weights put back
    qtbot.waitUntil(lambda: w._latest[m.MAIN] is not shown, timeout=5000)
    assert w._latest[m.MAIN].step == step
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


def test_a_nan_after_a_climb_offers_roll_back_to_the_last_calm_weights(qtbot, make):
    """Issue 10.7: Roll back with the NaN message; then a lower learning rate trains on."""
    w = make()
    w.controller.send(c.Reset(SINE.replace(lr=20.0, spike_pause=False)))
    qtbot.waitUntil(lambda: w.info.config["task"] == "sine" and w.state == m.IDLE, timeout=10000)
    w.toggle_training()
    qtbot.waitUntil(lambda: w.state == m.PAUSED and m.MAIN in w._roll_backs, timeout=20000)
    bar = w.message_bar
    assert bar.problem.kind == "nonfinite" and "Roll back puts back" in bar.label.text()
    assert bar.roll_back_button.isVisible() and not bar.continue_button.isVisible()
    bar.roll_back_button.click()
    qtbot.waitUntil(lambda: "are back" in w.status.currentMessage(), timeout=5000)
    w.set_lr(0.01)
    step = w.step
    w.toggle_training()
    qtbot.waitUntil(lambda: w.step > step + 20, timeout=20000)
    w.toggle_training()
    qtbot.waitUntil(lambda: w.state == m.PAUSED, timeout=5000)
    assert bar.problem is None or bar.problem.kind != "nonfinite"  # no NaN again


def test_run_bs_spikes_are_marked_on_its_own_dashed_curves(qtbot, make):
    w = make()
    w.controller.send(c.Reset(SINE.replace(spike_pause=False)))
    qtbot.waitUntil(lambda: w.info.config["task"] == "sine" and w.state == m.IDLE, timeout=10000)
    for panel in (w.loss_panel, w.norm_panel):
        panel.set_compare(m.CompareInfo(runs=(m.MAIN, m.OTHER), labels=("lr=0.01", "lr=50")))
        steps = [m.StepScalars(m.OTHER, k, 0.1 * k, 1.0 + 9 * (k == 7), 1.0, 1.0, False, 0.01, 8) for k in range(1, 10)]
        panel.add_steps(steps)
        panel.mark_spike(m.SpikeFound(m.OTHER, 7, "loss", 10.0, 1.0, "", paused=False))
        panel.refresh()
        xs, _ = panel.b_spikes.getData()
        a_xs, _ = panel.spikes.getData()
        assert list(xs) == [7] and panel.b_spikes.isVisible() and (a_xs is None or not len(a_xs)), panel
