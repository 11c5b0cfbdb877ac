"""The status bar: state, step, loss and validation loss, tokens per second, position in the epoch."""

from __future__ import annotations

import math
import time
from collections import deque

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from rnnviz.lab import events as m

LABEL_INTERVAL = 0.25  # seconds between label updates while training
STATE_TEXT = {
    m.IDLE: ("ready", "#2e7d32"), m.RUNNING: ("training", "#1565c0"), m.PAUSED: ("paused", "#6d4c41"),
    m.STEPPING: ("stepping through the probe", "#6a1b9a"), m.LOADING: ("loading...", "#757575"),
    m.ERROR: ("error", "#c62828"),
}  # fmt: skip


class TrainingStatusBar(QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.state_label = QLabel()
        self.step_label = QLabel("step 0")
        self.loss_label = QLabel("")
        self.speed_label = QLabel("")
        self.epoch_bar = QProgressBar()
        self.epoch_bar.setRange(0, 1000)
        self.epoch_bar.setMaximumWidth(160)
        self.epoch_bar.setFormat("epoch 0.00")
        self.epoch_bar.setToolTip("Position in the current pass over the training data")
        for w in (self.state_label, self.step_label, self.loss_label, self.speed_label):
            self.addPermanentWidget(w)
        self.addPermanentWidget(self.epoch_bar)
        self.state = m.LOADING
        self.step = 0
        self.tokens_trained = 0  # tokens of every step reported (the GUI benchmark reads it)
        self._rate: deque[tuple[float, int]] = deque(maxlen=200)  # (wall time, tokens) of recent steps
        self._loss = float("nan")
        self._val = ""
        self._progress = 0.0
        self._shown_at = 0.0
        self._other: dict | None = None  # compare mode: run B's step, loss and validation

    def reset(self, step: int, progress: float = 0.0) -> None:
        """A new or loaded model, at ``step`` and ``progress`` epochs."""
        self.step = step
        self._progress = progress
        self._rate.clear()
        self._loss = float("nan")
        self._val = ""
        self._show_progress(progress)
        self.refresh()

    def set_state(self, state: str) -> None:
        self.state = state
        self._show_progress(self._progress)  # everything up to date when training stops
        text, color = STATE_TEXT[state]
        self.state_label.setText(f'<b style="color:{color}">{text}</b>')
        self.refresh()

    def set_compare(self, info: m.CompareInfo | None) -> None:
        """Compare mode: also show run B's step, loss and validation (A's are the main ones)."""
        self._other = {"step": 0, "loss": float("nan"), "val": ""} if info is not None else None
        self.refresh()

    def other_model(self, step: int) -> None:
        """Run B's model (forked at ``step``, or new at 0): its step until its own numbers come."""
        if self._other is not None:
            self._other["step"] = step
            self.refresh()

    def add_steps(self, scalars: list[m.StepScalars]) -> None:
        others = [s for s in scalars if s.run != m.MAIN]
        if others and self._other is not None:
            self._other["step"] = others[-1].step
            if math.isfinite(others[-1].loss):
                self._other["loss"] = others[-1].loss
        scalars = [s for s in scalars if s.run == m.MAIN]
        if not scalars:  # B's numbers alone (they may arrive a delivery after A's)
            if others and self._other is not None and self.state != m.RUNNING:
                self.refresh()
            return
        last = scalars[-1]
        self.step = last.step
        if math.isfinite(last.loss):
            self._loss = last.loss
        now = time.monotonic()
        for s in scalars:
            self._rate.append((now, s.tokens))
            self.tokens_trained += s.tokens
        self._progress = last.progress
        # While training, the labels follow about 4 times a second: faster is unreadable, and each
        # changed label is a repaint (three of them took ~3 ms of every frame at 30 steps a second).
        if self.state != m.RUNNING or now - self._shown_at >= LABEL_INTERVAL:
            self._shown_at = now
            self._show_progress(last.progress)
            self.refresh()

    def _show_progress(self, progress: float) -> None:
        whole = math.floor(progress)
        fraction = progress - whole if progress != whole else (1.0 if progress else 0.0)
        self.epoch_bar.setValue(int(1000 * fraction))
        self.epoch_bar.setFormat(f"epoch {progress:.2f}")

    def add_eval(self, ev: m.EvalResult) -> None:
        acc = f" ({ev.accuracy:.0%} right)" if ev.accuracy is not None else ""
        if ev.perplexity is not None:  # a language model: as unsure as a uniform choice among this many
            acc = f", perplexity {ev.perplexity:,.4g}"
        if ev.run != m.MAIN:
            if self._other is not None:
                self._other["val"] = f" | val {ev.loss:.3f}{acc}"
                self.refresh()
            return
        self._val = f" | val {ev.loss:.3f}{acc}"
        self.refresh()

    def tokens_per_second(self) -> float:
        if len(self._rate) < 2:
            return 0.0
        t0 = self._rate[0][0]
        span = self._rate[-1][0] - t0
        tokens = sum(n for t, n in self._rate if t > t0)
        return tokens / span if span > 0.2 else 0.0

    def refresh(self) -> None:
        self.step_label.setText(f"step {self.step:,}")
        loss = f"loss {self._loss:.3f}" if math.isfinite(self._loss) else ""
        if self._other is None:
            self.loss_label.setText(loss + self._val)
        else:
            o = self._other
            b = f"loss {o['loss']:.3f}" if math.isfinite(o["loss"]) else ""
            self.loss_label.setText(f"A: {loss}{self._val}   ·   B: step {o['step']:,} {b}{o['val']}")
        rate = self.tokens_per_second() if self.state == m.RUNNING else 0.0
        self.speed_label.setText(f"{rate:,.0f} tok/s" if rate else "")
