"""The app's side of loading text (settings for the caps and limits) and its edges: exports that
cannot be written, Space pressed twice quickly, a load that fails while training."""

from __future__ import annotations

import json

from rnnviz.gui.app import initial_config
from rnnviz.gui.controls import SettingsPanel
from rnnviz.lab import events as m
from rnnviz.lab.presets import apply_preset
from rnnviz.training import TrainConfig

from .conftest import wait_state


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
