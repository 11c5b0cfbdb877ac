"""The mechanism panel: why the gradient vanishes or explodes, measured on the network, not the loss.

What it draws comes whole from the snapshot (``Snapshot.mechanism``, made by
``engine.trace.mechanism_views`` from ``engine.mechanism``): per layer ``||dh_T/dh_t||`` against the
lag ``T - t`` on a log axis (the LSTM's ``||dh_T/dc_t||`` dashed: the path through its cell state),
and a caption that names the regime from those numbers with sigma_max(W_hh) and the saturation. In
compare mode run B's curves are drawn dashed over A's, in the same colours. While training runs the
view is refreshed every few seconds (lab.MECHANISM_SHARE: at most 1% of the time); the caption says which step it is.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QTabWidget

from rnnviz.gui.panels.base import (
    COLORS,
    Panel,
    PlotCaption,
    cache_axes,
    finite_positive,
    log_plot,
    pen,
)
from rnnviz.gui.panels.history import compare_labels
from rnnviz.lab import events as e
from rnnviz.training.log import Columns, mechanism_columns

LAYER_COLORS = ("purple", "green", "blue")  # layer 0, 1, 2 (a colour per quantity; runs differ by dash)
BLOCK_COLORS = ("purple", "blue", "green", "grey")  # the gate blocks of W_hh in the cell's order
# The share of saturated units is often exactly 0 (a healthy run): a log axis has no 0, and a missing
# dot reads as "no data", so a share below this is drawn at it (the title says so).
SATURATED_FLOOR = 1e-3


def saturated_shown(share: np.ndarray) -> np.ndarray:
    """The saturated shares as drawn on the log axis: at least SATURATED_FLOOR (NaN stays NaN)."""
    share = np.asarray(share, float)
    return np.where(np.isfinite(share), np.maximum(share, SATURATED_FLOOR), share)


REGIME_WORDS = {"exploding": "EXPLODING", "vanishing": "VANISHING", "saturated": "SATURATED", "stable": "STABLE",
                "unknown": "?"}  # fmt: skip


class MechanismPanel(Panel):
    title = "Why gradients vanish or explode"
    help_text = (
        "How much a small change of the hidden state t steps back can move the last hidden state: the "
        "spectral norm of the product of the step Jacobians, ||dh_T/dh_t||, against the lag T - t (log "
        "scale). It does not depend on the loss. Rising with the lag: gradients explode; falling: they vanish. "
        "The growth factor is the fitted slope per step; sigma_max is the largest singular value of W_hh "
        "(Pascanu, Mikolov & Bengio 2013: vanishing is certain below 1, exploding needs more than 1)."
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = log_plot()
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "lag T - t (steps back from the last step)")
        item.setLabel("left", "||dh_T/dh_t|| (log)")
        item.showGrid(x=True, y=True, alpha=0.2)
        # No legend box: it would sit on curves that fan out over the whole plot. The line styles are
        # named in a line under the plot (``styles``): solid A, dashed B; thin: through the cell state.
        self.caption = PlotCaption(self.plot)
        # three views of one mechanism, as tabs (the dock is small: side by side they were unreadable)
        self.tabs = QTabWidget()
        self.tabs.addTab(cache_axes(self.plot), "Jacobian through time")
        self.layout_.addWidget(self.tabs, 1)
        self.styles = QLabel(" ")
        self.styles.setStyleSheet("color: #555")
        self.layout_.addWidget(self.styles)
        self.regime = QLabel(" ")
        self.regime.setWordWrap(True)
        self.layout_.addWidget(self.regime)
        # the other tabs: the spectrum of W_hh now, and rho, sigma_max and saturation over training
        self.eig_plot = pg.PlotWidget()
        self.eig_plot.setAspectLocked(True)
        eig = self.eig_plot.getPlotItem()
        eig.setLabel("bottom", "Re λ(W_hh)")
        eig.setLabel("left", "Im λ")
        eig.setTitle("eigenvalues of W_hh, unit circle", size="8pt")
        angle = np.linspace(0, 2 * np.pi, 200)
        self.eig_plot.plot(np.cos(angle), np.sin(angle), pen=pen("grey", 1, dash=True))
        self.eig_points = self.eig_plot.plot(pen=None, symbol="o", symbolSize=4, symbolPen=None,
                                             symbolBrush=(148, 103, 189, 160))  # fmt: skip
        # over training (the run's log, training.log.mechanism_columns, kept in checkpoints too): per gate
        # block of W_hh rho solid and sigma_max dashed in the gate's colour; the growth factor; saturation
        # (log y: sigma_max runs from ~1 to thousands when a run blows up, the growth factor from 1e-3 to ~1.1)
        self.over_time = log_plot()
        ot = self.over_time.getPlotItem()
        ot.setLabel("bottom", "training step (first layer, a point per mechanism view)")
        ot.showGrid(x=True, y=True, alpha=0.2)
        self.block_curves: dict[str, tuple] = {}  # gate -> (rho curve, sigma curve)
        self.growth_curve = self.over_time.plot(pen=pen("red", 2))
        self.sat_curve = self.over_time.plot(pen=None, symbol="o", symbolSize=5, symbolPen=None,
                                             symbolBrush=COLORS["orange"])  # fmt: skip
        self.tabs.addTab(cache_axes(self.eig_plot), "W_hh eigenvalues")
        self.tabs.addTab(cache_axes(self.over_time), "Over training")
        self.over_training: dict[str, Columns] = {}  # run -> its mechanism views over training
        self.gates: dict[str, tuple[str, ...]] = {}  # run -> its cell's gate names
        self.curves: dict[tuple[str, int, str], object] = {}  # (run, layer, "h" or "c") -> curve
        self.shown: dict[str, object] = {}  # run -> the newest snapshot with a mechanism view
        self.labels: dict[str, str] = {}  # compare mode: run -> "clip=off"
        self.main_run = e.MAIN  # whose regime the caption explains (the window's run switch)

    def set_model(self, info: e.ModelInfo) -> None:
        """A run's new model (run B's in a comparison: its views over training start over, or from its log)."""
        self.gates[info.run] = info.gate_names
        if info.run == e.MAIN:
            self.over_time.setToolTip("Gate blocks of W_hh: " + ", ".join(info.gate_labels))
            self.clear()
            self.set_source(f"{info.cell_name}, {info.layers} layer{'s' if info.layers > 1 else ''} of {info.hidden}")
        self.over_training[info.run] = Columns(mechanism_columns(info.gate_names))

    def clear(self) -> None:
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self.curves.clear()
        self.shown.clear()
        self.over_training.clear()
        for item in (
            self.eig_points,
            self.growth_curve,
            self.sat_curve,
            *(c for p in self.block_curves.values() for c in p),
        ):
            item.setData([], [])
        self.styles.setText(" ")
        self.caption.setText(" ")
        self.regime.setText("Train a step or step the probe to measure the Jacobian.")

    def set_main_run(self, run: str) -> None:
        """Whose regime, spectrum and history the panel explains (the window's run switch)."""
        if run != self.main_run:
            self.main_run = run
            self._redraw()

    def set_compare(self, info: e.CompareInfo | None) -> None:
        self.labels = compare_labels(info)
        for run in [r for r in self.shown if r != e.MAIN and r not in self.labels]:
            del self.shown[run]
        self._redraw()

    def show_snapshot(self, snap) -> None:
        """Take ``snap``'s mechanism view (a snapshot without one leaves the last view up)."""
        if snap is None or snap.mechanism is None:
            return
        self.shown[snap.run] = snap
        self._redraw()

    def add_point(self, point: e.MechanismPoint) -> None:
        """A view of a training step for the curves over training (every one the lab made, in order)."""
        over = self.over_training.get(point.run)
        if over is not None:
            over.put(point.step, **point.values)
            if point.run == self.main_run:
                self._draw_spectrum()

    def load_log(self, log: e.RunLog) -> None:
        """A loaded (or forked) run's mechanism views so far, from its log."""
        over = self.over_training.get(log.run)
        if over is not None and log.mechanism:
            over.clear()
            over.extend(log.mechanism["x"], **{k: log.mechanism[k] for k in over.names})
            self._redraw()

    def _curve(self, run: str, layer: int, kind: str):
        key = (run, layer, kind)
        if key not in self.curves:
            dashed = run != e.MAIN
            width = 1.2 if kind == "c" else 2.5
            self.curves[key] = self.plot.plot(pen=pen(LAYER_COLORS[layer % len(LAYER_COLORS)], width, dash=dashed))
        return self.curves[key]

    def _redraw(self) -> None:
        used = set()
        cell_state = False
        for run, snap in self.shown.items():
            for layer, m in enumerate(snap.mechanism):
                for kind, values in (("h", m.dhT_dh), ("c", m.dhT_dc)):
                    if values is None:
                        continue
                    curve = self._curve(run, layer, kind)
                    curve.setData(*finite_positive(np.asarray(m.lags, float), np.asarray(values)))
                    curve.setVisible(True)
                    used.add((run, layer, kind))
                    cell_state = cell_state or kind == "c"
        for key, curve in self.curves.items():
            if key not in used:
                curve.setVisible(False)
        layers = max((len(s.mechanism) for s in self.shown.values()), default=1)
        parts = []
        if self.labels:
            style = {e.MAIN: "solid", e.OTHER: "dashed"}
            parts.append(" · ".join(f"{style.get(r, '')}: {r} ({lab})" for r, lab in self.labels.items()))
        if cell_state:
            parts.append("thin: ||dh_T/dc_t||, through the LSTM's cell state")
        if layers > 1:
            parts.append(" · ".join(f"{LAYER_COLORS[k % len(LAYER_COLORS)]}: layer {k + 1}" for k in range(layers)))
        self.styles.setText("   ".join(parts) or "||dh_T/dh_t|| of the shown row")
        self.explain()
        self._draw_spectrum()

    def _draw_spectrum(self) -> None:
        snap = self.shown.get(self.main_run)
        if snap is None:
            return
        values = np.concatenate([np.asarray(v) for v in snap.mechanism[0].eigenvalues] or [np.empty(0, complex)])
        values = values[np.isfinite(values)]  # weights that overflowed: no point to draw
        self.eig_points.setData(values.real, values.imag)
        h = self.over_training.get(self.main_run)
        if h is None:
            return
        series = [(self.growth_curve, h["growth"]), (self.sat_curve, saturated_shown(h["saturated"]))]
        for k, gate in enumerate(self.gates[self.main_run]):
            rho, sigma = self._block_curves(gate, k)
            series += [(rho, h[f"rho_{gate}"]), (sigma, h[f"sigma_{gate}"])]
        for gate, curves in self.block_curves.items():  # another cell's gates (the run switch): hidden
            for curve in curves:
                curve.setVisible(gate in self.gates[self.main_run])
        for curve, y in series:  # (NaN hides a whole line, and a log axis shows no 0)
            curve.setData(*finite_positive(h["x"], y))
        self.over_time.getPlotItem().setTitle(self._over_training_title(), size="8pt")

    def _over_training_title(self) -> str:
        """What each line is, in its colour (a legend box would sit on the lines)."""
        labels = self.gates[self.main_run]  # the short names: "i, f, g, o" (the full ones did not fit)
        colors = [BLOCK_COLORS[k % len(BLOCK_COLORS)] for k in range(len(labels))]
        blocks = ", ".join(f'<span style="color:{c}">{label}</span>' for c, label in zip(colors, labels, strict=True))
        block = f"W_hh blocks {blocks}" if len(labels) > 1 else "W_hh"  # (the vanilla RNN's one block: W_hh)
        return (
            f"{block}: ρ solid, σ_max dashed · <span style='color:red'>growth per step</span> · "
            f"<span style='color:#e67814'>● share saturated (0 drawn at {SATURATED_FLOOR:g})</span>"
        )

    def _block_curves(self, gate: str, k: int):
        """The rho and sigma_max curves of gate block ``gate`` (made on first use, one colour per gate)."""
        if gate not in self.block_curves:
            color = BLOCK_COLORS[k % len(BLOCK_COLORS)]
            self.block_curves[gate] = (
                self.over_time.plot(pen=pen(color, 2)),
                self.over_time.plot(pen=pen(color, 1.2, dash=True)),
            )
        return self.block_curves[gate]

    def explain(self) -> None:
        run = self.main_run if self.main_run in self.shown else next(iter(self.shown), None)
        if run is None:
            return
        snap = self.shown[run]
        m = snap.mechanism[0]  # the first layer: the one the lessons are about
        where = "probe" if snap.source == "probe" else f"step {snap.step:,}, row {snap.row}"
        who = f"Run {run} ({self.labels[run]}), " if self.labels else ""
        self.caption.setText(
            f"{who}{where}\ngrowth ×{m.growth:.3g} per step · σ_max(W_hh) {m.sigma_max:.3g} · "
            f"units saturated {m.saturated:.0%}"
        )
        lines = [f"{REGIME_WORDS.get(m.regime, m.regime)}: {m.explanation}"]
        if self.labels:  # the other run's regime in one line
            for other, s in self.shown.items():
                if other != run:
                    o = s.mechanism[0]
                    lines.append(f"Run {other} ({self.labels.get(other, '')}): {o.regime}, ×{o.growth:.3g} per step.")
        self.regime.setText("\n".join(lines))

    def data(self) -> dict[str, np.ndarray]:
        out = {}
        for run, h in self.over_training.items():  # over training: the run's mechanism views, as logged
            if h.n:
                out.update({f"{run}_over_training_{k}": np.array(h[k]) for k in ("x", *h.names)})
        for run, snap in self.shown.items():
            for layer, m in enumerate(snap.mechanism):
                p = f"{run}_layer{layer}_"
                out[p + "lag"] = np.asarray(m.lags)
                out[p + "dhT_dh"] = np.asarray(m.dhT_dh)
                if m.dhT_dc is not None:
                    out[p + "dhT_dc"] = np.asarray(m.dhT_dc)
        return out

    def plot_items(self):
        return [self.plot.getPlotItem(), self.eig_plot.getPlotItem(), self.over_time.getPlotItem()]
