"""Text strip: the sequence the panels show, with the current token highlighted, and the probe editor.

While stepping, it shows the probe sentence: tokens already read in black, the one just read on a
yellow background, the ones still to come in grey. While training, it shows the displayed batch row.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QStyle

from rnnviz.gui import messages as m
from rnnviz.gui.panels.base import Panel

MAX_TOKENS = 400  # a very long probe is shown around the current token


def render_tokens(labels: tuple[str, ...], current: int | None, read: int) -> str:
    """HTML of the tokens: ``[0, read)`` read (``current`` highlighted), the rest grey."""
    start = 0
    if len(labels) > MAX_TOKENS:
        start = max(0, min((current or 0) - MAX_TOKENS // 2, len(labels) - MAX_TOKENS))
    parts = ["…" if start else ""]
    for i in range(start, min(len(labels), start + MAX_TOKENS)):
        text = html.escape(labels[i])
        if i == current:
            parts.append(f'<span style="background-color:#ffd54f; font-weight:bold">{text}</span>')
        elif i < read:
            parts.append(f"<span>{text}</span>")
        else:
            parts.append(f'<span style="color:#9e9e9e">{text}</span>')
    return '<span style="font-family:monospace; font-size:13pt">' + "\u200b".join(parts) + "</span>"


class TextStripPanel(Panel):
    title = "Text"
    help_text = (
        "The tokens the other panels are showing. Type your own probe sentence and press Enter, then step "
        "through it with the Right arrow (Left steps back, Home starts over)."
    )
    probe_changed = Signal(str)
    step_requested = Signal(str)  # "step_token", "step_back" or "probe_restart"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.export_button.hide()  # text, not a figure: copy it from the probe field
        self.strip = QLabel(" ")
        self.strip.setTextFormat(Qt.TextFormat.RichText)
        self.strip.setWordWrap(True)
        self.strip.setMinimumHeight(40)
        self.layout_.addWidget(self.strip, 1)
        row = QHBoxLayout()
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(QLabel("Probe:"))
        self.probe_edit = QLineEdit()
        self.probe_edit.setPlaceholderText("type a sentence to step through, then press Enter")
        self.probe_edit.setToolTip("The probe sentence: press Enter to use it, then step with the Right arrow")
        row.addWidget(self.probe_edit, 1)
        self.buttons = {}
        for name, icon, tip in (
            ("probe_restart", QStyle.StandardPixmap.SP_MediaSkipBackward, "Start the probe over (Home)"),
            ("step_back", QStyle.StandardPixmap.SP_MediaSeekBackward, "Step back one token (Left arrow)"),
            ("step_token", QStyle.StandardPixmap.SP_MediaSeekForward, "Read the next token (Right arrow)"),
        ):
            b = QPushButton(self.style().standardIcon(icon), "")
            b.setToolTip(tip)
            b.setFixedWidth(36)
            b.clicked.connect(lambda _=False, n=name: self.step_requested.emit(n))
            row.addWidget(b)
            self.buttons[name] = b
        self.layout_.addLayout(row)
        self.skipped = QLabel("")
        self.skipped.setStyleSheet("color: #a15c00;")
        self.layout_.addWidget(self.skipped)
        self.skipped.hide()
        self.probe_edit.returnPressed.connect(self._probe_entered)

    def _probe_entered(self) -> None:
        self.probe_changed.emit(self.probe_edit.text())
        # Let go of the keyboard: the Right arrow should now step, not move the text cursor.
        self.probe_edit.clearFocus()

    def set_model(self, info: m.ModelInfo) -> None:
        self.probe_edit.setText(info.probe_text)
        dense = info.head == "regress"
        self.probe_edit.setEnabled(not dense)
        if dense:
            self.probe_edit.setToolTip("The sine task steps through a fixed wave; there is no text to type")
        self.strip.setText(
            '<span style="color:#9e9e9e">Press Train (Space) to see the training text here, or '
            "Step token (Right arrow) to read the probe sentence below one token at a time.</span>"
        )
        self.set_source(info.title)

    def show_probe(self, view: m.ProbeView) -> None:
        current = view.position - 1 if view.position else None
        self.strip.setText(render_tokens(view.labels, current, view.position))
        self.set_source(f"Probe: {view.position} of {len(view.labels)} tokens read")
        if view.skipped:
            shown = ", ".join(repr(s) for s in view.skipped[:12])
            self.skipped.setText(f"Left out (the model has never seen them): {shown}")
        self.skipped.setVisible(bool(view.skipped))

    def show_train(self, view: m.TrainView, selected: int | None) -> None:
        labels = view.input_labels
        if not labels:
            self.strip.setText("(numbers, not text: see the prediction panel)")
            self.set_source(f"Training batch, row {view.row}")
            return
        current = len(labels) - 1 if selected is None else min(selected, len(labels) - 1)
        self.strip.setText(render_tokens(labels, current, len(labels)))
        target = ""
        if view.target_labels and len(view.target_labels) == 1:
            target = f" (class {view.target_labels[0]})"
        self.set_source(f"Training batch, row {view.row}, step {view.step:,}{target}")
