"""The settings panel (task preset, model and optimiser) and the clipping control of the toolbar.

Two kinds of setting: those that need a new model (cell, sizes, task...) are collected and applied by
"Reset model", with a line saying what is waiting; the learning rate and clipping take effect from the
next training step, without a reset.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rnnviz.engine.clipping import ClipConfig
from rnnviz.gui.presets import PRESETS, apply_preset
from rnnviz.training import TrainConfig

# TrainConfig field -> label, for "waiting for Reset" messages
FIELD_LABELS = {
    "task": "task", "corpus": "corpus", "level": "level", "cell": "cell", "hidden": "hidden size",
    "layers": "layers", "seq_len": "sequence length", "batch_size": "batch size", "optimizer": "optimizer",
    "seed": "seed", "dtype": "precision", "recurrent_gain": "W_hh scale", "recurrent_init": "W_hh init",
    "k": "gap k", "forget_bias": "forget bias", "momentum": "momentum", "dropout": "dropout",
    "clip": "clipping",
}  # fmt: skip
# Applied to the running model at once, no reset. (Clipping is too, from the toolbar; but a preset's
# own clipping, e.g. "off" for the exploding lesson, waits for Reset like the rest of the preset.)
IMMEDIATE = ("lr",)
LIVE = ("lr", "clip")  # changed while a model runs: they do not make it stop matching its preset
CUSTOM = "Custom settings"


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
        self.cell = QComboBox()
        for name, data in (("vanilla RNN", "rnn"), ("LSTM", "lstm"), ("GRU", "gru")):
            self.cell.addItem(name, data)
        self.hidden = _spin(1, 1024, "Hidden units per layer")
        self.layers = _spin(1, 3, "Stacked recurrent layers")
        self.seq_len = _spin(1, 1000, "Time steps per training sequence (how far back BPTT goes)")
        self.batch = _spin(1, 1024, "Sequences trained on together in one step")
        self.optimizer = QComboBox()
        self.optimizer.addItems(["sgd", "adagrad", "adam"])
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 100.0)
        self.lr.setSingleStep(0.001)
        self.lr.setToolTip("Learning rate: takes effect from the next step")
        self.gain = QDoubleSpinBox()
        self.gain.setDecimals(2)
        self.gain.setRange(0.01, 10.0)
        self.gain.setSingleStep(0.1)
        self.gain.setToolTip(
            "Scale of the initial recurrent weights W_hh: below 1 gradients vanish, above 1 they can explode"
        )
        self.seed = _spin(0, 2**31 - 1, "Random seed: the same seed gives the same run, bit for bit")
        self.dtype = QComboBox()
        self.dtype.addItem("float32 (fast)", "float32")
        self.dtype.addItem("float64 (exact)", "float64")
        form = QFormLayout()
        for label, w in (
            ("Preset", self.preset),
            ("Cell", self.cell),
            ("Hidden units", self.hidden),
            ("Layers", self.layers),
            ("Sequence length", self.seq_len),
            ("Batch size", self.batch),
            ("Optimizer", self.optimizer),
            ("Learning rate", self.lr),
            ("W_hh scale", self.gain),
            ("Seed", self.seed),
            ("Precision", self.dtype),
        ):
            form.addRow(label, w)
        self.pending = QLabel("")
        self.pending.setWordWrap(True)
        self.pending.setStyleSheet("color: #a15c00;")
        self.reset_button = QPushButton("Reset model")
        self.reset_button.setToolTip("Build a new network with these settings (Ctrl+R)")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.pending)
        layout.addWidget(self.reset_button)
        layout.addStretch(1)
        self.current = TrainConfig()  # what the running model was built with
        self.corpus: str | None = None  # the loaded text, kept across presets
        self.preset.currentTextChanged.connect(self._preset_chosen)
        # choosing the preset already shown (after changing its learning rate, say) applies it again
        self.preset.activated.connect(lambda i: self._preset_chosen(self.preset.itemText(i)))
        for w in (self.cell, self.optimizer, self.dtype):
            w.currentIndexChanged.connect(self._update_pending)
        for w in (self.hidden, self.layers, self.seq_len, self.batch, self.seed):
            w.valueChanged.connect(self._update_pending)
        self.gain.valueChanged.connect(self._update_pending)
        self.lr.editingFinished.connect(lambda: self.lr_changed.emit(self.lr.value()))
        self.reset_button.clicked.connect(lambda: self.reset_requested.emit(self.config()))
        self._draft = TrainConfig()  # preset fields not shown in the form (task, k, clip...)

    def show_config(self, cfg: TrainConfig) -> None:
        """Show the settings of the model now running (nothing pending)."""
        self.current = self._draft = cfg
        if cfg.corpus and cfg.task == "lm":
            self.corpus = cfg.corpus
        widgets = (
            self.cell,
            self.hidden,
            self.layers,
            self.seq_len,
            self.batch,
            self.optimizer,
            self.lr,
            self.gain,
            self.seed,
            self.dtype,
            self.preset,
        )
        for w in widgets:
            w.blockSignals(True)
        self.cell.setCurrentIndex(self.cell.findData(cfg.cell))
        self.hidden.setValue(cfg.hidden)
        self.layers.setValue(cfg.layers)
        self.seq_len.setValue(cfg.seq_len)
        self.batch.setValue(cfg.batch_size)
        self.optimizer.setCurrentText(cfg.optimizer)
        self.lr.setValue(cfg.lr)
        self.gain.setValue(cfg.recurrent_gain)
        self.seed.setValue(cfg.seed)
        self.dtype.setCurrentIndex(self.dtype.findData(cfg.dtype))
        self.preset.setCurrentText(matching_preset(cfg))
        for w in widgets:
            w.blockSignals(False)
        self._update_pending()

    def config(self) -> TrainConfig:
        """The settings as shown (what Reset model builds)."""
        return self._draft.replace(
            cell=self.cell.currentData(), hidden=self.hidden.value(), layers=self.layers.value(),
            seq_len=self.seq_len.value(), batch_size=self.batch.value(), optimizer=self.optimizer.currentText(),
            lr=self.lr.value(), recurrent_gain=self.gain.value(), seed=self.seed.value(),
            dtype=self.dtype.currentData(),
        )  # fmt: skip

    def set_live(self, **changes) -> None:
        """The running model's learning rate or clipping changed (``LIVE`` settings): ``current`` says
        so, and the next model keeps them too."""
        self.current = self.current.replace(**changes)
        self._draft = self._draft.replace(**changes)
        self._update_pending()

    def changed_fields(self) -> list[str]:
        """Settings that differ from the running model and need a reset."""
        now, cur = self.config().to_dict(), self.current.to_dict()
        return [FIELD_LABELS.get(k, k) for k in now if now[k] != cur[k] and k not in IMMEDIATE]

    def _preset_chosen(self, name: str) -> None:
        if name != CUSTOM:
            self.show_form(apply_preset(name, self.config(), self.corpus))

    def show_form(self, cfg: TrainConfig) -> None:
        """Fill the form with ``cfg`` without changing the running model's settings."""
        current = self.current
        self.show_config(cfg)
        self.current = current
        self._update_pending()

    def _update_pending(self, *_) -> None:
        changed = self.changed_fields()
        if changed:
            self.pending.setText("Waiting for Reset model: " + ", ".join(changed) + ".")
            self.reset_button.setStyleSheet("font-weight: bold; color: #a15c00;")
        else:
            self.pending.setText("")
            self.reset_button.setStyleSheet("")


def matching_preset(cfg: TrainConfig) -> str:
    """The preset whose settings ``cfg`` has (the corpus and the live settings aside), or ``CUSTOM``."""
    d = cfg.to_dict()
    for name, fields in PRESETS.items():
        if all(d.get(k) == v for k, v in fields.items() if k != "corpus" and k not in LIVE):
            return name
    return CUSTOM


def _spin(lo: int, hi: int, tip: str) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setToolTip(tip)
    return s
