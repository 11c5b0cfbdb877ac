"""The Generate panel: what the language model writes, now or every N steps while it trains.

The fields become a ``Generate`` command; the training process writes the text with the run's current
weights (``lab.generation``: the engine's sampling, the CLI's prime check) and answers with a
``Generated`` event, shown here with its step. The last SAMPLES_KEPT texts stay listed, newest first,
so a student sees the model learn to write (as min-char-rnn and char-rnn print a sample now and then).
"Step through this" hands the shown text to the probe. The panel does nothing per frame: it changes
only when a text arrives.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from rnnviz.gui.controls import release_focus_on_enter
from rnnviz.lab import commands as c
from rnnviz.lab import events as e
from rnnviz.lab.generation import MAX_LENGTH, unavailable_reason

SAMPLES_KEPT = 5
MAX_TEMPERATURE = 5.0  # beyond this every token is about equally likely: nothing more to see


class GeneratePanel(QWidget):
    title = "Generate"
    generate_requested = Signal(object)  # a c.Generate
    sample_every_changed = Signal(object)  # a c.SampleEvery
    step_through_requested = Signal(str)  # the text to step through (prime + generated)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setToolTip("Let the language model write: it draws each next token from its softmax")
        self.prime = QLineEdit()
        self.prime.setPlaceholderText("text to start from (empty: a new line)")
        self.prime.setToolTip("The model reads this first, then writes on. Characters it never saw are left out.")
        self.length = QSpinBox()
        self.length.setRange(1, MAX_LENGTH)
        self.length.setValue(200)
        self.length.setSuffix(" tokens")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, MAX_TEMPERATURE)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(2)
        self.temperature.setValue(0.8)
        self.temperature.setToolTip(
            "Softmax temperature: the logits are divided by it. 0: always the most likely token (greedy); "
            "below 1: safer, more repetitive; above 1: more surprising, more mistakes"
        )
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 100000)
        self.top_k.setSpecialValueText("all tokens")
        self.top_k.setToolTip("Draw only among the k most likely tokens (0: among all of them)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("The same seed and the same weights write the same text")
        self.generate_button = QPushButton("Generate now")
        self.generate_button.setToolTip("Write with the weights the model has now (Ctrl+G)")
        self.step_button = QPushButton("Step through this")
        self.step_button.setToolTip("Make the text shown the probe and step through it token by token (→)")
        self.step_button.setEnabled(False)
        self.every_box = QCheckBox("Sample while training, every")
        self.every = QSpinBox()
        self.every.setRange(1, 1_000_000)
        self.every.setValue(200)
        self.every.setSuffix(" steps")
        self.output = QTextEdit()
        self.output.setReadOnly(True)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(11)
        self.output.setFont(font)
        self.output.setPlaceholderText("Press Generate now: the prime in bold, then what the model wrote.")
        self.output.setMinimumHeight(5 * self.output.fontMetrics().lineSpacing())
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.samples_list = QListWidget()
        self.samples_list.setMaximumHeight(SAMPLES_KEPT * (self.samples_list.fontMetrics().lineSpacing() + 2) + 8)
        self.samples_list.setToolTip(f"The last {SAMPLES_KEPT} texts, newest first: click one to show it")

        fields = QGridLayout()
        fields.addWidget(QLabel("Prime"), 0, 0)
        fields.addWidget(self.prime, 0, 1, 1, 3)
        for i, (label, widget) in enumerate((("Length", self.length), ("Temperature", self.temperature),
                                             ("Top-k", self.top_k), ("Seed", self.seed))):  # fmt: skip
            fields.addWidget(QLabel(label), 1 + i // 2, 2 * (i % 2))
            fields.addWidget(release_focus_on_enter(widget), 1 + i // 2, 2 * (i % 2) + 1)
        fields.setColumnStretch(1, 1)
        fields.setColumnStretch(3, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.step_button)
        buttons.addStretch(1)
        every = QHBoxLayout()
        every.addWidget(self.every_box)
        every.addWidget(release_focus_on_enter(self.every))
        every.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(fields)
        layout.addLayout(buttons)
        layout.addLayout(every)
        layout.addWidget(self.message)
        layout.addWidget(self.output, 1)
        layout.addWidget(QLabel(f"The last {SAMPLES_KEPT} texts, newest first (click one to show it again):"))
        layout.addWidget(self.samples_list)

        self.samples: list[e.Generated] = []  # newest first, at most SAMPLES_KEPT
        self.shown: e.Generated | None = None
        release_focus_on_enter(self.prime)
        self.prime.returnPressed.connect(self.generate_now)
        self.generate_button.clicked.connect(self.generate_now)
        self.step_button.clicked.connect(lambda: self.shown and self.step_through_requested.emit(self.shown.text))
        self.every_box.toggled.connect(lambda _: self._send_sampling())
        # the samples while training follow the fields as they are now
        for signal in (self.every.valueChanged, self.prime.textChanged, self.length.valueChanged,
                       self.temperature.valueChanged, self.top_k.valueChanged, self.seed.valueChanged):  # fmt: skip
            signal.connect(lambda _=None: self.every_box.isChecked() and self._send_sampling())
        self.samples_list.currentRowChanged.connect(self._show_kept)

    def command(self) -> c.Generate:
        """The fields as a command (the spin boxes keep every value within its bounds)."""
        return c.Generate(self.prime.text(), self.length.value(), self.temperature.value(), self.top_k.value(),
                          self.seed.value())  # fmt: skip

    def generate_now(self) -> None:
        if self.generate_button.isEnabled():
            self.generate_requested.emit(self.command())

    def _send_sampling(self) -> None:
        on = self.every_box.isChecked()
        self.sample_every_changed.emit(c.SampleEvery(self.every.value() if on else 0, self.command()))

    def set_model(self, info: e.ModelInfo) -> None:
        """A new model: its texts are gone; a model that cannot write says why."""
        self.samples.clear()
        self.samples_list.clear()
        self.shown = None
        self.output.clear()
        self.step_button.setEnabled(False)
        why = unavailable_reason(info.head, info.title)
        for w in (self.prime, self.length, self.temperature, self.top_k, self.seed, self.generate_button,
                  self.every_box, self.every):  # fmt: skip
            w.setEnabled(not why)
        self.message.setText(why)
        self.message.setStyleSheet("color: #555;")
        if why and self.every_box.isChecked():
            self.every_box.setChecked(False)

    def show_generated(self, ev: e.Generated) -> None:
        if ev.error:
            self.message.setText(ev.error)
            self.message.setStyleSheet("color: #b00020;")
            return
        left_out = ""
        if ev.unknown:
            left_out = f" Left out of the prime (the model never saw them): {', '.join(map(repr, ev.unknown))}."
        self.message.setText(self._describe(ev) + left_out)
        self.message.setStyleSheet("color: #555;")
        self.samples.insert(0, ev)
        del self.samples[SAMPLES_KEPT:]
        self.samples_list.blockSignals(True)
        self.samples_list.clear()
        for s in self.samples:
            start = s.text[len(s.prime) :][:60].replace("\n", " ⏎ ")
            self.samples_list.addItem(f"step {s.step:,}{' (while training)' if s.while_training else ''}: {start}")
        self.samples_list.setCurrentRow(0)
        self.samples_list.blockSignals(False)
        self._show(ev)

    @staticmethod
    def _describe(ev: e.Generated) -> str:
        how = "greedy (temperature 0)" if ev.temperature == 0 else f"temperature {ev.temperature:g}"
        top = f", top-{ev.top_k}" if ev.top_k else ""
        return f"Written at step {ev.step:,}, {how}{top}, seed {ev.seed}."

    def _show_kept(self, row: int) -> None:
        if 0 <= row < len(self.samples):
            self._show(self.samples[row])
            self.message.setText(self._describe(self.samples[row]))

    def _show(self, ev: e.Generated) -> None:
        self.shown = ev
        prime, rest = (ev.prime, ev.text[len(ev.prime) :]) if ev.text.startswith(ev.prime) else ("", ev.text)
        self.output.setHtml(f"<pre style='white-space: pre-wrap'><b>{html.escape(prime)}</b>{html.escape(rest)}</pre>")
        self.step_button.setEnabled(True)

    def shown_text(self) -> str:
        """The text shown (tests)."""
        return self.output.toPlainText()
