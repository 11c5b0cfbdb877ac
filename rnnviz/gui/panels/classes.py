"""Classes: how a classifier does per class, refreshed at each validation (the lab's ClassReport).

Left, the validation accuracy over training: all names (bold) and each language (faint; pick one in
"Highlight" to draw it in orange). Right, the confusion matrix of the newest validation: rows are the
true language, columns the predicted one, each row coloured by the share of its names that went to
each column (the row adds up to 100 %); hovering a cell gives the counts, clicking it lists example
names below. Above, the training names per language: the bundled set is far from balanced (about
half are Russian), which is what the settings "Weight classes" and "Sampling" are for.

Every number is the lab's (``lab.classes``: the evaluation's own confusion matrix); the panel only
draws them. Nothing here runs per training frame: it changes when a validation arrives (every
``Lab.EVAL_EVERY`` steps). In a comparison it follows run A. For a task that is not a classifier it
says so and stays empty.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rnnviz.gui.panels.base import LEGEND_STYLE, Panel, cache_axes, pen
from rnnviz.lab import events as e
from rnnviz.lab.lab import EVAL_EVERY
from rnnviz.lab.wording import wording_for

NOT_A_CLASSIFIER = "Only for classification: choose the preset 'Names to languages: GRU classifier' to see it."
EMPTY_TEXT = f"Train: the first validation (every {EVAL_EVERY} steps) fills the accuracy curves and the matrix."
CLICK_TEXT = "Click a cell of the matrix to list names from it."
SHORT = 3  # letters of a class name over a column (the full name is in its tooltip)


def cell_color(fraction: float) -> QColor:
    """White (0 %) to the panels' blue (100 %), through the projector-friendly light blues."""
    f = min(max(float(fraction), 0.0), 1.0)
    r, g, b = 31, 119, 180
    return QColor(int(255 + (r - 255) * f), int(255 + (g - 255) * f), int(255 + (b - 255) * f))


def percent_text(fraction: float, count: int) -> str:
    """A cell's text: its % of the row, "<1" for a few names that round to 0, "" for none."""
    if count == 0:
        return ""
    return "<1" if 100 * fraction < 0.5 else f"{100 * fraction:.0f}"


class ClassesPanel(Panel):
    title = "Classes"
    help_text = (
        "How the classifier does per class, at each validation: accuracy over training (all names bold, each "
        "class faint) and the confusion matrix (rows: the true class; columns: the predicted one; each row "
        "shows where that class's validation names went). Hover a cell for its counts, click it for names."
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.counts = QLabel(NOT_A_CLASSIFIER)
        self.counts.setWordWrap(True)
        self.counts.setStyleSheet("font-size: 8pt;")
        self.counts.setTextFormat(Qt.TextFormat.PlainText)
        # The matrix takes the whole height of the panel (18 rows in a dock a third of the window high),
        # so what explains it sits in the left column, above the accuracy curves.
        self.body = QWidget()  # the figure a picture export shows (without the header's controls)
        body = QHBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        self.matrix_title = QLabel("")
        self.matrix_title.setWordWrap(True)
        self.matrix_title.setStyleSheet("font-size: 8pt;")
        left.addWidget(self.matrix_title)
        left.addWidget(self.counts)
        self.highlight_label = QLabel("Highlight:")
        self.header.insertWidget(1, self.highlight_label)  # beside the source line: a control, not the figure
        self.highlight = QComboBox()
        self.highlight.setToolTip("Draw one class's validation accuracy in orange")
        self.highlight.setMinimumContentsLength(11)  # "Vietnamese" whole
        self.highlight.currentIndexChanged.connect(self._draw_highlight)
        self.header.insertWidget(2, self.highlight)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        item = self.plot.getPlotItem()
        item.setLabel("left", "accuracy")
        item.setLabel("bottom", "training step (validation accuracy)")
        item.showGrid(y=True, alpha=0.2)
        self.plot.setYRange(0, 1, padding=0.02)
        self.legend = item.addLegend(offset=(-4, 4), labelTextSize="8pt", **LEGEND_STYLE)
        self.overall_curve = self.plot.plot(pen=pen("blue", 2), symbol="o", symbolSize=4, name="all names")
        self.highlight_curve = self.plot.plot(pen=pen("orange", 2), name="(none)")
        self.class_curves: list[pg.PlotDataItem] = []
        left.addWidget(cache_axes(self.plot), 1)
        body.addLayout(left, 4)
        right = QVBoxLayout()
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setMouseTracking(True)  # tooltips with the counts
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)  # "1" rather than "..." in a narrow cell
        font = self.table.font()
        font.setPointSize(7)  # 18 rows must fit in a dock's height
        self.table.setFont(font)
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setFont(font)
            header.setMinimumSectionSize(10)
            header.setDefaultSectionSize(10)
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setFixedHeight(14)
        self.table.setFrameShape(QTableWidget.Shape.NoFrame)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # columns stretch to fit
        self.table.cellClicked.connect(self.select_cell)
        right.addWidget(self.table, 1)
        body.addLayout(right, 5)
        self.layout_.addWidget(self.body, 1)
        self.examples = QLabel(CLICK_TEXT)
        self.examples.setWordWrap(True)
        self.examples.setStyleSheet("font-size: 8pt;")
        self.examples.setTextFormat(Qt.TextFormat.PlainText)
        self.examples.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left.addWidget(self.examples)
        self.info: e.ModelInfo | None = None
        self.words = wording_for(None)
        self.report: e.ClassReport | None = None
        self.steps: list[int] = []
        self.overall: list[float] = []
        self.per_class: list[np.ndarray] = []  # one (K,) row per validation
        self.active = False

    # -- what the window tells it ---------------------------------------------------------------
    def set_model(self, info: e.ModelInfo) -> None:
        """A new model: empty curves and matrix, labelled with its classes (or "only for classification")."""
        self.info = info
        self.report = None
        self.steps, self.overall, self.per_class = [], [], []
        self.active = info.head == "classify"
        words = wording_for(info.config)
        self.words = words
        labels = info.labels if self.active else ()
        K = len(labels)
        for curve in self.class_curves:
            self.plot.removeItem(curve)
        self.class_curves = [self.plot.plot(pen=pen("grey", 1, alpha=70)) for _ in range(K)]
        self.overall_curve.setData([], [])
        self.highlight_curve.setData([], [])
        self.highlight.blockSignals(True)
        self.highlight.clear()
        self.highlight.addItems(["(none)", *labels])
        self.highlight.blockSignals(False)
        self.highlight.setVisible(self.active)
        self.highlight_label.setVisible(self.active)
        self._draw_highlight()
        self.table.clear()
        self.table.setRowCount(K)
        self.table.setColumnCount(K)
        self.table.setVerticalHeaderLabels(list(labels))
        self.table.setHorizontalHeaderLabels([name[:SHORT] for name in labels])
        for j, name in enumerate(labels):
            self.table.horizontalHeaderItem(j).setToolTip(f"predicted {words.axis}: {name}")
        self.examples.setText(CLICK_TEXT if self.active else "")
        if not self.active:
            self.counts.setText(NOT_A_CLASSIFIER)
            self.matrix_title.setText("")
            self.set_source(info.title)
            return
        self.matrix_title.setText(
            f"Right: rows true {words.axis}, columns predicted; % of each row's validation names. Hover a "
            "cell: counts; click: names."
        )
        self.counts.setText(EMPTY_TEXT)
        self.set_source(f"{info.title} · validation every {EVAL_EVERY} steps")

    def load_log(self, log: e.RunLog) -> None:
        """A loaded run's past validations: their overall accuracy (the log keeps no per-class numbers,
        so the faint curves start at the next validation)."""
        if not self.active or log.run != e.MAIN or self.info is None:
            return
        keep = np.isfinite(log.eval_accuracy)
        self.steps = [int(s) for s in log.eval_step[keep]]
        self.overall = [float(a) for a in log.eval_accuracy[keep]]
        self.per_class = [np.full(len(self.info.labels), np.nan) for _ in self.steps]
        self.overall_curve.setData(np.asarray(self.steps, float), np.asarray(self.overall))

    def show_report(self, rep: e.ClassReport) -> None:
        """A validation arrived: one more point on each curve, and the matrix of it."""
        if not self.active or rep.run != e.MAIN or self.info is None or len(rep.confusion) != len(self.info.labels):
            return
        self.report = rep
        self.steps.append(rep.step)
        self.overall.append(rep.accuracy)
        self.per_class.append(np.asarray(rep.class_accuracy, float))
        x = np.asarray(self.steps, float)
        self.overall_curve.setData(x, np.asarray(self.overall))
        acc = np.vstack(self.per_class)  # (n, K)
        for k, curve in enumerate(self.class_curves):
            keep = np.isfinite(acc[:, k])  # a class with no validation names has no accuracy (a NaN hides a curve)
            curve.setData(x[keep], acc[keep, k])
        self._draw_highlight()
        self._fill_table(rep)
        self.table.setVerticalHeaderLabels(self._row_labels(rep))
        self.counts.setText(self._counts_text(rep))
        self.set_source(self._source_text(rep))
        selected = self.table.currentRow(), self.table.currentColumn()
        if min(selected) >= 0:
            self.select_cell(*selected)

    # -- drawing --------------------------------------------------------------------------------
    def _fill_table(self, rep: e.ClassReport) -> None:
        labels, words = self.info.labels, self.words
        rows = rep.confusion.sum(axis=1)
        for i in range(len(labels)):
            for j in range(len(labels)):
                f = float(rep.fractions[i, j])
                item = self.table.item(i, j)
                if item is None:
                    item = QTableWidgetItem()
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    self.table.setItem(i, j, item)
                item.setText(percent_text(f, int(rep.confusion[i, j])))
                item.setBackground(QBrush(cell_color(f)))
                item.setForeground(QBrush(QColor("white") if f > 0.55 else QColor(30, 30, 30)))
                item.setToolTip(
                    f"true {words.axis} {labels[i]}, predicted {labels[j]}: {rep.confusion[i, j]:,} of "
                    f"{rows[i]:,} validation names ({100 * f:.1f}% of the row)"
                    if rows[i]
                    else f"{labels[i]}: no validation names"
                )

    def _draw_highlight(self) -> None:
        k = self.highlight.currentIndex() - 1  # 0 is "(none)"
        name = self.highlight.currentText() if k >= 0 else "(none)"
        for sample, label in self.legend.items:
            if sample.item is self.highlight_curve:
                label.setText(name)
        if k < 0 or not self.per_class:
            self.highlight_curve.setData([], [])
            return
        x = np.asarray(self.steps, float)
        y = np.vstack(self.per_class)[:, k]
        keep = np.isfinite(y)
        self.highlight_curve.setData(x[keep], y[keep])

    def select_cell(self, i: int, j: int) -> None:
        """List the example names of cell (i, j): true class i predicted as j."""
        rep, info = self.report, self.info
        if rep is None or info is None or not (0 <= i < len(info.labels) and 0 <= j < len(info.labels)):
            return
        labels, n = info.labels, int(rep.confusion[i, j])
        what = "correctly classified" if i == j else f"predicted as {labels[j]}"
        head = f"{labels[i]} {what}: {n:,} of {int(rep.confusion[i].sum()):,} validation names"
        names = rep.examples[i][j] if rep.examples else ()
        if not n:
            self.examples.setText(head + ".")
        elif not names:
            self.examples.setText(head + " (this task has no names to list).")
        else:
            first = f" (the first {len(names)})" if len(names) < n else ""
            self.examples.setText(f"{head}{first}: " + ", ".join(names))

    def _counts_text(self, rep: e.ClassReport) -> str:
        """One line: the imbalance, and the settings that answer it (the counts are in the row labels)."""
        cfg = self.info.config
        weighting = "on" if cfg.get("class_weighting") else "off"
        sampling = "classes balanced" if cfg.get("sampling") == "balanced" else "every name once"
        settings = f"Settings: Weight classes {weighting}, Sampling: {sampling}."
        if rep.train_counts.min() < 0:
            return settings
        big = int(np.argmax(rep.train_counts))
        share = rep.train_counts[big] / max(int(rep.train_counts.sum()), 1)
        return (
            f"(n): training names; {self.info.labels[big]} is {100 * share:.0f}% of {int(rep.train_counts.sum()):,}. "
            f"{settings}"
        )

    def _row_labels(self, rep: e.ClassReport) -> list[str]:
        """ "Russian (8,408)": each class with its training names (the imbalance, where it matters)."""
        labels = self.info.labels
        if rep.train_counts.min() < 0:
            return list(labels)
        return [f"{name} ({int(n):,})" for name, n in zip(labels, rep.train_counts, strict=True)]

    def _source_text(self, rep: e.ClassReport) -> str:
        part = f"first {rep.evaluated:,} of {rep.total:,}" if rep.evaluated < rep.total else f"{rep.total:,}"
        return f"Validation at step {rep.step:,}: {100 * rep.accuracy:.1f}% of {part} names right"

    # -- export ---------------------------------------------------------------------------------
    def figure(self) -> QWidget:
        return self.body

    def plot_items(self):
        return [self.plot.getPlotItem()]

    def data(self) -> dict[str, np.ndarray]:
        if self.report is None:
            return {}
        return {
            "step": np.asarray(self.steps),
            "accuracy": np.asarray(self.overall),
            "class_accuracy": np.vstack(self.per_class),
            "confusion": self.report.confusion,
            "fractions": self.report.fractions,
            "classes": np.array(self.info.labels, dtype=str),
        }
