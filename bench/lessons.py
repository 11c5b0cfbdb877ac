"""Do the lessons hold? Each lesson preset's claims, measured for every seed (headless, no timing claims).

    python bench/lessons.py                 seeds 0-4, a table per lesson
    python bench/lessons.py --json          ... then one JSON object as the last line
    python bench/lessons.py --seeds 0,1 --scale 0.2    a smaller run (the tests use one)

Claims (issue 9; the presets are in rnnviz/lab/presets.py):

- exploding: at the start the Jacobian product grows with the lag, ||dh_T/dh_1|| >= 100 x
  ||dh_T/dh_{T-1}||, and the mechanism names the regime "exploding"; compared in lockstep (A clipping
  off, B clipping by norm 1), A diverges (loss above its first loss, or a refused step) within 300
  updates while B's loss falls below the corpus's unigram entropy within 300 updates. Reported too:
  for how many updates A's regime stays "exploding" (the first unclipped steps saturate it).
- vanishing: on the long-range task, the vanilla RNN's validation accuracy stays within 5 points of
  chance at every validation (every 100 updates) for 3,000 updates; the LSTM reaches 95% within 1,000
  (validated every 50), with the seconds it took headless.
- saturation: a vanilla RNN with W_hh = 3 x the identity: sigma_max(W_hh) > 1 and yet the regime is
  "saturated" (most units pinned at +-1, the Jacobian product shrinking) at the start and after 300
  updates.
- next-word (issue 11): the word-level LSTM's validation loss is below the unigram entropy of its
  training text at every validation (every 50 updates) from update 100 to 200 (the app validates at 200).
- echo (issue 11): the echo preset's vanilla RNN (delay 10) has a validation loss below a tenth of the
  loss of always answering 0 within 500 updates (validated every 50); the same at delay 40 stays above
  98% of that loss at every validation (every 250) for 1,500 updates.

Every run is a plain Trainer (or two in lockstep); the Jacobian norms and regimes are the engine's
(rnnviz.engine.mechanism), exactly what the app's mechanism panel shows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from rnnviz.engine.trace import mechanism_views  # noqa: E402
from rnnviz.lab import presets  # noqa: E402
from rnnviz.lab.presets import BY_KEY, apply_preset  # noqa: E402
from rnnviz.training import TrainConfig, Trainer  # noqa: E402
from rnnviz.training.compare import Lockstep, comparison  # noqa: E402

CLAIMS = {
    "exploding_ratio": 100.0,  # ||dh_T/dh_1|| / ||dh_T/dh_{T-1}|| at the start, at least
    "exploding_updates": 300,  # A diverges and B learns within this many updates
    "vanishing_rnn_updates": 3000,  # the RNN stays at chance this long ...
    "vanishing_chance_points": 0.05,  # ... within this many points of chance
    "vanishing_lstm_updates": 1000,  # the LSTM reaches ...
    "vanishing_lstm_accuracy": 0.95,  # ... this validation accuracy within that many updates
    "saturation_updates": 300,  # still saturated after this many updates
    "next_word_updates": 100,  # the next-word preset's validation loss is below the unigram entropy from here ...
    "next_word_until": 200,  # ... to here (the app's first validation)
    "echo_updates": 500,  # the echo preset's validation loss falls below ...
    "echo_fraction": 0.1,  # ... this fraction of the loss of answering 0 within that many updates
    "echo_far_updates": 1500,  # at the far delay the loss stays ...
    "echo_far_fraction": 0.98,  # ... above this fraction of the zero answer's loss that long
}


def mechanism(trainer: Trainer, row: int = 0) -> dict:
    """The mechanism of ``trainer``'s newest step (its weights before the update), as the panel shows it."""
    params, result, _ = trainer._last
    m = mechanism_views(params, result.fp, row)[0]  # layer 0: the panel's numbers, made the panel's way
    T = len(m.dhT_dh)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(m.dhT_dh[1] / m.dhT_dh[T - 1]) if T > 2 else math.nan  # lag T-1 over lag 1
    return {"ratio": ratio, "growth": m.growth, "sigma_max": m.sigma_max, "saturated": m.saturated, "regime": m.regime}


def unigram_entropy(task) -> float:
    counts = np.bincount(task.train_ids)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def exploding(seed: int, scale: float) -> dict:
    updates = max(int(CLAIMS["exploding_updates"] * scale), 20)
    preset = BY_KEY["exploding"]
    cfg = apply_preset(preset.key, TrainConfig()).replace(seed=seed)
    a, b = comparison(cfg, dict(preset.compare))
    entropy = unigram_entropy(a.task)
    pair = Lockstep(a, b)
    start = None
    diverged = below = None
    exploding_updates = 0
    still_exploding = True
    b_exploding_until = None  # B (clipped): the first update (checked every 10) whose regime is not exploding
    t0 = time.perf_counter()
    for k in range(1, updates + 1):
        ra, rb = pair.step()
        if k == 1:
            start, first = ra.loss, mechanism(a)
        if ra is not None and still_exploding and ra.applied:
            still_exploding = mechanism(a)["regime"] == "exploding"
            exploding_updates += still_exploding
        if b_exploding_until is None and k % 10 == 0 and rb is not None and rb.applied:
            if mechanism(b)["regime"] != "exploding":
                b_exploding_until = k
        if diverged is None and ra is not None and (not ra.applied or ra.loss > start):
            diverged = k
        if below is None and rb is not None and rb.applied and rb.loss < entropy:
            below = k
        if None not in (diverged, below, b_exploding_until) and not still_exploding:
            break  # everything measured
    holds = (
        first["ratio"] >= CLAIMS["exploding_ratio"] and first["regime"] == "exploding"
        and diverged is not None and below is not None
    )  # fmt: skip
    return {
        "seed": seed, "start_ratio": first["ratio"], "start_growth": first["growth"],
        "start_sigma_max": first["sigma_max"], "start_regime": first["regime"],
        "a_exploding_updates": exploding_updates, "b_exploding_until": b_exploding_until,
        "a_diverged_at": diverged, "b_below_entropy_at": below,
        "unigram_entropy": entropy, "seconds": time.perf_counter() - t0, "holds": holds,
    }  # fmt: skip


def _accuracy_run(cfg: TrainConfig, updates: int, every: int, stop_at: float | None) -> tuple:
    t = Trainer(cfg)
    accs, reached = [], None
    t0 = time.perf_counter()
    seconds = math.nan
    for k in range(1, updates + 1):
        t.train_step()
        if k % every == 0:
            acc = t.evaluate().accuracy
            accs.append(acc)
            if stop_at is not None and acc >= stop_at:
                reached, seconds = k, time.perf_counter() - t0
                break
    return accs, seconds, reached, t


def vanishing(seed: int, scale: float) -> dict:
    preset = BY_KEY["vanishing"]
    cfg = apply_preset(preset.key, TrainConfig()).replace(seed=seed)
    chance = 1.0 / 4  # LongRangeTask's 4 signals
    rnn_updates = max(int(CLAIMS["vanishing_rnn_updates"] * scale), 100)
    accs, _, _, rnn = _accuracy_run(cfg, rnn_updates, 100, None)
    worst = max(abs(a - chance) for a in accs)
    lstm_cfg = cfg.replace(**preset.compare)
    l_accs, seconds, reached, lstm = _accuracy_run(
        lstm_cfg, CLAIMS["vanishing_lstm_updates"], 50, CLAIMS["vanishing_lstm_accuracy"]
    )
    holds = worst <= CLAIMS["vanishing_chance_points"] and reached is not None
    return {
        "seed": seed, "k": cfg.k, "rnn_updates": rnn_updates, "rnn_worst_points_from_chance": worst,
        "rnn_final_accuracy": accs[-1], "rnn_regime": mechanism(rnn)["regime"], "lstm_reached_95_at": reached,
        "lstm_best_accuracy": max(l_accs), "lstm_seconds": seconds, "holds": holds,
    }  # fmt: skip


def saturated(seed: int, scale: float) -> dict:
    updates = max(int(CLAIMS["saturation_updates"] * scale), 20)
    cfg = apply_preset("saturation", TrainConfig()).replace(seed=seed)
    t = Trainer(cfg)
    t.train_step()
    start = mechanism(t)
    for _ in range(updates - 1):
        t.train_step()
    end = mechanism(t)
    holds = all(m["regime"] == "saturated" and m["sigma_max"] > 1.0 for m in (start, end))
    return {
        "seed": seed, "start_regime": start["regime"], "start_sigma_max": start["sigma_max"],
        "start_saturated": start["saturated"], "start_growth": start["growth"], "updates": updates,
        "end_regime": end["regime"], "end_sigma_max": end["sigma_max"], "end_saturated": end["saturated"],
        "end_growth": end["growth"], "holds": holds,
    }  # fmt: skip


def next_word(seed: int, scale: float) -> dict:
    cfg = apply_preset("next-word", TrainConfig()).replace(seed=seed)
    t = Trainer(cfg)
    entropy, start, below, vals = unigram_entropy(t.task), t.evaluate().loss, None, {}
    t0 = time.perf_counter()
    for k in range(1, CLAIMS["next_word_until"] + 1):
        t.train_step()
        if k % 50 == 0:
            vals[k] = t.evaluate().loss
            below = k if below is None and vals[k] < entropy else below
    seconds = time.perf_counter() - t0
    stays = all(v < entropy for k, v in vals.items() if k >= CLAIMS["next_word_updates"])
    return {
        "seed": seed, "start_val_loss": start, "unigram_entropy": entropy, "below_at": below,
        "val_at_end": vals[max(vals)], "seconds": seconds,
        "holds": below is not None and below <= CLAIMS["next_word_updates"] and stays
        and entropy <= presets.NEXT_WORD_UNIGRAM,
    }  # fmt: skip


def echo(seed: int, scale: float) -> dict:
    cfg = apply_preset("echo", TrainConfig()).replace(seed=seed)
    near = Trainer(cfg)
    zero = near.task.zero_loss
    learned = None
    t0 = time.perf_counter()
    for k in range(1, CLAIMS["echo_updates"] + 1):
        near.train_step()
        if k % 50 == 0 and near.evaluate().loss < CLAIMS["echo_fraction"] * zero:
            learned = k
            break
    seconds = time.perf_counter() - t0
    far = Trainer(cfg.replace(delay=presets.ECHO_FAR))
    far_zero, lowest = far.task.zero_loss, math.inf
    for k in range(1, max(int(CLAIMS["echo_far_updates"] * scale), 250) + 1):
        far.train_step()
        if k % 250 == 0:
            lowest = min(lowest, far.evaluate().loss)
    holds = learned is not None and lowest >= CLAIMS["echo_far_fraction"] * far_zero
    return {
        "seed": seed, "delay": cfg.delay, "zero_loss": zero, "learned_at": learned, "seconds": seconds,
        "far_delay": presets.ECHO_FAR, "far_zero_loss": far_zero, "far_lowest_over_zero": lowest / far_zero,
        "holds": holds,
    }  # fmt: skip


LESSONS = {
    "exploding": exploding,
    "vanishing": vanishing,
    "saturation": saturated,
    "next-word": next_word,
    "echo": echo,
}


def _fmt(v) -> str:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:.3g}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds (default 0-4)")
    ap.add_argument("--lessons", default=",".join(LESSONS), help="which lessons (default all)")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the claimed update counts to run")
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    out = {"benchmark": "lessons", "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
           "claims": CLAIMS,
           "scale": args.scale, "lessons": {}}  # fmt: skip
    for name in args.lessons.split(","):
        rows = [LESSONS[name](seed, args.scale) for seed in seeds]
        out["lessons"][name] = {"holds": sum(r["holds"] for r in rows), "of": len(rows), "seeds": rows}
        print(f"\n{name}: holds for {sum(r['holds'] for r in rows)} of {len(rows)} seeds")
        keys = list(rows[0])
        print("  " + "  ".join(f"{k:>12.12}" for k in keys))
        for r in rows:
            print("  " + "  ".join(f"{_fmt(r[k]):>12.12}" for k in keys))
        sys.stdout.flush()
    if args.json:
        print(json.dumps(out, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
