"""The app's side of loading text (settings for the caps and limits) and its edges: exports that
cannot be written, Space pressed twice quickly, a load that fails while training."""

from __future__ import annotations

import json

import pytest

from rnnviz.gui.app import initial_config
from rnnviz.gui.controls import SettingsPanel
from rnnviz.gui.panels.heatmap import HeatmapPanel
from rnnviz.gui.panels.history import LossPanel
from rnnviz.lab import commands as c
from rnnviz.lab import events as m
from rnnviz.lab.presets import apply_preset
from rnnviz.training import TrainConfig

from .conftest import small, wait_state


def test_remembered_settings_from_before_a_new_setting_get_its_default(settings):
    remembered = TrainConfig(hidden=64).to_dict()
    del remembered["max_chars"]  # remembered by a version without the character cap
    settings.setValue("config", json.dumps(remembered))
    config, _ = initial_config(None, settings)
    assert config.hidden == 64 and config.max_chars == TrainConfig().max_chars


def test_the_text_settings_are_in_the_panel_for_a_language_model_only(qtbot):
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    panel.show()
    visible = lambda name: panel.form.isRowVisible(panel.fields[name].widget)  # noqa: E731
    panel.show_config(apply_preset("shakespeare", TrainConfig()))
    assert visible("max_chars") and visible("unicode_form") and visible("max_mb") and visible("use_start")
    assert panel.fields["unicode_form"].value() == "NFC"  # the default: é is one character
    panel.show_config(apply_preset("sine", TrainConfig()))
    assert not any(visible(name) for name in ("max_chars", "unicode_form", "max_mb", "use_start"))


def test_a_file_above_the_size_limit_can_be_let_in_from_the_settings(qtbot, make, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("All the world's a stage, and all the men and women merely players.\n" * 24_000)  # 1.5 MB
    w = make()
    limit = w.settings_panel.fields["max_mb"].widget
    limit.setValue(1)  # as a user types it
    w.load_corpus(str(big))
    qtbot.waitUntil(lambda: w.message_bar.isVisible(), timeout=10000)
    text = w.message_bar.label.text()
    assert w.message_bar.problem.kind == "load_failed" and "big.txt" in text and "Size limit (MB)" in text
    wait_state(qtbot, w, m.IDLE)
    limit.setValue(2)
    w.load_corpus(str(big))
    qtbot.waitUntil(lambda: "big.txt" in w.info.title and w.state == m.IDLE, timeout=20000)
    assert w.settings_panel.current.max_mb == 2


# -- exports that cannot be written: one clear message each, no Qt warning (a Qt warning fails the test) --


def shown_panel(qtbot, cls):
    panel = cls()
    qtbot.addWidget(panel)
    panel.resize(500, 300)
    panel.setVisible(True)  # (a sequence panel's show() draws a snapshot)
    return panel


@pytest.fixture
def export_to(monkeypatch):
    """``export_to(panel, kind, path)``: the panel's Export menu entry with ``path`` chosen in the file
    dialog; returns the messages the user was shown."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    def run(panel, kind, path):
        shown = []
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
        monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
        panel.export_dialog(kind)
        return shown

    return run


EXPORT_KINDS = ["png", "svg", "npz", "csv"]


@pytest.mark.parametrize("kind", EXPORT_KINDS)
def test_an_export_into_a_folder_that_does_not_exist_says_so_once(qtbot, export_to, tmp_path, kind):
    missing = tmp_path / "no-such-folder"
    shown = export_to(shown_panel(qtbot, LossPanel), kind, missing / f"loss.{kind}")
    assert len(shown) == 1 and "Could not export" in shown[0] and f"the folder {missing} does not exist" in shown[0]
    assert not missing.exists()


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_an_export_into_a_file_posing_as_a_folder_or_a_place_without_permission_says_so(
    qtbot, export_to, tmp_path, kind, monkeypatch
):
    heatmap = shown_panel(qtbot, HeatmapPanel)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    shown = export_to(heatmap, kind, a_file / f"heatmap.{kind}")
    assert len(shown) == 1 and "is a file, not a folder" in shown[0]

    def refuse(self, data):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr("pathlib.Path.write_bytes", refuse)
    shown = export_to(heatmap, kind, tmp_path / f"heatmap.{kind}")
    assert len(shown) == 1 and shown[0].endswith(": permission denied") and "Errno" not in shown[0]


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_a_picture_of_a_panel_with_no_size_blames_the_size_not_the_path(qtbot, export_to, tmp_path, kind):
    panel = shown_panel(qtbot, LossPanel)
    panel.figure().resize(0, 0)  # as a collapsed dock leaves it
    path = tmp_path / f"loss.{kind}"
    shown = export_to(panel, kind, path)
    assert len(shown) == 1 and "no size on screen" in shown[0] and not path.exists()


# -- Space pressed twice faster than the training process answers ------------------------------------


def test_the_toggle_follows_what_the_app_asked_not_a_state_that_lags_behind():
    from rnnviz.gui.controller import RunIntent

    intent = RunIntent()
    intent.asked(c.Train())
    intent.asked(c.Pause())  # the second press, before the lab said it runs
    intent.heard(m.RUNNING)  # ... the answer to the first press arrives late: the app asked for a pause since
    assert not intent.running
    intent.heard(m.PAUSED)
    intent.asked(c.Train())
    intent.heard(m.RUNNING)
    assert intent.running
    intent.heard(m.PAUSED)  # the lab paused by itself (a NaN step, a spike): the next press trains again
    assert not intent.running
    intent.asked(c.Train())
    intent.asked(c.StepUpdate())  # any command that stops training
    intent.heard(m.RUNNING)
    assert not intent.running


def settled(qtbot, w) -> bool:
    """Paused, and no step arrives for 0.3 s (training makes tens a second)."""
    step = w.step
    qtbot.wait(300)
    return w.state == m.PAUSED and w.step == step


@pytest.mark.parametrize("presses", [2, 3, 4])
def test_space_pressed_quickly_several_times_ends_as_the_presses_say(qtbot, make, presses):
    w = make()
    w.controller.send(c.Reset(small(w.settings_panel.config())))
    qtbot.waitUntil(lambda: w.info.hidden == 32 and w.state == m.IDLE, timeout=10000)
    for _ in range(presses):
        w.actions_["train"].trigger()  # Space, with no time for the training process to answer
    if presses % 2:
        qtbot.waitUntil(lambda: w.state == m.RUNNING and w.step >= 2, timeout=10000)
        w.actions_["train"].trigger()
    # paused for good: an earlier press's pause may be heard before the later presses are answered
    # (the lab trains on between them), so the step must stay put a while, not just the state read PAUSED
    qtbot.waitUntil(lambda: settled(qtbot, w), timeout=10000)
    step = w.step
    w.step_update()  # after everything sent before it: it finds the run paused, one step on
    qtbot.waitUntil(lambda: w.step == step + 1 and w.state == m.PAUSED, timeout=10000)


# -- a load that fails while training ---------------------------------------------------------------


@pytest.mark.parametrize("what", ["text", "checkpoint"])
def test_a_file_that_cannot_be_used_while_training_lets_training_go_on(qtbot, make, tmp_path, what):
    w = make()
    w.controller.send(c.Reset(small(w.settings_panel.config())))
    qtbot.waitUntil(lambda: w.info.hidden == 32 and w.state == m.IDLE, timeout=10000)
    info = w.info
    w.toggle_training()
    qtbot.waitUntil(lambda: w.step >= 2, timeout=10000)
    if what == "text":
        bad = tmp_path / "picture.png"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
        w.load_corpus(str(bad))
    else:
        bad = tmp_path / "notes.npz"
        bad.write_text("not a checkpoint")
        w.load_checkpoint(str(bad))
    qtbot.waitUntil(lambda: w.message_bar.isVisible() and w.message_bar.problem.kind == "load_failed", timeout=10000)
    step = w.step
    qtbot.waitUntil(lambda: w.state == m.RUNNING and w.step > step + 2, timeout=10000)
    assert w.info is info  # the same run, going on
    w.toggle_training()  # and Space pauses it
    wait_state(qtbot, w, m.PAUSED)


# -- a diverged run's numbers on the panels: left out, without "All-NaN slice" warnings ------------------


def diverged_probe_snapshots():
    """Probe snapshots of a sine model with an infinite weight (outputs NaN), from the lab itself."""
    from rnnviz.lab import Lab
    from rnnviz.lab.snapshot import Snapshot

    events = []
    lab = Lab(events.append)
    lab.reset(TrainConfig(task="sine", hidden=8, seq_len=12, batch_size=4))
    lab.train_steps(2)
    lab.main.trainer.params["layer0.W_hh"][0, 0] = float("inf")
    for _ in range(4):
        lab.handle(c.ProbeForward())
    info = [ev for ev in events if isinstance(ev, m.ModelInfo)][-1]
    return info, [ev for ev in events if isinstance(ev, Snapshot) and ev.source == "probe"]


def test_panels_leave_out_what_is_not_finite_without_warnings(qtbot):
    import dataclasses

    import numpy as np

    from rnnviz.gui.panels.mechanism import MechanismPanel
    from rnnviz.gui.panels.softmax import SoftmaxPanel

    info, snaps = diverged_probe_snapshots()
    assert not np.isfinite(snaps[-1].outputs).any()  # what a diverged model predicts
    softmax, mechanism = shown_panel(qtbot, SoftmaxPanel), shown_panel(qtbot, MechanismPanel)
    for panel in (softmax, mechanism):
        panel.set_model(info)
    # a train snapshot whose mechanism numbers overflowed: NaN eigenvalues and saturation
    view = snaps[-1].mechanism[0]
    nan_view = dataclasses.replace(
        view, saturated=float("nan"), spectral_radius=float("nan"), sigma_max=float("nan"),
        eigenvalues=tuple(np.full_like(v, np.nan) for v in view.eigenvalues),
    )  # fmt: skip
    train = dataclasses.replace(snaps[-1], source="train", step=3, mechanism=(nan_view,))
    for snap in snaps:
        softmax.show(snap)
    mechanism.show_snapshot(train)
    from rnnviz.lab.events import MechanismPoint
    from rnnviz.training.log import mechanism_row

    for step in (3, 4):  # the curves over training: a point of NaN among finite ones
        values = mechanism_row(nan_view if step == 3 else view, info.gate_names)
        mechanism.add_point(MechanismPoint(info.run, step, values))
    for tab in range(mechanism.tabs.count()):
        mechanism.tabs.setCurrentIndex(tab)
        mechanism.grab()  # paints, and pyqtgraph computes the data bounds
    softmax.grab()
    blocks = [curve for pair in mechanism.block_curves.values() for curve in pair]
    assert blocks  # the over-training curves were drawn, NaN left out
    for item in (softmax.pred_curve, mechanism.eig_points, mechanism.growth_curve, mechanism.sat_curve, *blocks):
        x, y = item.getData()
        assert x is None or (np.isfinite(x).all() and np.isfinite(y).all())


def test_heatmap_labels_its_columns_only_when_the_widest_label_fits_its_column(qtbot):
    from rnnviz.gui.panels.heatmap import HeatmapPanel

    panel = shown_panel(qtbot, HeatmapPanel)
    qtbot.waitUntil(lambda: panel.plot.width() > 300)
    panel._set_ticks(tuple("abcdefghij"), 10)  # ten characters fit: each column is labelled
    assert [label for _, label in panel._ticks] == list("abcdefghij")
    values = tuple(f"{v / 15 - 1:+.1f}" for v in range(30))  # a wave's values: "+0.7" is four characters
    panel._set_ticks(values, 30)  # 30 of them would overlap (as the echo task's did): step numbers instead
    assert all(label.isdigit() for _, label in panel._ticks) and len(panel._ticks) < 30


def test_the_text_strip_draws_whole_lines_only_and_always_the_current_token(qtbot):
    from PySide6.QtGui import QFontMetrics

    from rnnviz.gui.panels.textstrip import TokenStrip

    strip = TokenStrip()
    qtbot.addWidget(strip)
    fm = QFontMetrics(strip.font())
    strip.resize(300, int(1.6 * (fm.height() + 4)))  # room for one line and a half (the echo task's was cut)
    strip.show()
    values = tuple(f"{v / 15 - 1:+.1f}" for v in range(30))
    for current in (0, 12, 29):
        strip.set_tokens(values, current, current + 1, " · ")
        ellipsis, placed = strip._layout(fm, fm.horizontalAdvance(" · "))
        assert current in [i for i, *_ in placed]  # the current value is drawn ...
        assert all(y + fm.descent() <= strip.height() for _, _, y, _ in placed)  # ... on a whole line
        assert (ellipsis is not None) == (placed[0][0] > 0)  # left-out values are marked with "…"
    strip.grab()  # and it paints


def test_the_text_strip_measures_tokens_in_the_font_it_draws_with(qtbot):
    """Token widths are cached (a frame measured all 64 again); a larger font (a projector) must not reuse them."""
    from PySide6.QtGui import QFont, QFontMetrics

    from rnnviz.gui.panels.textstrip import TokenStrip

    strip = TokenStrip()
    qtbot.addWidget(strip)
    strip.resize(2000, 200)
    strip.set_tokens(("hello", "world"), 1, 2, " ")
    fm = QFontMetrics(strip.font())
    _, placed = strip._layout(fm, fm.horizontalAdvance(" "))
    assert placed[0][3] == fm.horizontalAdvance("hello")
    big = QFont(strip.font())
    big.setPointSize(3 * strip.font().pointSize())
    strip.setFont(big)
    strip.bold = QFont(big)
    strip.bold.setBold(True)
    fm = QFontMetrics(strip.font())
    _, placed = strip._layout(fm, fm.horizontalAdvance(" "))
    assert placed[0][3] == fm.horizontalAdvance("hello")
    assert placed[1][3] == QFontMetrics(strip.bold).horizontalAdvance("world")  # the current token: bold
