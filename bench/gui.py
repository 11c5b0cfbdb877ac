"""GUI responsiveness: train for a while with every panel shown and measure what a user would feel.

    python bench/gui.py               60 s, a table
    python bench/gui.py --json        ... then one JSON object as the last line
    python bench/gui.py --seconds 15  a shorter run

Measured (default preset: character LSTM, H=128, B=32, T=64, float32, on Tiny Shakespeare):

- panel refreshes per second, per panel (the heatmap follows every frame; see main_window.REFRESH_INTERVAL);
- event-loop lateness: how late a 10 ms timer fires in the GUI thread, p50 and p99 (a frozen window
  shows up here first), and p99 per quarter of the run (a cost that grows with training rises there);
- training tokens/s in the app against headless training of the same model in a plain process (as
  `rnnviz train` runs it), measured before and after the app run so drift on the machine evens out;
- resident memory of the app and of its training process after a warm-up and at the end.

Runs offscreen unless a display is set (QT_QPA_PLATFORM=xcb with DISPLAY, e.g. under xvfb-run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

TARGETS = {"refreshes_per_s": 25, "lateness_p99_ms": 50, "gui_vs_headless": 0.8, "memory_growth_mb": 30}

HEADLESS = """
import sys, time
sys.path.insert(0, {root!r})
from rnnviz.gui.presets import DEFAULT_PRESET, apply_preset
from rnnviz.training import TrainConfig, Trainer
trainer = Trainer(apply_preset(DEFAULT_PRESET, TrainConfig()))
for _ in range(3):
    trainer.train_step()
t0, tokens = time.perf_counter(), 0
while time.perf_counter() - t0 < {seconds}:
    tokens += trainer.train_step().tokens
print(tokens / (time.perf_counter() - t0))
"""


def headless_tokens_per_s(seconds: float) -> float:
    code = HEADLESS.format(root=os.path.join(HERE, ".."), seconds=seconds)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def gui_run(seconds: float, warmup: float) -> dict:
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    def quiet(mode, context, message: str) -> None:
        # The offscreen platform says this once per dock move; it is noise, not a problem in the app.
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(quiet)
    app = QApplication.instance() or QApplication([])
    from rnnviz.gui.app import make_window
    from rnnviz.gui.main_window import REFRESH_INTERVAL

    w = make_window(None, None)
    w.show()
    result: dict = {}
    lateness: list[float] = []
    stamps: list[float] = []  # seconds since the measurement began, one per lateness sample
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(10)
    last = [0]

    def tick() -> None:
        now = clock.nsecsElapsed()
        if last[0]:
            lateness.append((now - last[0]) / 1e6 - 10.0)
            stamps.append(now / 1e9)
        last[0] = now

    probe.timeout.connect(tick)

    def wait_ready() -> None:
        if w.info is None:
            QTimer.singleShot(100, wait_ready)
            return
        w.controller.send("train")
        QTimer.singleShot(int(warmup * 1000), begin)

    def begin() -> None:
        result["t0"] = time.perf_counter()
        result["tokens0"] = w.status.tokens_trained
        result["refreshes0"] = dict(w.refreshes)
        result["rss0"] = (rss_mb(os.getpid()), rss_mb(w.controller.process.pid))
        lateness.clear()
        clock.start()
        last[0] = 0
        probe.start()
        QTimer.singleShot(int(seconds * 1000), finish)

    def finish() -> None:
        probe.stop()
        t = time.perf_counter() - result["t0"]
        result["seconds"] = t
        result["tokens_per_s"] = (w.status.tokens_trained - result["tokens0"]) / t
        result["refreshes_per_s"] = {k: (w.refreshes[k] - result["refreshes0"][k]) / t for k in REFRESH_INTERVAL}
        result["rss1"] = (rss_mb(os.getpid()), rss_mb(w.controller.process.pid))
        w.close()
        app.quit()

    QTimer.singleShot(0, wait_ready)
    app.exec()
    late = np.array(lateness) if lateness else np.zeros(1)
    result["lateness_p50_ms"] = float(np.percentile(late, 50))
    result["lateness_p99_ms"] = float(np.percentile(late, 99))
    result["lateness_max_ms"] = float(late.max())
    # p99 per quarter of the run: a cost that grows with the length of training shows up as a rising row
    at = np.array(stamps) if stamps else np.zeros(1)
    quarters = [(at >= q * seconds / 4) & (at < (q + 1) * seconds / 4) for q in range(4)]
    result["lateness_p99_ms_by_quarter"] = [float(np.percentile(late[s], 99)) if s.any() else 0.0 for s in quarters]
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the measured app run")
    ap.add_argument("--headless-seconds", type=float, default=20.0, help="each headless measurement")
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    before = headless_tokens_per_s(args.headless_seconds)
    gui = gui_run(args.seconds, warmup=5.0)
    after = headless_tokens_per_s(args.headless_seconds)
    headless = (before + after) / 2
    growth = (gui["rss1"][0] - gui["rss0"][0], gui["rss1"][1] - gui["rss0"][1])
    row = {
        "platform": os.environ.get("QT_QPA_PLATFORM"),
        "seconds": round(gui["seconds"], 1),
        "refreshes_per_s": {k: round(v, 1) for k, v in gui["refreshes_per_s"].items()},
        "lateness_p50_ms": round(gui["lateness_p50_ms"], 2),
        "lateness_p99_ms": round(gui["lateness_p99_ms"], 2),
        "lateness_max_ms": round(gui["lateness_max_ms"], 2),
        "lateness_p99_ms_by_quarter": [round(v, 1) for v in gui["lateness_p99_ms_by_quarter"]],
        "gui_tokens_per_s": round(gui["tokens_per_s"]),
        "headless_tokens_per_s": round(headless),
        "headless_before_after": [round(before), round(after)],
        "gui_vs_headless": round(gui["tokens_per_s"] / headless, 3),
        "rss_mb_app_start_end": [round(gui["rss0"][0], 1), round(gui["rss1"][0], 1)],
        "rss_mb_engine_start_end": [round(gui["rss0"][1], 1), round(gui["rss1"][1], 1)],
        "memory_growth_mb": round(max(growth), 1),
    }
    row["targets"] = {
        "refreshes_per_s": row["refreshes_per_s"]["heatmap"] >= TARGETS["refreshes_per_s"],
        "lateness_p99_ms": row["lateness_p99_ms"] <= TARGETS["lateness_p99_ms"],
        "gui_vs_headless": row["gui_vs_headless"] >= TARGETS["gui_vs_headless"],
        "memory_growth_mb": row["memory_growth_mb"] <= TARGETS["memory_growth_mb"],
    }
    for k, v in row.items():
        print(f"{k:>24}: {v}")
    if args.json:
        print(json.dumps({"benchmark": "gui", "python": platform.python_version(), "cpus": os.cpu_count(), **row}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
