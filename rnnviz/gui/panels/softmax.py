"""What the network expects next: the softmax over the next token (or over the classes), as bars.

The most likely tokens are drawn from the left; the true next token is orange (added at the right if it
is not among them), with its probability p and its loss -log p. For the sine task the panel shows the
predicted values against the true ones instead.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

from rnnviz.gui import messages as m
from rnnviz.gui.messages import TOP_K
from rnnviz.gui.panels.base import COLORS, Panel, cache_axes, hint, pen, place_hint


class SoftmaxPanel(Panel):
    title = "Next token"
    help_text = (
        "The probability the network gives each possible next token after reading up to the chosen step "
        "(the bars add up to 1 over the whole vocabulary; only the most likely are shown). Orange is the "
        "token that really came next: -log p is the loss the network pays for it."
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.setLabel("left", "probability")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.plot.addItem(self.bars)
        # A triangle over the true next token's bar: with p near 0 the bar itself is too thin to find.
        self.true_marker = pg.ScatterPlotItem(symbol="t", size=11, pen=None, brush=pg.mkBrush(*COLORS["orange"]))
        self.plot.addItem(self.true_marker)
        self.pred_curve = self.plot.plot(pen=pen("blue", 2), name="prediction")
        self.true_curve = self.plot.plot(pen=pen("orange", 2, dash=True), name="true next value")
        self.layout_.addWidget(cache_axes(self.plot), 1)
        self.hint = hint(self.plot, "what the network expects next")
        self.summary = QLabel(" ")
        self.summary.setWordWrap(True)
        self.layout_.addWidget(self.summary)
        self.info: m.ModelInfo | None = None
        self.selected_t: int | None = None  # training view: the step to show (None: the last one)
        self._last: object = None
        self._data: dict[str, np.ndarray] = {}
        self._ticks: list = []

    def set_model(self, info: m.ModelInfo) -> None:
        self.info = info
        self.selected_t = None
        self._last = None
        item = self.plot.getPlotItem()
        regress = info.head == "regress"
        self.bars.setVisible(not regress)
        item.setLabel("left", "value" if regress else "probability")
        item.setLabel("bottom", "time step t" if regress else ("class" if info.head == "classify" else "next token"))
        self.bars.setOpts(x=[], height=[])
        self.true_marker.setData([], [])
        self._ticks = []
        self.pred_curve.setData([], [])
        self.true_curve.setData([], [])
        self.summary.setText(" ")
        self.plot.getPlotItem().getAxis("bottom").setTicks([[], []])
        self.plot.setXRange(0, 10, padding=0)
        self.plot.setYRange(0, 1, padding=0.02)
        place_hint(self.plot, self.hint, True)
        self.set_source(info.title)

    def select_time(self, t: int) -> None:
        self.selected_t = t
        if isinstance(self._last, m.TrainView):
            self.show_train(self._last)

    # -- training batch -------------------------------------------------------------------------
    def show_train(self, view: m.TrainView) -> None:
        self._last = view
        info = self.info
        if info is None:
            return
        if info.head == "regress":
            pred, true = view.outputs[:, 0], np.asarray(view.y)[:, 0]
            self._show_series(pred, true)
            self.set_source(f"Training batch, row {view.row}, step {view.step:,}")
            return
        if info.head == "classify":
            order = np.argsort(view.probs)[::-1][:TOP_K]
            y = int(view.y)
            self._show_bars(order, view.probs[order], y, float(view.probs[y]), float(view.losses))
            name = "".join(view.input_labels or ())
            self.set_source(f"Training batch, row {view.row}: {name!r}")
            return
        t = view.length - 1 if self.selected_t is None else min(self.selected_t, view.length - 1)
        self._show_bars(view.top_ids[t], view.top_probs[t], int(view.y[t]), float(view.target_probs[t]),
                        float(view.losses[t]))  # fmt: skip
        after = view.input_labels[t] if view.input_labels else ""
        self.set_source(f"Training batch, row {view.row}, after token {t + 1} ({after!r})")

    # -- probe ------------------------------------------------------------------------------------
    def show_probe(self, view: m.ProbeView) -> None:
        self._last = view
        info = self.info
        if info is None:
            return
        if view.position == 0:
            self.bars.setOpts(x=[], height=[])
            self.true_marker.setData([], [])
            self.summary.setText("Press Step (Right arrow) to feed the first token.")
            self.set_source("Probe sentence: nothing read yet")
            return
        if info.head == "regress":
            steps = view.position
            self._show_series(view.predictions[:, 0], view.ids[1 : steps + 1, 0])
            self.set_source(f"Probe wave: {steps} values read")
            return
        order = np.argsort(view.probs)[::-1][:TOP_K]
        true_p = None if view.true_next is None else float(view.probs[view.true_next])
        self._show_bars(order, view.probs[order], view.true_next, true_p, view.true_nll)
        self.set_source(f"Probe sentence, after {view.labels[view.position - 1]!r} ({view.position} tokens read)")

    # -- drawing ------------------------------------------------------------------------------------
    def _show_bars(self, ids, probs, true_id: int | None, true_p: float | None, true_nll: float | None) -> None:
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
        brushes = [pg.mkBrush(*(COLORS["orange"] if i == true_id else COLORS["blue"])) for i in shown]
        x = np.arange(len(shown), dtype=float)
        if gap:
            x[-1] += 0.5  # a small gap: the true token is not among the most likely
        self.bars.setOpts(x=x, height=np.array(heights), width=0.8, brushes=brushes)
        if true_id is None:
            self.true_marker.setData([], [])
        else:
            xt = float(x[shown.index(true_id)])
            self.true_marker.setData([xt], [min(float(true_p) + 0.05, 1.0)])
        ticks = [(float(xi), labels[i] if i < len(labels) else str(i)) for xi, i in zip(x, shown, strict=True)]
        if ticks != self._ticks:  # re-laying out the axis every frame would repaint it every frame
            self._ticks = ticks
            self.plot.getPlotItem().getAxis("bottom").setTicks([ticks, []])
            self.plot.setYRange(0, 1, padding=0.02)
            self.plot.setXRange(-0.6, x[-1] + 0.6, padding=0)
        top = shown[0]
        text = f"most likely: {labels[top]!r} (p = {heights[0]:.3f})"
        if true_id is not None:
            nll = "" if true_nll is None else f"   -log p = {true_nll:.2f} nats"
            text = f"true next: {labels[true_id]!r}   p = {true_p:.3f}{nll}    |    " + text
        self.summary.setText(text)
        self._data = {
            "token_ids": np.array(shown),
            "probability": np.array(heights),
            "labels": np.array([labels[i] for i in shown], dtype=str),
        }

    def _show_series(self, pred: np.ndarray, true: np.ndarray) -> None:
        place_hint(self.plot, self.hint, False)
        t = np.arange(1, len(pred) + 1)
        self.pred_curve.setData(t, pred)
        self.true_curve.setData(np.arange(1, len(true) + 1), true)
        self.plot.getPlotItem().getAxis("bottom").setTicks(None)
        self.plot.enableAutoRange()
        if len(pred):
            err = float(np.mean((pred[: len(true)] - true[: len(pred)]) ** 2)) if len(true) else float("nan")
            self.summary.setText(f"blue: predicted next value, orange: true next value; mean squared error {err:.4f}")
        self._data = {"t": t, "prediction": pred, "true": true}

    def data(self) -> dict[str, np.ndarray]:
        return dict(self._data)

    def plot_items(self):
        return [self.plot.getPlotItem()]
