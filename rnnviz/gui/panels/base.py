"""What every panel shares: a header naming what is shown (the source), a help tooltip, and export.

Export: every panel can save a picture (PNG; SVG for the plots) and the numbers behind it (``.npz``
and ``.csv``), from its header's "Export" button or the File menu. A picture is drawn in memory and
written by Python, so Qt never opens the file: whatever goes wrong (no such folder, no permission, a
panel with no size on screen) is one :class:`ExportError` in plain words, shown in one message.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QIODevice, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QFileDialog,
    QGraphicsItem,
    QGraphicsSimpleTextItem,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rnnviz.lab.snapshot import Snapshot

# One light, projector-friendly style for every plot.
PEN_WIDTH = 1
COLORS = {
    "blue": (31, 119, 180),
    "orange": (230, 120, 20),
    "green": (44, 160, 44),
    "red": (214, 39, 40),
    "grey": (150, 150, 150),
    "purple": (148, 103, 189),
    "light blue": (115, 170, 208),  # blue at 63% on white, opaque (see NormHistoryPanel)
}


# Legends sit inside the plot: a half-opaque white box keeps their text readable over the curves, which
# still show through.
LEGEND_STYLE = {"brush": (255, 255, 255, 175), "pen": (200, 200, 200)}


def pen(color: str, width: float = PEN_WIDTH, dash: bool = False, alpha: int = 255):
    p = pg.mkPen(color=(*COLORS[color], alpha), width=width)
    if dash:
        p.setStyle(Qt.PenStyle.DashLine)
    return p


def cache_axes(plot: pg.PlotWidget) -> pg.PlotWidget:
    """Let Qt keep each axis (and the legend) as a picture until it really changes.

    An axis overlaps the plot area (its ticks reach in), so any change inside the plot made Qt repaint
    every axis, text and all: profiled at about half the GUI thread's time while training. Also: no
    "(x0.001)" unit prefixes on the axes (they confuse more than they save).
    """
    item = plot.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        axis.enableAutoSIPrefix(False)
    if item.legend is not None:
        item.legend.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return plot


class TextSizes:
    """Sizes of labels in one font, each measured once: a training frame draws tens of labels, and
    measuring them all again on every frame cost as much as drawing them (profiled, bench/gui.py).
    Bounded, for a word-level vocabulary over a long run; ``clear()`` when the font changes."""

    LIMIT = 50_000

    def __init__(self):
        self._sizes: dict = {}

    def __call__(self, key, measure: Callable, *args):
        """The size kept for ``key``, or ``measure(*args)`` (kept) the first time it is asked for."""
        size = self._sizes.get(key)
        if size is None:
            if len(self._sizes) >= self.LIMIT:
                self._sizes.clear()
            size = self._sizes[key] = measure(*args)
        return size

    def clear(self) -> None:
        self._sizes.clear()


class LogAxis(pg.AxisItem):
    """A log axis that labels only 1, 2 and 5 times a power of ten (pyqtgraph labels every 2..9
    between the powers when the range is narrow, and they overlap)."""

    def tickStrings(self, values, scale, spacing):
        strings = super().tickStrings(values, scale, spacing)
        if not self.logMode:
            return strings
        out = []
        for v, text in zip(values, strings, strict=True):
            mantissa = 10 ** (v - np.floor(v))
            out.append(text if round(mantissa) in (1, 2, 5) and abs(mantissa - round(mantissa)) < 0.01 else "")
        return out


def log_plot() -> pg.PlotWidget:
    """A plot whose y axis is logarithmic, labelled 1-2-5."""
    plot = pg.PlotWidget(axisItems={"left": LogAxis(orientation="left")})
    plot.getPlotItem().setLogMode(y=True)
    return plot


def hint(plot: pg.PlotWidget, text: str) -> pg.TextItem:
    """A grey line of help in the middle of an empty plot; ``place_hint(plot, item, False)`` once data comes."""
    # TextItem already undoes the view's scaling itself; ItemIgnoresTransformations on top of it undid
    # it twice (a tiny, mirrored hint in the heatmap, whose view spans 128 units in ~300 pixels).
    item = pg.TextItem(text, color=(140, 140, 140), anchor=(0.5, 0.5))
    plot.addItem(item, ignoreBounds=True)
    return item


def place_hint(plot: pg.PlotWidget, item: pg.TextItem, visible: bool, x: float = 0.5) -> None:
    """Show the hint ``x`` of the way across (clear of a legend), in the lower third, or hide it."""
    if visible:  # legends sit at the top
        r = plot.getPlotItem().vb.viewRect()
        item.setPos(r.left() + x * r.width(), r.top() + 0.3 * r.height())
    item.setVisible(visible)


class StickyRange:
    """A y range (log10 units on a log axis) that follows the data without redrawing the axis every
    frame: it grows at once when data leaves it, and shrinks at most once a second. Its ends sit on a
    grid (half decades on a log axis), so data that wanders a little does not move it at all: a new
    range re-lays out the axis (~1.5 ms; it did so in 4 of 10 training frames before the grid)."""

    def __init__(self, plot: pg.PlotWidget, log: bool, pad: float = 0.1):
        self.plot, self.log, self.pad = plot, log, pad
        self.range: tuple[float, float] | None = None
        self._last_shrink = 0.0
        plot.getPlotItem().enableAutoRange(y=False)

    def update(self, *ys: np.ndarray) -> None:
        values = np.concatenate([np.asarray(y, float).reshape(-1) for y in ys]) if ys else np.zeros(0)
        values = values[np.isfinite(values) & ((values > 0) if self.log else True)]
        if values.size == 0:
            return
        lo, hi = float(values.min()), float(values.max())
        if self.log:
            lo, hi = np.log10(lo), np.log10(hi)
        span = max(hi - lo, 1e-9 if not self.log else 0.5)
        want = (lo - self.pad * span, hi + self.pad * span)
        now = time.monotonic()
        if self.range is None or want[0] < self.range[0] or want[1] > self.range[1]:
            self._set(want, now)
        elif now - self._last_shrink > 1.0 and (want[1] - want[0]) < 0.6 * (self.range[1] - self.range[0]):
            self._set(want, now)

    def _set(self, r: tuple[float, float], now: float) -> None:
        if self.log:
            step = 0.5
        else:
            step = 10.0 ** np.floor(np.log10(max(r[1] - r[0], 1e-12))) / 2
        r = (float(np.floor(r[0] / step) * step), float(np.ceil(r[1] / step) * step))
        if r == self.range:
            return
        self.range = r
        self._last_shrink = now
        self.plot.setYRange(*r, padding=0)

    def reset(self) -> None:
        self.range = None


class PlotCaption:
    """A line or two of text above a plot, drawn in the plot's own scene, in its title row.

    For text that changes with every training frame. A QLabel beside the plot cost ~1.4 ms a repaint;
    the plot's title (pyqtgraph's LabelItem) ~1.2 ms a frame: it parses HTML and re-lays out the whole
    plot for every new text (its minimum width is the text's). Here each line is a plain text item in
    the title row, whose size never changes, so a new text only repaints it. A line wider than the plot
    is cut short with "…" (the whole text is in the tooltip). Newlines in the text start new lines;
    ``text()`` gives it back as set.
    """

    LINES = 2  # pyqtgraph's title row (30 px) holds two lines of 9 pt; a third makes the row taller

    def __init__(self, plot: pg.PlotWidget, size: str = "9pt", color: str = "#333"):
        self.plot_item = plot.getPlotItem()
        self.plot_item.setTitle(" ")  # shows pyqtgraph's title row: the lines are drawn over it
        self.row = self.plot_item.titleLabel
        font = QFont()
        if size.endswith("px"):
            font.setPixelSize(round(float(size.removesuffix("px"))))
        else:
            font.setPointSizeF(float(size.removesuffix("pt")))
        self.metrics = QFontMetricsF(font)
        self.items: list[QGraphicsSimpleTextItem] = []
        for _ in range(self.LINES):
            self._add_item(font, QColor(color))
        self._text = ""
        self._rows = 0
        self._fit_rows(self.LINES)
        self.row.geometryChanged.connect(self._place)

    def _add_item(self, font: QFont, color: QColor) -> None:
        item = QGraphicsSimpleTextItem(self.row)
        item.setFont(font)
        item.setBrush(color)
        self.items.append(item)

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel's name, so panels treat both alike)
        if text == self._text:
            return
        self._text = text
        lines = text.split("\n")
        while len(self.items) < len(lines):
            self._add_item(self.items[0].font(), self.items[0].brush().color())
        self._fit_rows(max(self.LINES, len(lines)))
        self.row.setToolTip(text.strip())
        self._place()

    def _fit_rows(self, rows: int) -> None:
        """A title row tall enough for ``rows`` lines, at least pyqtgraph's 30 px (a re-layout of the plot:
        only when the number of lines changes)."""
        if rows != self._rows:
            self._rows = rows
            height = max(30, math.ceil(rows * self.metrics.lineSpacing()) + 2)
            self.row.setMaximumHeight(height)
            self.plot_item.layout.setRowFixedHeight(0, height)

    def _place(self) -> None:
        """Each line centred in the row (cut short with an ellipsis to fit), the lines centred as a block."""
        lines = self._text.split("\n") if self._text else []
        width, spacing = self.row.size().width(), self.metrics.lineSpacing()
        top = (self.row.size().height() - len(lines) * spacing) / 2
        for i, item in enumerate(self.items):
            line = lines[i] if i < len(lines) else ""
            shown = self.metrics.elidedText(line, Qt.TextElideMode.ElideRight, max(width - 4, 0))
            item.setText(shown)
            item.setPos(max((width - self.metrics.horizontalAdvance(shown)) / 2, 2), top + i * spacing)

    def text(self) -> str:
        return self._text

    def shown_lines(self) -> list[str]:
        """The lines as drawn (cut short where they do not fit)."""
        return [item.text() for item in self.items if item.text()]


def finite_positive(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points a log axis can show. A NaN hides a whole pyqtgraph curve, and log(0) is -inf."""
    keep = np.isfinite(y) & (y > 0) & np.isfinite(x)
    return x[keep], y[keep]


def history_text(step: int, newest: int) -> str:
    """How a step shown from the history is named (the panels and the history bar say the same)."""
    return f"step {step:,} of {newest:,} (history)"


def source_text(snap, unit: str = "tokens") -> str:
    """What a sequence panel shows, in words: the same line on every panel for one snapshot."""
    run = f"Run {snap.run} ({snap.run_label}) · " if snap.run_label else ""
    return run + _source_words(snap, unit)


def _source_words(snap, unit: str) -> str:
    if snap.source == "probe":
        return f"Probe: {snap.length} of {len(snap.input_labels)} {unit} read (weights of step {snap.step:,})"
    if snap.history is not None:
        where = history_text(snap.step, snap.history.newest_step)
    elif snap.live:
        # While training runs the step changes ~30 times a second: the status bar counts it, and a label
        # that stays put costs no redraw (four changing labels took ~4 ms a frame).
        where = "live"
    else:
        where = f"step {snap.step:,}"
    return f"Training batch, row {snap.row}, {where}"


class Panel(QWidget):
    """A titled panel: ``header`` (source + export button) above ``body``."""

    title = "Panel"
    help_text = ""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setToolTip(self.help_text)
        self.source = QLabel("")
        self.source.setTextFormat(Qt.TextFormat.PlainText)
        self.source.setStyleSheet("color: #555;")
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setToolTip("Save this panel as a picture, or the numbers behind it")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Picture (PNG)...", lambda: self.export_dialog("png"))
        menu.addAction("Vector picture (SVG)...", lambda: self.export_dialog("svg"))
        menu.addAction("Numbers (NPZ)...", lambda: self.export_dialog("npz"))
        menu.addAction("Numbers (CSV)...", lambda: self.export_dialog("csv"))
        self.export_button.setMenu(menu)
        self.header = QHBoxLayout()
        self.header.setContentsMargins(4, 2, 4, 0)
        self.header.addWidget(self.source, 1)
        self.header.addWidget(self.export_button)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(2, 2, 2, 2)
        self.layout_.setSpacing(2)
        self.layout_.addLayout(self.header)

    def set_source(self, text: str) -> None:
        if self.source.text() != text:
            self.source.setText(text)

    # -- export -------------------------------------------------------------------------------
    def figure(self) -> QWidget:
        """The figure a picture export shows: the plot with its axes, legend and colour bar, without
        the panel's controls (its Export button, Layer and Show boxes)."""
        return self.plot

    def plot_items(self) -> list[pg.PlotItem]:
        """The plots of this panel (for SVG export)."""
        return []

    def data(self) -> dict[str, np.ndarray]:
        """The arrays behind what is drawn, by name (for NPZ / CSV export)."""
        return {}

    def csv_rows(self) -> list[list]:
        """The numbers as a table a spreadsheet reads, header row first (panels with a matrix lay it out
        themselves)."""
        return csv_rows(self.data())

    # what an export writes (a sequence panel in compare mode writes every run: SequencePanel)
    def picture_bytes(self, kind: str) -> bytes:
        return png_bytes(self.figure(), self.title) if kind == "png" else svg_bytes(self.figure(), self.title)

    def export_arrays(self) -> dict[str, np.ndarray]:
        return self.data()

    def export_rows(self) -> list[list]:
        return self.csv_rows()

    def export_dialog(self, kind: str) -> None:
        filters = {
            "png": "PNG picture (*.png)",
            "svg": "SVG picture (*.svg)",
            "npz": "NumPy arrays (*.npz)",
            "csv": "CSV table (*.csv)",
        }
        name = self.title.lower().replace(" ", "-")
        path, _ = QFileDialog.getSaveFileName(self, f"Export {self.title}", f"{name}.{kind}", filters[kind])
        if path:
            try:
                self.export(path)
            except ExportError as e:  # said once, in plain words; nothing else breaks
                QMessageBox.warning(self, "rnnviz", f"Could not export the {self.title} panel to {path}: {e}")

    def export(self, path: str | Path) -> None:
        """Write the panel to ``path``; the format follows the extension (.png, .svg, .npz, .csv).
        Raises :class:`ExportError` saying why it cannot (the file is then not written)."""
        path = Path(path)
        kind = path.suffix.lower().lstrip(".")
        if kind not in ("png", "svg", "npz", "csv"):
            raise ExportError(
                f"{path.suffix or 'no extension'} is not a format it can write: use .png, .svg, .npz or .csv"
            )
        check_folder(path)
        try:
            if kind in ("png", "svg"):
                path.write_bytes(self.picture_bytes(kind))
            elif kind == "npz":
                buffer = io.BytesIO()
                np.savez(buffer, **self.export_arrays())
                path.write_bytes(buffer.getvalue())
            else:
                write_rows(path, self.export_rows())
        except OSError as e:  # no permission, a full disk...: the system's words, without "[Errno 13]"
            raise ExportError(f"{e.strerror or e}".rstrip(".").lower()) from None


class ExportError(Exception):
    """An export that cannot be written; ``str()`` says why in plain words (no path: the message names it)."""


def check_folder(path: Path) -> None:
    """Refuse a path whose folder does not exist or is not a folder, before anything is drawn."""
    folder = path.parent
    if not folder.exists():
        raise ExportError(f"the folder {folder} does not exist")
    if not folder.is_dir():
        raise ExportError(f"{folder} is a file, not a folder")


def _drawable(widget: QWidget, title: str) -> QSize:
    """The widget's size on screen; a panel with none (a collapsed or never shown dock) has nothing to draw."""
    size = widget.size()
    if size.width() < 1 or size.height() < 1:
        raise ExportError(
            f"the {title} panel has no size on screen ({size.width()} x {size.height()} pixels), so there is no "
            "picture to draw: show it (View menu) or make it larger, then export again"
        )
    return size


def png_bytes(widget: QWidget, title: str = "rnnviz") -> bytes:
    """The widget as a PNG picture, in memory."""
    _drawable(widget, title)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not widget.grab().save(buffer, "PNG"):
        raise ExportError("the picture could not be encoded as PNG")
    return bytes(buffer.data())


def svg_bytes(widget: QWidget, title: str = "rnnviz") -> bytes:
    """The widget as a vector picture, in memory: lines and text stay sharp at any size (images are
    embedded).

    Qt renders the widget into an SVG paint device; pyqtgraph's own SVG exporter fails on some items
    (colour bars) with current Qt versions. The device is a buffer: given a file name, Qt itself
    opened the file and a folder it could not write gave four Qt warnings and no file, silently.
    """
    size = _drawable(widget, title)
    # a plot is a QGraphicsView, whose render() differs: QWidget's
    return painted_bytes("svg", size, title, lambda painter: QWidget.render(widget, painter, QPoint(0, 0)))


def painted_bytes(kind: str, size: QSize, title: str, paint) -> bytes:
    """What ``paint(painter)`` draws on a ``size`` canvas, as SVG (vector) or PNG (on white) bytes, in
    memory (see ``svg_bytes`` for why never a file)."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if kind == "svg":
        device = QSvgGenerator()
        device.setOutputDevice(buffer)
        device.setSize(size)
        device.setViewBox(QRect(0, 0, size.width(), size.height()))
        device.setTitle(title)
    else:
        device = QImage(size, QImage.Format.Format_ARGB32)
        device.fill(Qt.GlobalColor.white)
    painter = QPainter(device)
    try:
        paint(painter)
    finally:
        painter.end()
    if kind == "png" and not device.save(buffer, "PNG"):
        raise ExportError("the picture could not be encoded as PNG")
    return bytes(buffer.data())


def write_rows(path: Path, rows: list[list]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def csv_rows(arrays: dict[str, np.ndarray]) -> list[list]:
    """Columns side by side (1-D arrays) or one column per index of a 2-D array's last axis."""
    columns: list[tuple[str, np.ndarray]] = []
    for name, a in arrays.items():
        a = np.asarray(a)
        if a.ndim <= 1:
            columns.append((name, a.reshape(-1)))
        else:
            flat = a.reshape(a.shape[0], -1)
            columns += [(f"{name}[{j}]", flat[:, j]) for j in range(flat.shape[1])]
    n = max((len(c) for _, c in columns), default=0)
    header = [name for name, _ in columns]
    return [header, *(["" if i >= len(c) else _cell(c[i]) for _, c in columns] for i in range(n))]


def _cell(v) -> str:
    return repr(float(v)) if isinstance(v, (float, np.floating)) else str(v)


class SequencePanel(Panel):
    """A panel that draws one snapshot (``show``) and marks a selected time step (``set_selected``).

    The window's frame scheduler (``gui/frames.py``) hands every sequence panel the same snapshot and
    the same selection. By default a new selection redraws the snapshot; a panel with a cheaper mark
    overrides ``set_selected``. ``show(snapshot)`` takes the place of ``QWidget.show()``: to make the
    widget itself visible, use ``setVisible(True)`` (a dock does).
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.snapshot: Snapshot | None = None  # the one drawn (redrawn when a selector changes)
        self.selected_t: int | None = None  # the step selected (0-based), None: the last one read
        # compare mode: each run's newest snapshot ({"A": ..., "B": ...}; the window sets it). The panel
        # shows one run at a time (the run box); its exports hold every run (``export_rows``...).
        self.export_runs: Callable[[], dict[str, Snapshot]] = dict

    def _runs(self) -> dict[str, Snapshot]:
        """The runs an export writes: every run's snapshot in compare mode, else {} (the one shown)."""
        runs = self.export_runs()
        return runs if len(runs) > 1 and self.snapshot is not None else {}

    def picture_bytes(self, kind: str) -> bytes:
        runs = self._runs()
        return pictures_side_by_side(self, runs, kind) if runs else super().picture_bytes(kind)

    def export_arrays(self) -> dict[str, np.ndarray]:
        runs = self._runs()
        if not runs:
            return super().export_arrays()
        arrays = {}
        with showing_again(self):
            for run, snap in runs.items():
                self.show(snap)
                arrays.update({f"{run}_{name}": v for name, v in self.data().items()})
        return arrays

    def export_rows(self) -> list[list]:
        """Compare mode: each run's rows, a first column naming the run (one header while they agree)."""
        runs = self._runs()
        if not runs:
            return super().export_rows()
        rows: list[list] = []
        with showing_again(self):
            for run, snap in runs.items():
                self.show(snap)
                header, *body = self.csv_rows()
                if not rows or rows[0][1:] != header:  # a run whose columns differ gets its own header row
                    rows.append(["run", *header])
                rows += [[run, *r] for r in body]
        return rows

    def show(self, snap: Snapshot) -> None:
        raise NotImplementedError

    def set_selected(self, t: int | None) -> None:
        self.selected_t = t
        if self.snapshot is not None:
            self.show(self.snapshot)


def run_caption(run: str, snap: Snapshot) -> str:
    label = f" ({snap.run_label})" if snap.run_label else ""
    return f"Run {run}{label}, step {snap.step:,}"


@contextmanager
def showing_again(panel: SequencePanel):
    """Whatever ``panel`` is made to show inside (each run in turn, for an export), it shows the
    snapshot it showed before afterwards."""
    shown = panel.snapshot
    try:
        yield
    finally:
        panel.show(shown)


def pictures_side_by_side(panel: SequencePanel, runs: dict[str, Snapshot], kind: str) -> bytes:
    """``panel``'s figure once per run, side by side, each captioned with its run (PNG or SVG bytes)."""
    figure = panel.figure()
    size = _drawable(figure, panel.title)
    w, h, caption_h = size.width(), size.height(), 22

    def paint(painter: QPainter) -> None:
        with showing_again(panel):
            for k, (run, snap) in enumerate(runs.items()):
                panel.show(snap)
                painter.setPen(Qt.GlobalColor.black)
                painter.drawText(QRect(k * w, 0, w, caption_h), Qt.AlignmentFlag.AlignCenter, run_caption(run, snap))
                QWidget.render(figure, painter, QPoint(k * w, caption_h))

    return painted_bytes(kind, QSize(w * len(runs), h + caption_h), panel.title, paint)
