"""The Check gradients panel: the analytic gradient of a few weights beside a central finite difference.

Choose a parameter (or random weights of the whole model) and press Check: the training process
compares, on the batch row the panels show and with the current weights, backward's dL/dw with
``(L(w + eps) - L(w - eps)) / (2 eps)`` in float64 (``lab.gradient_check``), and the table shows both
and their relative error, with a verdict in plain words. Nothing here computes: the numbers are the
engine's. The panel changes only when a check arrives.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rnnviz.engine.gradcheck import TINY
from rnnviz.gui.controls import release_focus_on_enter
from rnnviz.lab import events as e
from rnnviz.lab.gradient_check import CLOSE, RANDOM_ENTRIES, RIGHT

COLUMNS = ("weight w", "analytic a", "numeric n", "relative error")
COLUMN_TIPS = (
    "The parameter and the entry checked, indexed as the matrix (row, column)",
    "a = dL/dw from backpropagation (the backward pass the training uses)",
    "n = (L(w + eps) - L(w - eps)) / (2 eps): the slope measured by nudging the weight",
    f"|a - n| / max(|a| + |n|, {TINY:g}); 0 when both are 0 (a weight this row does not use)",
)
HOW = (
    f"float64, eps = 1e-5, dropout off. Relative error |a − n| / max(|a| + |n|, {TINY:g}): a finite "
    f"difference cannot resolve smaller gradients. Below {RIGHT:g}: right; above {CLOSE:g}: wrong."
)


class GradientCheckPanel(QWidget):
    title = "Check gradients"
    check_requested = Signal(str)  # a parameter's name, or "" for random weights

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setToolTip("Is backpropagation right? Its gradient against the slope measured by nudging each weight")
        self.param = QComboBox()
        self.param.setToolTip("Which weights to check")
        self.check_button = QPushButton("Check gradients")
        self.check_button.setToolTip("Compare backward's gradient with finite differences now (Ctrl+Shift+G)")
        self.verdict = QLabel("Press Check gradients (after at least one training step).")
        self.verdict.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for j, tip in enumerate(COLUMN_TIPS):
            self.table.horizontalHeaderItem(j).setToolTip(tip)
        row_height = self.table.fontMetrics().lineSpacing() + 6
        self.table.verticalHeader().setDefaultSectionSize(row_height)
        self.table.setMinimumHeight(6 * row_height)
        how = QLabel(HOW)
        how.setWordWrap(True)
        how.setStyleSheet("color: #555; font-size: 8pt;")
        top = QHBoxLayout()
        top.addWidget(QLabel("Weights:"))
        top.addWidget(release_focus_on_enter(self.param), 1)
        top.addWidget(self.check_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.verdict)
        layout.addWidget(self.table, 1)
        layout.addWidget(how)
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.check: e.GradientCheck | None = None
        self.check_button.clicked.connect(self.request)

    def request(self) -> None:
        if self.check_button.isEnabled():
            self.check_requested.emit(self.param.currentData() or "")

    def set_model(self, info: e.ModelInfo) -> None:
        self.shapes = dict(info.param_shapes)
        total = sum(int(np.prod(s)) for s in self.shapes.values())
        self.param.clear()
        self.param.addItem(f"{RANDOM_ENTRIES} random weights (of {total:,})", "")
        for name, shape in self.shapes.items():
            self.param.addItem(f"{name}  ({' × '.join(map(str, shape))})", name)
        self.table.setRowCount(0)
        self.check = None
        self.verdict.setText("Press Check gradients (after at least one training step).")
        self.verdict.setStyleSheet("")

    def show_check(self, ev: e.GradientCheck) -> None:
        self.check = ev
        if ev.error:
            self.verdict.setText(ev.error)
            self.verdict.setStyleSheet("color: #b00020;")
            return
        worst = float(ev.errors.max())
        color = "#1b7a1b" if worst < RIGHT else ("#b26a00" if worst < CLOSE else "#b00020")
        self.verdict.setText(f"Step {ev.step:,}, batch row {ev.row}: {ev.verdict}")
        self.verdict.setStyleSheet(f"color: {color}; font-weight: bold;")
        self.table.setRowCount(ev.checked)
        for i in range(ev.checked):
            cells = (self.entry_name(ev.names[i], int(ev.index[i])), f"{ev.analytic[i]: .6e}",
                     f"{ev.numeric[i]: .6e}", f"{ev.errors[i]:.1e}")  # fmt: skip
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)

    def entry_name(self, name: str, flat: int) -> str:
        """``layer0.W_hh[3, 17]``: the entry as a student indexes the matrix."""
        shape = self.shapes.get(name)
        if not shape:
            return f"{name}[{flat}]"
        return f"{name}[{', '.join(str(int(i)) for i in np.unravel_index(flat, shape))}]"
