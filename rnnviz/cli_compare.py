"""``rnnviz compare`` and ``rnnviz presets``: two runs in lockstep from the command line, and the lessons.

    rnnviz compare --preset exploding                 # A: the preset; B: the preset's own comparison
    rnnviz compare --cell rnn --b cell=lstm --steps 500 --csv runs.csv

A and B train on the same batches from the same seed (``training.compare``) and differ only in the
``--b`` changes. The CSV has one row per step: each run's loss, gradient norm before and after
clipping, and its validation loss and accuracy at the steps where it was validated (empty elsewhere).
A run whose step goes NaN or infinite stops there (its columns stay empty); the other goes on.
"""

from __future__ import annotations

import csv
import math
import sys

from rnnviz.cli_train import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    StopFlag,
    add_preset_argument,
    add_setting_arguments,
    config_from_args,
)
from rnnviz.lab.presets import PRESET_LIST, preset_named
from rnnviz.training.compare import Lockstep, changeable, comparison, parse_change

RUNS = ("A", "B")
STEP_COLUMNS = ("loss", "grad_norm", "clipped_norm")
EVAL_COLUMNS = ("val_loss", "val_accuracy")


def add_compare_parser(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="train two runs in lockstep (A and B differ in one setting) and write both to a CSV",
        description="Train run A with the given settings and run B with the --b changes, on the same batches "
        "from the same seed, and write a CSV of both runs' per-step loss, gradient norms and validation. With "
        "--preset and no --b, B makes the lesson's own comparison.",
    )
    p.add_argument("corpus", metavar="CORPUS", nargs="?", help="text file or names folder (as for 'rnnviz train')")
    add_preset_argument(p)
    p.add_argument(
        "--b", dest="b", action="append", default=[], metavar="NAME=VALUE",
        help="what run B changes, e.g. --b clip=norm:1, --b cell=lstm, --b lr=0.01 (repeat for more); any of: "
        + ", ".join(changeable()),
    )  # fmt: skip
    add_setting_arguments(p)
    g = p.add_argument_group("run")
    g.add_argument("--steps", type=int, default=300, help="updates of each run (default 300)")
    g.add_argument("--eval-every", type=int, default=100, help="validate both runs every so many steps (0: at the end)")
    g.add_argument("--csv", default=None, metavar="FILE", help="write the per-step numbers of both runs here")
    g.add_argument("--quiet", action="store_true", help="print only the final table")


def b_changes(args) -> dict:
    changes = dict(parse_change(text) for text in args.b)
    if not changes and args.preset:
        preset = preset_named(args.preset)
        if preset.compare is None:
            raise ValueError(f"the preset {preset.key!r} is not a comparison: say what B changes with --b")
        changes = dict(preset.compare)
    if not changes:
        raise ValueError("say what run B changes, e.g. --b clip=norm:1 (or use a lesson's --preset)")
    return changes


def run_compare(args) -> int:
    if args.steps < 1:
        raise ValueError("--steps must be at least 1")
    cfg = config_from_args(args)
    changes = b_changes(args)
    a, b = comparison(cfg, changes)
    pair = Lockstep(a, b)
    labels = {"A": describe(cfg, changes, "A"), "B": describe(cfg, changes, "B")}
    print(f"{a.task.spec.title}: A = {labels['A']}; B = {labels['B']}; {args.steps:,} steps each", file=sys.stderr)
    rows: list[dict] = []
    code = EXIT_OK
    with StopFlag() as stop:
        for step in range(1, args.steps + 1):
            if stop.set or not pair.any_live:
                break
            row: dict = {"step": step}
            for run, report in zip(RUNS, pair.step(), strict=True):
                if report is None:
                    continue
                if not report.applied:
                    print(f"run {run} stopped at step {step:,}: {report.problem}", file=sys.stderr)
                    continue
                row.update({f"{run}_loss": report.loss, f"{run}_grad_norm": report.grad_norm,
                            f"{run}_clipped_norm": report.clipped_norm})  # fmt: skip
            last = step == args.steps
            if (args.eval_every and step % args.eval_every == 0) or last:
                for run, t, stopped in zip(RUNS, pair.trainers, pair.stopped, strict=True):
                    ev = None if stopped else t.evaluate(max_batches=50)
                    if ev is not None:
                        row[f"{run}_val_loss"] = ev.loss
                        row[f"{run}_val_accuracy"] = "" if ev.accuracy is None else ev.accuracy
                if not args.quiet:
                    print(progress_line(row), file=sys.stderr)
            rows.append(row)
    if args.csv:
        write_csv(args.csv, rows)
    print(final_table(rows, labels, pair))
    if args.csv:
        print(f"wrote {args.csv} ({len(rows):,} steps)")
    if stop.set:
        return EXIT_INTERRUPTED
    return code


def describe(cfg, changes: dict, run: str) -> str:
    """How a run is named in legends and tables: ``clip=off`` for A, ``clip=norm:1`` for B."""
    return ", ".join(f"{k}={changes[k] if run == 'B' else getattr(cfg, k)}" for k in changes)


def columns() -> list[str]:
    return ["step", *(f"{r}_{c}" for r in RUNS for c in STEP_COLUMNS + EVAL_COLUMNS)]


def write_csv(path: str, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns(), restval="")
        w.writeheader()
        for row in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def _fmt(v) -> str:
    return "-" if v is None or v == "" or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.4f}"


def progress_line(row: dict) -> str:
    parts = [f"step {row['step']:,}"]
    for run in RUNS:
        parts.append(f"{run}: loss {_fmt(row.get(f'{run}_loss'))} val {_fmt(row.get(f'{run}_val_loss'))}")
    return " | ".join(parts)


def final_table(rows: list[dict], labels: dict, pair: Lockstep) -> str:
    """Per run: its setting, the steps it made, its last loss and validation (and accuracy)."""
    out = [f"{'run':<4}{'setting':<28}{'steps':>8}{'loss':>10}{'val loss':>10}{'val acc':>9}"]
    for run, t, stopped in zip(RUNS, pair.trainers, pair.stopped, strict=True):
        loss = next((r[f"{run}_loss"] for r in reversed(rows) if f"{run}_loss" in r), None)
        val = next((r for r in reversed(rows) if f"{run}_val_loss" in r), {})
        acc = val.get(f"{run}_val_accuracy")
        made = t.step - (1 if stopped else 0)
        note = "  (stopped: not finite)" if stopped else ""
        acc_text = f"{acc:>9.1%}" if isinstance(acc, float) else f"{'-':>9}"
        out.append(
            f"{run:<4}{labels[run][:27]:<28}{made:>8,}{_fmt(loss):>10}{_fmt(val.get(f'{run}_val_loss')):>10}"
            f"{acc_text}{note}"
        )
    return "\n".join(out)


def run_presets(args) -> int:
    width = max(len(p.key) for p in PRESET_LIST)
    for p in PRESET_LIST:
        extra = f" (compare: {', '.join(f'{k}={v}' for k, v in p.compare.items())})" if p.compare else ""
        print(f"{p.key:<{width}}  {p.summary}{extra}")
    return EXIT_OK
