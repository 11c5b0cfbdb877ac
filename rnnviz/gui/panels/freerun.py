"""The sine view's free run: a "Free run" button and the closed loop's curve over the wave.

The numbers are the lab's (``lab.freerun.FreeRunSeries``, computed with the engine's step function);
this only draws them. The overlay is drawn on request and cleared by the next snapshot shown, so it
costs nothing while training.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPushButton

from rnnviz.gui.panels.base import PlotCaption, pen
from rnnviz.lab import freerun as freerun_lab
from rnnviz.lab.freerun import FreeRunSeries


class FreeRunOverlay(QObject):
    """On ``plot``: the free run (green) and the true wave it should follow (orange, dashed)."""

    requested = Signal()

    def __init__(self, plot: pg.PlotWidget, caption: PlotCaption):
        super().__init__(plot)
        self.plot, self.caption = plot, caption
        self.button = QPushButton("Free run")
        self.button.setToolTip(
            f"Read {freerun_lab.FREE_RUN_PRIME} values of the wave, then feed the network its own predictions as "
            "inputs: does it go on drawing the wave, or drift away?"
        )
        self.button.clicked.connect(self.requested.emit)
        self.curve = plot.plot(pen=pen("green", 2), name="free run")
        self.wave = plot.plot(pen=pen("orange", 2, dash=True), name="true wave")
        self.prime_line = pg.InfiniteLine(angle=90, pen=pen("grey", 1, dash=True))
        plot.addItem(self.prime_line, ignoreBounds=True)
        self.series: FreeRunSeries | None = None
        self.clear()

    def show_series(self, series: FreeRunSeries) -> None:
        """Draw ``series`` over the plot: time steps 1..P+N, the prime read up to the grey line."""
        self.series = series
        P, N = series.prime, len(series.predicted)
        t = np.arange(1, P + N + 1, dtype=float)
        pred = np.asarray(series.predicted, float)
        keep = np.isfinite(pred)  # a diverged model: NaN would hide the whole curve
        self.curve.setData(t[P:][keep], pred[keep])
        self.wave.setData(t, np.asarray(series.true, float))
        self.prime_line.setPos(P + 0.5)
        self.prime_line.setVisible(True)
        self.plot.enableAutoRange()
        self.caption.setText(
            f"free run, weights of step {series.step:,}: it reads the wave up to t = {P} (grey line), then its "
            f"own outputs\ngreen: free run, orange: true wave; mean squared error {series.mse:.4f} over {N} steps"
        )

    def clear(self) -> None:
        self.series = None
        self.curve.setData([], [])
        self.wave.setData([], [])
        self.prime_line.setVisible(False)

    def data(self) -> dict[str, np.ndarray]:
        s = self.series
        if s is None:
            return {}
        pred = np.full(len(s.true), np.nan)
        pred[s.prime :] = s.predicted
        return {"t": np.arange(1, len(s.true) + 1, dtype=float), "free_run": pred, "true": np.asarray(s.true)}
