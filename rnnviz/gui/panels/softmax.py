"""What the network expects next: the softmax over the next token (or over the classes), as bars.

The most likely tokens are drawn from the left; the true next token is orange (added at the right if it
is not among them), with its probability p and its loss -log p, both the engine's own numbers (the
snapshot's ``target_probs`` and ``losses``). For a classifier the bars are the classes after the
characters read so far; for the sine task the panel shows the predicted values against the true ones.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt

from rnnviz.gui.panels.base import (
    COLORS,
    PlotCaption,
    SequencePanel,
    TextSizes,
    cache_axes,
    hint,
    pen,
    place_hint,
    source_text,
)
from rnnviz.gui.panels.freerun import FreeRunOverlay
from rnnviz.lab.events import ModelInfo
from rnnviz.lab.snapshot import Snapshot
from rnnviz.lab.wording import Wording, wording_for


class BarLabelAxis(pg.AxisItem):
    """The bars' bottom axis: one label under each bar, laid out directly.

    Its labels (the most likely tokens) change with every training frame, and pyqtgraph's general tick
    layout (per level: a font measure per label, overlap and crowding checks) cost ~1.3 ms a frame of the
    window's ~12 (profiled, bench/gui.py), time the training process could use. Bar labels need none of
    it: one level, a label per bar, each measured once. A range or ticks of another kind: pyqtgraph's.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sizes = TextSizes()  # label -> (width, height) in the tick font

    def generateDrawSpecs(self, p):  # noqa: N802 (pyqtgraph's name)
        levels = self._tickLevels
        lo, hi = self.range
        if self.orientation != "bottom" or not levels or not levels[0] or any(levels[1:]) or hi == lo:
            return super().generateDrawSpecs(p)
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        bounds = self.mapRectFromParent(self.geometry())
        scale = bounds.width() / (hi - lo)
        top, tick = bounds.top(), self.style["tickLength"]
        pen = self.tickPen()
        below = top + max(0, tick) + self.style["tickTextOffset"][1]
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextDontClip
        ticks, texts, tallest, room = [], [], 0.0, self.boundingRect()
        for value, label in levels[0]:
            x = (value - lo) * scale
            if not 0 <= x <= bounds.width():
                continue
            ticks.append((pen, QPointF(x, top), QPointF(x, top + tick)))
            size = self._sizes(label, _label_box, p, label)
            rect = QRectF(x - size[0] / 2, below, size[0], size[1])
            if room & rect == rect:  # (pyqtgraph's rule: a label that does not fit is left out)
                texts.append((rect, flags, label))
            tallest = max(tallest, size[1])
        self._updateMaxTextSize(tallest)
        axis = (self.pen(), QPointF(bounds.left() - 1, top + 1), QPointF(bounds.right() + 1, top + 1))
        return axis, ticks, texts

    def setTickFont(self, font) -> None:  # noqa: N802 (pyqtgraph's name)
        self._sizes.clear()
        super().setTickFont(font)


def _label_box(p, label: str) -> tuple[float, float]:
    """``(width, height)`` of a tick label as pyqtgraph measures it, with the painter (and its 0.8: the
    bounding height is a bit too tall)."""
    r = p.boundingRect(QRectF(0, 0, 100, 100), Qt.AlignmentFlag.AlignCenter, label)
    return r.width(), 0.8 * r.height()


class SoftmaxPanel(SequencePanel):
    title = wording_for(None).title  # (and its other words) per task: rnnviz.lab.wording
    help_text = wording_for(None).help

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(axisItems={"bottom": BarLabelAxis(orientation="bottom")})
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.setLabel("left", "probability")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.plot.addItem(self.bars)
        # A triangle over the true next token's bar: with p near 0 the bar itself is too thin to find.
        # (A text item: moving it costs far less than re-plotting a scatter point every frame.)
        self.true_marker = pg.TextItem("▼", color=COLORS["orange"], anchor=(0.5, 1.0))
        # made once: a new QBrush per bar per frame cost ~0.3 ms of every frame
        self._bar_brush, self._true_brush = pg.mkBrush(*COLORS["blue"]), pg.mkBrush(*COLORS["orange"])
        self.plot.addItem(self.true_marker, ignoreBounds=True)
        self.true_marker.setVisible(False)
        self.pred_curve = self.plot.plot(pen=pen("blue", 2), name="prediction")
        self.true_curve = self.plot.plot(pen=pen("orange", 2, dash=True), name="true next value")
        self.selected_line = pg.InfiniteLine(angle=90, pen=pen("orange", 2, dash=True))  # as the heatmap's box
        self.plot.addItem(self.selected_line, ignoreBounds=True)
        self.selected_line.setVisible(False)
        self.layout_.addWidget(cache_axes(self.plot), 1)
        self.hint = hint(self.plot, "what the network expects next")
        self.summary = PlotCaption(self.plot)
        self.free_run = FreeRunOverlay(self.plot, self.summary)  # the sine task's closed loop, on request
        self.header.insertWidget(1, self.free_run.button)
        self.info: ModelInfo | None = None
        self._words = wording_for(None)  # what the panel calls what it shows: the model's task's (set_model)
        self.shown_t: int | None = None  # the step the bars show now
        self._data: dict[str, np.ndarray] = {}
        self._ticks: list = []

    @property
    def words(self) -> Wording:
        return self._words

    def set_model(self, info: ModelInfo) -> None:
        self.info = info
        self._words = wording_for(info.config)
        self.selected_t = self.shown_t = None
        self.snapshot = None
        item = self.plot.getPlotItem()
        regress = info.head == "regress"
        self.free_run.clear()
        self.free_run.button.setVisible(info.config.get("task") == "sine")
        self.bars.setVisible(not regress)
        item.setLabel("left", "value" if regress else "probability")
        words = self.words
        self.title = words.title
        self.setToolTip(words.help)
        item.setLabel("bottom", words.axis)
        self.hint.setText(words.hint)
        self.bars.setOpts(x=[], height=[])
        self.true_marker.setVisible(False)
        self._ticks = []
        self._data = {}
        self.pred_curve.setData([], [])
        self.true_curve.setData([], [])
        self.selected_line.setVisible(False)
        self.summary.setText(" ")
        self.plot.getPlotItem().getAxis("bottom").setTicks([[], []])
        self.plot.setXRange(0, 10, padding=0)
        self.plot.setYRange(0, 1, padding=0.02)
        place_hint(self.plot, self.hint, True)
        self.set_source(info.title)

    def show(self, snap: Snapshot) -> None:
        self.snapshot = snap
        if self.free_run.series is not None:
            if snap.source == "train" and snap.step == self.free_run.series.step:
                return  # the same weights shown again (a paused step, whole): the free run stays over them
            self.free_run.clear()  # another step, or the probe: the free run of older weights goes
        info = self.info
        if info is None:
            return
        self.set_source(source_text(snap, "values" if snap.head == "regress" else "tokens"))
        if snap.length == 0:
            self.bars.setOpts(x=[], height=[])
            self.true_marker.setVisible(False)
            self.pred_curve.setData([], [])
            self.true_curve.setData([], [])
            self.selected_line.setVisible(False)
            self._data = {}
            self.shown_t = None
            self.summary.setText("Press Step (Right arrow) to feed the first token.")
            return
        t = snap.length - 1 if self.selected_t is None else min(self.selected_t, snap.length - 1)
        self.shown_t = t
        if snap.head == "regress":
            self._show_series(snap, t)
            return
        true_id = int(snap.target_ids[t])
        self._show_bars(
            snap.top_ids[t], snap.top_probs[t], None if true_id < 0 else true_id, float(snap.target_probs[t]),
            float(snap.losses[t]), snap.input_labels[t], t,
        )  # fmt: skip

    # -- drawing ------------------------------------------------------------------------------------
    def _show_bars(self, ids, probs, true_id: int | None, true_p: float, true_nll: float, after: str, t: int) -> None:
        """Bars for the tokens ``ids`` (most likely first) with probabilities ``probs``; the true next
        token in orange (added after a gap when it is not among them). ``true_nll`` is the engine's
        own -log p, not recomputed from a rounded probability."""
        place_hint(self.plot, self.hint, False)
        labels = self.info.labels
        shown = [int(i) for i in ids]
        heights = list(np.asarray(probs, float))
        gap = true_id is not None and true_id not in shown
        if gap:
            shown.append(true_id)
            heights.append(true_p)
        brushes = [self._true_brush if i == true_id else self._bar_brush for i in shown]
        x = np.arange(len(shown), dtype=float)
        if gap:
            x[-1] += 0.5  # a small gap: the true token is not among the most likely
        self.bars.setOpts(x=x, height=np.array(heights), width=0.8, brushes=brushes)
        self.true_marker.setVisible(true_id is not None)
        if true_id is not None:
            self.true_marker.setPos(float(x[shown.index(true_id)]), min(float(true_p) + 0.06, 1.02))
        ticks = [(float(xi), labels[i] if i < len(labels) else str(i)) for xi, i in zip(x, shown, strict=True)]
        if ticks != self._ticks:  # re-laying out the axis every frame would repaint it every frame
            # a new range re-lays out both axes: only when the number of bars changes (the y range is fixed)
            if not self._ticks or ticks[-1][0] != self._ticks[-1][0]:
                self.plot.setXRange(-0.6, x[-1] + 0.6, padding=0)
            self._ticks = ticks
            self.plot.getPlotItem().getAxis("bottom").setTicks([ticks, []])
        top = shown[0]
        words = self.words
        step = f"after {t + 1} {words.steps} (last {after!r})"
        if words.per_step:
            step += f", {words.per_step}"
        text = f"{step}: most likely {labels[top]!r} (p = {heights[0]:.3f})"
        if true_id is not None:
            nll = "" if not math.isfinite(true_nll) else f"   -log p = {true_nll:.2f} nats"
            text = f"{words.target}: {labels[true_id]!r}   p = {true_p:.3f}{nll}\n" + text
        self.summary.setText(text)
        self._data = {
            "token_ids": np.array(shown),
            "probability": np.array(heights),
            "labels": np.array([labels[i] for i in shown], dtype=str),
        }

    def _show_series(self, snap: Snapshot, t: int) -> None:
        place_hint(self.plot, self.hint, False)
        pred, true = snap.outputs[:, 0], snap.target_values[:, 0]
        steps = np.arange(1, len(pred) + 1, dtype=float)
        # a NaN would hide the whole curve (and all-NaN data make pyqtgraph warn): the probe's last value has
        # no next one, and a diverged model predicts NaN
        shown = np.isfinite(pred)
        self.pred_curve.setData(steps[shown], pred[shown])
        keep = np.isfinite(true)
        self.true_curve.setData(steps[keep], true[keep])
        self.plot.getPlotItem().getAxis("bottom").setTicks(None)
        self.plot.enableAutoRange()
        self.selected_line.setVisible(self.selected_t is not None)
        self.selected_line.setPos(t + 1)
        err = np.nanmean(snap.losses) if np.isfinite(snap.losses).any() else float("nan")
        at = "" if not math.isfinite(snap.losses[t]) else f"; at t = {t + 1}: {snap.losses[t]:.4f}"
        w = self.words
        self.summary.setText(f"blue: {w.prediction}, orange: {w.target}\nmean squared error {err:.4f}{at}")
        self._data = {"t": steps, "prediction": pred, "true": true}

    def show_free_run(self, series) -> None:
        """The free run of the sine task (``lab.freerun.FreeRunSeries``) over the wave."""
        self.pred_curve.setData([], [])
        self.true_curve.setData([], [])
        self.selected_line.setVisible(False)
        place_hint(self.plot, self.hint, False)
        self.free_run.show_series(series)

    def data(self) -> dict[str, np.ndarray]:
        return self.free_run.data() or dict(self._data)

    def plot_items(self):
        return [self.plot.getPlotItem()]
