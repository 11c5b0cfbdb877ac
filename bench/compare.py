"""What two runs in lockstep cost against one: the time of a step of A and B on one batch, headless.

    python bench/compare.py            the default model and the exploding lesson's, a table
    python bench/compare.py --json     ... then one JSON object as the last line

Issue 9's target: a lockstep step (two updates on the batch one of them drew) costs at most 2.2x one
run's step. Where B is another cell (the vanishing lesson's LSTM against A's RNN) it is also set
against A's and B's steps taken apart. Measured in alternating slices (A, B, the pair, and again), so
that this machine's drift falls on all alike; the median of the slices' ratios is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from rnnviz.lab.presets import apply_preset  # noqa: E402
from rnnviz.training import TrainConfig, Trainer  # noqa: E402
from rnnviz.training.compare import Lockstep, comparison  # noqa: E402

TARGET = 2.2
CASES = {  # name: (preset, B's change)
    "default (char LSTM 128)": ("shakespeare", {"clip": "norm:1"}),
    "exploding (vanilla RNN 128)": ("exploding", {"clip": "norm:1"}),
    "vanishing (RNN vs LSTM at k=80)": ("vanishing", {"cell": "lstm"}),
}


def seconds_per_step(step, seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return (time.perf_counter() - t0) / n


def measure(preset: str, change: dict, rounds: int, slice_s: float) -> dict:
    cfg = apply_preset(preset, TrainConfig())
    one, other = Trainer(cfg), Trainer(cfg.replace(**change))  # A alone, and B alone
    pair = Lockstep(*comparison(cfg, change))
    for _ in range(3):  # warm the buffer pools
        one.train_step()
        other.train_step()
        pair.step()
    ratios, separate, singles, pairs = [], [], [], []
    for _ in range(rounds):
        s = seconds_per_step(one.train_step, slice_s)
        b = seconds_per_step(other.train_step, slice_s)
        p = seconds_per_step(pair.step, slice_s)
        singles.append(s)
        pairs.append(p)
        ratios.append(p / s)
        separate.append(p / (s + b))
    # ratio: against A alone (the target, for runs of one architecture); vs_separate: against A's and B's
    # steps taken apart (for B another cell, e.g. the LSTM of the vanishing lesson, costs more than A)
    return {"single_ms": 1e3 * float(np.median(singles)), "lockstep_ms": 1e3 * float(np.median(pairs)),
            "ratio": float(np.median(ratios)), "vs_separate": float(np.median(separate)), "ratios": ratios}  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--slice-seconds", type=float, default=2.0)
    ap.add_argument("--cases", default=";".join(CASES), help="semicolon-separated case names (default all)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = {"benchmark": "compare", "target_ratio": TARGET, "cpus": os.cpu_count(),
           "python": platform.python_version(), "cases": {}}  # fmt: skip
    print(f"{'case':<34}{'A alone ms':>12}{'A+B ms':>10}{'vs A':>7}{'vs A, B apart':>15}")
    for name in args.cases.split(";"):
        preset, change = CASES[name]
        r = measure(preset, change, args.rounds, args.slice_seconds)
        out["cases"][name] = r
        print(
            f"{name:<34}{r['single_ms']:>12.1f}{r['lockstep_ms']:>10.1f}{r['ratio']:>7.2f}{r['vs_separate']:>15.2f}",
            flush=True,
        )
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
