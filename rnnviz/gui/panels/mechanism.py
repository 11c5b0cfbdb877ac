"""The mechanism panel: why the gradient vanishes or explodes, measured on the network, not the loss.

What it draws comes whole from the snapshot (``Snapshot.mechanism``, made by
``engine.trace.mechanism_views`` from ``engine.mechanism``): per layer ``||dh_T/dh_t||`` against the
lag ``T - t`` on a log axis (the LSTM's ``||dh_T/dc_t||`` dashed: the path through its cell state),
and a caption that names the regime from those numbers with sigma_max(W_hh) and the saturation. In
compare mode run B's curves are drawn dashed over A's, in the same colours. While training runs the
view is refreshed every second or two (lab.MECHANISM_SHARE: at most 2% of the time); the caption says which step it is.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QTabWidget

from rnnviz.gui.panels.base import Panel, PlotCaption, cache_axes, finite_positive, log_plot, pen
from rnnviz.gui.panels.history import compare_labels
from rnnviz.lab import events as e
from rnnviz.training.log import Columns

LAYER_COLORS = ("purple", "green", "blue")  # layer 0, 1, 2 (a colour per quantity; runs differ by dash)
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
        self.over_time = pg.PlotWidget()
        ot = self.over_time.getPlotItem()
        ot.setLabel("bottom", "training step")
        ot.setTitle("ρ (solid), σ_max (dashed), share of units saturated (dots)", size="8pt")
        self.rho_curve = self.over_time.plot(pen=pen("purple", 2))
        self.sigma_curve = self.over_time.plot(pen=pen("purple", 1, dash=True))
        self.sat_curve = self.over_time.plot(pen=None, symbol="o", symbolSize=4, symbolBrush=(230, 120, 20))
        self.tabs.addTab(cache_axes(self.eig_plot), "W_hh eigenvalues")
        self.tabs.addTab(cache_axes(self.over_time), "Over training")
        self.spectrum_history = Columns(("rho", "sigma", "saturated"))  # the shown run's, one row a view
        self.curves: dict[tuple[str, int, str], object] = {}  # (run, layer, "h" or "c") -> curve
        self.shown: dict[str, object] = {}  # run -> the newest snapshot with a mechanism view
        self.labels: dict[str, str] = {}  # compare mode: run -> "clip=off"
        self.main_run = e.MAIN  # whose regime the caption explains (the window's run switch)

    def set_model(self, info: e.ModelInfo) -> None:
        if info.run == e.MAIN:
            self.clear()
        self.set_source(f"{info.cell_name}, {info.layers} layer{'s' if info.layers > 1 else ''} of {info.hidden}")

    def clear(self) -> None:
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self.curves.clear()
        self.shown.clear()
        self.spectrum_history.clear()
        for item in (self.eig_points, self.rho_curve, self.sigma_curve, self.sat_curve):
            item.setData([], [])
        self.styles.setText(" ")
        self.caption.setText(" ")
        self.regime.setText("Train a step or step the probe to measure the Jacobian.")

    def set_main_run(self, run: str) -> None:
        """Whose regime, spectrum and history the panel explains (the window's run switch)."""
        if run != self.main_run:
            self.main_run = run
            self.spectrum_history.clear()
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
        m = snap.mechanism[0]
        if snap.run == self.main_run and snap.source == "train" and snap.history is None:
            h = self.spectrum_history
            if not h.n or snap.step > h["x"][-1]:  # one point per step, in order (a pause re-sends it)
                h.append(snap.step, rho=m.spectral_radius, sigma=m.sigma_max, saturated=m.saturated)
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
        h = self.spectrum_history
        for curve, y in ((self.rho_curve, h["rho"]), (self.sigma_curve, h["sigma"]), (self.sat_curve, h["saturated"])):
            keep = np.isfinite(y)  # a NaN hides a line; all-NaN points make pyqtgraph warn ("All-NaN slice")
            curve.setData(h["x"][keep], y[keep])

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
        h = self.spectrum_history
        out = {"spectrum_step": h["x"], "spectral_radius": h["rho"], "sigma_max": h["sigma"],
               "saturated_share": h["saturated"]}  # fmt: skip
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
