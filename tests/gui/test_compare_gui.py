"""Compare mode in the window: fork on Compare, both runs on the curves and the status bar, a switch
for the sequence panels, End compare keeps the chosen run, and a comparison from scratch."""

import numpy as np

from rnnviz.gui.panels.mechanism import SATURATED_FLOOR
from rnnviz.lab import commands as c
from rnnviz.lab import events as m
from rnnviz.lab.presets import EXPLODING_PRESET, apply_preset
from rnnviz.training import TrainConfig


def steps(qtbot, w, n):
    for _ in range(n):
        w.step_update()
        qtbot.waitUntil(lambda k=w.step: w.step == k + 1 and w.state == m.PAUSED, timeout=10000)


def legend(panel):
    return [item.text for _, item in panel.legend.items]


def test_compare_forks_with_clipping_toggled_and_shows_both_runs(qtbot, make):
    w = make()
    w.controller.send(c.Reset(apply_preset(EXPLODING_PRESET, TrainConfig()).replace(hidden=32, batch_size=4)))
    qtbot.waitUntil(lambda: w.info.cell == "rnn" and w.state == m.IDLE, timeout=10000)
    steps(qtbot, w, 2)
    w.clip_control.threshold.setValue(0.01)  # the threshold B clips at (below every norm here)
    w.toggle_compare()
    qtbot.waitUntil(lambda: w.comparing and "B" in w.infos, timeout=10000)
    assert w.compare_info.labels == ("clip=off", "clip=norm:0.01") and w.compare_info.fork_step == 2
    qtbot.waitUntil(lambda: "B: step 2" in w.status.loss_label.text(), timeout=5000)  # B forked at A's step
    assert w.actions_["compare"].text() == "End compare" and w.run_box_action.isVisible()
    steps(qtbot, w, 3)
    qtbot.waitUntil(lambda: w.norm_panel.b_history.n >= 5, timeout=5000)  # B's past (forked) and its own steps
    for panel in (w.loss_panel, w.norm_panel):
        panel.refresh()
    a, b = w.norm_panel.history, w.norm_panel.b_history
    assert list(a["x"]) == [1, 2, 3, 4, 5] and list(b["x"]) == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(a["pre"][:2], b["pre"][:2])  # one past
    assert np.all(b["post"][2:] <= 0.01 + 1e-9) and np.all(a["post"][2:] == a["pre"][2:])  # B clips, A does not
    assert "A: clip=off, train (moving average)" in legend(w.loss_panel)
    assert "B: clip=norm:0.01, before clipping" in legend(w.norm_panel)
    assert "B: step 5" in w.status.loss_label.text() and w.status.loss_label.text().startswith("A: loss")
    exported = w.norm_panel.data()
    assert set(exported) >= {"A_step", "B_step", "A_norm_before_clipping", "B_norm_after_clipping"}

    w.show_run("B")  # the switch: B's heatmap, bars and text
    qtbot.waitUntil(lambda: w.snapshot is not None and w.snapshot.run == "B", timeout=5000)
    assert w.heatmap.source.text().startswith("Run B (clip=norm:0.01)")

    w.ask_keep = lambda info: "B"
    w.toggle_compare()
    qtbot.waitUntil(lambda: not w.comparing, timeout=10000)
    qtbot.waitUntil(lambda: w.info.config["clip"] == "norm:0.01", timeout=10000)  # B is now the run
    assert w.shown_run == "A" and legend(w.loss_panel)[0] == "train (each step)"
    assert "B:" not in w.status.loss_label.text()


def test_compare_from_scratch_trains_two_architectures_on_the_same_batches(qtbot, make):
    w = make()
    w.controller.send(c.Reset(TrainConfig(task="sine", hidden=6, cell="rnn")))
    qtbot.waitUntil(lambda: w.info.config["task"] == "sine" and w.state == m.IDLE, timeout=10000)
    w.ask_changes = lambda suggestion: {"cell": "gru"}
    w.compare_from_scratch()
    qtbot.waitUntil(lambda: w.comparing and "B" in w.infos, timeout=10000)
    assert w.infos["B"].cell == "gru" and w.info.cell == "rnn"
    steps(qtbot, w, 2)
    w.show_run("B")
    qtbot.waitUntil(lambda: w.snapshot is not None and w.snapshot.run == "B", timeout=5000)
    assert w.heatmap.source.text().startswith("Run B (cell=gru)")
    # B's newest step may arrive a delivery after A's: compare the same step
    qtbot.waitUntil(lambda: {s.step for s in w._latest.values()} == {2}, timeout=5000)
    np.testing.assert_array_equal(w._latest["A"].inputs, w._latest["B"].inputs)  # the same batch


def test_a_setting_that_cannot_be_compared_is_refused_in_words(qtbot, make):
    w = make()
    w.ask_changes = lambda suggestion: {"seq_len": 5}
    w.compare_from_scratch()
    qtbot.waitUntil(lambda: "same batches" in w.message_bar.label.text(), timeout=10000)
    assert not w.comparing


def test_the_mechanism_panel_draws_the_snapshots_numbers_for_both_runs(qtbot, make):
    w = make()
    w.controller.send(c.Reset(TrainConfig(task="sine", hidden=6, cell="rnn", recurrent_init="orthogonal",
                                          recurrent_gain=1.5)))  # fmt: skip
    qtbot.waitUntil(lambda: w.info.config["task"] == "sine" and w.state == m.IDLE, timeout=10000)
    w.ask_changes = lambda suggestion: {"cell": "lstm"}
    w.compare_from_scratch()
    qtbot.waitUntil(lambda: w.comparing and "B" in w.infos, timeout=10000)
    steps(qtbot, w, 2)
    qtbot.waitUntil(lambda: set(w.mechanism.shown) == {"A", "B"}, timeout=5000)
    for run, kinds in (("A", ("h",)), ("B", ("h", "c"))):
        view = w.mechanism.shown[run].mechanism[0]
        for kind in kinds:
            curve = w.mechanism.curves[(run, 0, kind)]
            np.testing.assert_array_equal(curve.xData, view.lags)
            np.testing.assert_array_equal(curve.yData, view.dhT_dh if kind == "h" else view.dhT_dc)
    a = w.mechanism.shown["A"].mechanism[0]
    assert w.mechanism.regime.text().startswith(a.regime.upper()) and a.explanation in w.mechanism.regime.text()
    assert "solid: A (cell=rnn)" in w.mechanism.styles.text() and "dashed: B (cell=lstm)" in w.mechanism.styles.text()
    assert f"growth ×{a.growth:.3g}" in w.mechanism.caption.text()
    xs, ys = w.mechanism.eig_points.getData()  # A's eigenvalues on the complex plane
    np.testing.assert_array_equal(xs, np.concatenate(a.eigenvalues).real)
    np.testing.assert_array_equal(ys, np.concatenate(a.eigenvalues).imag)
    steps(qtbot, w, 1)  # paused steps each bring a view: rho and sigma_max over training grow by one point
    # every view the lab made, though a frame draws only the newest snapshot (MechanismPoint events)
    qtbot.waitUntil(lambda: all(w.mechanism.over_training[r].n == 3 for r in "AB"), timeout=5000)
    h, hb = w.mechanism.over_training["A"], w.mechanism.over_training["B"]
    a, b = w.mechanism.shown["A"].mechanism[0], w.mechanism.shown["B"].mechanism[0]
    assert list(h["x"]) == list(hb["x"]) == [1, 2, 3]
    assert h["sigma_h"][-1] == a.sigma_max and h["growth"][-1] == a.growth and h["saturated"][-1] == a.saturated
    # B, an LSTM: each gate block's rho and sigma_max, in the cell's gate order
    assert [hb[f"rho_{g}"][-1] for g in "ifgo"] == list(b.block_radius) and max(b.block_sigma) == b.sigma_max
    # (yData: before the log axis; a share of 0 is drawn at the floor, not dropped)
    np.testing.assert_array_equal(w.mechanism.sat_curve.yData, np.maximum(h["saturated"], SATURATED_FLOOR))
    w.mechanism.set_main_run("B")  # the run switch: B's series, and A's kept for the way back
    np.testing.assert_array_equal(w.mechanism.block_curves["f"][0].yData, hb["rho_f"])
    assert not w.mechanism.block_curves["h"][0].isVisible() and w.mechanism.over_training["A"].n == 3


def test_compare_before_training_a_lesson_makes_the_lessons_own_comparison(qtbot, make):
    from rnnviz.lab.presets import VANISHING_PRESET

    w = make()
    w.settings_panel.preset.setCurrentText(VANISHING_PRESET)
    w.settings_panel.reset_button.click()
    qtbot.waitUntil(lambda: w.info.config["task"] == "longrange" and w.state == m.IDLE, timeout=10000)
    w.toggle_compare()
    qtbot.waitUntil(lambda: w.comparing and "B" in w.infos, timeout=10000)
    assert w.infos["B"].cell == "lstm" and w.compare_info.labels == ("cell=rnn", "cell=lstm")


def test_the_history_slider_scrubs_the_run_shown(qtbot, make):
    w = make()
    w.controller.send(c.Reset(TrainConfig(task="sine", hidden=6, cell="rnn")))
    qtbot.waitUntil(lambda: w.info.config["task"] == "sine" and w.state == m.IDLE, timeout=10000)
    steps(qtbot, w, 3)
    w.clip_control.threshold.setValue(0.5)
    w.toggle_compare()  # fork at step 3: B keeps its own history from there
    qtbot.waitUntil(lambda: w.comparing and "B" in w.infos, timeout=10000)
    steps(qtbot, w, 2)
    counts = lambda: {run: info.count for run, info in w._history_infos.items()}  # noqa: E731
    qtbot.waitUntil(lambda: counts() == {"A": 5, "B": 3}, timeout=5000)  # (they follow the last step)
    assert w.history_bar.info.run == "A" and w.history_bar.info.count == 5
    w.show_run("B")
    assert w.history_bar.info.run == "B" and w.history_bar.info.count == 3  # the fork step, then its own 2
    assert str(w.clip_control.value()) == w.infos["B"].config["clip"]  # the controls show B's setting
    w.move_in_history(-1)
    qtbot.waitUntil(lambda: w.snapshot is not None and w.snapshot.history is not None, timeout=5000)
    assert w.snapshot.run == "B" and w.snapshot.step == 4


def test_in_compare_mode_the_sequence_panels_export_both_runs_and_gradients_overlay_b(qtbot, make, tmp_path):
    """Issue 9: exports (pictures and numbers) include both runs; gradients through time overlays B dashed."""
    import csv

    w = make()
    w.controller.send(c.Reset(TrainConfig(task="sine", hidden=6, cell="rnn", seq_len=12)))
    qtbot.waitUntil(lambda: w.info.config["task"] == "sine" and w.state == m.IDLE, timeout=10000)
    w.ask_changes = lambda suggestion: {"cell": "lstm"}  # another architecture: other numbers, other gates
    w.compare_from_scratch()
    qtbot.waitUntil(lambda: w.comparing and "B" in w.infos, timeout=10000)
    steps(qtbot, w, 2)
    qtbot.waitUntil(lambda: {s.step for s in w._latest.values()} == {2} and w.snapshot.step == 2, timeout=5000)
    w._overlay_other_run()
    a, b = w._latest["A"], w._latest["B"]
    # gradients through time: B's curves of the same step, dashed, and in its numbers
    xs, ys = w.gradients.other_last.getData()
    drawn = 10.0 ** np.asarray(ys)  # a log axis: pyqtgraph keeps log10 of the values
    np.testing.assert_allclose(drawn, np.asarray(b.layers[0].dlast_norm)[np.asarray(xs, int) - 1], rtol=1e-5)
    assert any("run B (cell=lstm), dashed" in t for t in legend(w.gradients))
    g = w.gradients.data()
    np.testing.assert_array_equal(g["A_dL_T_dh_t"], a.layers[0].dlast_norm)
    np.testing.assert_array_equal(g["B_dL_T_dh_t"], b.layers[0].dlast_norm)

    arrays = w.heatmap.data()
    w.heatmap.export(tmp_path / "h.npz")
    with np.load(tmp_path / "h.npz") as saved:
        saved = dict(saved)
    np.testing.assert_array_equal(saved["A_values_units_by_time"], a.layers[0].hs[1 : a.length + 1].T)
    np.testing.assert_array_equal(saved["B_values_units_by_time"], b.layers[0].hs[1 : b.length + 1].T)
    shown_again = w.heatmap.data()["values_units_by_time"]
    np.testing.assert_array_equal(shown_again, arrays["values_units_by_time"])
    w.heatmap.export(tmp_path / "h.csv")
    rows = list(csv.reader((tmp_path / "h.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0][:2] == ["run", "unit \\ step"] and {r[0] for r in rows[1:]} == {"A", "B"}
    assert len(rows) == 1 + 2 * 6  # one header, 6 units per run
    for panel in (w.heatmap, w.softmax):  # the text strip has no export (copy the probe field)
        panel.export(tmp_path / f"{panel.title}.png")
        from PySide6.QtGui import QImage

        img = QImage(str(tmp_path / f"{panel.title}.png"))
        assert img.width() == 2 * panel.figure().width(), panel  # A and B side by side
        panel.export(tmp_path / f"{panel.title}.svg")
        assert "Run B (cell=lstm), step 2" in (tmp_path / f"{panel.title}.svg").read_text(encoding="utf-8")
        panel.export(tmp_path / f"{panel.title}.npz")
        with np.load(tmp_path / f"{panel.title}.npz") as saved:
            keys = set(saved)
        assert any(k.startswith("A_") for k in keys) and any(k.startswith("B_") for k in keys), panel
    assert w.snapshot.run == "A" and w.heatmap.snapshot is w.snapshot  # the panels show what they showed


def test_a_view_only_one_run_has_is_exported_for_that_run_alone_and_the_overlay_follows_the_layer(
    qtbot, make, tmp_path
):
    """Review findings: B (an LSTM) showing its cell state, A (a vanilla RNN) has none: the export holds
    B alone instead of failing; the gradients overlay follows the layer box."""
    w = make()
    w.controller.send(c.Reset(TrainConfig(task="sine", hidden=5, cell="rnn", seq_len=8, layers=2)))
    qtbot.waitUntil(lambda: w.info.config["task"] == "sine" and w.state == m.IDLE, timeout=10000)
    w.ask_changes = lambda suggestion: {"cell": "lstm"}
    w.compare_from_scratch()
    qtbot.waitUntil(lambda: w.comparing and "B" in w.infos, timeout=10000)
    steps(qtbot, w, 1)
    qtbot.waitUntil(lambda: {s.step for s in w._latest.values()} == {1} and w.snapshot.step == 1, timeout=5000)
    w._overlay_other_run()
    b = w._latest["B"]
    w.gradients.layer_box.setCurrentIndex(0)  # the first layer: B's dashed curve must be its first layer's
    _, ys = w.gradients.other_last.getData()
    np.testing.assert_allclose(10.0 ** np.asarray(ys), b.layers[0].dlast_norm, rtol=1e-5)
    w.show_run("B")
    qtbot.waitUntil(lambda: w.snapshot.run == "B", timeout=5000)
    box = w.heatmap.what_box
    box.setCurrentIndex(box.findData("c"))
    w.heatmap.export(tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz") as saved:
        assert set(saved) == {"values_units_by_time", "tokens"}  # B's alone: A has no cell state
    w.heatmap.export(tmp_path / "c.png")
    assert w.snapshot.run == "B"
