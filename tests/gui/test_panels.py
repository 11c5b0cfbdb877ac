"""Every panel is labelled and exports its picture and its numbers; settings and layout persist."""

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from rnnviz.engine.clipping import ClipConfig
from rnnviz.gui.controls import SettingsPanel
from rnnviz.lab import commands as c
from rnnviz.lab import events as m
from rnnviz.lab.presets import PRESETS, VANISHING_PRESET, apply_preset
from rnnviz.training import TrainConfig

from .conftest import wait_state

PANELS = ["heatmap", "softmax", "gradients", "loss_panel", "norm_panel"]


@pytest.fixture
def trained(qtbot, make):
    w = make()
    for _ in range(3):
        w.step_update()
        qtbot.waitUntil(lambda n=w.step: w.step == n + 1 and w.state == m.PAUSED, timeout=10000)
    w.loss_panel.refresh()
    w.norm_panel.refresh()
    return w


@pytest.mark.parametrize("name", PANELS)
def test_each_panel_exports_png_svg_npz_and_csv(trained, name, tmp_path):
    panel = getattr(trained, name)
    for ext in ("png", "svg", "npz", "csv"):
        path = tmp_path / f"{name}.{ext}"
        panel.export(path)
        assert path.stat().st_size > 100, ext
    with np.load(tmp_path / f"{name}.npz", allow_pickle=False) as npz:
        assert npz.files and any(npz[k].size > 0 for k in npz.files)
    header = (tmp_path / f"{name}.csv").read_text().splitlines()[0]
    assert header


def test_every_plot_has_labelled_axes_and_a_tooltip(trained):
    for name in PANELS:
        panel = getattr(trained, name)
        assert len(panel.toolTip()) > 60, name  # one sentence a student understands
        item = panel.plot.getPlotItem()
        for side in ("left", "bottom"):
            assert item.getAxis(side).labelText, f"{name} {side} axis has no label"


def test_heatmap_levels_are_fixed_and_its_hover_reads_a_value(trained, qtbot):
    h = trained.heatmap
    assert h.colorbar.levels() == (-1.0, 1.0)
    assert h._matrix.shape == (128, 64)
    center = h.plot.getPlotItem().vb.mapViewToScene(h.plot.getPlotItem().vb.viewRect().center())
    h._hover(center)
    assert "unit" in h.readout.text() and "h =" in h.readout.text()
    h.what_box.setCurrentIndex(h.what_box.findData(1))  # the forget gate: levels 0..1
    assert h.colorbar.levels() == (0.0, 1.0)


def test_the_heatmap_picture_has_the_colour_maps_colours_in_the_painters_own_format(trained):
    import pyqtgraph as pg
    from PySide6.QtGui import QImage, qAlpha

    h = trained.heatmap
    q = h.image.qimage
    # premultiplied ARGB32 is what the raster painter blends without converting every pixel per paint
    assert q.format() == QImage.Format.Format_ARGB32_Premultiplied
    assert (q.width(), q.height()) == (64, 128)  # a pixel per (t, unit)
    plain = pg.ImageItem(h._matrix, axisOrder="row-major", levels=(-1.0, 1.0), lut=h.image.lut)
    plain.render()  # pyqtgraph's own picture of the same matrix: an indexed image
    assert plain.qimage.format() == QImage.Format.Format_Indexed8
    lut = h.image.lut
    for unit, t in [(0, 0), (5, 17), (64, 33), (127, 63)]:
        assert q.pixel(t, unit) == plain.qimage.pixel(t, unit)
        v = h._matrix[unit, t]  # the colour map's colour of the value: -1..1 over the table's 256 rows
        r, g, b = lut[min(int((v + 1.0) / 2.0 * len(lut)), len(lut) - 1)][:3]
        assert q.pixelColor(t, unit).getRgb()[:3] == (r, g, b)
    nan = h._matrix.copy()
    nan[3, 4] = np.nan  # a NaN cell stays transparent (see-through to the white plot), not a colour
    h.image.setImage(nan, levels=(-1.0, 1.0), autoLevels=False)
    h.image.render()
    assert qAlpha(h.image.qimage.pixel(4, 3)) == 0 and qAlpha(h.image.qimage.pixel(5, 3)) == 255


def test_the_clip_threshold_line_is_labelled_with_its_current_value(qtbot):
    from rnnviz.engine.clipping import ClipConfig
    from rnnviz.gui.panels.history import NormHistoryPanel

    panel = NormHistoryPanel()
    qtbot.addWidget(panel)
    panel.set_clip(ClipConfig("norm", 5.0))
    panel.set_clip(ClipConfig("off"))
    panel.set_clip(ClipConfig("norm", 1.0))  # off -> on with a new value in one change
    assert panel.threshold.isVisible()
    assert panel.threshold.label.toPlainText() == "norm threshold 1"
    panel.set_clip(ClipConfig("value", 0.5))
    assert not panel.threshold.isVisible()


def test_settings_wait_for_reset_and_say_so(qtbot):
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    panel.show_config(TrainConfig())
    assert panel.pending.text() == ""
    panel.fields["hidden"].widget.setValue(64)
    cell = panel.fields["cell"].widget
    cell.setCurrentIndex(cell.findData("gru"))
    assert "hidden units" in panel.pending.text() and "cell" in panel.pending.text()
    with qtbot.waitSignal(panel.reset_requested) as sig:
        panel.reset_button.click()
    assert sig.args[0].hidden == 64 and sig.args[0].cell == "gru"
    with qtbot.waitSignal(panel.lr_changed) as sig:  # the learning rate applies without a reset
        panel.fields["lr"].widget.setText("1e-2")
        panel.fields["lr"].widget.editingFinished.emit()
    assert sig.args == [0.01]
    assert "learning rate" not in panel.pending.text()


def test_choosing_the_preset_already_shown_applies_it_again(qtbot):
    # Its learning rate changed, the model still counts as that preset; choosing it again restores it.
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    name = "Tiny Shakespeare: character LSTM"
    panel.show_config(apply_preset(name, TrainConfig()))
    panel.fields["lr"].widget.setText("0.5")
    panel.fields["lr"].widget.editingFinished.emit()
    assert panel.preset.currentText() == name
    panel.preset.activated.emit(panel.preset.currentIndex())  # what picking it in the list does
    assert panel.fields["lr"].value() == PRESETS[name]["lr"]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_a_valid_configuration(name):
    cfg = apply_preset(name, TrainConfig())
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_reset_asks_before_throwing_training_away(qtbot, trained):
    asked = []
    trained.confirm = lambda q: asked.append(q) or False
    trained.reset_model(trained.settings_panel.config().replace(hidden=16))
    qtbot.wait(300)
    assert asked and "3 steps" in asked[0] and trained.info.hidden == 128  # declined: nothing changed


def test_layout_and_settings_persist(qtbot, make, settings):
    w = make()
    w.docks["loss"].hide()
    w.controller.send(c.Reset(w.settings_panel.config().replace(hidden=48)))
    qtbot.waitUntil(lambda: w.info.hidden == 48 and w.state == m.IDLE, timeout=10000)
    # saved as soon as the model is built: an app that is killed, not closed, still comes back to it
    assert json.loads(settings.value("config"))["hidden"] == 48
    w.set_clip(ClipConfig("value", 0.5))
    assert json.loads(settings.value("config"))["clip"] == "value:0.5"
    w.close()
    assert json.loads(settings.value("config"))["hidden"] == 48
    again = make()
    assert again.info.hidden == 48
    assert not again.docks["loss"].isVisible()
    again.restore_default_layout()
    assert again.docks["loss"].isVisible()


def test_probe_text_with_unknown_characters_says_what_was_left_out(qtbot, make):
    w = make()
    w.text_strip.probe_edit.setText("naïve ☃ idea")
    qtbot.keyClick(w.text_strip.probe_edit, Qt.Key.Key_Return)
    w._probe_command("step_token")
    qtbot.waitUntil(lambda: w.text_strip.skipped.isVisible(), timeout=5000)
    assert "☃" in w.text_strip.skipped.text() and "ï" in w.text_strip.skipped.text()


@pytest.mark.parametrize(
    "preset",
    [
        "Names to languages: GRU classifier",
        "Sine wave: predict the next value (GRU)",
        VANISHING_PRESET,
        "The king sits on throne: 5-unit RNN",
    ],
)
def test_other_tasks_train_and_step_in_the_app(qtbot, make, preset):
    w = make()
    w.controller.send(c.Reset(apply_preset(preset, TrainConfig())))
    qtbot.waitUntil(lambda: w.info.config["task"] != "lm" and w.state == m.IDLE, timeout=20000)
    for _ in range(2):
        w.step_update()
        qtbot.waitUntil(lambda n=w.step: w.step == n + 1 and w.state == m.PAUSED, timeout=10000)
    assert w.heatmap.source.text().startswith("Training batch")
    w._probe_command("step_token")
    wait_state(qtbot, w, m.STEPPING)
    qtbot.waitUntil(lambda: w.heatmap._matrix.shape[1] == 1, timeout=5000)
    if w.info.head == "regress":
        assert "mean squared error" in w.softmax.summary.text() or w.softmax._data
    else:
        assert "most likely" in w.softmax.summary.text()


def test_the_gradient_caption_names_no_regime_and_says_when_the_last_loss_is_about_zero():
    import numpy as np

    from rnnviz.gui.panels.gradients import describe_decay

    for curve in (np.array([1e-9, 1e-3, 1.0]), np.array([1e3, 10.0, 1.0]), np.array([0.5, 0.7, 1.0])):
        text = describe_decay(curve)
        assert not any(word in text for word in ("(vanishing)", "(exploding)", "(stable)")), text
        assert f"{curve[0] / curve[-1]:.2e}" in text
    assert "about 0" in describe_decay(np.array([1e-12, 1e-8, 1e-6]))


def test_the_loss_panel_says_the_newest_validation_with_perplexity_or_accuracy(qtbot):
    from rnnviz.gui.panels.history import LossPanel
    from rnnviz.lab import events as ev_

    panel = LossPanel()
    qtbot.addWidget(panel)
    lm = ev_.EvalResult("A", 200, 1.3862, None, 4.0)
    panel.add_eval(lm)
    assert panel.val_note.text() == "validation at step 200: loss 1.386, perplexity 4"
    panel.add_eval(ev_.EvalResult("A", 400, 0.7, 0.75))  # a classifier: accuracy, no perplexity
    assert "75.0% right" in panel.val_note.text() and "perplexity" not in panel.val_note.text()


def test_a_saturated_share_of_0_is_drawn_at_the_floor_not_dropped():
    """The log axis over training has no 0: a healthy run (no unit saturated) would show no dots at all."""
    from rnnviz.gui.panels.mechanism import SATURATED_FLOOR, saturated_shown

    shown = saturated_shown(np.array([0.0, 0.25, np.nan, 1e-5]))
    np.testing.assert_array_equal(shown[[0, 1, 3]], [SATURATED_FLOOR, 0.25, SATURATED_FLOOR])
    assert np.isnan(shown[2])  # a diverged view stays undrawn


def test_the_bar_label_axis_lays_out_its_labels_as_pyqtgraph_does(qtbot):
    """The bars' axis lays out its labels itself (cheaper on every frame): the same ticks, label boxes
    and axis line as pyqtgraph's general layout, with a label that is new and one seen before."""
    import pyqtgraph as pg
    from PySide6.QtGui import QImage, QPainter

    from rnnviz.gui.panels.softmax import BarLabelAxis

    axis = BarLabelAxis(orientation="bottom")
    plot = pg.PlotWidget(axisItems={"bottom": axis})
    qtbot.addWidget(plot)
    plot.resize(600, 200)
    plot.show()
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    cases = [
        (right, labels)
        for right in (11.1, 10.52)
        for labels in (
            ["␣", "e", "t", "o", "a", "r", "i", "n", "s", "h", "W"],
            ["e", "␣", "the", "o", "a", "r", "x", "n", "s", "h", "k"],
        )
    ]
    for right, labels in cases:  # 11.1 as the panel sets it (the last bar + 0.6); 10.52: the last label sticks out
        plot.setXRange(-0.6, right, padding=0)
        ticks = [(float(k) + (0.5 if k == 10 else 0), s) for k, s in enumerate(labels)]
        axis.setTicks([ticks, []])
        qtbot.wait(10)  # laid out
        painter = QPainter(image)
        ours = axis.generateDrawSpecs(painter)
        theirs = pg.AxisItem.generateDrawSpecs(axis, painter)
        painter.end()
        (pen, a1, a2), ticks_ours, texts_ours = ours
        assert (a1, a2) == (theirs[0][1], theirs[0][2])
        assert [(p1, p2) for _, p1, p2 in ticks_ours] == [(p1, p2) for _, p1, p2 in theirs[1]]
        assert [t for *_, t in texts_ours] == [t for *_, t in theirs[2]] == (labels if right > 11 else labels[:-1])
        for (r1, f1, _), (r2, f2, _) in zip(texts_ours, theirs[2], strict=True):
            assert f1 == f2 and abs(r1.x() - r2.x()) < 1e-6 and abs(r1.width() - r2.width()) < 1e-6
            assert abs(r1.y() - r2.y()) < 1e-6 and abs(r1.height() - r2.height()) < 1e-6


def test_a_plot_caption_changes_its_text_without_moving_the_plot(qtbot):
    """The per-frame captions (bars, gradients, mechanism): a new text, short or long, leaves the plot's
    layout alone; a line too wide is cut short with the whole text in the tooltip; a third line makes
    the caption's row taller."""
    import pyqtgraph as pg

    from rnnviz.gui.panels.base import PlotCaption

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(500, 300)
    plot.show()
    caption = PlotCaption(plot)
    caption.setText("true next: 'e'   p = 0.123\nafter 64 tokens (last 'h')")
    qtbot.wait(10)
    view = plot.getPlotItem().vb
    before = view.sceneBoundingRect()
    assert caption.shown_lines() == ["true next: 'e'   p = 0.123", "after 64 tokens (last 'h')"]
    for item in caption.items:  # centred in the plot's width, inside it
        r = item.sceneBoundingRect()
        assert r.width() == 0 or (0 <= r.left() and r.right() <= 500 and abs(r.center().x() - 250) < 30)
    wide = "a very long line, " * 20
    caption.setText(wide)
    qtbot.wait(10)
    assert view.sceneBoundingRect() == before  # the layout did not change
    assert caption.text() == wide and caption.row.toolTip() == wide.strip()
    (shown,) = caption.shown_lines()
    assert shown.endswith("…") and wide.startswith(shown[:-1]) and caption.items[0].sceneBoundingRect().right() <= 500
    caption.setText("one\ntwo\nthree")
    qtbot.wait(10)
    assert caption.shown_lines() == ["one", "two", "three"]
    assert view.sceneBoundingRect().top() > before.top()  # room for the third line
    first, last = caption.items[0].sceneBoundingRect(), caption.items[2].sceneBoundingRect()
    assert first.top() >= 0 and last.bottom() <= view.sceneBoundingRect().top() + 2
    caption.setText("back to one")
    qtbot.wait(10)
    assert view.sceneBoundingRect() == before and caption.shown_lines() == ["back to one"]


@pytest.mark.parametrize("panel_name", ["LossPanel", "NormHistoryPanel"])
def test_a_long_runs_curves_are_drawn_at_one_bin_per_pixel_keeping_every_peak(qtbot, panel_name):
    """A run's curves grow with every step; drawn at ~5 points per pixel column they cost more with
    every minute of training (the p99 lateness doubled in 4 minutes). One min/max pair per pixel column
    keeps the drawing bounded and still shows the highest and lowest step of each column, the newest
    steps included (pyqtgraph's bins dropped the last few: a spike there vanished); a zoom shows the
    detail again."""
    from rnnviz.gui.panels import history

    panel = getattr(history, panel_name)()
    qtbot.addWidget(panel)
    panel.resize(700, 260)
    panel.show()
    rng = np.random.default_rng(0)
    n = 20_000
    norms = rng.lognormal(0.0, 0.5, n)
    norms[12_345] = 400.0  # an exploding step in the middle ...
    norms[n - 2] = 900.0  # ... and one among the newest
    panel.add_steps([
        m.StepScalars("A", k + 1, (k + 1) / 1000, 3.0 + float(norms[k]) / 100, float(norms[k]), float(norms[k]),
                      False, 2e-3, 2048)
        for k in range(n)
    ])  # fmt: skip
    panel.refresh()
    qtbot.wait(50)  # laid out and painted
    width = panel.plot.getPlotItem().vb.width()
    lines = (panel.raw, panel.smooth) if panel_name == "LossPanel" else (panel.pre, panel.post)
    log = panel_name == "NormHistoryPanel"  # (a log axis draws log10)

    def drawn(curve):
        x, y = curve.getData()
        return x, (10**y if log else y)

    def height(v):
        return v if log else 3.0 + v / 100

    for curve in lines:
        x, y = drawn(curve)
        assert 0 < len(x) <= 2 * width + 2
        assert x[-1] >= n - n / width - 1  # the newest column is drawn
        full_x, full_y = curve.full_data()
        assert len(full_x) == n and y.max() == pytest.approx(full_y.max()) and y.min() == pytest.approx(full_y.min())
    x, y = drawn(lines[0])
    assert y.max() == pytest.approx(height(900.0))
    assert y[(x > 12_000) & (x < 12_700)].max() == pytest.approx(height(400.0))
    panel.plot.setXRange(12_300, 12_400, padding=0)  # zoomed in: every step of the range, as it is
    qtbot.wait(10)
    x, y = drawn(lines[0])
    inside = (x >= 12_300) & (x <= 12_400)
    np.testing.assert_array_equal(x[inside], np.arange(12_300, 12_401))
    np.testing.assert_allclose(y[inside], height(norms[12_299:12_400]))
