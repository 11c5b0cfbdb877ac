"""The step-history bar: a slider over the steps the lab kept, to scrub back through training.

Paused (or stepping), drag it, or press [ and ]: every panel shows that step's numbers, labelled
"step N of M (history)". Train goes on from the newest step. While training it only says how many
steps are kept.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

from rnnviz.gui.panels.base import history_text
from rnnviz.lab.events import HistoryInfo


class HistoryBar(QWidget):
    index_chosen = Signal(int)  # the user moved to the index-th kept step

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(260)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # [ and ] move it; the arrows step the probe
        self.slider.setToolTip("Scrub back through the recent training steps (paused): [ and ] move one step")
        self.label = QLabel("")
        self.label.setMinimumWidth(220)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(QLabel("History:"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        self.info: HistoryInfo | None = None
        self.slider.valueChanged.connect(self._moved)
        self.clear()

    def clear(self) -> None:
        self.info = None
        self._set(0, 0)
        self.slider.setEnabled(False)
        self.label.setText("no steps kept yet")

    def set_info(self, info: HistoryInfo, scrubbable: bool) -> None:
        """What the lab keeps; the slider goes to the newest step."""
        self.info = info
        self.at_newest()
        self.set_scrubbable(scrubbable)

    def set_scrubbable(self, scrubbable: bool) -> None:
        info = self.info
        on = scrubbable and info is not None and info.count > 1
        self.slider.setEnabled(on)
        if info is None or info.count == 0:
            self.label.setText("no steps kept yet")
        elif not scrubbable:
            self.label.setText(f"{info.count:,} steps kept (pause to scrub)")
        else:
            self.at_newest()

    def show_position(self, index: int) -> None:
        """The slider was moved to ``index``: say where, until that step's snapshot arrives."""
        if self.info is not None and self.info.count:
            self.label.setText(f"{index + 1:,} of {self.info.count:,} kept")

    def show_place(self, place, step: int) -> None:
        """The panels show ``step`` from the history (``place``: the snapshot's HistoryPlace)."""
        self._set(max(place.count - 1, 0), place.index)
        self.label.setText(history_text(step, place.newest_step))

    def move(self, delta: int) -> None:
        """One kept step back (-1) or forward (+1); what [ and ] do."""
        if self.slider.isEnabled():
            self.slider.setValue(self.slider.value() + delta)

    def at_newest(self) -> None:
        """Live again (Train, a step update, the probe): the slider at the newest step, without asking for it."""
        info = self.info
        if info is None:
            return
        newest = max(info.count - 1, 0)
        if (self.slider.maximum(), self.slider.value()) != (newest, newest):  # (else a repaint every frame)
            self._set(newest, newest)
        text = f"newest: step {info.last_step:,}" if info.count else "no steps kept yet"
        if self.slider.isEnabled() and self.label.text() != text:
            self.label.setText(text)

    def _set(self, maximum: int, value: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, maximum)
        self.slider.setValue(value)
        self.slider.blockSignals(False)

    def _moved(self, index: int) -> None:
        self.show_position(index)
        self.index_chosen.emit(index)
