"""The walkthrough panel: every number of one training iteration of a small model, with a slow motion.

What it shows comes whole from the lab (``events.WalkthroughReady``, made by ``lab.walkthrough`` from
the engine's own forward, backward, clipping and optimizer): the next iteration of the main run on the
sequence the panels show, with the weights as they are (not applied). Two tables, fixed-width numbers:

- per time step (columns ``t = 0 .. T-1``, the token read and the one to predict above each): the
  forward numbers (input, gates, h, logits, softmax, loss) and the backward ones (dy, dh, dh_raw or
  the gate derivatives, dh_next), one row per unit or token;
- the accumulated gradients as matrices, or what clipping and the update make of them (the box above
  chooses), and a line with the clipping, the update and the loss before and after it.

Slow motion: N (Shift+N back) walks through the stages of the iteration one at a time, numbered as a
training step makes them (forward t = 0, 1, ..., the loss, backward from the last step to the first,
gradients, clipping, update); numbers of later stages are blank, the current stage is highlighted.
Hover any number for its formula, with the numbers it was made of. The lab makes a walkthrough only
while this panel is on screen and training is not running (``WatchWalkthrough``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rnnviz.gui.panels.base import Panel
from rnnviz.lab import events as e
from rnnviz.lab import walkthrough as walkthrough_lab
from rnnviz.lab.walkthrough import (
    GRADIENT_FORMULAS,
    TUTORIAL_NAMES,
    Walkthrough,
    clip_words,
    gradient_name,
    stages,
    update_words,
    why_no_walkthrough,
)
from rnnviz.lab.walkthrough_text import axes, csv_rows, explain, quantities

CURRENT = QColor(255, 230, 120)  # the stage being made: a warm yellow, readable on a projector
SECTION = QColor(225, 232, 240)  # section header rows
LABEL = QColor(90, 90, 90)
DECIMALS = 3  # on screen; the hover and the exports give every digit
# What the matrices table can show: (box text, Walkthrough field, the stage from which it is there)
MATRICES = (
    ("accumulated gradients dW", "grads", "gradients"),
    ("gradients after clipping", "clipped", "clip"),
    ("update (new - old weight)", "update", "update"),
    ("weights used", "weights", None),
    ("weights after the update", "new_weights", "update"),
)


FONT_SIZE = 10  # points: a 5-unit toy's two tables side by side in ~700 pixels, readable from the back row


def _fixed_font(size: int = FONT_SIZE, bold: bool = False) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(size)
    font.setBold(bold)
    return font


def _table() -> QTableWidget:
    table = QTableWidget()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFont(_fixed_font())
    table.verticalHeader().setVisible(False)
    table.setWordWrap(False)
    return table


def _item(text: str, tip: str = "", align_right: bool = True) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if tip:
        item.setToolTip(tip)
    item.setTextAlignment(
        (Qt.AlignmentFlag.AlignRight if align_right else Qt.AlignmentFlag.AlignLeft) | Qt.AlignmentFlag.AlignVCenter
    )
    return item


class WalkthroughPanel(Panel):
    title = "Walkthrough"

    @property
    def help_text(self) -> str:  # (the limit is the lab's: lab.walkthrough.MAX_UNITS, read here, not copied)
        return (
            f"Every number of one training iteration of a small model (at most {walkthrough_lab.MAX_UNITS} hidden "
            "units): the forward pass step by step, the loss, the backward pass step by step, the gradients, "
            "clipping and the update, with the weights as they are (the update is shown, not made). N steps "
            "through the stages one at a time, Shift+N goes back; hover a number for its formula."
        )

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.walkthrough: Walkthrough | None = None
        self.ready: e.WalkthroughReady | None = None
        self.stage = 0  # 0: every number shown; 1..len(stages): the slow motion's stage
        self.stages: tuple = ()
        self._running = False
        # every number on screen: (item, its text, the stage kind that makes it, its time step)
        self._step_cells: list[tuple[QTableWidgetItem, str, str | None, int | None]] = []
        self._matrix_cells: list[tuple[QTableWidgetItem, str, str | None, int | None]] = []
        self._columns: list[tuple[QTableWidget, int, int]] = []  # (table, time step, column) of the step tables

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #555; padding: 4px;")
        self.layout_.addWidget(self.message)

        bar = QHBoxLayout()
        self.back_button = QPushButton("◀ Back")
        self.back_button.setToolTip("The previous stage of the slow motion (Shift+N)")
        self.next_button = QPushButton("Next stage ▶")
        self.next_button.setToolTip("The next stage of the training iteration, one at a time (N)")
        self.all_button = QPushButton("All")
        self.all_button.setToolTip("Show every number at once")
        self.back_button.clicked.connect(lambda: self.move_stage(-1))
        self.next_button.clicked.connect(lambda: self.move_stage(+1))
        self.all_button.clicked.connect(lambda: self.set_stage(0))
        self.stage_label = QLabel("")
        self.stage_label.setStyleSheet("font-weight: bold;")
        self.stage_label.setWordWrap(True)
        for b in (self.back_button, self.next_button, self.all_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # N and Space stay the window's
            bar.addWidget(b)
        bar.addWidget(self.stage_label, 1)
        self.layout_.addLayout(bar)

        # forward and backward side by side: each fits the height of a dock without scrolling (the toy's)
        self.forward = _table()
        self.backward = _table()
        self.steps = QSplitter(Qt.Orientation.Horizontal)
        self.steps.addWidget(self.forward)
        self.steps.addWidget(self.backward)
        self.matrices = _table()
        self.matrix_box = QComboBox()
        self.matrix_box.addItems([text for text, _, _ in MATRICES])
        self.matrix_box.setToolTip("What the matrices below show")
        self.matrix_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.matrix_box.currentIndexChanged.connect(self._matrices_chosen)
        self.summary = QLabel("")
        self.summary.setFont(_fixed_font())
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Matrices:"))
        row.addWidget(self.matrix_box, 1)
        lower_layout.addLayout(row)
        lower_layout.addWidget(self.matrices, 1)
        lower_layout.addWidget(self.summary)
        self.body = QSplitter(Qt.Orientation.Vertical)
        self.body.addWidget(self.steps)
        self.body.addWidget(lower)
        self.body.setStretchFactor(0, 2)
        self.body.setStretchFactor(1, 1)
        self.layout_.addWidget(self.body, 1)
        self.set_message("Choose the preset 'The king sits on throne' (5 units) to see every number.")

    # -- what the window tells it ------------------------------------------------------------------
    def set_model(self, info: e.ModelInfo) -> None:
        """A new model: nothing shown until the lab sends its walkthrough; say why if it never will."""
        self.walkthrough = self.ready = None
        self.stage = 0
        reason = why_no_walkthrough(info.hidden, info.layers, info.head)
        self._clear()
        self.set_message(reason or "Every number of the next training iteration shows here while training is paused.")

    def set_running(self, running: bool) -> None:
        self._running = running
        if self.ready is not None and self.walkthrough is not None:
            self._say_source()

    def show_walkthrough(self, ready: e.WalkthroughReady) -> None:
        self.ready = ready
        self.walkthrough = ready.walkthrough
        if self.walkthrough is None:
            self._clear()
            self.set_message(ready.reason)
            return
        self.stages = stages(self.walkthrough)
        self.stage = min(self.stage, len(self.stages))
        self._say_source()
        self._fill_steps()
        self._fill_matrices()
        self._apply_stage()

    def set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _say_source(self) -> None:
        r = self.ready
        when = f"weights after step {r.step:,}" if r.step else "the new model's weights"
        self.set_source(f"Run {r.run} · the next update, not applied · {r.sequence}, {when}")
        self.set_message(
            "Training runs: these are the numbers from before it started; pause (Space) for the newest."
            if self._running
            else ""
        )

    def _clear(self) -> None:
        self.set_source("")
        for table in (self.forward, self.backward, self.matrices):
            table.clear()
            table.clearSpans()
            table.setRowCount(0)
            table.setColumnCount(0)
        self.summary.setText("")
        self.stage_label.setText("")
        self._step_cells, self._matrix_cells, self._columns = [], [], []
        for b in (self.back_button, self.next_button, self.all_button):
            b.setEnabled(False)

    # -- the slow motion -----------------------------------------------------------------------------
    def move_stage(self, delta: int) -> None:
        """One stage on (``+1``) or back (``-1``); past the last stage, every number is shown again."""
        if self.walkthrough is None:
            return
        self.set_stage((self.stage + delta) % (len(self.stages) + 1))

    def set_stage(self, stage: int) -> None:
        if self.walkthrough is None:
            return
        self.stage = max(0, min(int(stage), len(self.stages)))
        self._apply_stage()

    def stage_number(self, kind: str, t: int | None = None) -> int:
        """The number of the stage that makes ``kind`` (at step ``t``)."""
        return next(s.number for s in self.stages if s.kind == kind and s.t == t)

    def _shown(self, kind: str | None, t: int | None) -> tuple[bool, bool]:
        """Whether a number made at stage (kind, t) is shown now, and whether it is the current stage's."""
        if kind is None:
            return True, False
        n = self.stage_number(kind, t)
        return self.stage == 0 or n <= self.stage, n == self.stage

    def _apply_stage(self) -> None:
        current = self.stages[self.stage - 1] if self.stage else None
        first_current = None
        for item, text, kind, t in self._step_cells + self._matrix_cells:
            shown, now = self._shown(kind, t)
            item.setText(text if shown else "")
            item.setBackground(QBrush(CURRENT) if now else QBrush())
            if now and first_current is None:
                first_current = item
        for table, t, col in self._columns:
            mark = current is not None and current.t == t and current.kind == table.property("section")
            table.horizontalHeaderItem(col).setBackground(QBrush(CURRENT) if mark else QBrush())
        if first_current is not None:  # the slow motion's numbers in view, their row's label too
            table = first_current.tableWidget()
            table.scrollToItem(table.item(first_current.row(), 0) or first_current)
        self._fill_summary()
        n = len(self.stages)
        if current is None:
            self.stage_label.setText(f"All {n} stages shown. N: slow motion, one stage at a time.")
        else:
            self.stage_label.setText(f"Stage {current.number} of {n}: {current.title}")
        for b in (self.back_button, self.next_button, self.all_button):
            b.setEnabled(True)

    # -- the tables ------------------------------------------------------------------------------------
    def _column_title(self, t: int) -> str:
        w = self.walkthrough
        return f"t = {t}\n{w.token(w.x[t])}\n→ {w.token(w.y[t])}"

    def _fill_steps(self) -> None:
        w = self.walkthrough
        self._step_cells, self._columns = [], []
        qs = [q for q in quantities(w) if q.kind != "token"]  # the tokens head the columns
        titles = {"forward": "FORWARD: t = 0 first", "backward": f"BACKWARD: t = {w.T - 1} first"}
        bold = _fixed_font(bold=True)
        for section, table in (("forward", self.forward), ("backward", self.backward)):
            table.setProperty("section", section)
            table.clear()
            table.clearSpans()
            rows: list[tuple] = [(None, titles[section])]  # (quantity, index), or (None, a section title)
            for q in qs:
                if q.section == section:
                    rows += [(q, None)] if q.key == "x_onehot" else [(q, i) for i in range(q.values.shape[1])]
            table.setColumnCount(2 + w.T)
            table.setRowCount(len(rows))
            table.setHorizontalHeaderLabels(["quantity", "", *(self._column_title(t) for t in range(w.T))])
            self._columns += [(table, t, 2 + t) for t in range(w.T)]
            for r, (q, i) in enumerate(rows):
                if q is None:
                    item = _item(i, align_right=False)
                    item.setFont(bold)
                    item.setBackground(QBrush(SECTION))
                    table.setItem(r, 0, item)
                    table.setSpan(r, 0, 1, 2 + w.T)
                    continue
                if i in (0, None):
                    label = _item(q.label, q.formula, align_right=False)
                    label.setFont(bold)
                    table.setItem(r, 0, label)
                index = _item("" if i is None else q.index_labels[i], align_right=False)
                index.setForeground(QBrush(LABEL))
                table.setItem(r, 1, index)
                for t in range(w.T):
                    if i is None:  # the one-hot vector in one cell: 00100 (its position is the token read)
                        text = "".join(str(int(v)) for v in q.values[t]) if q.values.shape[1] <= 8 else ""
                        text = text or f"1 at {w.token(w.x[t])!r}"
                        tip = explain(w, q, t, int(w.x[t]))
                    else:
                        text, tip = f"{float(q.values[t, i]):.{DECIMALS}f}", explain(w, q, t, i)
                    item = _item(text, tip)
                    table.setItem(r, 2 + t, item)
                    self._step_cells.append((item, text, q.section, t))
            table.resizeColumnsToContents()
            table.resizeRowsToContents()

    def _fill_matrices(self) -> None:
        w = self.walkthrough
        _, field, _ = MATRICES[self.matrix_box.currentIndex()]
        arrays = getattr(w, field)
        table = self.matrices
        table.clear()
        table.clearSpans()
        self._matrix_cells = []
        blocks = []
        for name, a in arrays.items():
            rows, cols = axes(w, name)
            blocks.append((name, a.reshape(1, -1) if a.ndim == 1 else a, rows, cols))
        width = 1 + max(len(cols) for _, _, _, cols in blocks)
        table.setColumnCount(width)
        table.setRowCount(sum(2 + a.shape[0] for _, a, _, _ in blocks))
        table.horizontalHeader().setVisible(False)
        bold = _fixed_font(bold=True)
        kind = MATRICES[self.matrix_box.currentIndex()][2]
        r = 0
        for name, a, rows, cols in blocks:
            title = _item(self._matrix_title(field, name, a), align_right=False)
            title.setFont(bold)
            title.setBackground(QBrush(SECTION))
            table.setItem(r, 0, title)
            table.setSpan(r, 0, 1, width)
            for j, col in enumerate(cols):
                head = _item(col)
                head.setForeground(QBrush(LABEL))
                table.setItem(r + 1, 1 + j, head)
            for i in range(a.shape[0]):
                label = _item(rows[i] if i < len(rows) else "", align_right=False)
                label.setForeground(QBrush(LABEL))
                table.setItem(r + 2 + i, 0, label)
                for j in range(a.shape[1]):
                    text = f"{float(a[i, j]):.{DECIMALS}f}"
                    item = _item(text, self._matrix_tip(name, (i, j) if arrays[name].ndim == 2 else (j,)))
                    table.setItem(r + 2 + i, 1 + j, item)
                    self._matrix_cells.append((item, text, kind, None))
            r += 2 + a.shape[0]
        table.resizeColumnsToContents()
        table.resizeRowsToContents()

    def _matrices_chosen(self) -> None:
        if self.walkthrough is not None:
            self._fill_matrices()
            self._apply_stage()

    def _matrix_title(self, field: str, name: str, a: np.ndarray) -> str:
        tutorial = TUTORIAL_NAMES[name]
        shape = " x ".join(map(str, self.walkthrough.weights[name].shape))
        what = {
            "grads": GRADIENT_FORMULAS[name],
            "clipped": f"{gradient_name(name)} after clipping",
            "update": f"change of {tutorial} (new - old)",
            "weights": tutorial,
            "new_weights": f"{tutorial} after the update",
        }[field]
        return f"{what}   ({name}, {shape})"

    def _matrix_tip(self, name: str, index: tuple[int, ...]) -> str:
        w = self.walkthrough
        where = ", ".join(map(str, index))
        g, c = float(w.grads[name][index]), float(w.clipped[name][index])
        old, new = float(w.weights[name][index]), float(w.new_weights[name][index])
        return "\n".join([
            f"{gradient_name(name)}[{where}]  ({name}[{where}])",
            GRADIENT_FORMULAS[name],
            f"gradient {g:.6g}, after clipping {c:.6g}",
            f"update ({update_words(w)}): {new - old:+.6g}",
            f"weight {old:.6g} -> {new:.6g}",
        ])  # fmt: skip

    def _fill_summary(self) -> None:
        w = self.walkthrough
        shown = {kind: self._shown(kind, None)[0] for kind in ("loss", "clip", "update")}
        lines = [f"Loss (mean of loss_t over {w.T} steps): {w.loss:.4f}" if shown["loss"] else ""]
        lines.append(f"Clipping ({w.clip.config}): {clip_words(w.clip)}" if shown["clip"] else "")
        if shown["update"]:
            lines.append(f"Update ({update_words(w)})")
            lines.append(f"Loss on this sequence: {w.loss:.4f} before the update, {w.loss_after:.4f} after")
        self.summary.setText("\n".join(line for line in lines if line))

    # -- export ---------------------------------------------------------------------------------------
    def figure(self) -> QWidget:
        return self.body

    def data(self) -> dict[str, np.ndarray]:
        w = self.walkthrough
        if w is None:
            return {}
        out = {q.key: q.values for q in quantities(w)}
        out["h0"] = w.h[0]
        out.update({gradient_name(name): a for name, a in w.grads.items()})
        out.update({"update_" + TUTORIAL_NAMES[name]: a for name, a in w.update.items()})
        out["loss_after"] = np.array(w.loss_after)
        return out

    def csv_rows(self) -> list[list]:
        return csv_rows(self.walkthrough) if self.walkthrough is not None else [["t", "quantity", "index", "value"]]
