"""The app's side of loading text (settings for the caps and limits) and its edges: exports that
cannot be written, Space pressed twice quickly, a load that fails while training."""

from __future__ import annotations

import json

from rnnviz.gui.app import initial_config
from rnnviz.gui.controls import SettingsPanel
from rnnviz.lab.presets import apply_preset
from rnnviz.training import TrainConfig


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
    assert visible("max_chars") and visible("unicode_form")
    assert panel.fields["unicode_form"].value() == "NFC"  # the default: é is one character
    panel.show_config(apply_preset("sine", TrainConfig()))
    assert not visible("max_chars") and not visible("unicode_form")
