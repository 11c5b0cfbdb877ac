"""Per-training-step curves: the loss, and the global gradient norm before and after clipping.

Every step's numbers arrive (the mailbox keeps them all), so the curves are exact. To stay fast and
bounded over very long runs, a history keeps at most MAX_POINTS points: beyond that it keeps every
other older point (the newest half stays at full resolution), and drawing downsamples to the screen.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

from rnnviz.engine.clipping import ClipConfig
from rnnviz.gui import messages as m
from rnnviz.gui.panels.base import LEGEND_STYLE, Panel, StickyRange, cache_axes, finite_positive, log_plot, pen

MAX_POINTS = 200_000
SMOOTHING = 0.95  # exponential moving average of the training loss, about the last 20 steps


class History:
    """Growable columns of floats, ``x`` plus named series, with a bounded size."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self._cols = {n: np.empty(1024) for n in ("x", *names)}
        self.n = 0
        self.decimated = False

    def append(self, x: float, **values: float) -> None:
        if self.n == len(self._cols["x"]):
            if self.n >= MAX_POINTS:
                self._thin()
            else:
                for k, a in self._cols.items():
                    self._cols[k] = np.concatenate([a, np.empty(len(a))])
        self._cols["x"][self.n] = x
        for k in self.names:
            self._cols[k][self.n] = values.get(k, np.nan)
        self.n += 1

    def _thin(self) -> None:
        """Keep every other point of the older half: the newest stay exact, memory stays bounded."""
        half = self.n // 2
        for a in self._cols.values():
            kept = np.concatenate([a[:half:2], a[half : self.n]])
            a[: len(kept)] = kept
        self.n = len(kept)
        self.decimated = True

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name][: self.n]

    def clear(self) -> None:
        self.n = 0
        self.decimated = False


def _history_plot(y_label: str, log_y: bool) -> pg.PlotWidget:
    plot = log_plot() if log_y else pg.PlotWidget()
    plot.setMenuEnabled(False)
    item = plot.getPlotItem()
    item.setLabel("bottom", "training step")
    item.setLabel("left", y_label)
    item.showGrid(x=False, y=True, alpha=0.2)
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    # Ranges are set by the panel when it refreshes (autorange would rescan every point at every paint).
    item.enableAutoRange(x=False, y=False)
    return plot


def _set_x_range(plot: pg.PlotWidget, x: np.ndarray) -> None:
    if len(x):
        plot.setXRange(0, max(float(x[-1]), 10.0), padding=0.02)


class LossPanel(Panel):
    title = "Loss"
    help_text = (
        "The training loss at every step (grey), its moving average (blue) and the loss on held-out "
        "validation text (orange dots). For a language model the loss is in nats per token: ln(V) at the "
        "start (guessing uniformly), lower is better."
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = _history_plot("loss", log_y=False)
        item = self.plot.getPlotItem()
        self.legend = item.addLegend(offset=(-5, 5), labelTextSize="8pt", **LEGEND_STYLE)
        self.raw = self.plot.plot(pen=pen("grey", 1, alpha=120), name="train (each step)")
        self.smooth = self.plot.plot(pen=pen("blue", 2), name="train (moving average)")
        self.val = self.plot.plot(
            pen=pen("orange", 1), symbol="o", symbolSize=6, symbolBrush=(230, 120, 20), name="validation"
        )
        self.layout_.addWidget(cache_axes(self.plot), 1)
        self.history = History(("loss", "smooth"))
        self.val_history = History(("loss",))
        self.y_range = StickyRange(self.plot, log=False)
        self._ema = 0.0
        self._ema_weight = 0.0  # 1 - SMOOTHING**n: corrects the average's start-up bias (as Adam does)
        self._dirty = False

    def set_model(self, info: m.ModelInfo) -> None:
        unit = {"lm": "loss (nats per token)", "classify": "loss (nats per name)", "regress": "mean squared error"}
        self.plot.getPlotItem().setLabel("left", unit[info.head])
        self.history.clear()
        self.val_history.clear()
        self._ema = self._ema_weight = 0.0
        self.y_range.reset()
        self.plot.setXRange(0, 100, padding=0.02)
        self.plot.setYRange(0, 5 if info.head != "regress" else 1, padding=0)
        self._dirty = True
        self.set_source(info.title)
        self.refresh()

    def add_steps(self, steps: list[m.StepScalars]) -> None:
        for s in steps:
            if math.isfinite(s.loss):
                self._ema = SMOOTHING * self._ema + (1 - SMOOTHING) * s.loss
                self._ema_weight = SMOOTHING * self._ema_weight + (1 - SMOOTHING)
            smooth = self._ema / self._ema_weight if self._ema_weight else np.nan
            self.history.append(s.step, loss=s.loss if math.isfinite(s.loss) else np.nan, smooth=smooth)
        self._dirty = self._dirty or bool(steps)

    def add_eval(self, ev: m.EvalResult) -> None:
        self.val_history.append(ev.step, loss=ev.loss)
        self._dirty = True

    def refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        h = self.history
        x, y = h["x"], h["loss"]
        keep = np.isfinite(y)
        self.raw.setData(x[keep], y[keep])
        xs, ys = h["x"], h["smooth"]
        keep = np.isfinite(ys)
        self.smooth.setData(xs[keep], ys[keep])
        vx, vy = self.val_history["x"], self.val_history["loss"]
        keep = np.isfinite(vy)  # one NaN would hide the whole curve
        self.val.setData(vx[keep], vy[keep])
        self.y_range.update(y, self.val_history["loss"])
        _set_x_range(self.plot, x)

    def data(self) -> dict[str, np.ndarray]:
        return {
            "step": self.history["x"],
            "train_loss": self.history["loss"],
            "train_loss_smoothed": self.history["smooth"],
            "val_step": self.val_history["x"],
            "val_loss": self.val_history["loss"],
        }

    def plot_items(self):
        return [self.plot.getPlotItem()]


class NormHistoryPanel(Panel):
    title = "Gradient norm"
    help_text = (
        "The size of the whole gradient at every training step (log scale): before clipping (blue) and "
        "after (orange). Red dots mark the steps that were clipped; the dashed line is the norm-clipping "
        "threshold. Spikes in blue are exploding gradients; clipping keeps orange under the line."
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = _history_plot("gradient norm (log)", log_y=True)
        item = self.plot.getPlotItem()
        self.legend = item.addLegend(offset=(-5, 5), labelTextSize="8pt", **LEGEND_STYLE)
        # Opaque: Qt fills a wide translucent line as one self-intersecting polygon, and a jagged curve of
        # thousands of steps then took ~40 ms a paint after a minute of training and ~160 ms by 2,000
        # steps (measured); an opaque pen stays at a few milliseconds however long the run.
        self.pre = self.plot.plot(pen=pen("light blue", 2), name="before clipping")
        self.post = self.plot.plot(pen=pen("orange", 1), name="after clipping")
        self.events = self.plot.plot(
            pen=None, symbol="o", symbolSize=4, symbolPen=None, symbolBrush=(214, 39, 40), name="clipped step"
        )
        self.threshold = pg.InfiniteLine(
            angle=0,
            pen=pen("red", 1, dash=True),
            label="clip threshold",
            # at the left, on a light backing: readable above dense curves
            labelOpts={
                "position": 0.02,
                "color": (214, 39, 40),
                "anchors": [(0, 1), (0, 1)],
                "fill": (255, 255, 255, 210),
            },
        )
        self.plot.addItem(self.threshold)
        self.threshold.setVisible(False)
        self.layout_.addWidget(cache_axes(self.plot), 1)
        self.summary = QLabel(" ")
        self.layout_.addWidget(self.summary)
        self.history = History(("pre", "post", "clipped"))
        self.y_range = StickyRange(self.plot, log=True)
        self._dirty = False
        self._threshold: float | None = None  # norm clipping: kept inside the y range
        self._clipped_total = 0
        self._steps_total = 0

    def set_model(self, info: m.ModelInfo) -> None:
        self.history.clear()
        self.y_range.reset()
        self.plot.setXRange(0, 100, padding=0.02)
        self.plot.setYRange(-3, 1, padding=0)
        self._clipped_total = self._steps_total = 0
        self.summary.setText(" ")
        self._dirty = True
        self.refresh()

    def set_clip(self, clip: ClipConfig) -> None:
        # visible first: pyqtgraph skips re-rendering the label text of a hidden line
        self.threshold.setVisible(clip.mode == "norm")
        if clip.mode == "norm":
            self.threshold.setPos(math.log10(clip.threshold))
            self.threshold.label.setFormat(f"norm threshold {clip.threshold:g}")
        self._threshold = clip.threshold if clip.mode == "norm" else None
        self.set_source(f"clipping: {clip}")
        self._dirty = True

    def add_steps(self, steps: list[m.StepScalars]) -> None:
        for s in steps:
            self.history.append(s.step, pre=s.grad_norm, post=s.clipped_norm, clipped=float(s.clipped))
            self._clipped_total += s.clipped
            self._steps_total += 1
        self._dirty = self._dirty or bool(steps)

    def refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        h = self.history
        x = h["x"]
        self.pre.setData(*finite_positive(x, h["pre"]))
        self.post.setData(*finite_positive(x, h["post"]))
        clipped = h["clipped"] > 0.5
        self.events.setData(*finite_positive(x[clipped][-5000:], h["pre"][clipped][-5000:]))
        self.y_range.update(h["pre"], h["post"], np.array([] if self._threshold is None else [self._threshold]))
        _set_x_range(self.plot, x)
        if self._steps_total:
            share = self._clipped_total / self._steps_total
            self.summary.setText(f"{self._clipped_total:,} of {self._steps_total:,} steps clipped ({share:.0%})")

    def data(self) -> dict[str, np.ndarray]:
        h = self.history
        return {
            "step": h["x"],
            "norm_before_clipping": h["pre"],
            "norm_after_clipping": h["post"],
            "clipped": h["clipped"],
        }

    def plot_items(self):
        return [self.plot.getPlotItem()]
