"""Hidden-state heatmap: every hidden unit (rows) at every time step (columns) of one sequence.

Colours are fixed, not rescaled per frame (so they never flicker and mean the same thing all the
time): -1..1 for tanh outputs (h, the LSTM's g, the GRU's n), 0..1 for sigmoid gates, -3..3 for the
LSTM cell state c (which is not bounded; stronger values show as the end colour). Hover a cell to read
its exact value; click a column to select that step in every panel (the window's frame scheduler
passes it on: text highlight, bars, a line on the gradient plot).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QFontMetrics, QImage
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel

from rnnviz.gui.panels.base import SequencePanel, cache_axes, hint, pen, place_hint, source_text
from rnnviz.lab.events import ModelInfo
from rnnviz.lab.snapshot import Snapshot

CELL_STATE_LEVELS = (-3.0, 3.0)


class RasterImageItem(pg.ImageItem):
    """A pyqtgraph ImageItem that keeps its picture in the raster painter's own pixel format.

    pyqtgraph renders a colour-mapped matrix as an 8-bit indexed image (a byte per cell and a colour
    table), which Qt converts pixel by pixel again at every paint: 0.6 ms of a 0.9 ms repaint of a
    700 x 330 px heatmap (measured offscreen), 30 times a second while training. Converted once per new
    matrix (8k cells, microseconds) to premultiplied ARGB32, which keeps the transparency of NaN cells,
    the same repaint takes 0.4 ms.
    """

    FORMAT = QImage.Format.Format_ARGB32_Premultiplied

    def render(self) -> None:
        super().render()
        if self.qimage is not None and self.qimage.format() != self.FORMAT:
            self.qimage = self.qimage.convertToFormat(self.FORMAT)


class HeatmapPanel(SequencePanel):
    title = "Hidden state"
    help_text = (
        "Each row is one hidden unit, each column one time step: the colour is the unit's value after "
        "reading that token. Blue is negative, red positive (-1..1). Choose the layer and, for LSTM/GRU, "
        "the cell state or a gate. Hover for exact values; click a column to select that step in every "
        "panel (click it again to follow the newest step)."
    )
    time_selected = Signal(int)  # 0-based column clicked

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layer_box = QComboBox()
        self.layer_box.setToolTip("Which layer of the network to show")
        self.what_box = QComboBox()
        self.what_box.setToolTip("h: the hidden state; c: the LSTM cell state; the others are gate activations")
        controls = QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addWidget(QLabel("Layer"))
        controls.addWidget(self.layer_box)
        controls.addWidget(QLabel("Show"))
        controls.addWidget(self.what_box)
        controls.addStretch(1)
        self.layout_.addLayout(controls)

        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "time step t (token read)")
        item.setLabel("left", "hidden unit")
        self.image = RasterImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.diverging = pg.colormap.get("CET-D1")
        self.sequential = pg.colormap.get("viridis")
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=self.diverging, interactive=False, width=14)
        self.colorbar.setImageItem(self.image, insert_in=item)
        # the selected step: a box around its column
        self.marker = pg.PlotDataItem(pen=pen("orange", 2))
        self.marker.setZValue(10)
        self.plot.addItem(self.marker, ignoreBounds=True)
        self.layout_.addWidget(cache_axes(self.plot), 1)
        self.hint = hint(self.plot, "Space: train\nRight arrow: read\nthe probe sentence")
        self.readout = QLabel(" ")
        self.readout.setStyleSheet("color: #333;")
        self.layout_.addWidget(self.readout)

        self.info: ModelInfo | None = None
        self._matrix = np.zeros((1, 1), np.float32)  # (H, T) as drawn
        self._labels: tuple[str, ...] = ()
        self._frame: tuple | None = None  # (what, width, H) the axes were last set up for
        self._ticks: list = []
        self._tick_labels: tuple = ()  # the labels whose widest was measured last, and its width (px)
        self._label_px = 12
        self._what = "h"
        self.layer_box.currentIndexChanged.connect(self._redraw)
        self.what_box.currentIndexChanged.connect(self._redraw)
        self.plot.scene().sigMouseMoved.connect(self._hover)
        self.plot.scene().sigMouseClicked.connect(self._click)

    # -- model and data -------------------------------------------------------------------------
    def set_model(self, info: ModelInfo) -> None:
        self.info = info
        self.snapshot = None
        self.selected_t = None
        self.marker.setData([], [])
        self.layer_box.blockSignals(True)
        self.what_box.blockSignals(True)
        self.layer_box.clear()
        self.layer_box.addItems([f"{i + 1}" for i in range(info.layers)])
        self.layer_box.setCurrentIndex(info.layers - 1)
        self.what_box.clear()
        self.what_box.addItem("h", "h")
        if info.has_cell_state:
            self.what_box.addItem("c (cell state)", "c")
        if not info.gates_are_h:  # the cell registry names the gates (a vanilla RNN's only "gate" is h)
            for k, label in enumerate(info.gate_labels):
                self.what_box.addItem(label, k)
        self.layer_box.blockSignals(False)
        self.what_box.blockSignals(False)
        self.image.clear()
        self._frame = None
        self._labels = ()
        self._ticks = []
        self.plot.getPlotItem().getAxis("bottom").setTicks(None)  # step numbers again, not the old tokens
        self.readout.setText(" ")
        T = info.config.get("seq_len", 64) if info.config.get("task") in ("lm", "sine") else 20
        self.plot.setXRange(0, T, padding=0)
        self.plot.setYRange(0, info.hidden, padding=0)
        place_hint(self.plot, self.hint, True)
        self.set_source(f"{info.cell_name}, {info.layers} layer{'s' * (info.layers > 1)} of {info.hidden} units")

    def show(self, snap: Snapshot) -> None:
        self.snapshot = snap
        self.set_source(source_text(snap))
        self._redraw()

    def set_selected(self, t: int | None) -> None:
        """Mark step ``t`` (0-based; None: no mark)."""
        self.selected_t = t
        self._draw_marker()

    def _redraw(self, *_) -> None:
        snap, info = self.snapshot, self.info
        if snap is None or info is None:
            return
        layer = min(max(self.layer_box.currentIndex(), 0), len(snap.layers) - 1)
        what = self.what_box.currentData()
        what = "h" if what is None else what
        lv = snap.layers[layer]
        if what == "h":
            cols = lv.hs[1:]  # (T, H): h_1..h_T, the state after reading each token
        elif what == "c":
            cols = lv.cs[1:]
        else:
            cols = lv.acts[:, what]  # (T, H)
        labels = snap.input_labels
        width = max(len(labels), 1)  # the probe's unread tokens keep their (empty) columns
        self._what = what
        matrix = np.ascontiguousarray(np.asarray(cols, np.float32).T)  # (H, T): units are rows
        self._matrix = matrix
        levels, cmap, unit = self._levels(what)
        place_hint(self.plot, self.hint, False)
        if matrix.shape[1] == 0:
            self.image.clear()
        else:
            self.image.setImage(matrix, levels=levels, autoLevels=False)
            self.image.setRect(QRectF(0, 0, matrix.shape[1], matrix.shape[0]))
        # Axes and colour bar change rarely; touching them every frame would repaint them every frame.
        frame = (what, width, info.hidden)
        if frame != self._frame:
            self._frame = frame
            self.colorbar.setLevels(levels)
            self.colorbar.setColorMap(cmap)
            self.colorbar.axis.setLabel(unit)
            self.plot.setXRange(0, width, padding=0)
            self.plot.setYRange(0, max(info.hidden, 1), padding=0)
        self._labels = tuple(labels)
        self._set_ticks(self._labels, width)
        self._draw_marker()

    def _draw_marker(self) -> None:
        t, H = self.selected_t, self._matrix.shape[0]
        if t is None or self.snapshot is None or t >= self.snapshot.length:
            self.marker.setData([], [])
        else:
            self.marker.setData([t, t + 1, t + 1, t, t], [0, 0, H, H, 0])

    def _levels(self, what) -> tuple[tuple[float, float], pg.ColorMap, str]:
        if what == "h":
            return (-1.0, 1.0), self.diverging, "h (tanh, -1..1)"
        if what == "c":
            return CELL_STATE_LEVELS, self.diverging, "c (cell state)"
        lo, hi = self.info.gate_ranges[what]
        name = self.info.gate_names[what]
        if lo < 0:
            return (lo, hi), self.diverging, f"{name} (tanh, -1..1)"
        return (lo, hi), self.sequential, f"{name} (sigmoid, 0..1)"

    def _set_ticks(self, labels, width: int) -> None:
        """Token labels under their columns when the widest fits its column (at least ~12 px each; a wave's
        "+0.7" needs more than a character), else step numbers."""
        pixels = max(self.plot.width() - 90, 100)
        if labels and labels != self._tick_labels:  # (measured once per sequence shown, not per frame)
            fm = QFontMetrics(self.plot.getPlotItem().getAxis("bottom").font())
            self._tick_labels, self._label_px = labels, max(12, max(fm.horizontalAdvance(str(x)) for x in labels) + 4)
        if labels and len(labels) * self._label_px <= pixels:
            ticks = [(t + 0.5, lab) for t, lab in enumerate(labels)]
        else:
            every = next(e for e in (2, 5, 10, 20, 50, 100, 200, 500, 1000) if width / e * 32 <= pixels or e == 1000)
            ticks = [(t - 0.5, str(t)) for t in range(every, width + 1, every)]
        if ticks != self._ticks:  # a new tick layout repaints the axis: only when it really changes
            self._ticks = ticks
            self.plot.getPlotItem().getAxis("bottom").setTicks([ticks, []])

    # -- reading values -------------------------------------------------------------------------
    def _cell_at(self, scene_pos) -> tuple[int, int] | None:
        if not self.plot.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.plot.getPlotItem().vb.mapSceneToView(scene_pos)
        t, unit = int(math.floor(p.x())), int(math.floor(p.y()))
        H, T = self._matrix.shape
        if 0 <= t < T and 0 <= unit < H:
            return t, unit
        return None

    def _hover(self, scene_pos) -> None:
        cell = self._cell_at(scene_pos)
        if cell is None:
            return
        t, unit = cell
        label = self._labels[t] if t < len(self._labels) else ""
        name = "h" if self._what == "h" else "c" if self._what == "c" else self.info.gate_names[self._what]
        self.readout.setText(f"t = {t + 1} (token {label!r}), unit {unit}: {name} = {self._matrix[unit, t]:+.4f}")

    def _click(self, event) -> None:
        cell = self._cell_at(event.scenePos())
        if cell is not None:
            self.time_selected.emit(cell[0])

    def data(self) -> dict[str, np.ndarray]:
        return {
            "values_units_by_time": self._matrix,
            "tokens": np.array(self._labels[: self._matrix.shape[1]], dtype=str),
        }

    def _runs(self) -> dict:
        """Compare mode: both runs only where the view shown means the same in each (h always; the
        cell state or a gate only for two cells of one kind, in a layer both have), else the shown run."""
        runs = super()._runs()
        layer, what = self.layer_box.currentIndex(), self.what_box.currentData()
        shown = self.snapshot

        def same_view(snap) -> bool:
            if layer >= len(snap.layers):
                return False
            if what in (None, "h"):
                return True
            a, b = shown.layers[min(layer, len(shown.layers) - 1)], snap.layers[layer]
            same_cell = (a.cs is None) == (b.cs is None) and np.shape(a.acts)[1:2] == np.shape(b.acts)[1:2]
            return same_cell and (what != "c" or b.cs is not None)

        return runs if runs and all(same_view(snap) for snap in runs.values()) else {}

    def csv_rows(self) -> list[list]:
        """A spreadsheet's layout: a header row of the tokens (one column per step), one row per unit."""
        H, T = self._matrix.shape
        header = ["unit \\ step", *(f"{t + 1}: {label}" for t, label in enumerate(self._labels[:T]))]
        return [header, *([unit, *(repr(float(v)) for v in self._matrix[unit])] for unit in range(H))]

    def plot_items(self):
        return [self.plot.getPlotItem()]
