"""Per-training-step curves: the loss, and the global gradient norm before and after clipping.

Every step's numbers arrive (the mailbox keeps them all), so the curves are exact. To stay fast and
bounded over very long runs, a curve keeps at most ``training.log.MAX_POINTS`` points (``Columns``:
beyond that every other older point goes, the newest half stays at full resolution), and drawing
downsamples to the screen. A loaded checkpoint brings its run's history (``RunLog``) and the curves
continue from it.

In compare mode (``set_compare``) each panel also draws run B, dashed, over run A, solid, in the
same colours, with the legend naming what tells them apart ("A: clip=off", "B: clip=norm:1"); the
curves of each run come only from that run's numbers (``StepScalars.run``).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

from rnnviz.engine.clipping import ClipConfig
from rnnviz.gui.panels.base import COLORS, LEGEND_STYLE, Panel, StickyRange, cache_axes, finite_positive, log_plot, pen
from rnnviz.lab import events as e
from rnnviz.training.log import Columns

SMOOTHING = 0.95  # exponential moving average of the training loss, about the last 20 steps
MAX_CLIP_MARKERS = 4000  # beyond this many clipped steps, markers are merged (every clipped step stays marked)


class PixelEnvelope(pg.PlotDataItem):
    """A line of a whole run's steps, drawn as one min/max pair per pixel column of the x range shown.

    pyqtgraph's own downsampling keeps ~5 points per pixel column, each bin drawn as its min and max:
    at 10,000 steps the gradient-norm curve was ~6,500 line segments piled over ~650 px, 19 ms a
    paint, growing with the run (bench/gui.py --seconds 240: p99 lateness 14 ms in the first minute,
    34 ms in the fourth). And its bins drop the last ``len % ds`` points: the newest steps, where a
    spike would be. Here the bins cover every point of the visible range, the newest included, and are
    made again when the range or the plot's width changes (a zoom shows the detail). Same envelope on
    screen, a cost that no longer grows with the run. ``full_data()`` gives what was set.
    """

    def __init__(self, *args, **kwargs):
        self._full = (np.zeros(0), np.zeros(0))
        self._view = None
        super().__init__(*args, **kwargs)

    def setData(self, *args, **kwargs) -> None:  # noqa: N802 (pyqtgraph's name)
        if len(args) == 2 and not kwargs:  # (x, y): the panels' calls
            self._full = (np.asarray(args[0], float), np.asarray(args[1], float))
            self._watch_view()
            super().setData(*self._envelope())
        else:  # pyqtgraph's own calls (construction, styles)
            super().setData(*args, **kwargs)

    def full_data(self) -> tuple[np.ndarray, np.ndarray]:
        return self._full

    def _watch_view(self) -> None:
        view = self.getViewBox()
        if view is not None and view is not self._view:
            self._view = view
            view.sigXRangeChanged.connect(self._redraw)
            view.sigResized.connect(self._redraw)

    def _redraw(self, *_) -> None:
        super().setData(*self._envelope())

    def _envelope(self) -> tuple[np.ndarray, np.ndarray]:
        """The visible points (and one beyond each edge), at most two per pixel column: each column's
        highest then lowest value, at the column's first step."""
        x, y = self._full
        view = self._view
        if view is None or len(x) < 2:
            return x, y
        (left, right), _ = view.viewRange()
        start = max(int(np.searchsorted(x, left)) - 1, 0)
        stop = min(int(np.searchsorted(x, right, side="right")) + 1, len(x))
        x, y = x[start:stop], y[start:stop]
        columns = int(view.width())
        if columns < 1 or len(x) <= 2 * columns:
            return x, y
        edges = np.linspace(x[0], x[-1], columns + 1)[:-1]
        first = np.unique(np.searchsorted(x, edges))  # each non-empty column's first point
        top, bottom = np.maximum.reduceat(y, first), np.minimum.reduceat(y, first)
        return np.repeat(x[first], 2), np.column_stack([top, bottom]).reshape(-1)


def envelope_line(plot: pg.PlotWidget, **opts) -> PixelEnvelope:
    """A :class:`PixelEnvelope` line added to ``plot`` (as ``plot.plot(**opts)`` would add a curve)."""
    line = PixelEnvelope(**opts)
    plot.addItem(line)
    return line


def _history_plot(y_label: str, log_y: bool) -> pg.PlotWidget:
    plot = log_plot() if log_y else pg.PlotWidget()
    plot.setMenuEnabled(False)
    item = plot.getPlotItem()
    item.setLabel("bottom", "training step")
    item.setLabel("left", y_label)
    item.showGrid(x=False, y=True, alpha=0.2)
    # No pyqtgraph downsampling: the lines are PixelEnvelopes, which bin themselves (pyqtgraph's bins
    # would drop their newest points), and the markers are few (clip_markers keeps at most 4,000).
    item.setClipToView(True)
    # Ranges are set by the panel when it refreshes (autorange would rescan every point at every paint).
    item.enableAutoRange(x=False, y=False)
    return plot


class ShownStep:
    """A vertical line at the training step the sequence panels show from the history (none when live)."""

    def __init__(self, plot: pg.PlotWidget):
        self.line = pg.InfiniteLine(angle=90, pen=pen("orange", 2, dash=True), label="shown", labelOpts={
            "position": 0.95, "color": COLORS["orange"], "fill": (255, 255, 255, 210)})  # fmt: skip
        plot.addItem(self.line, ignoreBounds=True)
        self.line.setVisible(False)

    def mark(self, step: int | None) -> None:
        self.line.setVisible(step is not None)
        if step is not None:
            self.line.setPos(step)
            self.line.label.setFormat(f"step {step:,} shown")


def _set_x_range(plot: pg.PlotWidget, x: np.ndarray) -> None:
    if len(x):
        plot.setXRange(0, max(float(x[-1]), 10.0), padding=0.02)


class CompareOverlay:
    """Run B drawn over run A on a curve panel (compare mode). A panel names its B items
    (``b_items``), forgets B's numbers (``clear_b``) and lists its legend (``legend_names``, given the
    prefixes "A: clip=off, " and "B: ...", or "" for one run)."""

    labels: dict[str, str]
    spike_steps: dict[str, list[int]]  # per run, the steps the lab called spikes (a red cross on each)

    @property
    def comparing(self) -> bool:
        return bool(self.labels)

    def mark_spike(self, ev: e.SpikeFound) -> None:
        if ev.run in self.spike_steps:
            self.spike_steps[ev.run].append(ev.step)
            self._dirty = True

    def set_compare(self, info: e.CompareInfo | None) -> None:
        """Show run B beside A (``info`` comparing), or A alone."""
        self.labels = compare_labels(info)
        for item in self.b_items():
            item.setVisible(self.comparing)
        if not self.comparing:
            self.clear_b()
        self.legend.clear()
        for item, name in self.legend_names(*legend_prefixes(self.labels)):
            self.legend.addItem(item, name)
        self._dirty = True


class LossPanel(CompareOverlay, Panel):
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
        self.raw = envelope_line(self.plot, pen=pen("grey", 1, alpha=120), name="train (each step)")
        self.smooth = envelope_line(self.plot, pen=pen("blue", 2), name="train (moving average)")
        self.val = self.plot.plot(
            pen=pen("orange", 1), symbol="o", symbolSize=6, symbolBrush=(230, 120, 20), name="validation"
        )
        # run B of a comparison: its moving average and validation, dashed (hidden until comparing)
        # 1 px: Qt strokes a wider dashed line of many points slowly (compare mode's p99 lateness went
        # from 28 to 50 ms with 2 px dashes on the two history panels)
        self.b_smooth = envelope_line(self.plot, pen=pen("blue", 1, dash=True))
        self.b_val = self.plot.plot(
            pen=pen("orange", 1, dash=True), symbol="t", symbolSize=7, symbolBrush=(230, 120, 20)
        )
        self.spikes = spike_marker(self.plot)
        self.b_spikes = spike_marker(self.plot)  # on B's moving average
        self.spike_steps = {e.MAIN: [], e.OTHER: []}
        self.layout_.addWidget(cache_axes(self.plot), 1)
        # the newest validation of each run in words, perplexity beside the loss for a language model
        self.val_note = QLabel(" ")
        self.layout_.addWidget(self.val_note)
        self._newest_eval: dict[str, e.EvalResult] = {}
        self.runs = {e.MAIN: LossSeries(), e.OTHER: LossSeries()}
        self.labels: dict[str, str] = {}  # in compare mode, per run: "clip=off"
        self.y_range = StickyRange(self.plot, log=False)
        self.shown_step = ShownStep(self.plot)
        self._dirty = False
        self.set_compare(None)

    @property
    def history(self) -> Columns:
        return self.runs[e.MAIN].steps

    @property
    def val_history(self) -> Columns:
        return self.runs[e.MAIN].evals

    def b_items(self) -> tuple:
        return self.b_smooth, self.b_val, self.b_spikes

    def clear_b(self) -> None:
        self.runs[e.OTHER].clear()
        self.spike_steps[e.OTHER].clear()
        self._newest_eval.pop(e.OTHER, None)

    def legend_names(self, a: str, b: str) -> list:
        names = [(self.raw, f"{a}train (each step)"), (self.smooth, f"{a}train (moving average)"),
                 (self.val, f"{a}validation")]  # fmt: skip
        if self.comparing:
            names += [(self.b_smooth, f"{b}train (moving average)"), (self.b_val, f"{b}validation")]
        return [*names, (self.spikes, "spike")]

    def set_model(self, info: e.ModelInfo) -> None:
        self.shown_step.mark(None)
        unit = {"lm": "loss (nats per token)", "classify": "loss (nats per name)", "regress": "mean squared error"}
        self.plot.getPlotItem().setLabel("left", unit[info.head])
        self.runs[info.run].clear()
        self.spike_steps[info.run].clear()
        self._newest_eval.pop(info.run, None)
        self._write_val_note()
        if info.run != e.MAIN:
            self._dirty = True
            return
        self.y_range.reset()
        self.plot.setXRange(0, 100, padding=0.02)
        self.plot.setYRange(0, 5 if info.head != "regress" else 1, padding=0)
        self._dirty = True
        self.set_source(info.title)
        self.refresh()

    def add_steps(self, steps: list[e.StepScalars]) -> None:
        for s in steps:
            if s.run in self.runs:
                self.runs[s.run].add(s.step, s.loss)
        self._dirty = self._dirty or bool(steps)

    def add_eval(self, ev: e.EvalResult) -> None:
        if ev.run in self.runs:
            self.runs[ev.run].evals.append(ev.step, loss=ev.loss)
            self._newest_eval[ev.run] = ev
            self._write_val_note()
            self._dirty = True

    def _write_val_note(self) -> None:
        parts = []
        for run, ev in sorted(self._newest_eval.items()):
            if run != e.MAIN and not self.comparing:
                continue
            who = f"{run}: " if self.comparing else ""
            extra = f", perplexity {ev.perplexity:,.4g}" if ev.perplexity is not None else ""
            extra += f", {ev.accuracy:.1%} right" if ev.accuracy is not None else ""
            parts.append(f"{who}validation at step {ev.step:,}: loss {ev.loss:.4g}{extra}")
        text = "   ·   ".join(parts) or " "
        if self.val_note.text() != text:  # (compare mode on or off changes the words too: refresh calls this)
            self.val_note.setText(text)

    def load_log(self, log: e.RunLog) -> None:
        """A loaded (or forked) run's history: its curves again, as they were when it was saved."""
        series = self.runs.get(log.run)
        if series is None:
            return
        for step, loss in zip(log.step, log.loss, strict=True):
            series.add(float(step), float(loss))
        series.evals.extend(log.eval_step, loss=log.eval_loss)
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
        self._write_val_note()
        vx, vy = self.val_history["x"], self.val_history["loss"]
        keep = np.isfinite(vy)  # one NaN would hide the whole curve
        self.val.setData(vx[keep], vy[keep])
        self.spikes.setData(*spike_points(h["x"], h["loss"], self.spike_steps[e.MAIN]))
        ranged = [y, self.val_history["loss"]]
        if self.comparing:
            b = self.runs[e.OTHER]
            bx, by = b.steps["x"], b.steps["smooth"]
            keep = np.isfinite(by)
            self.b_smooth.setData(bx[keep], by[keep])
            self.b_spikes.setData(*spike_points(bx, by, self.spike_steps[e.OTHER]))
            vx, vy = b.evals["x"], b.evals["loss"]
            keep = np.isfinite(vy)
            self.b_val.setData(vx[keep], vy[keep])
            ranged += [by, vy]
            x = np.concatenate([x, bx])
        self.y_range.update(*ranged)
        _set_x_range(self.plot, x)

    def data(self) -> dict[str, np.ndarray]:
        out = {}
        for run, series in self.runs.items():
            if run != e.MAIN and not self.comparing:
                continue
            prefix = "" if not self.comparing else f"{run}_"
            out.update({
                f"{prefix}step": series.steps["x"], f"{prefix}train_loss": series.steps["loss"],
                f"{prefix}train_loss_smoothed": series.steps["smooth"], f"{prefix}val_step": series.evals["x"],
                f"{prefix}val_loss": series.evals["loss"],
            })  # fmt: skip
        return out

    def plot_items(self):
        return [self.plot.getPlotItem()]


class LossSeries:
    """One run's loss curve: every step's loss, its moving average, and the validations."""

    def __init__(self) -> None:
        self.steps = Columns(("loss", "smooth"))
        self.evals = Columns(("loss",))
        self.clear()

    def clear(self) -> None:
        self.steps.clear()
        self.evals.clear()
        self._ema = 0.0
        self._ema_weight = 0.0  # 1 - SMOOTHING**n: corrects the average's start-up bias (as Adam does)

    def add(self, step: float, loss: float) -> None:
        if math.isfinite(loss):
            self._ema = SMOOTHING * self._ema + (1 - SMOOTHING) * loss
            self._ema_weight = SMOOTHING * self._ema_weight + (1 - SMOOTHING)
        smooth = self._ema / self._ema_weight if self._ema_weight else np.nan
        self.steps.append(step, loss=loss if math.isfinite(loss) else np.nan, smooth=smooth)


class NormHistoryPanel(CompareOverlay, Panel):
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
        self.pre = envelope_line(self.plot, pen=pen("light blue", 3), name="before clipping")
        # Where clipping acts, the clipped norm lies exactly on the threshold: drawn 2 px wide above the
        # (thin, dashed) threshold line, so it shows instead of hiding under it.
        self.post = envelope_line(self.plot, pen=pen("orange", 2), name="after clipping")
        self.post.setZValue(5)
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
        self.threshold.setZValue(-5)
        self.threshold.setVisible(False)
        # run B of a comparison, dashed (hidden until comparing)
        self.b_pre = envelope_line(self.plot, pen=pen("blue", 1, dash=True))  # 1 px dashes: see LossPanel
        self.b_post = envelope_line(self.plot, pen=pen("orange", 1, dash=True))
        self.b_post.setZValue(5)
        self.layout_.addWidget(cache_axes(self.plot), 1)
        self.summary = QLabel(" ")
        self.layout_.addWidget(self.summary)
        self.history = Columns(("pre", "post", "clipped"))
        self.b_history = Columns(("pre", "post", "clipped"))
        self.labels: dict[str, str] = {}
        self.spikes = spike_marker(self.plot)
        self.b_spikes = spike_marker(self.plot)
        self.spike_steps = {e.MAIN: [], e.OTHER: []}
        self.y_range = StickyRange(self.plot, log=True)
        self.shown_step = ShownStep(self.plot)
        self._dirty = False
        self._threshold: float | None = None  # norm clipping: kept inside the y range
        self._clipped_total = 0
        self._steps_total = 0
        self.set_compare(None)

    def b_items(self) -> tuple:
        return self.b_pre, self.b_post, self.b_spikes

    def clear_b(self) -> None:
        self.b_history.clear()
        self.spike_steps[e.OTHER].clear()

    def legend_names(self, a: str, b: str) -> list:
        names = [(self.pre, f"{a}before clipping"), (self.post, f"{a}after clipping"), (self.events, "clipped step")]
        if self.comparing:
            names += [(self.b_pre, f"{b}before clipping"), (self.b_post, f"{b}after clipping")]
        return [*names, (self.spikes, "spike")]

    def set_model(self, info: e.ModelInfo) -> None:
        self.spike_steps[info.run].clear()
        if info.run != e.MAIN:
            self.b_history.clear()
            self._dirty = True
            return
        self.shown_step.mark(None)
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

    def add_steps(self, steps: list[e.StepScalars]) -> None:
        for s in steps:
            if s.run == e.MAIN:
                self.history.append(s.step, pre=s.grad_norm, post=s.clipped_norm, clipped=float(s.clipped))
                self._clipped_total += s.clipped
                self._steps_total += 1
            elif s.run == e.OTHER:
                self.b_history.append(s.step, pre=s.grad_norm, post=s.clipped_norm, clipped=float(s.clipped))
        self._dirty = self._dirty or bool(steps)

    def load_log(self, log: e.RunLog) -> None:
        if log.run == e.OTHER:
            self.b_history.extend(log.step, pre=log.grad_norm, post=log.clipped_norm, clipped=log.clipped)
            self._dirty = True
            return
        self.history.extend(log.step, pre=log.grad_norm, post=log.clipped_norm, clipped=log.clipped)
        self._clipped_total += int(np.sum(log.clipped > 0.5))
        self._steps_total += len(log.step)
        self._dirty = True

    def refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        h = self.history
        x = h["x"]
        self.pre.setData(*finite_positive(x, h["pre"]))
        self.post.setData(*finite_positive(x, h["post"]))
        self.events.setData(*clip_markers(x, h["pre"], h["clipped"] > 0.5))
        self.spikes.setData(*spike_points(x, h["pre"], self.spike_steps[e.MAIN]))
        ranged = [h["pre"], h["post"], np.array([] if self._threshold is None else [self._threshold])]
        if self.comparing:
            b = self.b_history
            self.b_pre.setData(*finite_positive(b["x"], b["pre"]))
            self.b_post.setData(*finite_positive(b["x"], b["post"]))
            self.b_spikes.setData(*spike_points(b["x"], b["pre"], self.spike_steps[e.OTHER]))
            ranged += [b["pre"], b["post"]]
            x = np.concatenate([x, b["x"]])
        self.y_range.update(*ranged)
        _set_x_range(self.plot, x)
        if self._steps_total:
            share = self._clipped_total / self._steps_total
            self.summary.setText(f"{self._clipped_total:,} of {self._steps_total:,} steps clipped ({share:.0%})")

    def data(self) -> dict[str, np.ndarray]:
        out = {}
        for run, h in ((e.MAIN, self.history), (e.OTHER, self.b_history)):
            if run != e.MAIN and not self.comparing:
                continue
            prefix = "" if not self.comparing else f"{run}_"
            out.update({
                f"{prefix}step": h["x"], f"{prefix}norm_before_clipping": h["pre"],
                f"{prefix}norm_after_clipping": h["post"], f"{prefix}clipped": h["clipped"],
            })  # fmt: skip
        return out

    def plot_items(self):
        return [self.plot.getPlotItem()]


def compare_labels(info: e.CompareInfo | None) -> dict[str, str]:
    """Run id -> label while comparing ("A" -> "clip=off"); {} for one run."""
    return dict(zip(info.runs, info.labels, strict=True)) if info is not None and info.comparing else {}


def legend_prefixes(labels: dict[str, str]) -> tuple[str, str]:
    """How the legends begin for A and for B: "A: clip=off, " while comparing, "" otherwise."""
    return tuple(f"{r}: {labels[r]}, " if labels else "" for r in (e.MAIN, e.OTHER))


def spike_points(x: np.ndarray, y: np.ndarray, steps: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Where to mark spikes: at each spike step, the curve's own value there (steps not on it: none)."""
    if not steps or not len(x):
        return np.empty(0), np.empty(0)
    at = np.searchsorted(x, np.asarray(steps, float))
    at = at[(at < len(x))]
    at = at[np.isin(x[at], steps)]
    return finite_positive(x[at], y[at])


def spike_marker(plot: pg.PlotWidget):
    """A red cross per spike (over the curves), named in the legend."""
    item = plot.plot(pen=None, symbol="x", symbolSize=12, symbolPen=pen("red", 2), name="spike")
    item.setZValue(10)
    return item


def clip_markers(x: np.ndarray, pre: np.ndarray, clipped: np.ndarray, limit: int = MAX_CLIP_MARKERS):
    """Where to draw the "clipped step" dots: one per clipped step, or, beyond ``limit`` of them, one
    per stretch of the run holding clipped steps (``limit`` equal stretches of the x axis, the dot at
    the largest norm in it), so every clipped step still lies under a dot and a long run stays fast."""
    xs, ys = finite_positive(x[clipped], pre[clipped])
    if len(xs) <= limit:
        return xs, ys
    edges = np.linspace(xs[0], xs[-1], limit + 1)
    bins = np.minimum(np.searchsorted(edges, xs, side="right") - 1, limit - 1)  # (n,) stretch of each step
    order = np.lexsort((-ys, bins))  # by stretch, the largest norm first
    first = order[np.r_[True, bins[order][1:] != bins[order][:-1]]]
    return xs[first], ys[first]
