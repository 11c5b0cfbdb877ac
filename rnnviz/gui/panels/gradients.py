"""Gradients through time: how strongly the loss reaches back to each time step.

Two curves per training step, for the displayed batch row and layer, on a log axis:

- ||dL_T/dh_t|| (solid): the gradient of the *last* step's loss alone. It can only reach h_t by
  travelling back T - t steps through the recurrence, so its slope is the lesson: falling to the left
  means vanishing gradients, rising means exploding ones.
- ||dL/dh_t|| (thin): the whole BPTT gradient reaching h_t (every later step's loss adds to it).

When the clipping setting changes, the last curves drawn under the old setting stay on the plot,
dimmed and labelled, so the two settings can be compared on one picture. In compare mode the other
run's curves of the same step are drawn dashed over the shown run's (``show_other``). The step
selected in the heatmap is marked with a vertical line.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel

from rnnviz.gui.panels.base import (
    LEGEND_STYLE,
    PlotCaption,
    SequencePanel,
    StickyRange,
    cache_axes,
    finite_positive,
    hint,
    log_plot,
    pen,
    place_hint,
    source_text,
)
from rnnviz.gui.panels.history import compare_labels
from rnnviz.lab.events import CompareInfo, ModelInfo
from rnnviz.lab.snapshot import Snapshot

PIN_COLORS = ("purple", "green", "grey")


# Below this, the last step's loss is about 0 (a confident right answer): its gradient is tiny at every
# step and its shape says little about how far signals travel back (issue 9: a converged RNN was called
# "stable" and an LSTM "vanishing" from this ratio). The regime is named by the mechanism panel only.
TINY_GRADIENT = 1e-4


def describe_decay(last: np.ndarray) -> str:
    """One line on how ||dL_T/dh_t|| changes from t = T back to t = 1; it names no regime (the mechanism
    panel does, from the Jacobians, which do not depend on the loss), so the two never disagree."""
    first, final = float(last[0]), float(last[-1])
    if not (np.isfinite(first) and np.isfinite(final)):
        return "the gradient is not finite: it exploded (see the message above the panels)"
    if final == 0.0:
        return "||dL_T/dh_T|| is 0: the last step's loss has no gradient here"
    if final < TINY_GRADIENT:
        return (
            f"||dL_T/dh_T|| = {final:.1e}: the last step's loss is about 0, so this curve says little; "
            "see 'Why gradients vanish or explode'"
        )
    if first == 0.0:
        return "||dL_T/dh_1|| is 0 in floating point: nothing of the last step's loss reaches step 1"
    return f"||dL_T/dh_1|| / ||dL_T/dh_T|| = {first / final:.2e}  (the regime: see 'Why gradients vanish or explode')"


class GradientFlowPanel(SequencePanel):
    title = "Gradients through time"
    help_text = (
        "How much the loss at the last step still reaches each earlier hidden state (log scale). A line "
        "dropping to the left means the gradient vanishes on its way back in time; rising means it "
        "explodes. Change the clipping setting: the curves under the old setting stay, dimmed, to compare."
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layer_box = QComboBox()
        self.layer_box.setToolTip("Which layer's hidden states")
        row = QHBoxLayout()
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(QLabel("Layer"))
        row.addWidget(self.layer_box)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.plot = log_plot()
        self.plot.setMenuEnabled(False)
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "time step t")
        item.setLabel("left", "norm (log)")
        item.showGrid(x=False, y=True, alpha=0.2)
        self.legend = item.addLegend(offset=(5, 5), labelTextSize="8pt", **LEGEND_STYLE)
        self.last_curve = self.plot.plot(pen=pen("blue", 2), name="||dL_T/dh_t||  the last step's loss")
        self.full_curve = self.plot.plot(pen=pen("orange", 1), name="||dL/dh_t||  all losses from step t on")
        # compare mode: the other run's curves of the same step, dashed in the same colours
        self.other_last = self.plot.plot(pen=pen("blue", 1, dash=True))
        self.other_full = self.plot.plot(pen=pen("orange", 1, dash=True))
        self.labels: dict[str, str] = {}  # compare mode: run -> "clip=off"; {} for one run
        self._other: tuple | None = None  # (run, t, last, full) as drawn
        self._other_snap: Snapshot | None = None  # the other run's snapshot they were drawn from
        self.pinned: dict[str, tuple] = {}  # clip label -> (x, last, full) of its newest curves
        self.pinned_items: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.layout_.addWidget(cache_axes(self.plot), 1)
        self.y_range = StickyRange(self.plot, log=True)
        self.plot.getPlotItem().enableAutoRange(x=False)
        self._x_max = 0
        self.selected_line = pg.InfiniteLine(angle=90, pen=pen("orange", 2, dash=True))  # as the heatmap's box
        self.plot.addItem(self.selected_line, ignoreBounds=True)
        self.selected_line.setVisible(False)
        self.hint = hint(self.plot, "appears once training runs")
        self.note = PlotCaption(self.plot)
        self.current_clip: str | None = None
        self._current: tuple | None = None  # (t, ||dL_T/dh_t||, ||dL/dh_t||) as drawn
        self._live: tuple | None = None  # ... of the newest live training snapshot
        self.info: ModelInfo | None = None
        self.layer_box.currentIndexChanged.connect(self._layer_changed)

    def set_model(self, info: ModelInfo) -> None:
        self.info = info
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        self.layer_box.addItems([f"{i + 1}" for i in range(info.layers)])
        self.layer_box.setCurrentIndex(info.layers - 1)
        self.layer_box.blockSignals(False)
        self.clear_pins()
        self.last_curve.setData([], [])
        self.full_curve.setData([], [])
        self._draw_other(None)
        self.current_clip = None
        self._current = self._live = None
        self.snapshot = None
        self.selected_t = None
        self.selected_line.setVisible(False)
        self.y_range.reset()
        self._x_max = 0
        self.plot.setXRange(0, info.config.get("seq_len", 64), padding=0)
        self.plot.setYRange(-6, 0, padding=0)
        self.hint.setText("appears once training runs")
        place_hint(self.plot, self.hint, True, x=0.7)  # the legend takes the top left
        regress = info.head == "regress"
        self.note.setText("For the sine task, L_T is the squared error at the last step." if regress else " ")
        self.set_source(info.title)

    def _layer_changed(self, _=None) -> None:
        other, self._other_snap = self._other_snap, None  # the other run's curves of the new layer, too
        if self.snapshot is not None:
            self.show(self.snapshot)
        if other is not None:
            self.show_other(other)

    def set_compare(self, info: CompareInfo | None) -> None:
        """Compare mode (``info`` comparing): the other run's curves can be drawn; else A alone."""
        self.labels = compare_labels(info)
        self._draw_other(None)

    def show_other(self, snap: Snapshot) -> None:
        """The other run's curves, dashed, when ``snap`` is the same step, row and source as the one shown
        (in lockstep both runs' snapshots of a step arrive together); else none (a step of the history,
        the probe: there is no such curve of the other run)."""
        shown = self.snapshot
        if self._other_snap is snap and self._other is not None:
            return  # drawn already (the window offers it again with every delivery)
        self._other_snap = snap
        same = (
            bool(self.labels) and shown is not None and snap.run != shown.run and snap.has_gradients
            and (snap.step, snap.row, snap.source, snap.length) == (shown.step, shown.row, shown.source, shown.length)
        )  # fmt: skip
        if not same:
            self._draw_other(None)
            return
        layer = max(self.layer_box.currentIndex(), 0)
        if layer >= len(snap.layers):  # the other run has fewer layers: no curve of this layer to show
            self._draw_other(None)
            return
        lv = snap.layers[layer]
        x = np.arange(1, snap.length + 1, dtype=float)
        self._draw_other((snap.run, x, np.asarray(lv.dlast_norm, float), np.asarray(lv.dh_norm, float)))

    def _draw_other(self, other: tuple | None) -> None:
        self._other = other
        self.legend.removeItem(self.other_last)  # (its name says which run: set again below)
        if other is None:
            self.other_last.setData([], [])
            self.other_full.setData([], [])
            return
        run, x, last, full = other
        self.other_last.setData(*finite_positive(x, last))
        self.other_full.setData(*finite_positive(x, full))
        self.legend.addItem(self.other_last, f"run {run} ({self.labels.get(run, '')}), dashed")
        self.y_range.update(last, full)

    def clear_pins(self) -> None:
        for a, b in self.pinned_items.values():
            self.plot.removeItem(a)
            self.plot.removeItem(b)
            self.legend.removeItem(a)
        self.pinned, self.pinned_items = {}, {}

    def set_selected(self, t: int | None) -> None:
        self.selected_t = t
        self._draw_selected()

    def _draw_selected(self) -> None:
        t, snap = self.selected_t, self.snapshot
        visible = t is not None and snap is not None and t < snap.length
        self.selected_line.setVisible(visible)
        if visible:
            self.selected_line.setPos(t + 1)

    def show(self, snap: Snapshot) -> None:
        if self._other is not None and (self.snapshot is None or snap.step != self.snapshot.step):
            self._draw_other(None)  # another step: the other run's curves of it come with its snapshot
        self.snapshot = snap
        self.set_source(f"{source_text(snap)}, clipping {snap.clip}")
        self._draw_selected()
        if not snap.has_gradients:
            self.last_curve.setData([], [])
            self.full_curve.setData([], [])
            self._current = None
            place_hint(self.plot, self.hint, True, x=0.7)
            self.hint.setText("no loss to differentiate here")
            self.note.setText(self._why_none(snap))
            return
        self.hint.setVisible(False)
        layer = min(max(self.layer_box.currentIndex(), 0), len(snap.layers) - 1)
        lv = snap.layers[layer]
        T = snap.length
        x = np.arange(1, T + 1, dtype=float)
        last = np.asarray(lv.dlast_norm, float)
        full = np.asarray(lv.dh_norm, float)
        # Pin only live training curves: the probe and the history are other views, not another setting.
        live = snap.source == "train" and snap.history is None
        if live and self.current_clip is not None and snap.clip != self.current_clip and self._live is not None:
            self._pin(self.current_clip, *self._live)  # the setting changed: keep the old curves
        self._current = (x, last, full)
        if live:
            self.current_clip = snap.clip
            self._live = self._current  # only training's own curves are ever pinned
        self.last_curve.setData(*finite_positive(x, last))
        self.full_curve.setData(*finite_positive(x, full))
        self.y_range.update(last, full, *[v for pin in self.pinned.values() for v in pin[1:]])
        if T != self._x_max:
            self._x_max = T
            self.plot.setXRange(0.5, T + 0.5, padding=0.01)
        if live and snap.clip in self.pinned:  # back to a pinned setting: its live curves replace the pin
            self._unpin(snap.clip)
        self.note.setText(describe_decay(last))

    def _why_none(self, snap: Snapshot) -> str:
        if snap.source == "probe" and snap.length == 0:
            return "Step through the probe to see how its last token's loss reaches back in time."
        if snap.source == "probe" and snap.head == "classify":
            return "A typed name has no known class, so there is no loss and no gradient to show."
        if snap.source == "probe":
            return "The last token read has no next token, so its loss is not defined: step back one token."
        return "This step has no gradient (its loss was not finite)."

    def _pin(self, clip: str, x, last, full) -> None:
        self._unpin(clip)
        color = PIN_COLORS[len(self.pinned_items) % len(PIN_COLORS)]
        a = self.plot.plot(
            *finite_positive(x, last), pen=pen(color, 2, dash=True, alpha=150), name=f"clipping {clip} (pinned)"
        )
        b = self.plot.plot(*finite_positive(x, full), pen=pen(color, 1, dash=True, alpha=110))
        self.pinned[clip] = (x, last, full)
        self.pinned_items[clip] = (a, b)

    def _unpin(self, clip: str) -> None:
        if clip in self.pinned_items:
            a, b = self.pinned_items.pop(clip)
            self.plot.removeItem(a)
            self.plot.removeItem(b)
            self.legend.removeItem(a)
            self.pinned.pop(clip, None)

    def data(self) -> dict[str, np.ndarray]:
        out = {}
        if self._current is not None:
            x, last, full = self._current
            out = {"t": x, "dL_T_dh_t": last, "dL_dh_t": full}
        if self._other is not None and self.snapshot is not None:  # compare mode: both runs, by id
            run, _, last, full = self._other
            out = {"t": out["t"], **{f"{self.snapshot.run}_{k}": v for k, v in out.items() if k != "t"}} if out else {}
            out.update({f"{run}_dL_T_dh_t": last, f"{run}_dL_dh_t": full})
        for clip, (_, last, full) in self.pinned.items():
            out[f"pinned_{clip}_dL_T_dh_t"] = last
            out[f"pinned_{clip}_dL_dh_t"] = full
        return out

    def plot_items(self):
        return [self.plot.getPlotItem()]
