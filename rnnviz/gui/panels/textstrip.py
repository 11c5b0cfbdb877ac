"""Text strip: the sequence the panels show, with the current token highlighted, and the probe editor.

While stepping, it shows the probe sentence: tokens already read in black, the one just read on a
yellow background, the ones still to come in grey. While training, it shows the displayed batch row.
The highlighted token is the step the other panels show: the last one read, or the one selected by
clicking a column of the heatmap.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetrics, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QStyle, QWidget

from rnnviz.gui.panels.base import SequencePanel, TextSizes, source_text
from rnnviz.lab.events import ModelInfo
from rnnviz.lab.snapshot import Snapshot
from rnnviz.lab.wording import wording_for

MAX_TOKENS = 400  # a very long sequence is shown around the current token
READ, UNREAD, CURRENT_BG = QColor(20, 20, 20), QColor(158, 158, 158), QColor(255, 213, 79)


def visible_window(n: int, current: int | None) -> int:
    """The first token shown: all of them up to MAX_TOKENS, else a window around ``current``."""
    if n <= MAX_TOKENS:
        return 0
    return max(0, min((current or 0) - MAX_TOKENS // 2, n - MAX_TOKENS))


class TokenStrip(QWidget):
    """The tokens, painted directly: read ones dark, the current one bold on yellow, unread ones grey.

    Painted by hand rather than as a rich-text label: a label re-laid out 64 HTML spans on every
    training frame (4 ms a frame, measured), this draws them in well under one.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        # each token's width in pixels, (bold, label) -> width: all 64 measured on every training frame
        # were 128 font-metric calls, ~0.4 ms a frame (profiled, bench/gui.py)
        self._widths = TextSizes()
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(13)
        self.setFont(font)
        self.bold = QFont(font)
        self.bold.setBold(True)
        self.labels: tuple[str, ...] = ()
        self.current: int | None = None
        self.read = 0
        self.sep = ""
        self.placeholder = ""
        self.setMinimumHeight(40)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.FontChange:
            self._widths.clear()
        super().changeEvent(event)

    def set_tokens(self, labels: tuple[str, ...], current: int | None, read: int, sep: str = "") -> None:
        if (labels, current, read, sep) == (self.labels, self.current, self.read, self.sep) and not self.placeholder:
            return
        self.labels, self.current, self.read, self.sep = labels, current, read, sep
        self.placeholder = ""
        self.update()

    def set_placeholder(self, text: str) -> None:
        self.labels, self.current, self.read, self.placeholder = (), None, 0, text
        self.update()

    def shown_text(self) -> str:
        """The text as drawn (tests and accessibility), the current token in [brackets]."""
        start = visible_window(len(self.labels), self.current)
        parts = []
        for i in range(start, min(len(self.labels), start + MAX_TOKENS)):
            parts.append(f"[{self.labels[i]}]" if i == self.current else self.labels[i])
        return ("…" if start else "") + self.sep.join(parts)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        fm = QFontMetrics(self.font())
        if self.placeholder:
            painter.setPen(UNREAD)
            painter.drawText(self.rect().adjusted(4, 2, -4, -2), Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        sep_w = fm.horizontalAdvance(self.sep) if self.sep else 0
        ellipsis, placed = self._layout(fm, sep_w)
        painter.setPen(UNREAD)
        if ellipsis is not None:
            painter.drawText(4, ellipsis, "…")
        for i, x, y, w in placed:
            current = i == self.current
            if current:
                painter.fillRect(x - 1, y - fm.ascent() - 1, w + 2, fm.height() + 2, CURRENT_BG)
                painter.setFont(self.bold)
            painter.setPen(READ if i < self.read else UNREAD)
            painter.drawText(x, y, self.labels[i])
            if current:
                painter.setFont(self.font())
            if self.sep and i + 1 < len(self.labels):
                painter.setPen(UNREAD)
                painter.drawText(x + w, y, self.sep)

    def _layout(self, fm: QFontMetrics, sep_w: int) -> tuple[int | None, list[tuple[int, int, int, int]]]:
        """Where each token goes, wrapped to the width, on whole lines only: ``(y of the "…" or None,
        [(token, x, baseline y, width)])``. When the current token would fall below the last whole line,
        the first lines are left out (an "…" says so) until it is on it: a half-cut line is never drawn."""
        line, width = fm.height() + 4, self.width() - 8
        lines = max(1, (self.height() - 2) // line)
        bold = QFontMetrics(self.bold)
        start = visible_window(len(self.labels), self.current)
        while True:
            placed, x, row = [], 4, 0
            if start:
                x += fm.horizontalAdvance("…")
            for i in range(start, min(len(self.labels), start + MAX_TOKENS)):
                current, label = i == self.current, self.labels[i]
                w = self._widths((current, label), (bold if current else fm).horizontalAdvance, label)
                if x + w > width and x > 4:  # wrap
                    x, row = 4, row + 1
                placed.append((i, x, row, w))
                x += w + sep_w
            rows = {i: r for i, _, r, _ in placed}
            target = rows.get(self.current, 0) if self.current is not None else 0
            if target < lines or start >= (self.current or 0):
                break
            start = next(i for i, r in rows.items() if r == 1)  # leave out the first line
        y0 = fm.ascent() + 2
        shown = [(i, x, y0 + r * line, w) for i, x, r, w in placed if r < lines]
        return (y0 if start else None), shown


class TextStripPanel(SequencePanel):
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
        self.strip = TokenStrip()
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
        self.info: ModelInfo | None = None
        self.words = wording_for(None)  # the task's words, and .sep between tokens (lab.wording)

    def _probe_entered(self) -> None:
        self.probe_changed.emit(self.probe_edit.text())
        # Let go of the keyboard: the Right arrow should now step, not move the text cursor.
        self.probe_edit.clearFocus()

    def set_model(self, info: ModelInfo) -> None:
        self.info = info
        self.snapshot = None
        self.selected_t = None
        self.probe_edit.setText(info.probe_text)
        dense = info.head == "regress"
        self.probe_edit.setEnabled(not dense)
        if dense:
            self.probe_edit.setToolTip("The sine task steps through a fixed wave; there is no text to type")
        self.strip.set_placeholder(
            "Press Train (Space) to see the training text here, or Step token (Right arrow) to read the probe "
            "sentence below one token at a time."
        )
        self.words = wording_for(info.config)  # .sep: words by a space, wave values by " · ", characters by nothing
        self.set_source(info.title)

    def show(self, snap: Snapshot) -> None:
        self.snapshot = snap
        dense = snap.inputs.ndim == 2
        unit = "values" if dense else "tokens"
        if snap.source == "train" and not dense and snap.head == "classify" and snap.target_ids is not None:
            target = int(snap.target_ids[-1]) if snap.length else -1
            if target >= 0 and self.info is not None:  # "(language Russian)": the task's word (lab.wording)
                extra = f" ({self.words.axis} {self.info.labels[target]})"
            else:
                extra = ""
        else:
            extra = ""
        self.set_source(source_text(snap, unit) + extra)
        if snap.length == 0:
            current = None
        else:
            current = snap.length - 1 if self.selected_t is None else min(self.selected_t, snap.length - 1)
        self.strip.set_tokens(snap.input_labels, current, snap.length, self.words.sep)
        if snap.skipped:
            shown = ", ".join(repr(s) for s in snap.skipped[:12])
            self.skipped.setText(f"Not in the model's vocabulary (read as <unk> if it has one, else left out): {shown}")
        self.skipped.setVisible(bool(snap.skipped))
