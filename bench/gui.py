"""GUI responsiveness: train for a while with every panel shown and measure what a user would feel.

    python bench/gui.py               60 s, a table
    python bench/gui.py --json        ... then one JSON object as the last line
    python bench/gui.py --seconds 15  a shorter run (--rounds, --round-seconds: the throughput slices)
    python bench/gui.py --compare     compare mode: runs A and B (clipping off / norm 1) in lockstep

Measured (default preset: character LSTM, H=128, B=32, T=64, float32, on Tiny Shakespeare):

- panel refreshes per second, per sequence panel (all four show the same snapshot in the same frame:
  gui/frames.py), and the steps the training made per second;
- event-loop lateness: how late a 10 ms timer fires in the GUI thread, p50 and p99 (a frozen window
  shows up here first), and p99 per quarter of the run (a cost that grows with training rises there);
- training tokens/s in the app against headless training of the same model in a plain process (as
  `rnnviz train` runs it), in alternating slices after the run (the app paused while the headless
  process trains, and back), so that the machine's drift falls on both alike;
- resident memory of the app and of its training process at the end against after the warm-up, which
  lasts until the lab's step history (a bounded ring buffer in the training process, ~64 MB) is full,
  so that growth shows a leak, not the buffer filling; the growth from a plain 5 s warm-up, buffer
  filling included, and the buffer's size are reported beside it.

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

TARGETS = {"refreshes_per_s": 25, "lateness_p99_ms": 30, "gui_vs_headless": 0.8, "memory_growth_mb": 30}
# compare mode (issue 9): two runs train, so the throughput is not held against one headless run
COMPARE_TARGETS = {"refreshes_per_s": 20, "lateness_p99_ms": 30}

HEADLESS = """
import sys, time
sys.path.insert(0, {root!r})
from rnnviz.lab.presets import DEFAULT_PRESET, apply_preset
from rnnviz.lab.lab import EVAL_BATCHES, EVAL_EVERY
from rnnviz.training import TrainConfig, Trainer
trainer = Trainer(apply_preset({preset!r} or DEFAULT_PRESET, TrainConfig()))
for _ in range(3):
    trainer.train_step()
print("ready", flush=True)
for line in sys.stdin:  # "run SECONDS": train that long, answer tokens and seconds
    seconds = float(line.split()[1])
    t0, tokens = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        tokens += trainer.train_step().tokens
        if trainer.step % EVAL_EVERY == 0:  # the validation the app makes too (rnnviz train makes more)
            trainer.evaluate(max_batches=EVAL_BATCHES)
    print(tokens, time.perf_counter() - t0, flush=True)
"""


class Headless:
    """The same model trained by a plain process, as `rnnviz train` does, run in slices on request."""

    def __init__(self, preset: str | None = None) -> None:
        code = HEADLESS.format(root=os.path.join(HERE, ".."), preset=preset)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def run(self, seconds: float) -> tuple[int, float]:
        self.proc.stdin.write(f"run {seconds}\n")
        self.proc.stdin.flush()
        tokens, took = self.proc.stdout.readline().split()
        return int(tokens), float(took)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def gui_run(
    seconds: float,
    warmup: float,
    rounds: int,
    round_seconds: float,
    headless: Headless,
    compare: bool = False,
    preset: str | None = None,
) -> dict:
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    def quiet(mode, context, message: str) -> None:
        # The offscreen platform says this once per dock move; it is noise, not a problem in the app.
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(quiet)
    app = QApplication.instance() or QApplication([])
    from rnnviz.gui.app import make_window
    from rnnviz.lab import commands as c

    w = make_window(None, None)
    w.show()
    if preset:
        from rnnviz.lab.presets import apply_preset
        from rnnviz.training import TrainConfig

        # no pausing on spikes: the benchmark measures a run that goes on (the exploding lesson spikes at once)
        w.controller.send(c.Reset(apply_preset(preset, TrainConfig()).replace(spike_pause=False)))
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
        if w.info is None or (preset and w.info.config["cell"] != apply_preset(preset, TrainConfig()).cell):
            QTimer.singleShot(100, wait_ready)
            return
        if compare and not w.comparing:
            if not result.get("compare_sent"):
                result["compare_sent"] = True
                w.controller.send(c.Compare({"clip": "norm:1" if w.info.config["clip"] == "off" else "off"}))
            QTimer.singleShot(100, wait_ready)
            return
        w.controller.send(c.Train())
        result["train_at"] = time.perf_counter()
        result["rss_warm"] = None
        QTimer.singleShot(int(warmup * 1000), warm)

    def warm() -> None:
        # The step history (a ring buffer in the training process) fills for its first ~10 s and is then
        # recycled: memory is measured from the moment it is full, so growth means a leak, not the buffer.
        # Memory after the plain warm-up is kept too, to report growth with the filling included.
        if result["rss_warm"] is None:
            result["rss_warm"] = (rss_mb(os.getpid()), rss_mb(w.controller.process.pid))
        info = w.history_bar.info
        full = info is not None and info.nbytes >= 0.97 * info.budget
        if not full and time.perf_counter() - result["train_at"] < 120:
            QTimer.singleShot(250, warm)
            return
        result["warmup_s"] = time.perf_counter() - result["train_at"]
        begin()

    def begin() -> None:
        result["t0"] = time.perf_counter()
        result["tokens0"] = w.status.tokens_trained
        result["refreshes0"] = dict(w.refreshes)
        result["step0"] = w.step
        result["rss0"] = (rss_mb(os.getpid()), rss_mb(w.controller.process.pid))
        result["cpu0"] = (cpu_seconds(os.getpid()), cpu_seconds(w.controller.process.pid))
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
        result["refreshes_per_s"] = {k: (w.refreshes[k] - result["refreshes0"][k]) / t for k in w.refreshes}
        result["steps_per_s"] = (w.step - result["step0"]) / t
        result["rss1"] = (rss_mb(os.getpid()), rss_mb(w.controller.process.pid))
        cpu1 = (cpu_seconds(os.getpid()), cpu_seconds(w.controller.process.pid))
        result["cpu_cores"] = tuple((b - a) / t for a, b in zip(result["cpu0"], cpu1, strict=True))
        w.controller.send(c.Pause())  # the lab then says what its step history holds
        QTimer.singleShot(1000, throughput_rounds)

    # Throughput, app against headless, in alternating slices of the same length: this machine's speed
    # drifts by tens of per cent within a minute, and alternating keeps both sides under the same drift.
    result["slices"] = {"app": [0, 0.0], "headless": [0, 0.0]}

    def throughput_rounds(r: int = 0) -> None:
        if r == 0:
            info = w.history_bar.info
            result["history"] = None if info is None else (info.count, info.nbytes / 2**20, info.budget / 2**20)
        if r == 2 * rounds:
            w.close()
            app.quit()
            return
        if (r + r // 2) % 2:  # app, headless, headless, app, app, headless...: each side goes first as often
            tokens, took = headless.run(round_seconds)  # the app is paused meanwhile
            result["slices"]["headless"][0] += tokens
            result["slices"]["headless"][1] += took
            QTimer.singleShot(200, lambda: throughput_rounds(r + 1))
            return
        start = (w.status.tokens_trained, time.perf_counter())
        w.controller.send(c.Train())

        def stop() -> None:
            w.controller.send(c.Pause())
            QTimer.singleShot(300, collect)  # the last steps' numbers arrive

        def collect() -> None:
            # the app's tokens counted as they arrived; its time from Train to Pause
            result["slices"]["app"][0] += w.status.tokens_trained - start[0]
            result["slices"]["app"][1] += round_seconds
            throughput_rounds(r + 1)

        QTimer.singleShot(int(round_seconds * 1000), stop)

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
    ap.add_argument("--rounds", type=int, default=6, help="app/headless throughput rounds after the run")
    ap.add_argument("--round-seconds", type=float, default=5.0, help="length of each side of a round")
    ap.add_argument("--compare", action="store_true", help="compare mode: A and B in lockstep")
    ap.add_argument("--preset", default=None, help="a preset's model instead of the default (e.g. exploding)")
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    headless_proc = Headless(args.preset)
    try:
        gui = gui_run(args.seconds, 5.0, args.rounds, args.round_seconds, headless_proc, args.compare, args.preset)
    finally:
        headless_proc.close()
    (app_tokens, app_s), (head_tokens, head_s) = gui["slices"]["app"], gui["slices"]["headless"]
    app_rate, headless = app_tokens / max(app_s, 1e-9), head_tokens / max(head_s, 1e-9)
    growth = (gui["rss1"][0] - gui["rss0"][0], gui["rss1"][1] - gui["rss0"][1])
    row = {
        "mode": "compare (A and B in lockstep; tokens are A's)" if args.compare else "one run",
        "preset": args.preset or "shakespeare (default)",
        "platform": os.environ.get("QT_QPA_PLATFORM"),
        "seconds": round(gui["seconds"], 1),
        "refreshes_per_s": {k: round(v, 1) for k, v in gui["refreshes_per_s"].items()},
        "steps_per_s": round(gui["steps_per_s"], 1),
        "lateness_p50_ms": round(gui["lateness_p50_ms"], 2),
        "lateness_p99_ms": round(gui["lateness_p99_ms"], 2),
        "lateness_max_ms": round(gui["lateness_max_ms"], 2),
        "lateness_p99_ms_by_quarter": [round(v, 1) for v in gui["lateness_p99_ms_by_quarter"]],
        "gui_tokens_per_s_main_run": round(gui["tokens_per_s"]),
        "gui_tokens_per_s": round(app_rate),
        "headless_tokens_per_s": round(headless),
        "throughput_rounds": f"{args.rounds} x {args.round_seconds:g} s each side, alternating",
        "gui_vs_headless": round(app_rate / headless, 3),
        "cpu_cores_app_engine": [round(v, 2) for v in gui["cpu_cores"]],
        "rss_mb_app_start_end": [round(gui["rss0"][0], 1), round(gui["rss1"][0], 1)],
        "rss_mb_engine_start_end": [round(gui["rss0"][1], 1), round(gui["rss1"][1], 1)],
        "memory_growth_mb": round(max(growth), 1),
        "warmup_s": round(gui["warmup_s"], 1),
        "memory_growth_with_history_filling_mb": round(
            max(gui["rss1"][0] - gui["rss_warm"][0], gui["rss1"][1] - gui["rss_warm"][1]), 1
        ),
        "history_steps_mb_budget": None if gui["history"] is None else [round(v, 1) for v in gui["history"]],
    }
    if args.compare:
        row["targets"] = {
            "refreshes_per_s": row["refreshes_per_s"]["heatmap"] >= COMPARE_TARGETS["refreshes_per_s"],
            "lateness_p99_ms": row["lateness_p99_ms"] <= COMPARE_TARGETS["lateness_p99_ms"],
        }
    else:
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
