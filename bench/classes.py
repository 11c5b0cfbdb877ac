"""The names classifier against its imbalance: overall and per-class validation accuracy, per sampling.

    python bench/classes.py                   the names preset, 1,000 steps, seeds 0-2, a table
    python bench/classes.py --json            ... then one JSON object as the last line
    python bench/classes.py --steps 5 --seeds 0   a smoke run

For each way of handling the imbalance (the settings "Sampling" and "Weight classes": every name once,
classes balanced, every name once with the loss weighted by inverse class frequency), it trains the
preset "Names to languages" and reports the Classes panel's own numbers (``lab.classes.class_report``
of the validation pass): the accuracy over all validation names, the mean of the per-class accuracies
(every language counts the same) and how many of the 18 languages are below 20 %.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

VARIANTS = {
    "every name once": dict(sampling="shuffle", class_weighting=False),
    "classes balanced": dict(sampling="balanced", class_weighting=False),
    "weighted loss": dict(sampling="shuffle", class_weighting=True),
}
LOW = 0.2  # a language "below 20 %"


def measure(variant: dict, seed: int, steps: int) -> dict:
    from rnnviz.lab.classes import class_report
    from rnnviz.lab.presets import apply_preset
    from rnnviz.training import TrainConfig, Trainer

    t = Trainer(apply_preset("names", TrainConfig()).replace(seed=seed, **variant))
    for _ in range(steps):
        t.train_step()
    rep = class_report("A", t.step, t.task, t.evaluate())
    acc = rep.class_accuracy
    return {
        "accuracy": rep.accuracy,
        "mean_class_accuracy": float(np.nanmean(acc)),
        "classes_below_20pct": int(np.sum(acc < LOW)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000, help="training steps per run")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    rows = []
    for name, variant in VARIANTS.items():
        for seed in args.seeds:
            row = {"variant": name, "seed": seed, **measure(variant, seed, args.steps)}
            rows.append(row)
            print(
                f"{name:18s} seed {seed}: accuracy {row['accuracy']:.3f}, mean per class "
                f"{row['mean_class_accuracy']:.3f}, languages below 20%: {row['classes_below_20pct']}",
                flush=True,
            )
    if args.json:
        print(json.dumps({"benchmark": "classes", "steps": args.steps, "seeds": args.seeds, "rows": rows}))


if __name__ == "__main__":
    main()
