"""The settings panel (task preset, model and optimiser) and the clipping control of the toolbar.

The panel is built from the settings' declarations (``rnnviz.training.config``): one row per setting
that declares a place in it, the right widget for its kind and range, its help as the tooltip, shown
only for the tasks and models it applies to (the sequence length for a language model, the gap k for
the long-range task, the forget bias for an LSTM...). Nothing here lists the settings again.

Two kinds of setting: those that need a new model (cell, sizes, task...) are collected and applied by
"Reset model", with a line saying what is waiting; the live ones (learning rate, clipping) take effect
from the next training step, without a reset.

Every field gives the keyboard back when the user presses Enter (or picks a choice), so Space, the
arrows and the other window shortcuts work again at once.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rnnviz.engine.clipping import ClipConfig
from rnnviz.lab.presets import PRESETS, apply_preset
from rnnviz.training import TrainConfig
from rnnviz.training.config import LIVE_FIELDS, SETTINGS
from rnnviz.training.settings import Setting

CUSTOM = "Custom settings"
# Shown in the toolbar (ClipControl), not in the panel.
TOOLBAR_FIELDS = ("clip",)


class _ReleaseOnEnter(QObject):
    """Event filter: after Enter in a field, give the keyboard back to the window (its shortcuts)."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            QTimer.singleShot(0, obj.clearFocus)  # after the field has taken the value
        return False


_release = None


def release_focus_on_enter(widget: QWidget) -> QWidget:
    """Make ``widget`` let go of the keyboard on Enter (line edits, spin boxes) or once a choice is
    made (combo boxes, check boxes), so Space trains and the arrows step again."""
    global _release
    if _release is None:
        _release = _ReleaseOnEnter()
    if isinstance(widget, QComboBox):
        widget.activated.connect(lambda _=0: widget.clearFocus())
    elif isinstance(widget, QCheckBox):
        widget.clicked.connect(lambda _=False: widget.clearFocus())
    else:
        widget.installEventFilter(_release)
        if isinstance(widget, QAbstractSpinBox):
            widget.lineEdit().installEventFilter(_release)
    return widget


class ClipControl(QWidget):
    """Off / by value / by global norm, with the threshold; emits ``changed(ClipConfig)``."""

    changed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.addItem("off", "off")
        self.mode.addItem("by value", "value")
        self.mode.addItem("by global norm", "norm")
        self.mode.setToolTip(
            "Gradient clipping, from the next step: by value clips every gradient entry to "
            "[-c, c]; by global norm rescales the whole gradient so its norm is at most c"
        )
        self.threshold = QDoubleSpinBox()
        self.threshold.setDecimals(3)
        self.threshold.setRange(0.001, 1e6)
        self.threshold.setValue(5.0)
        self.threshold.setToolTip("The clipping threshold c")
        for w in (self.mode, self.threshold):
            release_focus_on_enter(w)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Clipping:"))
        row.addWidget(self.mode)
        row.addWidget(self.threshold)
        self.mode.currentIndexChanged.connect(self._emit)
        self.threshold.editingFinished.connect(self._emit)

    def value(self) -> ClipConfig:
        mode = self.mode.currentData()
        return ClipConfig(mode, self.threshold.value())

    def set_value(self, clip: ClipConfig) -> None:
        self.blockSignals(True)
        self.mode.blockSignals(True)
        self.mode.setCurrentIndex(self.mode.findData(clip.mode))
        self.threshold.setValue(clip.threshold)
        self.mode.blockSignals(False)
        self.blockSignals(False)
        self.threshold.setEnabled(clip.mode != "off")

    def _emit(self, *_) -> None:
        self.threshold.setEnabled(self.mode.currentData() != "off")
        self.changed.emit(self.value())


class FloatField(QLineEdit):
    """A number typed as text ("2e-3", "0.5"), checked against its setting's range on Enter.

    A value that is not allowed is refused with the setting's own message (the tooltip and a red
    frame) and the last good value stays; ``value()`` always returns an allowed number.
    """

    committed = Signal(float)

    def __init__(self, name: str, setting: Setting):
        super().__init__()
        self.name, self.setting = name, setting
        self._value = 0.0
        self.editingFinished.connect(self._commit)

    def value(self) -> float:
        return self._value

    def set_value(self, value: float) -> None:
        self._value = float(value)
        self.setText(f"{self._value:g}")
        self._mark(None)

    def _commit(self) -> None:
        try:
            number = float(self.text().strip())
        except ValueError:
            self._mark(f"{self.setting.label.lower()} ({self.name}) must be a number, like 0.01 or 2e-3")
            return
        try:
            value = self.setting.check(self.name, number)
        except ValueError as err:
            self._mark(str(err))
            return
        self._mark(None)
        changed = value != self._value
        self._value = value
        self.setText(f"{value:g}")
        if changed:
            self.committed.emit(value)

    def _mark(self, problem: str | None) -> None:
        self.setStyleSheet("" if problem is None else "border: 1px solid #c62828;")
        self.setToolTip(self.setting.help if problem is None else f"{problem[0].upper()}{problem[1:]}.")


class SettingField:
    """One setting's widget in the panel, made from its declaration."""

    def __init__(self, name: str, setting: Setting, on_change):
        self.name, self.setting = name, setting
        s = setting
        if s.choices:
            w = QComboBox()
            for value in s.choices:
                w.addItem(s.label_of(value), value)
            w.currentIndexChanged.connect(on_change)
        elif s.kind is bool:
            w = QCheckBox()
            w.toggled.connect(on_change)
        elif s.kind is int:
            w = QSpinBox()
            w.setRange(int(s.lo if s.lo is not None else -(2**31)), int(s.hi if s.hi is not None else 2**31 - 1))
            w.valueChanged.connect(on_change)
        else:
            w = FloatField(name, s)
            w.committed.connect(on_change)
        w.setToolTip(s.help[0].upper() + s.help[1:])
        self.widget = release_focus_on_enter(w)

    def value(self):
        w = self.widget
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        return w.value()

    def set_value(self, value) -> None:
        w = self.widget
        w.blockSignals(True)
        if isinstance(w, QComboBox):
            w.setCurrentIndex(w.findData(value))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        else:
            w.setValue(value) if isinstance(w, QSpinBox) else w.set_value(value)
        w.blockSignals(False)


class SettingsPanel(QWidget):
    """Preset, model and optimiser settings. ``reset_requested(TrainConfig)``, ``lr_changed(float)``."""

    reset_requested = Signal(object)
    lr_changed = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setToolTip("Settings of the network and its training. Most need a new model: press Reset model.")
        self.preset = QComboBox()
        self.preset.addItems([*PRESETS, CUSTOM])
        self.preset.setToolTip("A ready-made lesson: fills in the settings below (press Reset model to start it)")
        release_focus_on_enter(self.preset)
        self.modified = QLabel("")
        self.modified.setWordWrap(True)
        self.modified.setStyleSheet("color: #a15c00;")
        self.modified.hide()
        self.form = QFormLayout()
        self.form.addRow("Preset", self.preset)
        self.form.addRow(self.modified)
        self.fields: dict[str, SettingField] = {}
        for name, s in SETTINGS.items():
            if s.panel is None or name in TOOLBAR_FIELDS:
                continue
            field = SettingField(name, s, self._field_changed)
            self.fields[name] = field
            self.form.addRow(s.label, field.widget)
        self.fields["lr"].widget.committed.connect(self.lr_changed.emit)
        self.pending = QLabel("")
        self.pending.setWordWrap(True)
        self.pending.setStyleSheet("color: #a15c00;")
        self.reset_button = QPushButton("Reset model")
        self.reset_button.setToolTip("Build a new network with these settings (Ctrl+R)")
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.pending)
        layout.addWidget(self.reset_button)
        layout.addStretch(1)
        self.current = TrainConfig()  # what the running model was built with
        self.corpus: str | None = None  # the loaded text, kept across presets
        self.preset.currentTextChanged.connect(self._preset_chosen)
        # choosing the preset already shown (after changing its learning rate, say) applies it again
        self.preset.activated.connect(lambda i: self._preset_chosen(self.preset.itemText(i)))
        self.reset_button.clicked.connect(lambda: self.reset_requested.emit(self.config()))
        self._draft = TrainConfig()  # the settings shown, the fields without a row included (task, corpus...)

    def show_config(self, cfg: TrainConfig) -> None:
        """Show the settings of the model now running (nothing pending)."""
        self.current = self._draft = cfg
        if cfg.corpus and cfg.task == "lm":
            self.corpus = cfg.corpus
        for name, field in self.fields.items():
            field.set_value(getattr(cfg, name))
        self.preset.blockSignals(True)
        self.preset.setCurrentText(matching_preset(cfg))
        self.preset.blockSignals(False)
        self._update()

    def config(self) -> TrainConfig:
        """The settings as shown (what Reset model builds)."""
        return self._draft.replace(**{name: field.value() for name, field in self.fields.items()})

    def set_live(self, **changes) -> None:
        """The running model's learning rate or clipping changed (live settings): ``current`` says so,
        and the next model keeps them too."""
        self.current = self.current.replace(**changes)
        self._draft = self._draft.replace(**changes)
        if "lr" in changes:
            self.fields["lr"].set_value(changes["lr"])
        self._update()

    def changed_fields(self) -> list[str]:
        """Settings that differ from the running model and need a reset, by their labels. A live
        setting with its own field here (the learning rate) is applied as it is typed; the toolbar's
        clipping too, but a preset's own clipping (the exploding lesson's "off") waits like the rest."""
        now, cur = self.config().to_dict(), self.current.to_dict()
        applied = [k for k in LIVE_FIELDS if k in self.fields]
        return [SETTINGS[k].label.lower() for k in now if now[k] != cur[k] and k not in applied]

    def _field_changed(self, *_) -> None:
        self._draft = self.config()
        self._update()

    def _preset_chosen(self, name: str) -> None:
        if name != CUSTOM:
            self.show_form(apply_preset(name, self.config(), self.corpus))

    def show_form(self, cfg: TrainConfig) -> None:
        """Fill the form with ``cfg`` without changing the running model's settings."""
        current = self.current
        self.show_config(cfg)
        self.current = current
        self._update()

    def _update(self) -> None:
        cfg = self.config()
        for name, field in self.fields.items():  # a setting the task or the model ignores is not shown
            self.form.setRowVisible(field.widget, bool(self.fields[name].setting.panel(cfg)))
        changed = self.changed_fields()
        if changed:
            self.pending.setText("Waiting for Reset model: " + ", ".join(changed) + ".")
            self.reset_button.setStyleSheet("font-weight: bold; color: #a15c00;")
        else:
            self.pending.setText("")
            self.reset_button.setStyleSheet("")
        name = self.preset.currentText()
        differ = preset_differences(name, cfg) if name != CUSTOM else []
        self.modified.setText("Changed from the preset: " + "; ".join(differ) + "." if differ else "")
        self.modified.setVisible(bool(differ))


def matching_preset(cfg: TrainConfig) -> str:
    """The preset whose settings ``cfg`` has (the live settings aside), or ``CUSTOM``. A preset that
    names its corpus (the bundled one) is preferred where the corpus matches too: the same model on
    the user's text is "Your text", on the bundled one "Tiny Shakespeare"; a names folder of the
    user's is still the names lesson."""
    d = cfg.to_dict()
    for strict in (True, False):
        for name, fields in PRESETS.items():
            if all(d.get(k) == v for k, v in fields.items() if k not in LIVE_FIELDS and (strict or k != "corpus")):
                return name
    return CUSTOM


def preset_differences(name: str, cfg: TrainConfig) -> list[str]:
    """The live settings of ``cfg`` that differ from preset ``name``'s, in words ("learning rate 100
    (preset: 0.002)"): a remembered or changed learning rate must not pass for the lesson's own."""
    out = []
    for k, v in PRESETS[name].items():
        if k in LIVE_FIELDS and getattr(cfg, k) != v:
            now = getattr(cfg, k)
            shown = f"{now:g}" if isinstance(now, float) else now
            preset = f"{v:g}" if isinstance(v, float) else v
            out.append(f"{SETTINGS[k].label.lower()} {shown} (preset: {preset})")
    return out
