"""What each frame of the window draws: one snapshot on every sequence panel, the curves in turns.

The sequence panels (heatmap, text, next-token bars, gradients through time) always show the same
snapshot: a frame that brings a new one hands it to all of them, so no panel ever shows another step,
row or source than the others, and a selected time step is marked on all of them at once. The curves
(loss, gradient norm per step) redraw about twice a second each while training, one per frame and,
when possible, in a frame that draws no snapshot: a frame with one heavy redraw is what keeps the
worst frames short (bench/gui.py's p99 lateness). Paused, everything is drawn at once.
"""

from __future__ import annotations

import time

from rnnviz.lab.snapshot import Snapshot

CURVE_REFRESH_S = 0.5  # each curve panel redraws about twice a second while training
CURVE_OVERDUE_S = 1.0  # ... and at the latest after this long, even in a frame that draws a snapshot


class FrameScheduler:
    """``sequence``: name -> panel with ``show(snapshot)`` and ``set_selected(t)``; ``curves``: panels
    with ``refresh()``. ``refreshes`` counts redraws per sequence panel (the GUI benchmark reads it)."""

    def __init__(self, sequence: dict, curves: tuple, clock=time.monotonic):
        self.sequence = sequence
        self.curves = curves
        self.clock = clock
        self.snapshot: Snapshot | None = None  # what every sequence panel shows now
        self.selected_t: int | None = None  # the time step selected (None: follow the newest)
        self.refreshes = dict.fromkeys(sequence, 0)
        self._curves_at = 0.0
        self._turn = 0

    def reset(self) -> None:
        """A new model: nothing shown, nothing selected (each panel's set_model cleared itself)."""
        self.snapshot = None
        self.selected_t = None

    def frame(self, snapshot: Snapshot | None, running: bool) -> None:
        """Draw one frame: ``snapshot`` (if new) on every sequence panel; curves as they are due."""
        if snapshot is not None:
            self.show(snapshot)
        if not running:
            for panel in self.curves:
                panel.refresh()  # cheap when nothing changed
            return
        now = self.clock()
        waited = now - self._curves_at
        if waited >= CURVE_REFRESH_S / len(self.curves) and (snapshot is None or waited >= CURVE_OVERDUE_S):
            self._curves_at = now
            self.curves[self._turn].refresh()
            self._turn = (self._turn + 1) % len(self.curves)

    def show(self, snapshot: Snapshot) -> None:
        old, self.snapshot = self.snapshot, snapshot
        if self.selected_t is not None and (
            self.selected_t >= snapshot.length  # a shorter sequence
            or old is None or old.source != snapshot.source  # another kind of sequence
            or (snapshot.source == "probe" and old.length != snapshot.length)  # a probe step: follow it
        ):  # fmt: skip
            self.selected_t = None
            for panel in self.sequence.values():
                panel.selected_t = None
        for name, panel in self.sequence.items():
            panel.show(snapshot)
            self.refreshes[name] += 1

    def select(self, t: int | None) -> None:
        """Select time step ``t`` on every panel; selecting it again goes back to following the newest."""
        self.selected_t = None if t == self.selected_t else t
        for panel in self.sequence.values():
            panel.set_selected(self.selected_t)
